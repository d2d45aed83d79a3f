/**
 * A pipeline's inference log, in the main area: a `Table` of one page, paged both ways
 * (the server's cursor forward, the cursors already seen back), with a page size, a time
 * range (in the zone shown) and CSV export of the page. On the newest page without a range
 * it refreshes itself when an `inference` event for the pipeline arrives, while on show.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget, Table } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import React, { useCallback, useEffect, useState } from 'react';
import * as api from './api';
import { EventChannel, IOrchEvent, ISubscription } from './events';
import { fullTime, toCsv, zoneName, Zone } from './format';
import { saveText } from './download';

const PAGE_SIZES = [25, 100, 500];
const LIVE_DEBOUNCE_MS = 1000;

export interface IInferenceLogOptions {
  pipelineName: string;
  workspaceId: number | null;
  channel: EventChannel;
  trans: TranslationBundle;
  zone: Zone;
}

/** pandas writes datetimes as epoch milliseconds (or nanoseconds). */
function timeOf(value: unknown): Date | null {
  if (typeof value === 'number') {
    return new Date(value > 1e14 ? value / 1e6 : value);
  }
  return typeof value === 'string' ? new Date(value) : null;
}

export function cellText(column: string, value: unknown, zone: Zone): string {
  if (value === null || value === undefined) {
    return '';
  }
  if (column === 'time') {
    const d = timeOf(value);
    return d && !isNaN(d.getTime()) ? fullTime(d, zone) : String(value);
  }
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** `datetime-local` value, read in the zone shown, as ISO 8601 UTC. */
function toIso(local: string, zone: Zone): string {
  const d = new Date(zone === 'utc' ? `${local}Z` : local);
  return isNaN(d.getTime()) ? '' : d.toISOString();
}

type Row = Record<string, unknown> & { __key: string };

function TimeInput(props: { label: string; className: string; value: string; onChange: (v: string) => void }) {
  return (
    <label>
      {props.label}{' '}
      <input
        className={`${props.className} jp-mod-styled`}
        type="datetime-local"
        step="1"
        value={props.value}
        onChange={e => props.onChange(e.target.value)}
      />
    </label>
  );
}

function InferenceLog(props: IInferenceLogOptions & { live: { poke: number } }): JSX.Element {
  const { trans, zone } = props;
  const [pageSize, setPageSize] = useState(100);
  const [range, setRange] = useState<{ start: string; end: string } | null>(null);
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  // cursors[i] is the cursor that loads page i (page 0: none).
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [page, setPage] = useState<api.IInferencePage | null>(null);
  const [error, setError] = useState('');
  const index = cursors.length - 1;

  const load = useCallback(async () => {
    try {
      const result = await api.getInferenceLogs({
        pipeline_name: props.pipelineName,
        workspace_id: props.workspaceId ?? undefined,
        start_time: range?.start,
        end_time: range?.end,
        page_size: pageSize,
        cursor: cursors[cursors.length - 1]
      } as api.IInferenceQuery);
      setPage(result);
      setError('');
    } catch (e) {
      setError(api.messageOf(e));
    }
  }, [props.pipelineName, props.workspaceId, range, pageSize, cursors]);

  useEffect(() => {
    void load();
  }, [load]);

  useEffect(() => {
    if (props.live.poke && index === 0 && !range) {
      void load();
    }
  }, [props.live.poke]);

  const more = Boolean(page && page.status !== 'All' && page.cursor && page.records.length);
  const records = page?.records ?? [];
  const columns: string[] = [];
  for (const r of records) {
    for (const k of Object.keys(r)) {
      if (!columns.includes(k)) {
        columns.push(k);
      }
    }
  }
  columns.sort((a, b) => (a === 'time' ? -1 : b === 'time' ? 1 : 0));
  const rows: Table.IRow<Row>[] = records.map((r, i) => ({ key: String(i), data: { ...r, __key: String(i) } }));
  const first = index * pageSize + 1;

  const apply = () => {
    if (Boolean(from) !== Boolean(to)) {
      setError(trans.__('Give both ends of the time range (From and To), or neither.'));
      return;
    }
    if (from && to && new Date(from) > new Date(to)) {
      setError(trans.__('"From" must be before "To".'));
      return;
    }
    setRange(from && to ? { start: toIso(from, zone), end: toIso(to, zone) } : null);
    setCursors([undefined]);
  };
  const exportCsv = () => {
    const data = records.map(r =>
      Object.fromEntries(columns.map(c => [c, c === 'time' ? cellText(c, r[c], zone) : r[c]]))
    );
    saveText(toCsv(columns, data), `${props.pipelineName}-inference-page-${index + 1}.csv`, 'text/csv');
  };

  return (
    <div className="jp-orch-inference" data-pipeline={props.pipelineName}>
      <div className="jp-orch-inference-toolbar">
        <span className="jp-orch-logview-title">{trans.__('Inference log · %1', props.pipelineName)}</span>
        <TimeInput label={trans.__('From')} className="jp-orch-from" value={from} onChange={setFrom} />
        <TimeInput label={trans.__('To')} className="jp-orch-to" value={to} onChange={setTo} />
        <span className="jp-orch-zone">{zoneName(zone)}</span>
        <button className="jp-orch-button" data-action="apply" onClick={apply}>
          {trans.__('Apply')}
        </button>
        <button
          className="jp-orch-button"
          data-action="clear"
          onClick={() => {
            setFrom('');
            setTo('');
            setRange(null);
            setCursors([undefined]);
          }}
        >
          {trans.__('Newest')}
        </button>
        <label>
          {trans.__('Rows per page')}{' '}
          <select
            className="jp-orch-page-size jp-mod-styled"
            value={pageSize}
            onChange={e => {
              setPageSize(Number(e.target.value));
              setCursors([undefined]);
            }}
          >
            {PAGE_SIZES.map(n => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <button
          className="jp-orch-button"
          data-action="prev-page"
          disabled={index === 0}
          onClick={() => setCursors(c => c.slice(0, -1))}
        >
          {trans.__('Newer')}
        </button>
        <button
          className="jp-orch-button"
          data-action="next-page"
          disabled={!more}
          onClick={() => setCursors(c => [...c, page?.cursor ?? undefined])}
        >
          {trans.__('Older')}
        </button>
        <span className="jp-orch-page-info">
          {records.length
            ? trans.__(
                'page %1 · rows %2–%3%4%5',
                index + 1,
                first,
                first + records.length - 1,
                page?.total !== null && page?.total !== undefined ? trans.__(' of %1', page.total) : '',
                more ? '' : trans.__(' · end')
              )
            : ''}
        </span>
        <button className="jp-orch-button" data-action="export-csv" disabled={!records.length} onClick={exportCsv}>
          {trans.__('Export CSV')}
        </button>
      </div>
      {error ? <div className="jp-orch-error">{error}</div> : null}
      <div className="jp-orch-table-box">
        {records.length ? (
          <Table<Row>
            rows={rows}
            columns={columns.map(c => ({
              id: c,
              label: c,
              renderCell: (row: Row) => <span data-column={c}>{cellText(c, row[c], zone)}</span>,
              sort: () => undefined
            }))}
            blankIndicator={() => null}
          />
        ) : page ? (
          <div className="jp-orch-empty">{trans.__('No inference rows for this page.')}</div>
        ) : null}
      </div>
    </div>
  );
}

export class InferenceLogView extends ReactWidget {
  constructor(private readonly _options: IInferenceLogOptions) {
    super();
    this.pipelineName = _options.pipelineName;
    this.addClass('jp-orch-inference-widget-body');
    _options.channel.received.connect(this._onEvent, this);
  }

  readonly pipelineName: string;

  dispose(): void {
    this._options.channel.received.disconnect(this._onEvent, this);
    this._options.channel.release(this);
    window.clearTimeout(this._timer);
    super.dispose();
  }

  protected render(): JSX.Element {
    return <InferenceLog {...this._options} live={this._live} />;
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._options.channel.acquire(this, this._interest());
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    if (this.isVisible) {
      this._options.channel.acquire(this, this._interest());
    }
  }

  protected onBeforeHide(msg: Message): void {
    super.onBeforeHide(msg);
    this._options.channel.release(this);
  }

  private _interest(): ISubscription {
    return { kinds: ['inference'], ids: [this.pipelineName] };
  }

  private _onEvent(_: EventChannel, event: IOrchEvent): void {
    if (event.kind !== 'inference' || event.pipeline_name !== this.pipelineName || !this.isVisible || this._timer) {
      return;
    }
    this._timer = window.setTimeout(() => {
      this._timer = 0;
      this._live = { poke: this._live.poke + 1 };
      this.update();
    }, LIVE_DEBOUNCE_MS);
  }

  private _live = { poke: 0 };
  private _timer = 0;
}
