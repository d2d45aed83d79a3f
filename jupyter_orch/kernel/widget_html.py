"""HTML fragments of the live widgets: pure functions of plain state, no widget or I/O.

What people read: statuses and run types in words, times in the kernel's local zone with the
zone named, tables left-aligned (the notebook's default right-aligns table cells).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from ..client.display import duration, parse_time

COLOURS = {
    "pending_packaging": "#6b7280", "packaging": "#2563eb", "ready": "#15803d", "error": "#b91c1c",
    "pending": "#6b7280", "started": "#2563eb", "running": "#2563eb", "success": "#15803d",
    "failed": "#b91c1c", "failure": "#b91c1c", "timed_out": "#c2410c", "pending_kill": "#c2410c",
    "killed": "#7c3aed",
}
STATUS_WORDS = {"pending_packaging": "waiting to package", "failure": "failed", "timed_out": "timed out",
                "pending_kill": "stopping"}
RUN_TYPES = {"Oneshot": "once", "CronJob": "scheduled", "NetworkService": "continuous"}
LEFT = "text-align:left;vertical-align:top"


def status_words(status: str) -> str:
    return STATUS_WORDS.get(status, status.replace("_", " "))


def run_type_words(run_type: str | None) -> str:
    return RUN_TYPES.get(run_type or "", run_type or "")


def badge(status: str) -> str:
    colour = COLOURS.get(status, "#374151")
    return (
        f'<span title="{html.escape(status)}" style="background:{colour};color:white;border-radius:3px;'
        f'padding:0 6px">{html.escape(status_words(status))}</span>'
    )


def when(value: str | datetime | None) -> str:
    """`2026-11-24 17:25:17 CET`: local time, zone named; '' when absent."""
    dt = parse_time(value)
    return dt.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z") if dt else ""


def countdown(value: str | datetime | None, now: datetime | None = None) -> str:
    """`in 4 s`, `in 3m 05s`; `due now` once the time has come."""
    dt = parse_time(value)
    if dt is None:
        return ""
    seconds = (dt - (now or datetime.now(UTC))).total_seconds()
    if seconds < 0.5:
        return "due now"
    return f"in {round(seconds)} s" if seconds < 60 else f"in {duration(datetime.now(UTC), dt)}"


def elapsed(start: str | None, end: str | None) -> str:
    """From `start` to `end`, or to now while `end` is None."""
    return duration(start, end or datetime.now(UTC))


def header(kind: str, name: str | None, status: str, since: str) -> str:
    title = html.escape(name or "(unnamed)")
    return f"<b>{kind}</b> {title} &nbsp;{badge(status)} &nbsp;<span>{html.escape(since)}</span>"


def facts(pairs: Mapping[str, Any]) -> str:
    """`key: value` pairs on one small line; empty values are left out."""
    shown = [
        f"<span><b>{html.escape(k)}</b> {html.escape(str(v))}</span>" for k, v in pairs.items() if v
    ]
    return '<div style="font-size:smaller">' + " &nbsp;·&nbsp; ".join(shown) + "</div>"


def pre(lines: Iterable[str], title: str = "") -> str:
    body = html.escape("\n".join(lines))
    if not body:
        return ""
    caption = f"<div><b>{html.escape(title)}</b></div>" if title else ""
    return (
        f'{caption}<pre style="max-height:16em;overflow:auto;margin:2px 0;font-size:smaller;'
        f'white-space:pre-wrap;overflow-wrap:anywhere;{LEFT}">{body}</pre>'
    )


def runs_table(runs: Iterable[Mapping[str, Any]]) -> str:
    """Runs newest first: status, start, duration (still growing while running), and the
    cluster worker each ran on when any ran on one."""
    runs = list(runs)
    on_workers = any(r.get("worker") for r in runs)

    def worker(r: Mapping[str, Any]) -> str:
        address = str(r.get("worker") or "").split("://", 1)[-1]
        return f'<td style="{LEFT};font-family:monospace">{html.escape(address)}</td>' if on_workers else ""

    rows = [
        f'<tr><td style="{LEFT}">{badge(r.get("status") or "")}</td>'
        f'<td style="{LEFT}">{when(r.get("started_at"))}</td>'
        f'<td style="{LEFT}">{elapsed(r.get("started_at"), r.get("ended_at")) if r.get("started_at") else ""}</td>'
        f'<td style="{LEFT};font-family:monospace">{html.escape(str(r.get("run_id", ""))[:8])}</td>{worker(r)}</tr>'
        for r in runs
    ]
    if not rows:
        return '<div style="font-size:smaller">no runs yet</div>'
    columns = ("run", "started", "duration", "id", *(("worker",) if on_workers else ()))
    head = "".join(f'<th style="{LEFT}">{h}</th>' for h in columns)
    return f'<table style="font-size:smaller">{head}{"".join(rows)}</table>'
