/**
 * A pipeline's inference log as an HTML table, in the main area.
 *
 * A time range (two datetime-local inputs + Apply) and paging through the
 * server's cursor (`x-iteration-cursor`, `x-iteration-status: All` at the
 * end). On the first page without a range it refreshes itself when an
 * `inference` event for the pipeline arrives (only while shown).
 */
import * as api from './api';
import { h, showError } from './dom';
import { EventChannel, IOrchEvent } from './events';
import { VisibleWorkWidget } from './visible';

const PAGE_SIZE = 100;
const LIVE_DEBOUNCE_MS = 1000;

export interface IInferenceLogOptions {
  pipelineName: string;
  workspaceId: number;
  channel: EventChannel;
}

/** `datetime-local` value (local time) -> ISO 8601 with offset, UTC. */
function toIso(local: string): string {
  const d = new Date(local);
  return isNaN(d.getTime()) ? '' : d.toISOString().replace('Z', '+00:00');
}

function cellText(column: string, value: unknown): string {
  if (value === null || value === undefined) {
    return '';
  }
  if (column === 'time' && typeof value === 'number') {
    // pandas writes datetimes as epoch milliseconds
    const d = new Date(value > 1e14 ? value / 1e6 : value);
    return isNaN(d.getTime()) ? String(value) : d.toISOString();
  }
  if (typeof value === 'object') {
    return JSON.stringify(value);
  }
  return String(value);
}

export class InferenceLogView extends VisibleWorkWidget {
  constructor(options: IInferenceLogOptions) {
    super(options.channel);
    this.pipelineName = options.pipelineName;
    this._workspaceId = options.workspaceId;
    this.addClass('jp-orch-inference');
    this.node.dataset.pipeline = this.pipelineName;
    this._from = h('input', { type: 'datetime-local', step: '1', class: 'jp-orch-from', 'aria-label': 'From' });
    this._to = h('input', { type: 'datetime-local', step: '1', class: 'jp-orch-to', 'aria-label': 'To' });
    this._next = h(
      'button',
      { class: 'jp-orch-button', dataset: { action: 'next-page' }, disabled: true, onclick: () => void this._nextPage() },
      'Next page'
    );
    this._pageInfo = h('span', { class: 'jp-orch-page-info' });
    this._error = h('div', { class: 'jp-orch-error', hidden: true });
    this._table = h('table', { class: 'jp-orch-inference-table' });
    this.node.append(
      h(
        'div',
        { class: 'jp-orch-inference-toolbar' },
        h('span', { class: 'jp-orch-logview-title' }, `Inference log · ${this.pipelineName}`),
        h('label', {}, 'From ', this._from),
        h('label', {}, 'To ', this._to),
        h('button', { class: 'jp-orch-button', dataset: { action: 'apply' }, onclick: () => this._apply() }, 'Apply'),
        h('button', { class: 'jp-orch-button', dataset: { action: 'clear' }, onclick: () => this._clear() }, 'Newest'),
        this._next,
        this._pageInfo
      ),
      this._error,
      h('div', { class: 'jp-orch-table-box' }, this._table)
    );
  }

  readonly pipelineName: string;

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    if (this._liveTimer !== null) {
      window.clearTimeout(this._liveTimer);
    }
    super.dispose();
  }

  protected onStartWork(): void {
    if (this._page <= 1) {
      void this._load(undefined, 1);
    }
  }

  protected onStopWork(): void {
    // nothing to stop: a pending live refresh checks isActive when it fires
  }

  private _apply(): void {
    const from = this._from.value;
    const to = this._to.value;
    if (Boolean(from) !== Boolean(to)) {
      showError(this._error, 'Give both ends of the time range (From and To), or neither.');
      return;
    }
    if (from && to && new Date(from) > new Date(to)) {
      showError(this._error, '"From" must be before "To".');
      return;
    }
    this._range = from && to ? { start: toIso(from), end: toIso(to) } : null;
    void this._load(undefined, 1);
  }

  private _clear(): void {
    this._from.value = '';
    this._to.value = '';
    this._range = null;
    void this._load(undefined, 1);
  }

  private async _nextPage(): Promise<void> {
    if (this._cursor) {
      await this._load(this._cursor, this._page + 1);
    }
  }

  private async _load(cursor: string | undefined, page: number): Promise<void> {
    const generation = ++this._generation;
    this.node.dataset.loading = 'true';
    try {
      const result = await api.getInferenceLogs({
        pipeline_name: this.pipelineName,
        workspace_id: this._workspaceId,
        start_time: this._range?.start,
        end_time: this._range?.end,
        page_size: PAGE_SIZE,
        cursor
      });
      if (generation !== this._generation) {
        return;
      }
      this._page = page;
      const more = result.status !== 'All' && Boolean(result.cursor) && result.records.length > 0;
      this._cursor = more ? result.cursor : null;
      this._next.disabled = !more;
      this._render(result.records);
      const range = this._range ? ' in range' : '';
      this._pageInfo.textContent = `page ${page} · ${result.records.length} rows${range}${more ? '' : ' · end'}`;
      showError(this._error, '');
    } catch (e) {
      if (generation === this._generation) {
        showError(this._error, api.messageOf(e));
      }
    } finally {
      if (generation === this._generation) {
        delete this.node.dataset.loading;
      }
    }
  }

  private _render(records: Record<string, unknown>[]): void {
    const columns: string[] = [];
    for (const r of records) {
      for (const k of Object.keys(r)) {
        if (!columns.includes(k)) {
          columns.push(k);
        }
      }
    }
    columns.sort((a, b) => (a === 'time' ? -1 : b === 'time' ? 1 : 0));
    const head = h('thead', {}, h('tr', {}, ...columns.map(c => h('th', { scope: 'col' }, c))));
    const body = h(
      'tbody',
      {},
      ...records.map(r =>
        h(
          'tr',
          {},
          ...columns.map(c => {
            const text = cellText(c, r[c]);
            const short = text.length > 120 ? `${text.slice(0, 117)}…` : text;
            return h('td', { title: short === text ? null : text, dataset: { column: c } }, short);
          })
        )
      )
    );
    if (!records.length) {
      body.appendChild(h('tr', {}, h('td', { class: 'jp-orch-empty' }, 'No inference rows for this page.')));
    }
    this._table.replaceChildren(head, body);
  }

  protected onChannelEvent(event: IOrchEvent): void {
    if (event.kind !== 'inference' || event.pipeline_name !== this.pipelineName) {
      return;
    }
    if (!this.isActive || this._page !== 1 || this._range || this._liveTimer !== null) {
      return;
    }
    this._liveTimer = window.setTimeout(() => {
      this._liveTimer = null;
      if (this.isActive && this._page === 1 && !this._range) {
        void this._load(undefined, 1);
      }
    }, LIVE_DEBOUNCE_MS);
  }

  private _workspaceId: number;
  private _generation = 0;
  private _page = 0;
  private _cursor: string | null = null;
  private _range: { start: string; end: string } | null = null;
  private _liveTimer: number | null = null;
  private _from: HTMLInputElement;
  private _to: HTMLInputElement;
  private _next: HTMLButtonElement;
  private _pageInfo: HTMLElement;
  private _error: HTMLElement;
  private _table: HTMLTableElement;
}
