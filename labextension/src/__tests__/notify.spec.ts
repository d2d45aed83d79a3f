import { FailureNotices, IFailure, INotice, INotifier, noticeFor, REPEAT_AUTO_CLOSE_MS } from '../notify';

class FakeNotifier implements INotifier {
  shown: INotice[] = [];
  onScreen = new Map<string, INotice>();
  show(notice: INotice): string {
    const id = `n${this.shown.length}`;
    this.shown.push(notice);
    this.onScreen.set(id, notice);
    return id;
  }
  update(id: string, notice: INotice): boolean {
    if (!this.onScreen.has(id)) {
      return false;
    }
    this.onScreen.set(id, notice);
    return true;
  }
}

const failure = (taskId: string, runId: string): IFailure => ({
  taskId,
  runId,
  title: 'every-2s',
  what: 'failed (exit code 1)'
});

describe('failure notifications', () => {
  it('a failing schedule shows one notification that counts', () => {
    const fake = new FakeNotifier();
    const notices = new FailureNotices(fake);
    for (let i = 0; i < 6; i++) {
      notices.report(failure('t1', `r${i}`));
    }
    expect(fake.shown).toHaveLength(1);
    expect([...fake.onScreen.values()]).toEqual([
      { message: 'Run of "every-2s" failed (exit code 1) · 6 failures', autoClose: REPEAT_AUTO_CLOSE_MS, count: 6 }
    ]);
  });

  it('the first failure stays; later ones close by themselves', () => {
    expect(noticeFor(failure('t', 'r'), 1).autoClose).toBe(false);
    expect(noticeFor(failure('t', 'r'), 2).autoClose).toBe(REPEAT_AUTO_CLOSE_MS);
  });

  it('one notification per task, and a dismissed one comes back counting on', () => {
    const fake = new FakeNotifier();
    const notices = new FailureNotices(fake);
    notices.report(failure('t1', 'a'));
    notices.report(failure('t2', 'b'));
    expect(fake.shown).toHaveLength(2);
    fake.onScreen.clear(); // dismissed
    expect(notices.report(failure('t1', 'c'))?.message).toContain('2 failures');
    expect(fake.shown).toHaveLength(3);
    expect(fake.shown[2].autoClose).toBe(REPEAT_AUTO_CLOSE_MS);
  });

  it('the same run twice counts once, and the workspace is named when elsewhere', () => {
    const fake = new FakeNotifier();
    const notices = new FailureNotices(fake);
    notices.report({ ...failure('t1', 'a'), where: 'team-b' });
    expect(notices.report(failure('t1', 'a'))).toBeNull();
    expect(fake.shown[0].message).toBe('Run of "every-2s" in team-b failed (exit code 1)');
  });
});
