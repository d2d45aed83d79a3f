"""Events across engines on one PostgreSQL database, through `LISTEN/NOTIFY`.

Every event published on this engine's bus is sent on one channel; every event another engine
sent is delivered to this engine's subscribers, so a `wait_for`, a widget or the sidebar on one
server sees what happened on another within milliseconds. Events are sent after the write that
caused them has committed, so a receiver that reads the database sees the change.

Two threads with their own connections: a sender that batches events (a NOTIFY payload holds
under 8000 bytes) and a listener. After the listener reconnects it delivers a `resync` event:
waiters look again, since notifications sent meanwhile are gone.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from .bus import RESYNC, Event, EventBus

CHANNEL = "jupyter_orch_events"
PAYLOAD_LIMIT = 7_900
BATCH_S = 0.01  # events published within this long travel in one notification
LISTEN_TICK_S = 0.5  # how often the listener looks whether it should stop
RECONNECT_S = 1.0

log = logging.getLogger(__name__)


class PostgresRelay:
    def __init__(self, url: str, bus: EventBus):
        self.conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.bus = bus
        self._outbox: queue.SimpleQueue[Event | None] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._listening = threading.Event()
        self._threads = [
            threading.Thread(target=self._send, name="orch-relay-send", daemon=True),
            threading.Thread(target=self._listen, name="orch-relay-listen", daemon=True),
        ]

    def start(self) -> None:
        """Start relaying; returns once this engine listens, so it misses nothing sent later."""
        self.bus.relay_to(self._outbox.put)
        for thread in self._threads:
            thread.start()
        self._listening.wait(10)

    def stop(self) -> None:
        self.bus.relay_to(None)
        self._stopping.set()
        self._outbox.put(None)
        for thread in self._threads:
            thread.join(5)

    # --- sending ---

    def _send(self) -> None:
        conn: psycopg.Connection[Any] | None = None
        while (first := self._outbox.get()) is not None:
            batch = [first]
            deadline = time.monotonic() + BATCH_S
            while (left := deadline - time.monotonic()) > 0:
                try:
                    event = self._outbox.get(timeout=left)
                except queue.Empty:
                    break
                if event is None:
                    self._stopping.set()
                    break
                batch.append(event)
            for attempt in range(3):
                try:
                    conn = conn or psycopg.connect(self.conninfo, autocommit=True)
                    with conn.cursor() as cursor:
                        for payload in self._payloads(batch):
                            cursor.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
                    break
                except psycopg.Error:
                    log.warning("could not relay %d events to other engines (attempt %d)", len(batch), attempt + 1,
                                exc_info=True)
                    conn = None
                    time.sleep(RECONNECT_S)
            if self._stopping.is_set():
                break
        if conn is not None:
            conn.close()

    def _payloads(self, events: list[Event]) -> list[str]:
        """Pack events into notifications under the payload limit: a batch of log lines too
        large for one goes in pieces, and a line too long for one is sent cut, saying so."""
        head = f'{{"engine": {json.dumps(self.bus.engine_id)}, "events": ['
        payloads: list[str] = []
        parts: list[str] = []
        size = len(head) + 2
        for event in _split(events, PAYLOAD_LIMIT - len(head) - 2):
            encoded = _encode(event)
            if len(head) + len(encoded) + 2 > PAYLOAD_LIMIT:  # not a log event: those were split or cut
                log.warning("an event of kind %s is too large to relay", event.get("kind"))
                continue
            if parts and size + len(encoded) + 1 > PAYLOAD_LIMIT:
                payloads.append(head + ",".join(parts) + "]}")
                parts, size = [], len(head) + 2
            parts.append(encoded)
            size += len(encoded) + 1
        if parts:
            payloads.append(head + ",".join(parts) + "]}")
        return payloads

    # --- listening ---

    def _listen(self) -> None:
        reconnected = False
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    if reconnected:
                        self.bus.deliver({"kind": RESYNC, "id": None, "engine": None})
                    while not self._stopping.is_set():
                        for note in conn.notifies(timeout=LISTEN_TICK_S):
                            self._receive(note.payload)
            except psycopg.Error:
                log.warning("lost the connection that hears other engines; reconnecting", exc_info=True)
                reconnected = True
                self._stopping.wait(RECONNECT_S)

    def _receive(self, payload: str) -> None:
        try:
            message = json.loads(payload)
        except ValueError:
            return
        if message.get("engine") == self.bus.engine_id:
            return
        for event in message.get("events", []):
            self.bus.deliver(event)


def _split(events: list[Event], limit: int) -> list[Event]:
    """Events of at most `limit` encoded bytes where they can be split: a log event's reads
    are, and so are the lines of one read; a single line too long is cut, saying so."""
    out: list[Event] = []
    for event in events:
        reads = event.get("reads")
        if not isinstance(reads, list) or not reads or len(_encode(event)) <= limit:
            out.append(event)
        elif len(reads) > 1:
            half = len(reads) // 2
            out += _split([{**event, "reads": reads[:half]}, {**event, "reads": reads[half:]}], limit)
        elif len(reads[0]["text"]) > 1:
            out += _split([{**event, "reads": [part]} for part in _halves(reads[0])], limit)
        else:
            (read,) = reads
            room = limit - len(_encode(event)) + len(_encode(read)) - 2  # its text goes in a list: "[", "]"
            cut = _cut_to_fit({**read, "text": read["text"][0]}, room)
            if cut is not None:
                out.append({**event, "reads": [{**read, "text": [cut]}]})
    return out


def _halves(read: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A read's lines in two reads, each with its own first sequence number and partial lines."""
    half = len(read["text"]) // 2
    return (
        {**read, "text": read["text"][:half], "partial": [i for i in read["partial"] if i < half]},
        {**read, "seq": read["seq"] + half, "text": read["text"][half:],
         "partial": [i - half for i in read["partial"] if i >= half]},
    )


def _encode(event: Event) -> str:
    return json.dumps(event, default=str, separators=(",", ":"))


def _cut_to_fit(item: dict[str, Any], limit: int) -> str | None:
    """`item`'s text cut, saying so, so that `item` with it encodes to at most `limit` bytes."""
    text, note = item["text"], " [cut: too long to relay to other engines]"
    keep = len(text)
    while keep > 0:
        keep = keep * limit // (len(_encode({**item, "text": text[:keep]})) + len(note) + 64)
        cut = text[:keep] + note
        if len(_encode({**item, "text": cut})) <= limit:
            return cut
    return None
