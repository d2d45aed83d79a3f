"""Run logs: every stdout/stderr line of a run, with the time it was read and its stream.

Lines are published at once, one `log` event per loop turn with every read in it (`reads`:
each `{"seq", "at", "stream", "text": [...], "partial": [...]}`, see `LogRead`): a run printing
30,000 lines a second makes a few hundred events, not 30,000, and a line costs its text, not
its own time, stream and keys. They are written to `run_logs` in batches (every
FLUSH_INTERVAL_S or FLUSH_LINES lines, and always when the run's log is closed), so a running
run's log is readable within ~50 ms without one write per line. Writes go through the store's
thread pool, one at a time per run; lines leave the buffer only once they are committed, and a
failed write is reported and tried again (a run's end does not wait for it more than CLOSE_WAIT_S).
A run may store at most `max_lines` lines; past that one line says so and the rest is dropped.
Lines are kept in the CRI log form: `<RFC3339 time> <stream> <F|P> <text>`, P marking a piece of a line longer than
the executor's line cap.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any, TypedDict

import orjson
from sqlalchemy import func, select, update

from ..events.bus import EventBus
from ..paging import Page, PageRequest, page_of, paged
from ..store import schema as t
from ..store.database import Store
from ..timeutil import iso, utcnow

FLUSH_INTERVAL_S = 0.05
FLUSH_LINES = 500
# At most this many lines a write: the store's thread holds the GIL while it binds them, and a
# long hold stalls the event loop's thread as surely as a blocking call would.
WRITE_ROWS = 2000
SYSTEM_STREAM = "stderr"  # where the engine's own notes about a run go
RETRY_S = 1.0  # a failed write is tried again after this long
CLOSE_WAIT_S = 5.0  # how long a run's end waits for its last lines to be written

log = logging.getLogger(__name__)

LogRow = tuple[int, str, str, bool, str]  # seq, ISO time read, stream, partial, text


class LogRead(TypedDict):
    """Lines read at once from one stream: line i has sequence number `seq + i`; `partial`
    lists the indices of the lines that are pieces of a longer one."""

    seq: int
    at: str
    stream: str
    text: list[str]
    partial: list[int]


class RunLog:
    """The log of one run while it runs. Call `add` from the event loop, `close` at the end."""

    def __init__(self, logs: RunLogs, run_id: str, task_id: str, next_seq: int):
        self._logs = logs
        self.run_id = run_id
        self.task_id = task_id
        self._seq = next_seq
        self._buffer: list[LogRow] = []
        self._flush_handle: asyncio.TimerHandle | None = None
        self._live: list[LogRead] = []  # what was read this loop turn, published at its end
        self._writing: asyncio.Task[None] | None = None
        self._write_lock = asyncio.Lock()  # one write at a time: a line is never written twice
        self._failures = 0  # failed writes since the last one that worked
        self._last_failure = ""
        self.lines = 0
        self.truncated = False
        self._traceback_tail: str | None = None
        self._last_stderr: str | None = None
        self._in_traceback = False

    def add(self, stream: str, at: datetime, lines: list[tuple[str, bool]]) -> None:
        """The lines (text, partial) of one read of a stream."""
        if stream == "stderr":  # even past the cap: a crash at the end must still be summed up
            for text, _ in lines:
                self._watch_for_failure(text)
        if self.truncated:
            return
        room = self._logs.max_lines - self.lines
        if len(lines) > room:
            self._store(stream, at, lines[:room])
            self.truncated = True
            note = f"[jupyter-orch] log truncated: this run printed more than {self._logs.max_lines} lines"
            self._store(SYSTEM_STREAM, at, [(note, False)])
            return
        self._store(stream, at, lines)

    def note(self, text: str) -> None:
        """A line from the engine itself (start failure, timeout, kill, restart)."""
        self._store(SYSTEM_STREAM, utcnow(), [(f"[jupyter-orch] {text}", False)])

    def _store(self, stream: str, at: datetime, lines: list[tuple[str, bool]]) -> None:
        if not lines:
            return
        stamp, seq = iso(at), self._seq
        # PostgreSQL's text cannot hold NUL: such a line would fail its write for ever.
        rows = [(seq + i, stamp, stream, partial, text.replace("\0", "\ufffd") if "\0" in text else text)
                for i, (text, partial) in enumerate(lines)]
        self._buffer += rows
        self._seq += len(rows)
        self.lines += len(rows)
        if not self._live:
            asyncio.get_running_loop().call_soon(self._publish)
        self._live.append({"seq": seq, "at": stamp, "stream": stream, "text": [row[4] for row in rows],
                           "partial": [i for i, (_, partial) in enumerate(lines) if partial]})
        if self._writing is not None and not self._writing.done():
            return  # the write under way takes these lines too
        if len(self._buffer) >= FLUSH_LINES:
            self._start_flush()
        elif self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_later(FLUSH_INTERVAL_S, self._start_flush)

    def _publish(self) -> None:
        reads, self._live = self._live, []
        self._logs.bus.publish("log", self.run_id, run_id=self.run_id, task_id=self.task_id, reads=reads)

    @property
    def failure_line(self) -> str | None:
        """What a failed run says about its failure: the last line of its last traceback
        (`ZeroDivisionError: division by zero`), else its last line on stderr."""
        return self._traceback_tail or self._last_stderr

    def _watch_for_failure(self, text: str) -> None:
        if text.strip():
            self._last_stderr = text
        if text.startswith("Traceback (most recent call last)"):
            self._in_traceback = True
        elif self._in_traceback and text and not text[0].isspace():
            self._traceback_tail = text
            self._in_traceback = False

    def _start_flush(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if self._writing is None or self._writing.done():
            self._writing = asyncio.get_running_loop().create_task(self.flush())

    async def flush(self) -> None:
        """Write what is buffered; lines leave the buffer only once they are committed. A failed
        write is reported (the server's log, then a line in the run's log once writing works
        again) and tried again every RETRY_S, as long as this server runs; meanwhile the lines
        stay readable through the events."""
        async with self._write_lock:
            while self._buffer:
                rows = self._buffer[:WRITE_ROWS]
                try:
                    await self._logs.store.call(self._logs.write, self.run_id, rows, self.truncated)
                except Exception as e:
                    self._failures += 1
                    self._last_failure = f"{type(e).__name__}: {e}"
                    log.warning("could not write %d log lines of run %s (%s); trying again in %g s",
                                len(rows), self.run_id, self._last_failure, RETRY_S)
                    await asyncio.sleep(RETRY_S)
                    continue
                del self._buffer[: len(rows)]
                if self._failures:
                    failures, self._failures = self._failures, 0
                    self.note(f"writing this log failed {failures} time(s) ({self._last_failure}); "
                              "it was retried and no line was lost")

    async def close(self) -> bool:
        """Write what is left: True once every line is written. When writing still fails after
        CLOSE_WAIT_S, False: the writes go on in the background (until `RunLogs.stop`)."""
        self._start_flush()
        assert self._writing is not None
        try:
            await asyncio.wait_for(asyncio.shield(self._writing), CLOSE_WAIT_S)
        except TimeoutError:
            self._logs.still_writing(self._writing)
            log.error("run %s ended with %d log lines not yet written; still trying", self.run_id, len(self._buffer))
            return False
        return True


class RunLogs:
    def __init__(self, store: Store, bus: EventBus, max_lines: int, engine_id: str):
        self.store = store
        self.bus = bus
        self.max_lines = max_lines
        self.engine_id = engine_id  # each line records the engine that wrote it
        self._background: set[asyncio.Task[None]] = set()  # writes that outlived their run

    def still_writing(self, writing: asyncio.Task[None]) -> None:
        self._background.add(writing)
        writing.add_done_callback(self._background.discard)

    async def stop(self) -> None:
        """Server shutdown: writes still failing are given up (the server's log said so when
        their run ended)."""
        for writing in list(self._background):
            writing.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    def fresh(self, run_id: str, task_id: str) -> RunLog:
        """The log of a run that is about to start (queued runs have no lines yet)."""
        return RunLog(self, run_id, task_id, 0)

    async def open(self, run_id: str, task_id: str) -> RunLog:
        return RunLog(self, run_id, task_id, await self.store.call(self._next_seq, run_id))

    async def note(self, run_id: str, task_id: str, text: str) -> None:
        """Append one engine line to a run that is not running here (e.g. after a restart)."""
        run_log = await self.open(run_id, task_id)
        run_log.note(text)
        await run_log.close()

    def write(self, run_id: str, rows: list[LogRow], truncated: bool) -> None:
        """Insert the rows and count them, idempotently: a write tried again after its commit's
        answer was lost neither fails on its own rows nor counts them twice."""
        with self.store.write() as db:
            rows_json = orjson.dumps(rows).decode()
            db.exec_driver_sql(_INSERT_ROWS[self.store.dialect], (run_id, self.engine_id, rows_json))
            # Sequence numbers run from 0 without gaps, written in order: the last one counts.
            db.execute(update(t.runs).where(t.runs.c.id == run_id).values(
                log_lines=rows[-1][0] + 1, log_truncated=truncated
            ))

    def tail(self, run_id: str, lines: int | None) -> list[str]:
        query = _lines(run_id)
        with self.store.read() as db:
            if lines is None:
                rows = list(db.execute(query.order_by(t.run_logs.c.seq)))
            else:
                rows = list(db.execute(query.order_by(t.run_logs.c.seq.desc()).limit(lines)))[::-1]
        return [_cri(r) for r in rows]

    def page(self, run_id: str, page: PageRequest) -> Page[str]:
        """The lines after the cursor, oldest first."""
        with self.store.read() as db:
            return page_of(db.execute(paged(_lines(run_id), LINE_KEYS, page)).all(), LINE_KEYS, page, _cri)

    def _next_seq(self, run_id: str) -> int:
        with self.store.read() as db:
            last = db.scalar(select(func.max(t.run_logs.c.seq)).where(t.run_logs.c.run_id == run_id))
        return 0 if last is None else last + 1


LINE_KEYS = ((t.run_logs.c.seq, False),)
# A write's rows go as one JSON array the database unpacks itself, in one statement: with
# executemany (SQLAlchemy's or the driver's), the thread binding the rows takes the GIL back
# once per row, and a chatty run's 150,000 handoffs stalled the event loop's thread (bench/loop.py).
# Neither SQLAlchemy nor the drivers offer such an insert, hence the SQL by hand.
_COLUMNS = "run_id, seq, at, stream, partial, text, engine_id"
_INSERT_ROWS = {
    # `WHERE true`: SQLite's grammar needs it between INSERT ... SELECT and ON CONFLICT.
    "sqlite": f"INSERT INTO run_logs ({_COLUMNS}) SELECT ?, value->>0, value->>1, value->>2, value->>3, "
              "value->>4, ? FROM json_each(?) WHERE true ON CONFLICT DO NOTHING",
    "postgresql": f"INSERT INTO run_logs ({_COLUMNS}) SELECT %s, (e->>0)::int, (e->>1)::timestamptz, e->>2, "
                  "(e->>3)::boolean, e->>4, %s FROM jsonb_array_elements(%s::jsonb) AS e ON CONFLICT DO NOTHING",
}


def _lines(run_id: str) -> Any:
    logs = t.run_logs
    return select(logs.c.seq, logs.c.at, logs.c.stream, logs.c.partial, logs.c.text).where(logs.c.run_id == run_id)


def _cri(row: Any) -> str:
    return f"{iso(row.at)} {row.stream} {'P' if row.partial else 'F'} {row.text}"
