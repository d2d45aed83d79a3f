/**
 * Cron schedules in words.
 *
 * Understands 5-field cron (`min hour dom month dow`), the macros
 * (`@hourly`, `@daily`, ...) and the 6-field form
 * `sec min hour dom month year`. Anything it cannot read comes back as
 * `cron <expression>`, never as an exception.
 */

const MONTHS = [
  'January', 'February', 'March', 'April', 'May', 'June',
  'July', 'August', 'September', 'October', 'November', 'December'
];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTH_ABBR = MONTHS.map(m => m.slice(0, 3).toUpperCase());
const DAY_ABBR = DAYS.map(d => d.slice(0, 3).toUpperCase());

const MACROS: Record<string, string> = {
  '@yearly': 'every year on 1 January at 00:00',
  '@annually': 'every year on 1 January at 00:00',
  '@monthly': 'every month on day 1 at 00:00',
  '@weekly': 'every Sunday at 00:00',
  '@daily': 'every day at 00:00',
  '@midnight': 'every day at 00:00',
  '@hourly': 'every hour at minute 0',
  '@reboot': 'when the server starts'
};

interface IField {
  kind: 'any' | 'values' | 'step';
  /** `values`: the listed parts, e.g. ["1", "3-5"]. */
  parts: string[];
  /** `step`: every `step` units, from `from` (to `to`). */
  step: number;
  from: string | null;
  to: string | null;
}

class CronError extends Error {}

function normalize(token: string, names: string[] | null): string {
  const upper = token.toUpperCase();
  if (names) {
    const i = names.indexOf(upper);
    if (i >= 0) {
      return String(names === MONTH_ABBR ? i + 1 : i);
    }
  }
  if (!/^\d+$/.test(token)) {
    throw new CronError(token);
  }
  return String(parseInt(token, 10));
}

function parseField(text: string, min: number, max: number, names: string[] | null = null): IField {
  const check = (v: string) => {
    const n = parseInt(v, 10);
    if (n < min || n > max) {
      throw new CronError(text);
    }
    return v;
  };
  if (text === '*' || text === '?') {
    return { kind: 'any', parts: [], step: 1, from: null, to: null };
  }
  const stepMatch = /^(\*|[^/]+)\/(\d+)$/.exec(text);
  if (stepMatch) {
    const step = parseInt(stepMatch[2], 10);
    if (!step) {
      throw new CronError(text);
    }
    if (stepMatch[1] === '*') {
      return { kind: 'step', parts: [], step, from: null, to: null };
    }
    const [a, b] = stepMatch[1].split('-');
    return {
      kind: 'step',
      parts: [],
      step,
      from: check(normalize(a, names)),
      to: b === undefined ? null : check(normalize(b, names))
    };
  }
  const parts = text.split(',').map(part => {
    const [a, b, extra] = part.split('-');
    if (extra !== undefined || a === '') {
      throw new CronError(text);
    }
    const lo = check(normalize(a, names));
    return b === undefined ? lo : `${lo}-${check(normalize(b, names))}`;
  });
  return { kind: 'values', parts, step: 1, from: null, to: null };
}

function joinWords(items: string[]): string {
  if (items.length <= 1) {
    return items.join('');
  }
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

function pad(v: string | number): string {
  return String(v).padStart(2, '0');
}

/** A field in words: `label(value)` names one value. */
function fieldWords(f: IField, unit: string, units: string, label: (v: string) => string): string {
  const one = (p: string) => {
    const [a, b] = p.split('-');
    return b === undefined ? label(a) : `${label(a)} through ${label(b)}`;
  };
  if (f.kind === 'step') {
    const every = f.step === 1 ? `every ${unit}` : `every ${f.step} ${units}`;
    if (f.from === null) {
      return every;
    }
    return f.to === null ? `${every} from ${label(f.from)}` : `${every} from ${label(f.from)} through ${label(f.to)}`;
  }
  return joinWords(f.parts.map(one));
}

function isSingle(f: IField): boolean {
  return f.kind === 'values' && f.parts.length === 1 && !f.parts[0].includes('-');
}

function timeWords(sec: IField | null, minute: IField, hour: IField): string {
  const secOk = sec === null || (isSingle(sec) && sec.parts[0] === '0');
  if (isSingle(minute) && isSingle(hour) && (secOk || (sec !== null && isSingle(sec)))) {
    const s = secOk ? '' : `:${pad(sec!.parts[0])}`;
    return `at ${pad(hour.parts[0])}:${pad(minute.parts[0])}${s}`;
  }
  // Several exact times (e.g. minute 0, hours 9,12,17).
  if (isSingle(minute) && hour.kind === 'values' && hour.parts.every(p => !p.includes('-')) && secOk) {
    return `at ${joinWords(hour.parts.map(h => `${pad(h)}:${pad(minute.parts[0])}`))}`;
  }
  const words: string[] = [];
  const secWords = sec !== null && !secOk;
  if (secWords) {
    words.push(
      sec!.kind === 'values' ? `at ${fieldWords(sec!, 'second', 'seconds', v => `second ${v}`)}` : fieldWords(sec!, 'second', 'seconds', v => `second ${v}`)
    );
  }
  if (minute.kind === 'any') {
    if (!secWords) {
      words.push('every minute');
    } else if (sec!.kind === 'values') {
      words.push('of every minute');
    }
  } else if (minute.kind === 'step') {
    words.push(fieldWords(minute, 'minute', 'minutes', v => `minute ${v}`));
  } else {
    words.push(`${secWords ? 'past' : 'at'} ${fieldWords(minute, 'minute', 'minutes', v => `minute ${v}`)}`);
  }
  if (hour.kind === 'any') {
    if (minute.kind === 'values') {
      words.push('of every hour');
    }
  } else if (hour.kind === 'step') {
    words.push(`past ${fieldWords(hour, 'hour', 'hours', v => `${pad(v)}:00`)}`);
  } else {
    words.push(`past hour ${fieldWords(hour, 'hour', 'hours', v => pad(v))}`);
  }
  return words.join(' ');
}

function dayWords(dom: IField, month: IField, dow: IField | null, exactTime: boolean): string {
  const domWords =
    dom.kind === 'any'
      ? ''
      : dom.kind === 'step'
        ? `on ${fieldWords(dom, 'day', 'days', v => `day ${v}`)}`
        : `on day ${fieldWords(dom, 'day', 'days', v => v)} of the month`;
  const dowWords = dow === null || dow.kind === 'any' ? '' : `on ${fieldWords(dow, 'day', 'days', v => DAYS[parseInt(v, 10) % 7])}`;
  let words = domWords && dowWords ? `${domWords} or ${dowWords}` : domWords || dowWords || (exactTime ? 'every day' : '');
  if (month.kind !== 'any') {
    words = `${words} in ${fieldWords(month, 'month', 'months', v => MONTHS[parseInt(v, 10) - 1])}`.trim();
  }
  return words;
}

/** Describe a schedule in words; unreadable input comes back as `cron <expr>`. */
export function cronToWords(expression: string | null | undefined): string {
  const expr = (expression ?? '').trim();
  if (!expr) {
    return '';
  }
  const macro = MACROS[expr.toLowerCase()];
  if (macro) {
    return macro;
  }
  const fields = expr.split(/\s+/);
  try {
    if (fields.length === 5) {
      const [mi, h, dom, mon, dow] = fields;
      const minute = parseField(mi, 0, 59);
      const hour = parseField(h, 0, 23);
      const time = timeWords(null, minute, hour);
      const exact = isSingle(minute) && hour.kind === 'values' && hour.parts.every(p => !p.includes('-'));
      const days = dayWords(parseField(dom, 1, 31), parseField(mon, 1, 12, MONTH_ABBR), parseField(dow, 0, 7, DAY_ABBR), exact);
      return [time, days].filter(Boolean).join(', ');
    }
    if (fields.length === 6) {
      const [s, mi, h, dom, mon, yr] = fields;
      const sec = parseField(s, 0, 59);
      const minute = parseField(mi, 0, 59);
      const hour = parseField(h, 0, 23);
      const year = parseField(yr, 1970, 2999);
      const time = timeWords(sec, minute, hour);
      const exact = isSingle(minute) && hour.kind === 'values' && hour.parts.every(p => !p.includes('-'));
      const days = dayWords(parseField(dom, 1, 31), parseField(mon, 1, 12, MONTH_ABBR), null, exact);
      const words = [time, days];
      if (year.kind !== 'any') {
        words.push(`in ${fieldWords(year, 'year', 'years', v => v)}`);
        if (year.kind === 'values' || year.to !== null) {
          words.push('then ends');
        }
      }
      return words.filter(Boolean).join(', ');
    }
  } catch (e) {
    if (!(e instanceof CronError)) {
      throw e;
    }
  }
  return `cron ${expr}`;
}
