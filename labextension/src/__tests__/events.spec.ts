import { SCHEMA_BASE, stateEvent } from '../events';

describe('stateEvent', () => {
  it("reads jupyter-orch's schemas as the sidebar's events", () => {
    const run = stateEvent({
      schema_id: `${SCHEMA_BASE}run/v1`,
      id: 'r1',
      task_id: 't1',
      status: 'success',
      at: '2026-12-01T00:00:00+00:00'
    });
    expect(run).toMatchObject({ kind: 'run', id: 'r1', task_id: 't1', status: 'success' });
    expect(stateEvent({ schema_id: `${SCHEMA_BASE}pipeline/v1`, id: 3, status: 'Running' })).toMatchObject({
      kind: 'pipeline',
      id: 3
    });
  });

  it("ignores other extensions' events and malformed ones", () => {
    expect(stateEvent({ schema_id: 'https://events.jupyter.org/jupyter_server/kernel_actions/v1', id: 'k' })).toBe(
      null
    );
    expect(stateEvent({ schema_id: `${SCHEMA_BASE}task/v1` })).toBe(null);
  });
});
