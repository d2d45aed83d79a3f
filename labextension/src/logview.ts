/**
 * The log of one task run, in the main area, with a live tail.
 *
 * It loads the stored lines (`task/get_logs_for_run`), then appends `log`
 * events for its run id from the push channel. Events that arrive while
 * the first load is in flight are held back and merged without doubles.
 * While hidden it drops the channel and reloads when shown again.
 * Lines are plain DOM (a log grows by thousands of lines; React would
 * diff them all); the toolbar filters them by text or to stderr only.
 */
import * as api from './api';
import { h, showError, statusBadge } from './dom';
import { EventChannel, IOrchEvent, ISubscription } from './events';
import { durationBetween, exitWords, fullTime, shortId, shortTime, Zone } from './format';
import { ILogLine, IPushedLine, pushedLines } from './logreads';
import { VisibleWorkWidget } from './visible';
import { RUN_ENDED, RUN_SKIPPED } from './constants';

const MAX_LINES = 10000;
const FINISHED_RUN = new Set([...RUN_ENDED, RUN_SKIPPED]); // a skipped fire never runs

/** Parse `<RFC3339 time> stdout|stderr F|P <text>` (CRI log format). */
export function parseLogLine(raw: string): ILogLine {
  const m = /^(\S+) (stdout|stderr) ([A-Z]) ?(.*)$/s.exec(raw);
  if (m) {
    return { time: m[1], stream: m[2] as 'stdout' | 'stderr', text: m[4], partial: m[3] === 'P' };
  }
  return { time: '', stream: 'stdout', text: raw, partial: false };
}

export interface IRunLogOptions {
  runId: string;
  taskId: string;
  title: string;
  channel: EventChannel;
  zone: Zone;
}

export class RunLogView extends VisibleWorkWidget {
  constructor(options: IRunLogOptions) {
    super(options.channel);
    this.runId = options.runId;
    this._taskId = options.taskId;
    this._zone = options.zone;
    this.addClass('jp-orch-logview');
    this.node.dataset.runId = this.runId;
    this._status = h('span', { class: 'jp-orch-logview-status' });
    this._info = h('span', { class: 'jp-orch-logview-info' });
    this._follow = h('input', { type: 'checkbox', checked: true, class: 'jp-orch-follow' });
    this._error = h('div', { class: 'jp-orch-error', hidden: true });
    this._lines = h('div', { class: 'jp-orch-log-lines', role: 'log', 'aria-live': 'polite' });
    this.node.append(
      h(
        'div',
        { class: 'jp-orch-logview-header' },
        h('span', { class: 'jp-orch-logview-title' }, `${options.title} · run ${shortId(this.runId)}`),
        this._status,
        this._info,
        this._matches,
        h('label', { class: 'jp-orch-follow-label' }, this._follow, 'Follow')
      ),
      this._error,
      this._lines
    );
  }

  readonly runId: string;

  /** Show only the lines that contain `text` (case-insensitive); '' shows all. */
  setFilter(text: string): void {
    this._needle = text.trim().toLowerCase();
    let shown = 0;
    for (const line of Array.from(this._lines.children) as HTMLElement[]) {
      shown += this._applyFilter(line) ? 1 : 0;
    }
    this._matches.textContent = this._needle ? `${shown} matching` : '';
  }

  /** Show stderr lines only. */
  setStderrOnly(on: boolean): void {
    this.toggleClass('jp-orch-mod-stderr-only', on);
  }

  /** The log as text, one `<time> <stream> <text>` line each (what the download saves). */
  text(): string {
    return Array.from(this._lines.children)
      .map(el => {
        const line = el as HTMLElement;
        const time = line.querySelector('.jp-orch-log-time')?.getAttribute('data-time') ?? '';
        return `${time} ${line.dataset.stream} ${line.querySelector('.jp-orch-log-text')?.textContent ?? ''}`;
      })
      .join('\n');
  }

  reload(): void {
    void this._reload();
  }

  protected onStartWork(): void {
    void this._reload();
    this._ticker = window.setInterval(() => this._renderInfo(), 1000);
  }

  protected channelInterest(): ISubscription {
    return { kinds: ['log', 'run'], ids: [this.runId] };
  }

  protected onStopWork(): void {
    // the log reloads when shown again; only the clock stops
    window.clearInterval(this._ticker);
  }

  private _applyFilter(line: HTMLElement): boolean {
    const match = !this._needle || (line.textContent ?? '').toLowerCase().includes(this._needle);
    line.hidden = !match;
    return match;
  }

  /** Load the stored log, then merge the events that came meanwhile. */
  private async _reload(): Promise<void> {
    const generation = ++this._generation;
    this._loading = true;
    this._held = [];
    try {
      const [raw] = await Promise.all([api.getRunLogs(this.runId, MAX_LINES), this._loadRun()]);
      if (generation !== this._generation) {
        return;
      }
      const lines = raw.map(parseLogLine);
      this._lines.replaceChildren();
      this._open = null;
      this._count = 0;
      this._append(lines);
      // Events carry the line's sequence number; a complete stored log holds seq 0..n-1.
      this._nextSeq = raw.length < MAX_LINES ? raw.length : null;
      const held = this._held;
      if (this._nextSeq !== null && held.every(l => l.seq !== undefined)) {
        this._appendLive(held);
        showError(this._error, '');
        return;
      }
      // Otherwise: held events already in the stored log are dropped (same stream + text, counted).
      const seen = new Map<string, number>();
      for (const l of lines.slice(-Math.max(50, this._held.length * 2))) {
        const key = `${l.stream}\u0000${l.text}`;
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }
      const fresh = this._held.filter(l => {
        const key = `${l.stream}\u0000${l.text}`;
        const n = seen.get(key) ?? 0;
        if (n > 0) {
          seen.set(key, n - 1);
          return false;
        }
        return true;
      });
      this._append(fresh);
      showError(this._error, '');
    } catch (e) {
      if (generation === this._generation) {
        showError(this._error, api.messageOf(e));
      }
    } finally {
      if (generation === this._generation) {
        this._loading = false;
        this._held = [];
      }
    }
  }

  private async _loadRun(): Promise<void> {
    try {
      const runs = await api.listRuns(this._taskId, 50);
      const run = runs.find(r => r.run_id === this.runId);
      if (run) {
        this._setRun(run.status, run.started_at ?? run.created_at ?? null, run.ended_at ?? null, run.exit_code);
      }
    } catch {
      // the log itself matters more; its own error is shown
    }
  }

  private _setRun(status: string, start: string | null, end: string | null, exit?: number | null): void {
    this._runStatus = status;
    this._status.replaceChildren(statusBadge(status));
    this.node.dataset.status = status;
    this._run = { start: start ?? this._run.start, end: end ?? this._run.end, exit: exit ?? this._run.exit };
    this._renderInfo();
  }

  /** Start, duration (ticking while the run runs) and exit. */
  private _renderInfo(): void {
    const { start, end, exit } = this._run;
    const parts: string[] = [];
    if (start) {
      parts.push(`started ${shortTime(start, this._zone)}`);
      if (end || !FINISHED_RUN.has(this._runStatus)) {
        parts.push(durationBetween(start, end));
      }
    }
    const words = exitWords(exit);
    if (words) {
      parts.push(words);
    }
    this._info.textContent = parts.join(' · ');
  }

  protected onChannelEvent(event: IOrchEvent): void {
    if (event.kind === 'resync' && this.isActive) {
      void this._reload();
    } else if (event.kind === 'log' && String(event.run_id) === this.runId) {
      const lines = pushedLines(event.reads);
      if (this._loading) {
        this._held.push(...lines);
      } else {
        this._appendLive(lines);
      }
    } else if (event.kind === 'run' && String(event.id) === this.runId && event.status) {
      const wasFinished = FINISHED_RUN.has(this._runStatus);
      this._setRun(
        event.status,
        (event.started_at as string) ?? null,
        (event.ended_at as string) ?? null,
        event.exit_code as number | null | undefined
      );
      if (FINISHED_RUN.has(event.status) && !wasFinished) {
        // Fill in run details (times, exit code) and any line the tail missed.
        void this._reconcile();
      }
    }
  }

  /** After the run ends: reload if the stored log has lines we did not show. */
  private async _reconcile(): Promise<void> {
    await this._loadRun();
    try {
      const raw = await api.getRunLogs(this.runId, MAX_LINES);
      if (raw.length > this._count && !this._loading) {
        await this._reload();
      }
    } catch {
      // keep what is shown
    }
  }

  /** Append pushed lines, skipping any whose sequence number was already shown. */
  private _appendLive(lines: IPushedLine[]): void {
    const fresh = lines.filter(l => {
      if (l.seq === undefined || this._nextSeq === null) {
        return true;
      }
      if (l.seq < this._nextSeq) {
        return false;
      }
      this._nextSeq = l.seq + 1;
      return true;
    });
    this._append(fresh);
  }

  private _append(lines: ILogLine[]): void {
    if (!lines.length) {
      return;
    }
    const box = this._lines;
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    const frag = document.createDocumentFragment();
    for (const l of lines) {
      const open = this._open;
      if (open && open.stream === l.stream) {
        // The rest of a long line that came in pieces.
        open.text.textContent += l.text;
      } else {
        const text = h('span', { class: 'jp-orch-log-text' }, l.text);
        const line = h(
          'div',
          { class: `jp-orch-log-line jp-orch-log-${l.stream}`, dataset: { stream: l.stream } },
          h(
            'span',
            { class: 'jp-orch-log-time', title: fullTime(l.time, this._zone), dataset: { time: l.time } },
            shortTime(l.time, this._zone)
          ),
          text
        );
        this._applyFilter(line);
        frag.appendChild(line);
        this._open = l.partial ? { stream: l.stream, text } : null;
        continue;
      }
      this._open = l.partial ? open : null;
    }
    box.appendChild(frag);
    this._count += lines.length;
    while (box.childElementCount > MAX_LINES && box.firstElementChild) {
      box.firstElementChild.remove();
    }
    if (this._follow.checked && atBottom) {
      box.scrollTop = box.scrollHeight;
    }
  }

  private _taskId: string;
  private _zone: Zone;
  private _needle = '';
  private _ticker = 0;
  private _run: { start: string | null; end: string | null; exit: number | null | undefined } = {
    start: null,
    end: null,
    exit: undefined
  };
  private _matches = h('span', { class: 'jp-orch-log-matches' });
  private _loading = false;
  private _generation = 0;
  private _held: IPushedLine[] = [];
  private _nextSeq: number | null = null;
  private _open: { stream: string; text: HTMLElement } | null = null;
  private _count = 0;
  private _runStatus = '';
  private _status: HTMLElement;
  private _info: HTMLElement;
  private _follow: HTMLInputElement;
  private _error: HTMLElement;
  private _lines: HTMLElement;
}
