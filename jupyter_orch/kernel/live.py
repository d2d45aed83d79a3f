"""Live updates for kernel-side widgets: the server's push channel, shared by every widget.

One WebSocket per server per kernel (`v1/api/events?token=..&ids=..`), read by a daemon
thread that fans events out to subscribers by entity id and reconnects with back-off. After
a reconnect, and when the server says it dropped events this kernel read too slowly (`resync`),
each subscriber is asked to resynchronise.
A `Coalescer` turns bursts of events into at most a few widget updates per second, and a
shared `Clock` thread runs deferred work (coalesced flushes, elapsed-time ticks).
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode

import websocket

Event = dict[str, Any]
log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5.0
IDLE_CHECK_S = 2.0  # how often an idle connection checks whether anyone still listens
BARRIER_TIMEOUT_S = 3.0
BACKOFF_MIN_S = 0.2
BACKOFF_MAX_S = 5.0


class Clock:
    """A daemon thread that runs callables at given monotonic times, in order."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def call_later(self, delay: float, fn: Callable[[], None]) -> None:
        with self._wake:
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), fn))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="orch-clock", daemon=True)
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    self._wake.wait(self._heap[0][0] - time.monotonic() if self._heap else None)
                _, _, fn = heapq.heappop(self._heap)
            fn()


CLOCK = Clock()


class Coalescer:
    """Calls `flush` at most once per `interval` for bursts of `poke()`s from any thread.

    An urgent poke (a status change) flushes at once, so no state is ever skipped; the rest
    (log lines, progress) are merged into the next flush.
    """

    def __init__(self, flush: Callable[[], None], interval: float = 0.25, clock: Clock = CLOCK):
        self._flush = flush
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._last = 0.0
        self._scheduled = False

    def poke(self, urgent: bool = False) -> None:
        with self._lock:
            now = time.monotonic()
            due = urgent or now - self._last >= self._interval
            if due:
                self._last = now
            elif not self._scheduled:
                self._scheduled = True
                self._clock.call_later(self._last + self._interval - now, self._deferred)
        if due:
            self._flush()

    def _deferred(self) -> None:
        with self._lock:
            self._scheduled = False
            self._last = time.monotonic()
        self._flush()


class Subscription:
    """What one widget listens to. `close()` stops delivery; it is idempotent."""

    def __init__(
        self,
        channel: PushChannel,
        ids: Iterable[str],
        on_event: Callable[[Event], None],
        on_resync: Callable[[], None],
    ):
        self.channel = channel
        self.ids = {str(i) for i in ids}
        self.on_event = on_event
        self.on_resync = on_resync

    def add_ids(self, ids: Iterable[str]) -> None:
        self.channel.add_ids(self, ids)

    def close(self) -> None:
        self.channel.unsubscribe(self)


class PushChannel:
    """The shared WebSocket to one server, alive while it has subscribers."""

    def __init__(self, base_url: str, token: str):
        ws_base = base_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        self._endpoint = ws_base.rstrip("/") + "/v1/api/events"
        self._token = token
        self._lock = threading.Lock()
        self._subs: list[Subscription] = []
        self._thread: threading.Thread | None = None
        self._ws: websocket.WebSocket | None = None
        self._connected = threading.Event()
        self._connections = 0
        self._pongs: dict[bytes, threading.Event] = {}
        self._ping_seq = itertools.count()

    def subscribe(
        self,
        ids: Iterable[str],
        on_event: Callable[[Event], None],
        on_resync: Callable[[], None],
    ) -> Subscription:
        """Start delivering events about `ids`; return once the server applies the filter.

        Returns after at most a few seconds even when the server cannot be reached; the
        subscriber is resynchronised once the connection comes up.
        """
        sub = Subscription(self, ids, on_event, on_resync)
        with self._lock:
            self._subs.append(sub)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="orch-events", daemon=True)
                self._thread.start()
        self._apply_filter()
        return sub

    def add_ids(self, sub: Subscription, ids: Iterable[str]) -> None:
        with self._lock:
            sub.ids.update(str(i) for i in ids)
        self._apply_filter()

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    def _wanted_ids(self) -> list[str]:
        return sorted(set().union(*(s.ids for s in self._subs)))

    def _apply_filter(self) -> None:
        """Send the current id filter, then ping: the server answers the ping only after it
        has handled the filter message, so events from then on are not missed."""
        if not self._connected.wait(BARRIER_TIMEOUT_S):
            return
        with self._lock:
            ws, ids = self._ws, self._wanted_ids()
            payload = str(next(self._ping_seq)).encode()
            pong = self._pongs[payload] = threading.Event()
        if ws is None or not ids:
            return
        try:
            ws.send(json.dumps({"ids": ids}))
            ws.ping(payload)
        except (OSError, websocket.WebSocketException):
            return
        pong.wait(BARRIER_TIMEOUT_S)
        with self._lock:
            self._pongs.pop(payload, None)

    def _run(self) -> None:
        backoff = BACKOFF_MIN_S
        while True:
            with self._lock:
                if not self._subs:
                    self._thread = None
                    return
                query = urlencode({"token": self._token, "ids": ",".join(self._wanted_ids())})
            try:
                # The server sends valid UTF-8; websocket-client checks it in pure Python, slowly.
                ws = websocket.create_connection(
                    f"{self._endpoint}?{query}", timeout=CONNECT_TIMEOUT_S, skip_utf8_validation=True
                )
            except (OSError, websocket.WebSocketException):
                time.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
                continue
            backoff = BACKOFF_MIN_S
            self._serve(ws)

    def _serve(self, ws: websocket.WebSocket) -> None:
        ws.settimeout(IDLE_CHECK_S)
        with self._lock:
            self._ws = ws
            self._connections += 1
            resync = list(self._subs) if self._connections > 1 else []
        self._connected.set()
        try:
            for sub in resync:
                _guarded(sub.on_resync)
            self._read(ws)
        except (OSError, websocket.WebSocketException):
            pass
        finally:
            self._connected.clear()
            with self._lock:
                self._ws = None
            ws.close(timeout=0.5)

    def _read(self, ws: websocket.WebSocket) -> None:
        """Dispatch until the server closes (raise) or nobody listens any more (return)."""
        while True:
            try:
                opcode, frame = ws.recv_data_frame(control_frame=True)
            except websocket.WebSocketTimeoutException:
                with self._lock:
                    if not self._subs:
                        return
                continue
            if opcode == websocket.ABNF.OPCODE_PONG:
                with self._lock:
                    pong = self._pongs.get(frame.data)
                if pong is not None:
                    pong.set()
            elif opcode == websocket.ABNF.OPCODE_TEXT:
                try:
                    event = json.loads(frame.data)
                except ValueError:
                    continue
                self._dispatch(event)
            elif opcode == websocket.ABNF.OPCODE_CLOSE:
                raise websocket.WebSocketConnectionClosedException("closed by the server")

    def _dispatch(self, event: Event) -> None:
        if event.get("kind") == "resync":  # the server dropped events this kernel was too slow for
            with self._lock:
                subs = list(self._subs)
            for sub in subs:
                _guarded(sub.on_resync)
            return
        keys = {str(event.get(k)) for k in ("id", "task_id", "run_id") if event.get(k) is not None}
        with self._lock:
            targets = [s for s in self._subs if s.ids & keys]
        for sub in targets:
            _guarded(sub.on_event, event)


def _guarded(fn: Callable[..., None], *args: Any) -> None:
    """A subscriber's failure must not end the channel that every other widget shares."""
    try:
        fn(*args)
    except Exception:
        log.exception("a push-channel subscriber failed")


_CHANNELS: dict[tuple[str, str], PushChannel] = {}
_CHANNELS_LOCK = threading.Lock()


def channel_for(base_url: str, token: str) -> PushChannel:
    """The kernel's one push channel to this server."""
    with _CHANNELS_LOCK:
        key = (base_url, token)
        if key not in _CHANNELS:
            _CHANNELS[key] = PushChannel(base_url, token)
        return _CHANNELS[key]
