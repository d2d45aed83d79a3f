import { pushedLines } from '../logreads';

describe('pushed log reads', () => {
  it('numbers each line of a read from its first and keeps its time and stream', () => {
    const reads = [
      { seq: 7, at: 't1', stream: 'stdout', text: ['a', 'b\n', 'c'], partial: [2] },
      { seq: 10, at: 't2', stream: 'stderr', text: ['boom'], partial: [] }
    ];
    expect(pushedLines(reads)).toEqual([
      { seq: 7, time: 't1', stream: 'stdout', text: 'a', partial: false },
      { seq: 8, time: 't1', stream: 'stdout', text: 'b', partial: false },
      { seq: 9, time: 't1', stream: 'stdout', text: 'c', partial: true },
      { seq: 10, time: 't2', stream: 'stderr', text: 'boom', partial: false }
    ]);
  });

  it('skips what is not a read', () => {
    expect(pushedLines(undefined)).toEqual([]);
    expect(pushedLines([{ seq: 1 }, null])).toEqual([]);
  });
});
