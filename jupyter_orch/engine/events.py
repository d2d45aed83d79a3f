"""In-process event bus: every state change is published here once.

Subscribers are plain callables run on the event loop; publishing is safe from any thread.
`wait_for` lets a coroutine sleep until an entity reaches a status, with no polling.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable
from typing import Any

from .timeutil import now_iso

Event = dict[str, Any]
Subscriber = Callable[[Event], None]


class EventBus:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._loop_thread = threading.get_ident()

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def publish(self, kind: str, id: Any, **fields: Any) -> None:
        event: Event = {"kind": kind, "id": id, **fields, "at": now_iso()}
        loop = self._loop
        if loop is not None and threading.get_ident() != self._loop_thread:
            if not loop.is_closed():
                loop.call_soon_threadsafe(self._deliver, event)
            return
        self._deliver(event)

    def _deliver(self, event: Event) -> None:
        for callback in list(self._subscribers):
            callback(event)

    async def wait_for(
        self,
        kind: str,
        id: Any,
        statuses: Iterable[str],
        current: Callable[[], str],
        timeout: float,
    ) -> str:
        """Return the entity's status once it is one of `statuses`, or the last seen on timeout."""
        wanted = set(statuses)
        status = current()
        if status in wanted or timeout <= 0:
            return status
        reached: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        def on_event(event: Event) -> None:
            matches = event["kind"] == kind and event["id"] == id and event.get("status") in wanted
            if matches and not reached.done():
                reached.set_result(event["status"])

        unsubscribe = self.subscribe(on_event)
        try:
            status = current()  # it may have changed between the first look and subscribing
            if status in wanted:
                return status
            return await asyncio.wait_for(reached, timeout)
        except TimeoutError:
            return current()
        finally:
            unsubscribe()
