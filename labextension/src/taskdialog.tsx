/**
 * The "New task" dialog: name, JSON arguments (checked as typed), timeout, and once /
 * on a schedule (with the next five fires, UTC like the engine) / continuously.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';
import { INewTask } from './api';
import { cronToWords, isCronReadable, nextFires } from './cron';
import { askUntilValid, TextField, useDraft } from './formdialog';
import { fullTime, Zone } from './format';

export interface ITaskDraft {
  name: string;
  args: string;
  timeout: string;
  mode: INewTask['mode'];
  schedule: string;
}

/** What is wrong with a draft, field by field (empty when it can be sent). */
export function draftProblems(d: ITaskDraft): Partial<Record<keyof ITaskDraft, string>> {
  const problems: Partial<Record<keyof ITaskDraft, string>> = {};
  try {
    const parsed = d.args.trim() ? JSON.parse(d.args) : {};
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      problems.args = 'The arguments must be a JSON object, like {"n": 3}.';
    }
  } catch (e) {
    problems.args = `Not valid JSON: ${(e as Error).message}`;
  }
  if (d.timeout.trim() && !(Number(d.timeout) > 0)) {
    problems.timeout = 'The timeout is a number of seconds above 0.';
  }
  if (d.mode === 'schedule' && !isCronReadable(d.schedule)) {
    problems.schedule = 'Not a schedule: use 5-field cron (*/5 * * * *) or @hourly, @daily…';
  }
  return problems;
}

function TaskForm(props: { draft: ITaskDraft; zone: Zone; trans: TranslationBundle }): JSX.Element {
  const { trans } = props;
  const [draft, update] = useDraft(props.draft);
  const problems = draftProblems(draft);
  const fires = draft.mode === 'schedule' && !problems.schedule ? nextFires(draft.schedule, new Date(), 5, true) : [];
  const problem = (field: keyof ITaskDraft) =>
    problems[field] ? (
      <div className="jp-orch-error" data-field={field}>
        {problems[field]}
      </div>
    ) : null;
  return (
    <div className="jp-orch-task-form">
      <TextField label={trans.__('Name')} name="name" value={draft.name} onChange={name => update({ name })} />
      <TextField
        label={trans.__('Arguments (JSON)')}
        name="args"
        rows={3}
        value={draft.args}
        invalid={Boolean(problems.args)}
        onChange={args => update({ args })}
      />
      {problem('args')}
      <fieldset className="jp-orch-task-mode">
        <legend>{trans.__('Runs')}</legend>
        {(['once', 'schedule', 'continuous'] as const).map(mode => (
          <label key={mode}>
            <input
              type="radio"
              name="mode"
              value={mode}
              checked={draft.mode === mode}
              onChange={() => update({ mode })}
            />
            {mode === 'once'
              ? trans.__('once')
              : mode === 'schedule'
                ? trans.__('on a schedule')
                : trans.__('continuously')}
          </label>
        ))}
      </fieldset>
      {draft.mode === 'schedule' ? (
        <>
          <TextField
            label={trans.__('Schedule (cron, UTC)')}
            name="schedule"
            value={draft.schedule}
            invalid={Boolean(problems.schedule)}
            onChange={schedule => update({ schedule })}
          />
          {problem('schedule') ?? (
            <div className="jp-orch-fires">
              <div className="jp-orch-schedule-words">{`${cronToWords(draft.schedule)} UTC`}</div>
              <div>{trans.__('Next fires:')}</div>
              <ol>
                {fires.map(d => (
                  <li key={d.getTime()}>{fullTime(d, props.zone)}</li>
                ))}
              </ol>
              {fires.length ? null : <div>{trans.__('This schedule does not fire again.')}</div>}
            </div>
          )}
        </>
      ) : null}
      {draft.mode !== 'continuous' ? (
        <TextField
          label={trans.__('Timeout (seconds, optional)')}
          name="timeout"
          value={draft.timeout}
          invalid={Boolean(problems.timeout)}
          onChange={timeout => update({ timeout })}
        />
      ) : null}
      {problem('timeout')}
    </div>
  );
}

/**
 * Ask for a new task of an orchestration; null when cancelled. An invalid form is shown
 * again, with what is wrong, until it is fixed or cancelled.
 */
export async function askNewTask(
  orchestration: { id: string; name: string; workspaceId: number },
  zone: Zone,
  trans: TranslationBundle
): Promise<INewTask | null> {
  const draft: ITaskDraft = {
    name: orchestration.name,
    args: '{}',
    timeout: '',
    mode: 'once',
    schedule: '*/5 * * * *'
  };
  const ok = await askUntilValid({
    title: trans.__('New task of %1', orchestration.name),
    okLabel: trans.__('Start'),
    form: () => <TaskForm draft={draft} zone={zone} trans={trans} />,
    isValid: () => Object.keys(draftProblems(draft)).length === 0,
    trans
  });
  if (!ok) {
    return null;
  }
  return {
    workspaceId: orchestration.workspaceId,
    orchId: orchestration.id,
    name: draft.name.trim() || undefined,
    json: draft.args.trim() ? JSON.parse(draft.args) : {},
    timeout: draft.timeout.trim() ? Number(draft.timeout) : null,
    mode: draft.mode,
    schedule: draft.schedule.trim()
  };
}
