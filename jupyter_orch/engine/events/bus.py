"""The event bus: every state change is published here once, by the engine that made it.

Subscribers are plain callables run on the event loop; publishing is safe from any thread.
Each event names its engine (`engine`); with a relay attached (events/relay.py) events also go
to, and come from, the other engines on the database. `wait_for` lets a coroutine sleep until an
entity reaches a status, with no polling; a `resync` event (the relay reconnected and may have
missed some) makes every waiter look again.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from ..timeutil import now_iso

Event = dict[str, Any]
Subscriber = Callable[[Event], None]


RESYNC = "resync"


class EventBus:
    def __init__(self, engine_id: str) -> None:
        self.engine_id = engine_id
        self._subscribers: list[Subscriber] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._forward: Subscriber | None = None
        self._holding = threading.local()  # `held`: this thread's events, published on leaving

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._loop_thread = threading.get_ident()

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def relay_to(self, forward: Subscriber | None) -> None:
        """Also hand every event published here to `forward` (called in the publisher's thread;
        it must not block)."""
        self._forward = forward

    @contextmanager
    def held(self) -> Iterator[None]:
        """What this thread publishes inside goes out, in order, only as it leaves: a write that
        queues runs claims them first, so no other engine hears of a run it cannot have."""
        outer: list[Event] | None = getattr(self._holding, "events", None)
        events: list[Event] = []
        try:
            with self.kept() as events:
                yield
        finally:
            if outer is not None:
                outer.extend(events)
            else:
                self.release(events)

    @contextmanager
    def kept(self) -> Iterator[list[Event]]:
        """What this thread publishes inside is kept in the list given, for the caller to
        `release` when it chooses (from any thread)."""
        outer: list[Event] | None = getattr(self._holding, "events", None)
        kept: list[Event] = []
        self._holding.events = kept
        try:
            yield kept
        finally:
            self._holding.events = outer

    def release(self, events: list[Event]) -> None:
        for event in events:
            self._send(event)

    def publish(self, kind: str, id: Any, **fields: Any) -> None:
        event: Event = {"kind": kind, "id": id, **fields, "at": now_iso(), "engine": self.engine_id}
        held: list[Event] | None = getattr(self._holding, "events", None)
        if held is not None:
            held.append(event)
        else:
            self._send(event)

    def _send(self, event: Event) -> None:
        if self._forward is not None:
            self._forward(event)
        self.deliver(event)

    def deliver(self, event: Event) -> None:
        """Hand an event to this engine's subscribers, from any thread."""
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
        current: Callable[[], Awaitable[str]],
        timeout: float,
    ) -> str:
        """Return the entity's status once it is one of `statuses`, or the last seen on timeout."""
        wanted = set(statuses)

        async def reached() -> bool:
            return await current() in wanted

        await self.wait_until(reached, lambda e: e["kind"] == kind and e["id"] == id, timeout)
        return await current()

    async def wait_until(
        self, ready: Callable[[], Awaitable[bool]], relevant: Callable[[Event], bool], timeout: float
    ) -> bool:
        """Wait until `ready()` holds, looking again after each `relevant` event; False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        changed = asyncio.Event()
        unsubscribe = self.subscribe(
            lambda event: changed.set() if event["kind"] == RESYNC or relevant(event) else None
        )
        try:
            while True:
                changed.clear()  # cleared before looking, so no event can slip in between
                if await ready():
                    return True
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return False
                try:
                    await asyncio.wait_for(changed.wait(), remaining)
                except TimeoutError:
                    return await ready()
        finally:
            unsubscribe()
