"""Run logs: every stdout/stderr line of a run, with the time it was read and its stream.

Lines are published as `log` events at once and written to `run_logs` in batches (every
FLUSH_INTERVAL_S or FLUSH_LINES lines, and always when the run's log is closed), so a running
run's log is readable within ~50 ms without one write per line. Writes go through the store's
thread pool, one at a time per run; lines leave the buffer only once they are written. A run may store at most
`max_lines` lines; past that one line says so and the rest is dropped. Lines are kept in the
CRI log form: `<RFC3339 time> <stream> <F|P> <text>`, P marking a piece of a line longer than
the executor's line cap.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from sqlalchemy import func, insert, select, update

from ..events.bus import EventBus
from ..store import schema as t
from ..store.database import Store
from ..timeutil import iso, utcnow

FLUSH_INTERVAL_S = 0.05
FLUSH_LINES = 500
SYSTEM_STREAM = "stderr"  # where the engine's own notes about a run go
RETRY_S = 1.0  # a failed write is tried again after this long

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
        self._writing: asyncio.Task[None] | None = None
        self._write_lock = asyncio.Lock()  # one write at a time: a line is never written twice
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
        self._buffer.append((self._seq, at, stream, partial, text))
        self._seq += 1
        self.lines += 1
        self._logs.bus.publish(
            "log", self.run_id, run_id=self.run_id, task_id=self.task_id, stream=stream,
            text=text, partial=partial, seq=self._seq - 1,
        )
        if len(self._buffer) >= FLUSH_LINES:
            self._start_flush()
        elif self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_later(FLUSH_INTERVAL_S, self._start_flush)

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
        """Write what is buffered; lines leave the buffer only once written. A failed write is
        logged and tried again (the lines stay readable through the events meanwhile)."""
        async with self._write_lock:
            while self._buffer:
                rows = list(self._buffer)
                try:
                    await self._logs.store.call(self._logs.write, self.run_id, rows, self.truncated)
                except Exception:
                    log.exception("could not write %d log lines of run %s; trying again", len(rows), self.run_id)
                    await asyncio.sleep(RETRY_S)
                    continue
                del self._buffer[: len(rows)]

    async def close(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if self._writing is not None:
            await asyncio.shield(self._writing)
        await self.flush()


class RunLogs:
    def __init__(self, store: Store, bus: EventBus, max_lines: int, engine_id: str):
        self.store = store
        self.bus = bus
        self.max_lines = max_lines
        self.engine_id = engine_id  # each line records the engine that wrote it

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
        with self.store.write() as db:
            db.execute(insert(t.run_logs), [
                {"run_id": run_id, "seq": seq, "at": at, "stream": stream, "partial": partial, "text": text,
                 "engine_id": self.engine_id}
                for seq, at, stream, partial, text in rows
            ])
            db.execute(update(t.runs).where(t.runs.c.id == run_id).values(
                log_lines=t.runs.c.log_lines + len(rows), log_truncated=truncated
            ))

    def tail(self, run_id: str, lines: int | None) -> list[str]:
        logs = t.run_logs
        query = select(logs.c.seq, logs.c.at, logs.c.stream, logs.c.partial, logs.c.text).where(logs.c.run_id == run_id)
        with self.store.read() as db:
            if lines is None:
                rows = list(db.execute(query.order_by(logs.c.seq)))
            else:
                rows = list(db.execute(query.order_by(logs.c.seq.desc()).limit(lines)))[::-1]
        return [f"{iso(r.at)} {r.stream} {'P' if r.partial else 'F'} {r.text}" for r in rows]

    def _next_seq(self, run_id: str) -> int:
        with self.store.read() as db:
            last = db.scalar(select(func.max(t.run_logs.c.seq)).where(t.run_logs.c.run_id == run_id))
        return 0 if last is None else last + 1
