import {
  durationBetween,
  exitWords,
  formatDuration,
  fullTime,
  humanMessage,
  relativeTime,
  runTypeWords,
  shortTime,
  sizeWords,
  statusWords,
  toCsv,
  zoneName
} from '../format';

describe('durations', () => {
  it.each([
    [850, '850 ms'],
    [12_340, '12.3 s'],
    [245_000, '4 min 05 s'],
    [7_800_000, '2 h 10 min'],
    [3 * 86_400_000 + 4 * 3_600_000, '3 d 4 h'],
    [-1, '']
  ])('%d ms reads %s', (ms, words) => expect(formatDuration(ms)).toBe(words));

  it('ticks while a run has no end', () => {
    const start = '2026-11-24T10:00:00Z';
    const now = Date.parse(start);
    expect(durationBetween(start, null, now + 3_000)).toBe('3.0 s');
    expect(durationBetween(start, null, now + 4_000)).toBe('4.0 s');
    expect(durationBetween(start, '2026-11-24T10:00:30Z', now + 99_000)).toBe('30.0 s');
    expect(durationBetween(null, null, now)).toBe('');
  });
});

describe('countdowns', () => {
  const at = Date.parse('2026-11-24T10:00:00Z');
  it('counts down to the next fire in whole seconds', () => {
    expect(relativeTime('2026-11-24T10:00:04Z', at)).toBe('in 4 s');
    expect(relativeTime('2026-11-24T10:00:04Z', at + 1000)).toBe('in 3 s');
    expect(relativeTime('2026-11-24T10:02:05Z', at)).toBe('in 2 min 05 s');
  });
  it('says "due now" once the time has come, and ages for the past', () => {
    expect(relativeTime('2026-11-24T10:00:00Z', at + 2000)).toBe('due now');
    expect(relativeTime('2026-11-24T09:59:50Z', at, true)).toBe('10 s ago');
  });
});

describe('times with their zone', () => {
  const now = new Date('2026-11-24T12:00:00Z');
  it('shows UTC times with UTC named', () => {
    expect(fullTime('2026-11-24T16:25:17.340060+00:00', 'utc')).toBe('2026-11-24 16:25:17 UTC');
    expect(shortTime('2026-11-24T16:25:17Z', 'utc', now)).toBe('16:25:17');
    expect(shortTime('2026-11-20T16:25:17Z', 'utc', now)).toBe('20 Nov 16:25');
    expect(shortTime('2025-11-20T16:25:17Z', 'utc', now)).toBe('20 Nov 2025 16:25');
  });
  it('names the local zone by its offset', () => {
    const d = new Date('2026-11-24T16:25:17Z');
    const offset = -d.getTimezoneOffset();
    expect(zoneName('local', d)).toBe(offset === 0 ? 'UTC' : expect.stringMatching(/^UTC[+-]/));
    expect(fullTime(d, 'local')).toMatch(/^2026-11-2\d \d\d:\d\d:17 UTC/);
    expect(zoneName('utc')).toBe('UTC');
  });
  it('gives nothing for nothing', () => {
    expect(shortTime(null)).toBe('');
    expect(fullTime('not a time')).toBe('');
  });
});

describe('words, not raw values', () => {
  it.each([
    ['timed_out', 'timed out'],
    ['pending_packaging', 'waiting to package'],
    ['pending_kill', 'stopping'],
    ['failure', 'failed'],
    ['Starting', 'deploying'],
    ['Undeployed', 'not deployed'],
    ['some_new_state', 'some new state']
  ])('%s reads %s', (raw, words) => expect(statusWords(raw)).toBe(words));

  it('names run types and exit codes', () => {
    expect(runTypeWords('Oneshot')).toBe('once');
    expect(runTypeWords('CronJob')).toBe('scheduled');
    expect(runTypeWords('NetworkService')).toBe('continuous');
    expect(exitWords(0)).toBe('exit code 0');
    expect(exitWords(3)).toBe('exit code 3');
    expect(exitWords(-15)).toBe('stopped by SIGTERM');
    expect(exitWords(-9)).toBe('stopped by SIGKILL');
    expect(exitWords(-30)).toBe('stopped by signal 30');
    expect(exitWords(null)).toBe('');
  });

  it('rewrites field names in engine messages but leaves file names alone', () => {
    expect(humanMessage('installing requirements failed; see packaging_log')).toBe(
      'installing requirements failed; see the packaging log'
    );
    expect(humanMessage('the run timed_out in main_job.py')).toBe('the run timed out in main_job.py');
  });
});

describe('CSV', () => {
  it('quotes what needs quoting', () => {
    expect(
      toCsv(
        ['a', 'b'],
        [
          { a: 1, b: 'x,y' },
          { a: null, b: [1, 2] },
          { a: 'say "hi"', b: 'l1\nl2' }
        ]
      )
    ).toBe('a,b\r\n1,"x,y"\r\n,"[1,2]"\r\n"say ""hi""","l1\nl2"\r\n');
  });
});

describe('sizes', () => {
  it.each([
    [512, '512 B'],
    [3_500, '3.4 KB'],
    [12 * 1024 * 1024, '12.0 MB']
  ])('%d bytes read "%s"', (n, words) => {
    expect(sizeWords(n)).toBe(words);
  });
});
