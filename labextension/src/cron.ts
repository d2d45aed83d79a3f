/**
 * Cron schedules in words.
 *
 * Understands 5-field cron (`min hour dom month dow`), the macros
 * (`@hourly`, `@daily`, ...) and the 6-field form
 * `sec min hour dom month year`. Anything it cannot read comes back as
 * `cron <expression>`, never as an exception.
 */

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December'
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
      sec!.kind === 'values'
        ? `at ${fieldWords(sec!, 'second', 'seconds', v => `second ${v}`)}`
        : fieldWords(sec!, 'second', 'seconds', v => `second ${v}`)
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
  const dowWords =
    dow === null || dow.kind === 'any' ? '' : `on ${fieldWords(dow, 'day', 'days', v => DAYS[parseInt(v, 10) % 7])}`;
  let words =
    domWords && dowWords ? `${domWords} or ${dowWords}` : domWords || dowWords || (exactTime ? 'every day' : '');
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
      const days = dayWords(
        parseField(dom, 1, 31),
        parseField(mon, 1, 12, MONTH_ABBR),
        parseField(dow, 0, 7, DAY_ABBR),
        exact
      );
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

// ---- next fires --------------------------------------------------------------------------------

interface ISpec {
  seconds: Set<number>;
  minutes: Set<number>;
  hours: Set<number>;
  days: Set<number>;
  months: Set<number>;
  weekdays: Set<number>;
  years: Set<number> | null;
  /** Both day-of-month and day-of-week restricted: cron fires on either. */
  eitherDay: boolean;
}

const MACRO_FIELDS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *'
};

function expand(f: IField, min: number, max: number): Set<number> {
  const out = new Set<number>();
  if (f.kind === 'any') {
    for (let v = min; v <= max; v++) {
      out.add(v);
    }
  } else if (f.kind === 'step') {
    const from = f.from === null ? min : parseInt(f.from, 10);
    const to = f.to === null ? max : parseInt(f.to, 10);
    for (let v = from; v <= to; v += f.step) {
      out.add(v);
    }
  } else {
    for (const part of f.parts) {
      const [a, b] = part.split('-').map(x => parseInt(x, 10));
      for (let v = a; v <= (b ?? a); v++) {
        out.add(v);
      }
    }
  }
  return out;
}

function parseSpec(expression: string): ISpec | null {
  const expr = expression.trim();
  const fields = (MACRO_FIELDS[expr.toLowerCase()] ?? expr).split(/\s+/);
  try {
    if (fields.length === 5) {
      const [mi, h, dom, mon, dow] = fields;
      const dayField = parseField(dom, 1, 31);
      const dowField = parseField(dow, 0, 7, DAY_ABBR);
      const weekdays = new Set([...expand(dowField, 0, 7)].map(d => d % 7));
      return {
        seconds: new Set([0]),
        minutes: expand(parseField(mi, 0, 59), 0, 59),
        hours: expand(parseField(h, 0, 23), 0, 23),
        days: expand(dayField, 1, 31),
        months: expand(parseField(mon, 1, 12, MONTH_ABBR), 1, 12),
        weekdays,
        years: null,
        eitherDay: dayField.kind !== 'any' && dowField.kind !== 'any'
      };
    }
    if (fields.length === 6) {
      const [s, mi, h, dom, mon, yr] = fields;
      const year = parseField(yr, 1970, 2999);
      return {
        seconds: expand(parseField(s, 0, 59), 0, 59),
        minutes: expand(parseField(mi, 0, 59), 0, 59),
        hours: expand(parseField(h, 0, 23), 0, 23),
        days: expand(parseField(dom, 1, 31), 1, 31),
        months: expand(parseField(mon, 1, 12, MONTH_ABBR), 1, 12),
        weekdays: new Set([0, 1, 2, 3, 4, 5, 6]),
        years: year.kind === 'any' ? null : expand(year, 1970, 2999),
        eitherDay: false
      };
    }
  } catch (e) {
    if (!(e instanceof CronError)) {
      throw e;
    }
  }
  return null;
}

/** Date fields read and written in local time or in UTC. */
class Clock {
  constructor(
    readonly utc: boolean,
    time: number
  ) {
    this.d = new Date(time);
  }
  readonly d: Date;
  get year() {
    return this.utc ? this.d.getUTCFullYear() : this.d.getFullYear();
  }
  get month() {
    return (this.utc ? this.d.getUTCMonth() : this.d.getMonth()) + 1;
  }
  get day() {
    return this.utc ? this.d.getUTCDate() : this.d.getDate();
  }
  get weekday() {
    return this.utc ? this.d.getUTCDay() : this.d.getDay();
  }
  get hour() {
    return this.utc ? this.d.getUTCHours() : this.d.getHours();
  }
  get minute() {
    return this.utc ? this.d.getUTCMinutes() : this.d.getMinutes();
  }
  get second() {
    return this.utc ? this.d.getUTCSeconds() : this.d.getSeconds();
  }
  /** Set (year, month 1-12, day, hour, minute, second); overflow rolls over as Date does. */
  set(y: number, mo: number, d: number, h: number, mi: number, s: number): void {
    if (this.utc) {
      this.d.setTime(Date.UTC(y, mo - 1, d, h, mi, s));
    } else {
      this.d.setTime(new Date(y, mo - 1, d, h, mi, s).getTime());
    }
  }
}

/**
 * The next `count` times a schedule fires after `from` (local time, or UTC when `utc`).
 * Empty for an unreadable schedule or one that has ended (a past 6-field year).
 */
export function nextFires(expression: string, from: Date, count: number, utc = false): Date[] {
  const spec = parseSpec(expression);
  if (!spec) {
    return [];
  }
  const lastYear = spec.years ? Math.max(...spec.years) : from.getUTCFullYear() + 8;
  const c = new Clock(utc, Math.floor(from.getTime() / 1000) * 1000 + 1000);
  const out: Date[] = [];
  const dayOk = () => {
    const dom = spec.days.has(c.day);
    const dow = spec.weekdays.has(c.weekday);
    return spec.eitherDay ? dom || dow : dom && dow;
  };
  for (let guard = 0; out.length < count && guard < 200_000; guard++) {
    if (c.year > lastYear) {
      break;
    }
    if (spec.years && !spec.years.has(c.year)) {
      c.set(c.year + 1, 1, 1, 0, 0, 0);
    } else if (!spec.months.has(c.month)) {
      c.set(c.year, c.month + 1, 1, 0, 0, 0);
    } else if (!dayOk()) {
      c.set(c.year, c.month, c.day + 1, 0, 0, 0);
    } else if (!spec.hours.has(c.hour)) {
      c.set(c.year, c.month, c.day, c.hour + 1, 0, 0);
    } else if (!spec.minutes.has(c.minute)) {
      c.set(c.year, c.month, c.day, c.hour, c.minute + 1, 0);
    } else if (!spec.seconds.has(c.second)) {
      c.set(c.year, c.month, c.day, c.hour, c.minute, c.second + 1);
    } else {
      out.push(new Date(c.d.getTime()));
      c.set(c.year, c.month, c.day, c.hour, c.minute, c.second + 1);
    }
  }
  return out;
}

/** Whether the engine would accept the schedule's shape (it has the last word: a 400). */
export function isCronReadable(expression: string): boolean {
  return parseSpec(expression) !== null;
}
