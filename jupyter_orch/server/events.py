"""The live socket at v1/api/events: log tails (and the engine's events, for the widgets and
the sidebar), authenticated, authorized as a read of `orch` by the server's Authorizer. A task
run's credential is not accepted here (runs poll). State changes also go out through
jupyter_server's event system (state_events.py); this socket is what carries log lines.

Query filters: `kinds=task,run` and `ids=<id>,<id>` (an event passes when it matches both); a
client changes them by sending `{"kinds": [...], "ids": [...]}`, or several at once, each for
one thing it shows, as `{"subscriptions": [{"kinds", "ids"}, ...]}` (an event passes when it
matches any). Nothing a subscriber does can slow the server or the run:
- log lines are batched per run: at most `LOG_BATCHES_PER_S` messages a second per run,
  `{"kind": "log", "id": run_id, "run_id", "task_id", "reads": [{"seq", "at", "stream",
  "text": [...], "partial": [...]}], "at"}`, a read's lines sharing their time and stream
  (`runlogs.LogRead`: line i is number `seq + i`; `partial` lists the pieces of longer lines);
- each subscriber has a bounded outbox (`OUTBOX_BYTES` of encoded messages); a subscriber that
  cannot keep up has its outbox emptied and gets `{"kind": "resync", "dropped": n}`: re-read
  what it shows through the REST API;
- pings and the ping timeout are jupyter_server's (`WebSocketMixin`, `ws_ping_interval`).
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from tornado import web, websocket

from ..engine.events.bus import Event
from ..engine.timeutil import now_iso
from .auth import AUTH_RESOURCE, READ, authorized_to
from .base import to_jsonable

# An `ids=` filter matches an event's own id or the ids it belongs to (a run's task, ...).
ID_FIELDS = ("id", "task_id", "run_id", "orch_id", "pipeline_name")
LOG_BATCHES_PER_S = 10
OUTBOX_BYTES = 4 * 1024 * 1024  # per subscriber: about 300,000 short lines, or 2 s of a flood


class Outbox:
    """One subscriber's bounded queue, drained by one writer task that awaits each write, so
    a slow client fills its own outbox and nothing else. The bound is in encoded bytes (what
    waiting messages cost the server), so a flood of short lines that a client reads as fast as
    it comes never overflows between two batches."""

    def __init__(self, send: Callable[[str | bytes], Awaitable[None]], capacity: int = OUTBOX_BYTES):
        self._send = send
        self.capacity = capacity
        self._ready: deque[bytes | _LogBatch | Event] = deque()  # messages due now (an Event: a resync)
        self._runs: dict[str, _LogBatch] = {}  # per run: the batch still gathering lines
        self._bytes = 0  # encoded bytes held
        self._items = 0  # lines and events held
        self._dropped = 0  # lines and events dropped since the last resync went out
        self._wake = asyncio.Event()
        self._writer = asyncio.get_running_loop().create_task(self._drain())

    def put(self, event: Event) -> None:
        if event["kind"] == "log":
            self._put_lines(event)
            return
        encoded = _EVENT_JSON.of(event)
        if not self._room(len(encoded), 1):
            return
        if event["kind"] == "run":  # a run's lines go out before the news that it ended
            self._release(str(event["id"]))
        self._ready.append(encoded)
        self._wake.set()

    def _put_lines(self, event: Event) -> None:
        reads = event.get("reads") or []
        count = sum(len(read["text"]) for read in reads)
        if not count:
            return
        encoded = _READS_JSON.of(event)
        if not self._room(len(encoded), count):
            return
        run_id = str(event["run_id"])
        batch = self._runs.get(run_id)
        if batch is None:
            batch = self._runs[run_id] = _LogBatch(run_id, event.get("task_id"))
            asyncio.get_running_loop().call_later(1 / LOG_BATCHES_PER_S, self._release, run_id)
        batch.add(encoded, count, reads[-1]["at"])

    def _room(self, size: int, items: int) -> bool:
        """Take `size` bytes of room for `items` lines or events; False (and a resync) when full."""
        if self._bytes + size > self.capacity:
            self._overflow(items)
            return False
        self._bytes += size
        self._items += items
        return True

    def close(self) -> None:
        self._writer.cancel()

    def _release(self, run_id: str) -> None:
        batch = self._runs.pop(run_id, None)
        if batch is not None:
            self._ready.append(batch)
            self._wake.set()

    def _overflow(self, refused: int) -> None:
        self._dropped += self._items + refused
        self._ready.clear()
        self._runs.clear()
        self._bytes = self._items = 0
        self._ready.append({"kind": "resync", "id": None, "dropped": self._dropped, "at": now_iso()})
        self._wake.set()

    async def _drain(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._ready:
                message = self._ready.popleft()
                if isinstance(message, _LogBatch):
                    self._bytes -= message.size
                    self._items -= message.count
                    await self._send(message.json())
                elif isinstance(message, bytes):
                    self._bytes -= len(message)
                    self._items -= 1
                    await self._send(message)
                else:
                    self._dropped = 0
                    await self._send(orjson.dumps(message))


class _LogBatch:
    """A run's lines gathered for one message, kept as JSON: every subscriber's batch joins the
    same encoded pieces (walking thousands of lines per subscriber costs the loop dearly)."""

    def __init__(self, run_id: str, task_id: Any):
        self.header = {"kind": "log", "id": run_id, "run_id": run_id, "task_id": task_id}
        self.pieces: list[bytes] = []
        self.count = 0
        self.size = 0
        self.at = ""

    def add(self, reads_json: bytes, count: int, at: str) -> None:
        self.pieces.append(reads_json)
        self.count += count
        self.size += len(reads_json)
        self.at = at

    def json(self) -> bytes:
        head = orjson.dumps({**self.header, "at": self.at}, default=str)
        return b"".join((head[:-1], b',"reads":[', b",".join(self.pieces), b"]}"))


class _EncodedOnce:
    """What a part of an event encodes to, once for all subscribers: the bus hands the same
    event to each of them in turn, so one slot is enough. orjson, not json: a chatty run's lines
    are most of the loop's work, and it encodes them 10x faster."""

    def __init__(self, encode: Callable[[Event], bytes]) -> None:
        self._encode = encode
        self._event: Event | None = None
        self._json = b""

    def of(self, event: Event) -> bytes:
        if self._event is not event:
            self._event, self._json = event, self._encode(event)
        return self._json


_READS_JSON = _EncodedOnce(lambda event: orjson.dumps(event["reads"])[1:-1])  # without the brackets
_EVENT_JSON = _EncodedOnce(lambda event: orjson.dumps(to_jsonable(event), default=str))


class EventsSocket(WebSocketMixin, websocket.WebSocketHandler, JupyterHandler):
    auth_resource = AUTH_RESOURCE

    async def prepare(self) -> None:  # type: ignore[override]
        # A socket is not a page: refuse (403) rather than redirect to the login page.
        await JupyterHandler.prepare(self, _redirect_to_login=False)
        if not self.current_user:
            raise web.HTTPError(403, "authentication required")

    @authorized_to(READ)
    async def get(self, *args: Any, **kwargs: Any) -> None:
        self._filters = [(_csv(self.get_argument("kinds", "")), _csv(self.get_argument("ids", "")))]
        await super().get(*args, **kwargs)

    def check_origin(self, origin: str | None = None) -> bool:
        return JupyterHandler.check_origin(self, origin or "")

    def open(self, *args: str, **kwargs: str) -> None:
        super().open(*args, **kwargs)  # WebSocketMixin: starts the pings
        self._outbox = Outbox(self._send)
        self._unsubscribe = self.settings["orch_engine"].bus.subscribe(self._forward)

    async def _send(self, text: str | bytes) -> None:
        try:
            await self.write_message(text)  # bytes too go as a text message: they are UTF-8 JSON
        except websocket.WebSocketClosedError:
            self._stop()

    def _forward(self, event: Event) -> None:
        if not any(_matches(event, kinds, ids) for kinds, ids in self._filters):
            return
        if self.ws_connection is None or self.ws_connection.is_closing():
            self._stop()
            return
        self._outbox.put(event)

    def on_message(self, message: str | bytes) -> None:
        """Clients may change their filter: {"kinds", "ids"} or {"subscriptions": [{"kinds", "ids"}]}."""
        try:
            wanted = json.loads(message)
        except ValueError:
            return
        if not isinstance(wanted, dict):
            return
        each = wanted["subscriptions"] if isinstance(wanted.get("subscriptions"), list) else [wanted]
        self._filters = [
            ({str(k) for k in one.get("kinds") or []}, {str(i) for i in one.get("ids") or []})
            for one in each if isinstance(one, dict)
        ]

    def on_close(self) -> None:
        super().on_close()
        self._stop()

    def _stop(self) -> None:
        if hasattr(self, "_unsubscribe"):
            self._unsubscribe()
            self._outbox.close()


def _matches(event: Event, kinds: set[str], ids: set[str]) -> bool:
    if kinds and event["kind"] not in kinds:
        return False
    return not ids or not ids.isdisjoint(str(event.get(k)) for k in ID_FIELDS)


def _csv(value: str) -> set[str]:
    return {v for v in value.split(",") if v}
