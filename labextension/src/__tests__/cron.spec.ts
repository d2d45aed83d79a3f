import { cronToWords, isCronReadable, nextFires } from '../cron';

describe('cron in words', () => {
  it.each([
    ['0 0 * * *', 'at 00:00, every day'],
    ['*/5 * * * *', 'every 5 minutes'],
    ['42 * * * *', 'at minute 42 of every hour'],
    ['30 9 * * 1-5', 'at 09:30, on Monday through Friday'],
    ['0 9,12,17 * * *', 'at 09:00, 12:00 and 17:00, every day'],
    ['0 */2 * * *', 'at minute 0 past every 2 hours'],
    ['15 10 1 * *', 'at 10:15, on day 1 of the month'],
    ['0 8 * JAN,JUL MON', 'at 08:00, on Monday in January and July'],
    ['5 0 * 8 *', 'at 00:05, every day in August'],
    ['@hourly', 'every hour at minute 0'],
    ['@daily', 'every day at 00:00'],
    ['@weekly', 'every Sunday at 00:00'],
    ['@monthly', 'every month on day 1 at 00:00'],
    ['@yearly', 'every year on 1 January at 00:00'],
    ['0 0 12 1-15 2 2024', 'at 12:00, on day 1 through 15 of the month in February, in 2024, then ends'],
    ['*/30 * * * * *', 'every 30 seconds'],
    ['61 * * * *', 'cron 61 * * * *'],
    ['not a schedule', 'cron not a schedule'],
    ['', '']
  ])('%s', (expr, words) => expect(cronToWords(expr)).toBe(words));
});

const iso = (dates: Date[]) => dates.map(d => d.toISOString().replace('.000', ''));

describe('next fires (UTC, like the engine)', () => {
  const from = new Date('2026-11-24T10:03:20Z');
  it('every 5 minutes', () => {
    expect(iso(nextFires('*/5 * * * *', from, 3, true))).toEqual([
      '2026-11-24T10:05:00Z',
      '2026-11-24T10:10:00Z',
      '2026-11-24T10:15:00Z'
    ]);
  });
  it('weekdays at 09:30, across a weekend', () => {
    // 2026-11-27 is a Friday
    expect(iso(nextFires('30 9 * * 1-5', new Date('2026-11-27T10:00:00Z'), 2, true))).toEqual([
      '2026-11-30T09:30:00Z',
      '2026-12-01T09:30:00Z'
    ]);
  });
  it('day of month OR day of week when both are given', () => {
    expect(iso(nextFires('0 0 1 * 0', new Date('2026-11-24T00:00:00Z'), 3, true))).toEqual([
      '2026-11-29T00:00:00Z',
      '2026-12-01T00:00:00Z',
      '2026-12-06T00:00:00Z'
    ]);
  });
  it('macros and months by name', () => {
    expect(iso(nextFires('@monthly', from, 2, true))).toEqual(['2026-12-01T00:00:00Z', '2027-01-01T00:00:00Z']);
    expect(iso(nextFires('0 8 * JUL *', from, 1, true))).toEqual(['2027-07-01T08:00:00Z']);
  });
  it('the 6-field form has seconds and ends with its year', () => {
    expect(iso(nextFires('*/20 * * * * *', from, 3, true))).toEqual([
      '2026-11-24T10:03:40Z',
      '2026-11-24T10:04:00Z',
      '2026-11-24T10:04:20Z'
    ]);
    expect(nextFires('0 0 12 1-15 2 2024', from, 5, true)).toEqual([]);
    expect(iso(nextFires('0 0 12 1-15 2 2027', from, 2, true))).toEqual([
      '2027-02-01T12:00:00Z',
      '2027-02-02T12:00:00Z'
    ]);
  });
  it('nothing for what it cannot read', () => {
    expect(nextFires('61 * * * *', from, 5, true)).toEqual([]);
    expect(isCronReadable('61 * * * *')).toBe(false);
    expect(isCronReadable('@daily')).toBe(true);
  });
});
