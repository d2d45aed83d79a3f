"""The optional `wait_for` / `wait_timeout` fields that turn a get into a push-driven wait."""

from __future__ import annotations

from typing import Any

from ..engine import Invalid

MAX_WAIT_S = 300.0


def wait_request(body: dict[str, Any], terminal: tuple[str, ...]) -> tuple[tuple[str, ...], float] | None:
    """Return (statuses, timeout) when the caller asked to wait, else None.

    `wait_for` is a status, a list of statuses, or "terminal"; `wait_timeout` is in seconds
    (default 30, at most 300).
    """
    wanted = body.get("wait_for")
    if wanted is None:
        return None
    if wanted == "terminal":
        statuses = terminal
    elif isinstance(wanted, str):
        statuses = (wanted,)
    elif isinstance(wanted, list) and wanted and all(isinstance(s, str) for s in wanted):
        statuses = tuple(wanted)
    else:
        raise Invalid("'wait_for' must be a status, a list of statuses or \"terminal\"")
    return statuses, wait_timeout(body)


def wait_timeout(body: dict[str, Any]) -> float:
    """`wait_timeout` in seconds: default 30, at most 300."""
    timeout = body.get("wait_timeout", 30)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 <= timeout < float("inf"):
        raise Invalid("'wait_timeout' must be a non-negative number of seconds")
    return min(float(timeout), MAX_WAIT_S)
