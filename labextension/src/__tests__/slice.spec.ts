import { Slice } from '../slice';

interface IRow {
  id: string;
  status: string;
}

describe('a reloaded list keeps what did not change', () => {
  it('reuses unchanged rows and signals only real changes', () => {
    const slice = new Slice<IRow>(r => r.id);
    let changes = 0;
    slice.changed.connect(() => changes++);
    slice.set([
      { id: 'a', status: 'running' },
      { id: 'b', status: 'pending' }
    ]);
    const [a, b] = slice.items;
    expect(changes).toBe(1);

    slice.set([
      { id: 'a', status: 'running' },
      { id: 'b', status: 'pending' }
    ]);
    expect(changes).toBe(1); // same data: no re-render at all
    expect(slice.items[0]).toBe(a);

    slice.set([
      { id: 'a', status: 'running' },
      { id: 'b', status: 'success' }
    ]);
    expect(changes).toBe(2);
    expect(slice.items[0]).toBe(a); // row a keeps its object: React skips it
    expect(slice.items[1]).not.toBe(b);
  });

  it('patches one row from an event and keeps rows when a load fails', () => {
    const slice = new Slice<IRow>(r => r.id);
    slice.set([{ id: 'a', status: 'running' }]);
    slice.patch('a', { status: 'failed' });
    expect(slice.get('a')?.status).toBe('failed');
    slice.fail('server gone');
    expect(slice.error).toBe('server gone');
    expect(slice.items).toHaveLength(1);
    slice.reset();
    expect(slice.loaded).toBe(false);
    expect(slice.items).toHaveLength(0);
  });
});
