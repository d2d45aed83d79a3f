"""Run logs: every stdout/stderr line of a run, with the time it was read and its stream.

Lines are published at once, one `log` event per loop turn with every line read in it
(`lines`: seq, at, stream, text, partial): a run printing 30,000 lines a second makes a few
hundred events, not 30,000. They are written to `run_logs` in batches (every
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
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

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

LogRow = tuple[int, datetime, str, bool, str]  # seq, time printed, stream, partial, text


class RunLog:
    """The log of one run while it runs. Call `add` from the event loop, `close` at the end."""

    def __init__(self, logs: RunLogs, run_id: str, task_id: str, next_seq: int):
        self._logs = logs
        self.run_id = run_id
        self.task_id = task_id
        self._seq = next_seq
        self._buffer: list[LogRow] = []
        self._flush_handle: asyncio.TimerHandle | None = None
        self._live: list[dict[str, object]] = []  # lines read this loop turn, published at its end
        self._live_at: tuple[datetime | None, str | None] = (None, None)  # a chunk's lines share a time
        self._writing: asyncio.Task[None] | None = None
        self._write_lock = asyncio.Lock()  # one write at a time: a line is never written twice
        self._failures = 0  # failed writes since the last one that worked
        self._last_failure = ""
        self.lines = 0
        self.truncated = False
        self._traceback_tail: str | None = None
        self._last_stderr: str | None = None
        self._in_traceback = False

    def add(self, stream: str, text: str, at: datetime, partial: bool = False) -> None:
        if stream == "stderr":  # even past the cap: a crash at the end must still be summed up
            self._watch_for_failure(text)
        if self.truncated:
            return
        if self.lines >= self._logs.max_lines:
            self.truncated = True
            stream, partial = SYSTEM_STREAM, False
            text = f"[jupyter-orch] log truncated: this run printed more than {self._logs.max_lines} lines"
        self._store(stream, text, at, partial)

    def note(self, text: str) -> None:
        """A line from the engine itself (start failure, timeout, kill, restart)."""
        self._store(SYSTEM_STREAM, f"[jupyter-orch] {text}", utcnow(), False)

    def _store(self, stream: str, text: str, at: datetime, partial: bool) -> None:
        # PostgreSQL's text cannot hold NUL: such a line would fail its write for ever.
        text = text.replace("\0", "\ufffd")
        self._buffer.append((self._seq, at, stream, partial, text))
        self._seq += 1
        self.lines += 1
        if self._live_at[0] is not at:
            self._live_at = (at, iso(at))
        if not self._live:
            asyncio.get_running_loop().call_soon(self._publish)
        self._live.append({"seq": self._seq - 1, "at": self._live_at[1], "stream": stream, "text": text,
                           "partial": partial})
        if self._writing is not None and not self._writing.done():
            return  # the write under way takes these lines too
        if len(self._buffer) >= FLUSH_LINES:
            self._start_flush()
        elif self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_later(FLUSH_INTERVAL_S, self._start_flush)

    def _publish(self) -> None:
        lines, self._live = self._live, []
        self._logs.bus.publish("log", self.run_id, run_id=self.run_id, task_id=self.task_id, lines=lines)

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
        self._insert: str | None = None

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
        # The driver's own executemany, with rows as plain tuples: SQLAlchemy's per-row binding
        # is most of a chatty run's cost here (bench/loop.py). The statement is SQLAlchemy's,
        # compiled once per dialect; only times need what UTCDateTime's binding would do.
        engine_id, to_db = self.engine_id, (iso if self.store.dialect == "sqlite" else _same)
        values, at_was, stamp = [], None, None
        for seq, at, stream, partial, text in rows:
            if at is not at_was:  # the lines of one read share their time: convert it once
                at_was, stamp = at, to_db(at)
            values.append((run_id, seq, stamp, stream, partial, text, engine_id))
        with self.store.write() as db:
            db.exec_driver_sql(self._insert_sql(db), values)
            # Sequence numbers run from 0 without gaps, written in order: the last one counts.
            db.execute(update(t.runs).where(t.runs.c.id == run_id).values(
                log_lines=rows[-1][0] + 1, log_truncated=truncated
            ))

    def _insert_sql(self, db: Connection) -> str:
        if self._insert is None:
            dialect_insert = postgresql.insert if self.store.dialect == "postgresql" else sqlite.insert
            statement = dialect_insert(t.run_logs).values({name: bindparam(name) for name in INSERT_COLUMNS})
            style = "qmark" if self.store.dialect == "sqlite" else "format"
            positional = type(db.dialect)(paramstyle=style)  # type: ignore[call-arg]
            compiled = statement.on_conflict_do_nothing().compile(dialect=positional)
            self._insert = str(compiled)
            assert compiled.positiontup == list(INSERT_COLUMNS), compiled.positiontup
        return self._insert

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
INSERT_COLUMNS = ("run_id", "seq", "at", "stream", "partial", "text", "engine_id")


def _same(value: datetime) -> datetime:
    return value


def _lines(run_id: str) -> Any:
    logs = t.run_logs
    return select(logs.c.seq, logs.c.at, logs.c.stream, logs.c.partial, logs.c.text).where(logs.c.run_id == run_id)


def _cri(row: Any) -> str:
    return f"{iso(row.at)} {row.stream} {'P' if row.partial else 'F'} {row.text}"
