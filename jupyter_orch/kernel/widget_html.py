"""HTML fragments of the live widgets: pure functions of plain state, no widget or I/O."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from ..client.display import duration, local_time

COLOURS = {
    "pending_packaging": "#6b7280", "packaging": "#2563eb", "ready": "#15803d", "error": "#b91c1c",
    "pending": "#6b7280", "started": "#2563eb", "running": "#2563eb", "success": "#15803d",
    "failed": "#b91c1c", "failure": "#b91c1c", "timed_out": "#c2410c", "pending_kill": "#c2410c",
    "killed": "#7c3aed",
}


def badge(status: str) -> str:
    colour = COLOURS.get(status, "#374151")
    return (
        f'<span style="background:{colour};color:white;border-radius:3px;padding:0 6px;'
        f'font-family:monospace">{html.escape(status)}</span>'
    )


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
        f'{caption}<pre style="max-height:16em;overflow:auto;margin:2px 0;font-size:smaller">'
        f"{body}</pre>"
    )


def runs_table(runs: Iterable[Mapping[str, Any]]) -> str:
    """Runs newest first: status, start, duration (still growing while running)."""
    rows = [
        f"<tr><td>{badge(r.get('status') or '')}</td><td>{local_time(r.get('started_at'))}</td>"
        f"<td>{elapsed(r.get('started_at'), r.get('ended_at')) if r.get('started_at') else ''}</td>"
        f"<td style=\"font-family:monospace\">{html.escape(str(r.get('run_id', ''))[:8])}</td></tr>"
        for r in runs
    ]
    if not rows:
        return '<div style="font-size:smaller">no runs yet</div>'
    head = "<tr><th>run</th><th>started</th><th>duration</th><th>id</th></tr>"
    return f'<table style="font-size:smaller">{head}{"".join(rows)}</table>'
