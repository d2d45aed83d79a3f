"""Cron schedules of scheduled tasks, evaluated in UTC.

Accepted forms:
- 5 fields, standard cron: `minute hour day-of-month month day-of-week` (`*/5 * * * *`);
- the macros `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly` (and `@annually`,
  `@midnight`);
- 6 fields, the reference tutorial's form: `second minute hour day-of-month month year`
  (`0 0 12 1-15 2 2024` = every day at noon, 1-15 February 2024, then it ends). This is not
  croniter's own 6-field form (which puts seconds last and keeps day-of-week), so it is mapped
  to croniter's 7-field form `second minute hour day-of-month month * year`.

A schedule whose fires are all in the past has ended: `next_after` returns None.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from croniter import CroniterBadDateError, croniter

from ..errors import Invalid

MACROS = ("@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@annually", "@midnight")
# croniter gives up looking for a next fire after this many years; 100 reaches its last year
# (2099) from now, so only a schedule that really ended reports None.
MAX_YEARS_BETWEEN_FIRES = 100


@dataclass(frozen=True)
class Schedule:
    expression: str  # as the caller wrote it
    cron: str  # croniter's 7-field form (seconds first), or a macro

    def next_after(self, moment: datetime) -> datetime | None:
        try:
            return self._iterator(moment).get_next(datetime)
        except CroniterBadDateError:
            return None

    def last_at_or_before(self, moment: datetime) -> datetime | None:
        try:
            return self._iterator(moment + timedelta(microseconds=1)).get_prev(datetime)
        except CroniterBadDateError:
            return None

    def _iterator(self, start: datetime) -> croniter:
        return croniter(
            self.cron, start, second_at_beginning=True,
            max_years_between_matches=MAX_YEARS_BETWEEN_FIRES,
        )


def parse_schedule(value: object) -> Schedule:
    if not isinstance(value, str) or not value.strip():
        raise Invalid("'schedule' must be a cron expression such as '*/5 * * * *' or '@daily'")
    expression = " ".join(value.split())
    fields = expression.split(" ")
    if len(fields) == 1 and fields[0].lower() in MACROS:
        cron = fields[0].lower()
    elif len(fields) == 5:
        cron = " ".join(["0", *fields, "*"])
    elif len(fields) == 6:
        second, minute, hour, day, month, year = fields
        cron = " ".join([second, minute, hour, day, month, "*", year])
    else:
        raise Invalid(
            f"'schedule' {value!r} is not a cron expression: use 5 fields (minute hour day month"
            " weekday), 6 fields (second minute hour day month year) or a macro such as @daily"
        )
    try:
        croniter(cron, second_at_beginning=True)
    except (ValueError, KeyError, TypeError):
        raise Invalid(
            f"'schedule' {value!r} is not a valid cron expression: a field is malformed or out of range"
        ) from None
    return Schedule(expression, cron)
