/**
 * Words and times for people: pure functions, no DOM (tested with jest).
 *
 * Times are shown in the viewer's local zone, or in UTC when the settings say so,
 * and the zone is always named in the full form (tooltips, tables).
 */

export type Zone = 'local' | 'utc';

export function parseTime(value: string | number | Date | null | undefined): Date | null {
  if (value === null || value === undefined || value === '') {
    return null;
  }
  const d = value instanceof Date ? value : new Date(value);
  return isNaN(d.getTime()) ? null : d;
}

const pad = (n: number) => String(n).padStart(2, '0');
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

interface IParts {
  year: number;
  month: number;
  day: number;
  hours: number;
  minutes: number;
  seconds: number;
}

function partsOf(d: Date, zone: Zone): IParts {
  return zone === 'utc'
    ? {
        year: d.getUTCFullYear(),
        month: d.getUTCMonth(),
        day: d.getUTCDate(),
        hours: d.getUTCHours(),
        minutes: d.getUTCMinutes(),
        seconds: d.getUTCSeconds()
      }
    : {
        year: d.getFullYear(),
        month: d.getMonth(),
        day: d.getDate(),
        hours: d.getHours(),
        minutes: d.getMinutes(),
        seconds: d.getSeconds()
      };
}

/** The zone's short name at that time: `UTC`, `UTC+1`, `UTC-05:30`. */
export function zoneName(zone: Zone, at: Date = new Date()): string {
  if (zone === 'utc') {
    return 'UTC';
  }
  const offset = -at.getTimezoneOffset();
  if (offset === 0) {
    return 'UTC';
  }
  const sign = offset > 0 ? '+' : '-';
  const h = Math.floor(Math.abs(offset) / 60);
  const m = Math.abs(offset) % 60;
  return `UTC${sign}${m ? `${pad(h)}:${pad(m)}` : h}`;
}

/** `14:03:07` for today, `24 Nov 14:03` this year, else `24 Nov 2025 14:03`. */
export function shortTime(
  value: string | number | Date | null | undefined,
  zone: Zone = 'local',
  now = new Date()
): string {
  const d = parseTime(value);
  if (!d) {
    return '';
  }
  const p = partsOf(d, zone);
  const n = partsOf(now, zone);
  const time = `${pad(p.hours)}:${pad(p.minutes)}`;
  if (p.year === n.year && p.month === n.month && p.day === n.day) {
    return `${time}:${pad(p.seconds)}`;
  }
  const year = p.year === n.year ? '' : ` ${p.year}`;
  return `${p.day} ${MONTHS[p.month]}${year} ${time}`;
}

/** `2026-11-24 14:03:07 UTC+1`: the full time with its zone named. */
export function fullTime(value: string | number | Date | null | undefined, zone: Zone = 'local'): string {
  const d = parseTime(value);
  if (!d) {
    return '';
  }
  const p = partsOf(d, zone);
  const date = `${p.year}-${pad(p.month + 1)}-${pad(p.day)}`;
  return `${date} ${pad(p.hours)}:${pad(p.minutes)}:${pad(p.seconds)} ${zoneName(zone, d)}`;
}

/** Human duration: `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 10 min`, `3 d 4 h`. */
export function formatDuration(ms: number): string {
  if (!isFinite(ms) || ms < 0) {
    return '';
  }
  if (ms < 1000) {
    return `${Math.round(ms)} ms`;
  }
  const s = ms / 1000;
  if (s < 60) {
    return `${s.toFixed(1)} s`;
  }
  const m = Math.floor(s / 60);
  if (m < 60) {
    return `${m} min ${pad(Math.floor(s % 60))} s`;
  }
  const h = Math.floor(m / 60);
  if (h < 48) {
    return `${h} h ${pad(m % 60)} min`;
  }
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** From `start` to `end`, or to `now` while it has no end (a running run ticks). */
export function durationBetween(
  start: string | null | undefined,
  end: string | null | undefined,
  now: number = Date.now()
): string {
  const a = parseTime(start);
  if (!a) {
    return '';
  }
  const b = parseTime(end);
  return formatDuration((b ? b.getTime() : now) - a.getTime());
}

/** Whole-second words for a countdown or an age: `4 s`, `2 min 05 s`. */
function roundWords(ms: number): string {
  return ms < 60_000 ? `${Math.round(ms / 1000)} s` : formatDuration(ms);
}

/** `in 4 s`, `in 2 min 05 s`; `due now` once the time has come; `3 min 05 s ago` for the past. */
export function relativeTime(value: string | null | undefined, now: number = Date.now(), past = false): string {
  const d = parseTime(value);
  if (!d) {
    return '';
  }
  const diff = d.getTime() - now;
  if (diff >= 500) {
    return `in ${roundWords(diff)}`;
  }
  return past ? `${roundWords(-diff)} ago` : 'due now';
}

const STATUS_WORDS: Record<string, string> = {
  pending_packaging: 'waiting to package',
  packaging: 'packaging',
  ready: 'ready',
  error: 'error',
  pending: 'pending',
  started: 'started',
  running: 'running',
  success: 'success',
  failed: 'failed',
  failure: 'failed',
  timed_out: 'timed out',
  pending_kill: 'stopping',
  killed: 'killed',
  Running: 'deployed',
  Starting: 'deploying',
  Error: 'deploy failed',
  Undeployed: 'not deployed'
};

/** A status in words (`timed_out` -> `timed out`); unknown ones with their underscores as spaces. */
export function statusWords(status: string | null | undefined): string {
  if (!status) {
    return 'unknown';
  }
  return STATUS_WORDS[status] ?? status.replace(/_/g, ' ');
}

const RUN_TYPES: Record<string, string> = {
  Oneshot: 'once',
  CronJob: 'scheduled',
  NetworkService: 'continuous'
};

export function runTypeWords(runType: string | null | undefined): string {
  return RUN_TYPES[runType ?? ''] ?? statusWords(runType);
}

const SIGNALS: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 6: 'SIGABRT', 9: 'SIGKILL', 15: 'SIGTERM' };

/** `exit code 3`; a negative code (killed by a signal) as `stopped by SIGTERM`. */
export function exitWords(code: number | null | undefined): string {
  if (code === null || code === undefined) {
    return '';
  }
  if (code < 0) {
    const name = SIGNALS[-code];
    return name ? `stopped by ${name}` : `stopped by signal ${-code}`;
  }
  return `exit code ${code}`;
}

/** Engine messages name fields (`see packaging_log`); people read words. */
/** `512 B`, `3.4 KB`, `12.0 MB`. */
export function sizeWords(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function humanMessage(text: string | null | undefined): string {
  return (text ?? '')
    .replace(/\bsee packaging_log\b/g, 'see the packaging log')
    .replace(/\b(timed_out|pending_kill|pending_packaging)\b/g, s => statusWords(s));
}

/** A short id for tooltips and fallbacks. */
export function shortId(id: string | number | null | undefined, n = 8): string {
  return String(id ?? '').slice(0, n);
}

/** Rows as CSV (RFC 4180 quoting), columns in the given order. */
export function toCsv(columns: string[], rows: Record<string, unknown>[]): string {
  const cell = (v: unknown): string => {
    if (v === null || v === undefined) {
      return '';
    }
    const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [columns.map(cell).join(','), ...rows.map(r => columns.map(c => cell(r[c])).join(','))].join('\r\n') + '\r\n';
}
