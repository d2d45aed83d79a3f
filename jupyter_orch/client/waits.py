"""Waiting without sleep-polling: the server holds a get (`wait_for`/`wait_timeout`) until the
entity reaches a status, driven by its event bus. Waits longer than one hold are chained."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from typing import Any

from .errors import WaitTimeout

MAX_HOLD_S = 60.0  # one request's hold; below the server's cap of 300 s
HTTP_SLACK_S = 30.0  # the HTTP read timeout is the hold plus this

Fetch = Callable[[dict[str, Any], float], dict[str, Any]]


def wait_for_status(
    fetch: Fetch, stop: Collection[str], timeout: float | None, what: str
) -> dict[str, Any]:
    """Return the entity's JSON once its status is in `stop`, or raise `WaitTimeout`.

    `fetch(wait_fields, http_timeout)` performs one get with the wait fields added.
    `timeout=None` waits as long as it takes. A server that answers at once without holding
    (an older route without `wait_for`) is asked again with a growing back-off.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    backoff = 0.05
    while True:
        left = MAX_HOLD_S if deadline is None else max(0.0, deadline - time.monotonic())
        hold = min(left, MAX_HOLD_S)
        asked = time.monotonic()
        data = fetch({"wait_for": list(stop), "wait_timeout": hold}, hold + HTTP_SLACK_S)
        status = data.get("status")
        if status in stop:
            return data
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            raise WaitTimeout(what, status, timeout)
        if now - asked < hold / 2:
            pause = backoff if deadline is None else min(backoff, deadline - now)
            time.sleep(pause)
            backoff = min(backoff * 2, 1.0)
