"""`inference` events, merged per pipeline: at most one every `every_s`, with the rows and
batches logged since the one before.

Inference runs in threads that are not the event loop's; an event per batch woke the loop for
each one, and that wake-up took the GIL from the thread still answering: about 0.3 ms of a
one-row inference's 1 ms (bench/inference.py). Subscribers only need to learn that a log grew:
views re-read it, and jupyter_events gets one a second anyway (server/state_events.py). The
first batch after a quiet spell schedules the event; later ones in the window only add to it.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from ..events.bus import EventBus

EVERY_S = 0.1


class InferenceEvents:
    def __init__(self, bus: EventBus, every_s: float = EVERY_S):
        self.bus = bus
        self.every_s = every_s
        self._pending: dict[int, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def logged(self, pipeline_id: int, pipeline_name: str, rows: int) -> None:
        """A batch of `rows` was logged (from any thread)."""
        with self._lock:
            held = self._pending.get(pipeline_id)
            if held is not None:
                held["rows"] += rows
                held["batches"] += 1
                return
            self._pending[pipeline_id] = {"pipeline_name": pipeline_name, "rows": rows, "batches": 1}
        loop = self._loop
        if loop is None or loop.is_closed():  # not started (or stopped): nobody to tell later
            self._release(pipeline_id)
        else:
            loop.call_soon_threadsafe(loop.call_later, self.every_s, self._release, pipeline_id)

    def flush(self) -> None:
        """Publish what is held now (on stopping)."""
        for pipeline_id in list(self._pending):
            self._release(pipeline_id)

    def _release(self, pipeline_id: int) -> None:
        with self._lock:
            held = self._pending.pop(pipeline_id, None)
        if held is not None:
            self.bus.publish("inference", pipeline_id, **held)
