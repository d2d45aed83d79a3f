"""Cron schedules of scheduled tasks, evaluated on the wall clock of an IANA time zone (UTC
unless the task names one, e.g. `Europe/Paris`).

Accepted forms:
- 5 fields, standard cron: `minute hour day-of-month month day-of-week` (`*/5 * * * *`);
- the macros `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly` (and `@annually`,
  `@midnight`);
- 6 fields, the reference tutorial's form: `second minute hour day-of-month month year`
  (`0 0 12 1-15 2 2024` = every day at noon, 1-15 February 2024, then it ends). This is not
  croniter's own 6-field form (which puts seconds last and keeps day-of-week), so it is mapped
  to croniter's 7-field form `second minute hour day-of-month month * year`.

Daylight saving changes (croniter, given a start in the zone, walks the zone's wall clock):
- spring forward: a wall time the change skips (02:30 in Paris on 2026-03-29) fires once, at
  the change;
- fall back: the hour that repeats (02:00-03:00 in Paris on 2026-10-25) is lived twice. A
  schedule that names its hours (`30 2 * * *`, `@daily`) fires once, on the first pass; one that
  runs every hour (`0 * * * *`, `*/10 * * * *`, `@hourly`) keeps firing through both passes, as
  real time goes on.

A schedule with an end (`ends_at`) has no fire after it; a schedule whose fires are all in the
past has ended: `next_after` returns None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter

from ..errors import Invalid

MACROS = ("@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@annually", "@midnight")
# croniter gives up looking for a next fire after this many years; 100 reaches its last year
# (2099) from now, so only a schedule that really ended reports None.
MAX_YEARS_BETWEEN_FIRES = 100
DEFAULT_TZ = "UTC"


@dataclass(frozen=True)
class Schedule:
    expression: str  # as the caller wrote it
    cron: str  # croniter's 7-field form (seconds first), or a macro
    tz: str = DEFAULT_TZ
    ends_at: datetime | None = None
    zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "zone", zone_named(self.tz))

    @property
    def names_hours(self) -> bool:
        """Whether it fires at named hours of the day (so once in an hour that repeats)."""
        if self.cron.startswith("@"):
            return self.cron != "@hourly"
        return self.cron.split(" ")[2] != "*"

    def next_after(self, moment: datetime) -> datetime | None:
        """The first fire after `moment`, in UTC."""
        try:
            fires = self._iterator(moment)
            while True:
                local: datetime = fires.get_next(datetime)
                at = local.astimezone(UTC)
                if self.ends_at is not None and at > self.ends_at:
                    return None
                if at > moment and not (self.names_hours and _second_pass(at, self.zone)):
                    return at
        except CroniterBadDateError:
            return None

    def next_fires(self, moment: datetime, count: int) -> list[datetime]:
        fires: list[datetime] = []
        while len(fires) < count and (at := self.next_after(fires[-1] if fires else moment)) is not None:
            fires.append(at)
        return fires

    def _iterator(self, start: datetime) -> croniter:
        return croniter(
            self.cron, start.astimezone(self.zone), second_at_beginning=True,
            max_years_between_matches=MAX_YEARS_BETWEEN_FIRES,
        )


def _second_pass(at: datetime, zone: ZoneInfo) -> bool:
    """Whether `at` falls in the second pass of a wall-clock hour that a fall-back repeats."""
    local = at.astimezone(zone)
    return local.fold == 1 and local.replace(fold=0).utcoffset() != local.utcoffset()


def zone_named(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"'tz' must be an IANA time zone such as 'Europe/Paris' or 'UTC', got {name!r}") from None


def parse_schedule(value: object, tz: str | None = None, ends_at: datetime | None = None) -> Schedule:
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
    return Schedule(expression, cron, DEFAULT_TZ if tz is None else tz, ends_at)


def local_end(value: datetime, tz: str | None) -> datetime:
    """An end date as given: a time without an offset is on the schedule's wall clock."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone_named(DEFAULT_TZ if tz is None else tz))
    return value.astimezone(UTC)


__all__ = ["DEFAULT_TZ", "Schedule", "local_end", "parse_schedule", "zone_named"]
