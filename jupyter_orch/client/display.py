"""Formatting for people: local readable times, durations, masked secrets, HTML tables."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

MASK = "*****"


def parse_time(value: str | datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def time_text(value: str | datetime | None) -> str | None:
    """A time as the API takes it: ISO 8601 (a naive datetime stays naive)."""
    return value.isoformat() if isinstance(value, datetime) else value


def local_time(value: str | datetime | None) -> str:
    """`2026-11-24 17:25:17` in the viewer's local zone; '' when absent."""
    dt = parse_time(value)
    return dt.astimezone().strftime("%Y-%m-%d %H:%M:%S") if dt else ""


def duration(start: str | datetime | None, end: str | datetime | None) -> str:
    """`0.42s`, `3m 04s`, `2h 05m`; '' when either end is missing."""
    a, b = parse_time(start), parse_time(end)
    if a is None or b is None:
        return ""
    seconds = max(0.0, (b - a).total_seconds())
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def masked(details: Mapping[str, Any]) -> dict[str, str]:
    """The keys of a connection's details with every value hidden."""
    return dict.fromkeys(details, MASK)


def _cell(value: Any) -> str:
    if isinstance(value, list | tuple):
        value = ", ".join(str(v) for v in value)
    return html.escape("" if value is None else str(value))


def record_html(fields: Mapping[str, Any]) -> str:
    """One object as a two-column table (the reference SDK's look)."""
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{_cell(v)}</td></tr>" for k, v in fields.items())
    return f"<table>{rows}</table>"


LOG_TABLE = "jp-orch-log-table"
# Inline too, for frontends without the labextension's stylesheet: log text reads left to right.
LOG_CELL_STYLE = (
    "text-align:left;vertical-align:top;font-family:var(--jp-code-font-family,monospace);white-space:pre-wrap"
)


def table_html(records: Iterable[Mapping[str, Any]], log: bool = False) -> str:
    """Many objects as one table; columns are the union of their fields, in first-seen order.
    A `log` table is left-aligned and monospace, so tracebacks stay readable."""
    records = list(records)
    if not records:
        return "<p>(no items)</p>"
    columns: dict[str, None] = {}
    for record in records:
        columns.update(dict.fromkeys(record))
    cell = f' style="{LOG_CELL_STYLE}"' if log else ""
    head = "".join(f"<th{cell}>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td{cell}>{_cell(r.get(c))}</td>" for c in columns) + "</tr>" for r in records
    )
    table = f'<table class="{LOG_TABLE}">' if log else "<table>"
    return f"{table}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
