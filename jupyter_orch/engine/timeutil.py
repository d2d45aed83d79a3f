"""Times are timezone-aware UTC inside and ISO 8601 with offset outside."""

from datetime import UTC, datetime
from typing import overload


def utcnow() -> datetime:
    return datetime.now(UTC)


@overload
def iso(dt: datetime) -> str: ...
@overload
def iso(dt: None) -> None: ...
@overload
def iso(dt: datetime | None) -> str | None: ...
def iso(dt: datetime | None) -> str | None:
    """Fixed-width ISO form, so stored strings sort in time order."""
    if dt is None:
        return None
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def now_iso() -> str:
    return iso(utcnow())


def parse_time(value: str | datetime) -> datetime:
    """Parse an ISO time; a naive time is taken as UTC (API callers send offsets)."""
    dt = value if isinstance(value, datetime) else datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)
