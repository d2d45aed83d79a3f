/**
 * Failure notifications: one per task, counting its failures.
 *
 * The first failure of a task stays on screen until dismissed; later ones update the same
 * notification (its count and latest reason) and close by themselves, so a failing
 * 2-second schedule shows one notification, not one per run.
 */

export interface IFailure {
  taskId: string;
  runId: string;
  title: string;
  /** `failed (exit code 3)`, `timed out`, ... */
  what: string;
  /** Where it happened, when not in the workspace on show. */
  where?: string;
}

export interface INotice {
  message: string;
  /** false: stays until dismissed; else milliseconds. */
  autoClose: false | number;
  count: number;
}

export const REPEAT_AUTO_CLOSE_MS = 6000;

/** The notice to show for a task's `count`-th failure (pure). */
export function noticeFor(failure: IFailure, count: number): INotice {
  const where = failure.where ? ` in ${failure.where}` : '';
  const times = count > 1 ? ` · ${count} failures` : '';
  return {
    message: `Run of "${failure.title}"${where} ${failure.what}${times}`,
    autoClose: count === 1 ? false : REPEAT_AUTO_CLOSE_MS,
    count
  };
}

/** What shows a notice: JupyterLab's Notification in the app, a fake in tests. */
export interface INotifier {
  /** Show a new notice; answers its id. */
  show(notice: INotice, failure: IFailure): string;
  /** Update a notice still on screen; false when it is gone. */
  update(id: string, notice: INotice, failure: IFailure): boolean;
}

export class FailureNotices {
  constructor(private readonly _notifier: INotifier) {}

  /** Report a failed run; the same run twice counts once. */
  report(failure: IFailure): INotice | null {
    if (this._seenRuns.has(failure.runId)) {
      return null;
    }
    this._seenRuns.add(failure.runId);
    const entry = this._tasks.get(failure.taskId);
    const count = (entry?.count ?? 0) + 1;
    const notice = noticeFor(failure, count);
    if (entry && this._notifier.update(entry.id, notice, failure)) {
      entry.count = count;
    } else {
      this._tasks.set(failure.taskId, { id: this._notifier.show(notice, failure), count });
    }
    return notice;
  }

  private _seenRuns = new Set<string>();
  private _tasks = new Map<string, { id: string; count: number }>();
}
