"""Run logs: every stdout/stderr line of a run, with the time it was read and its stream.

Lines are published as `log` events at once and written to `run_logs` in batches (every
FLUSH_INTERVAL_S or FLUSH_LINES lines, and always when the run's log is closed), so a running
run's log is readable within ~50 ms without one write per line. A run may store at most
`max_lines` lines; past that one line says so and the rest is dropped. Lines are kept in the
CRI log form: `<RFC3339 time> <stream> <F|P> <text>`, P marking a piece of a line longer than
the executor's line cap.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from ..events.bus import EventBus
from ..store.database import Store
from ..timeutil import iso, utcnow

FLUSH_INTERVAL_S = 0.05
FLUSH_LINES = 500
SYSTEM_STREAM = "stderr"  # where the engine's own notes about a run go


class RunLog:
    """The log of one run while it runs. Call `add` from the event loop, `close` at the end."""

    def __init__(self, logs: RunLogs, run_id: str, task_id: str, next_seq: int):
        self._logs = logs
        self.run_id = run_id
        self.task_id = task_id
        self._seq = next_seq
        self._buffer: list[tuple[str, int, str, str, int, str]] = []
        self._flush_handle: asyncio.TimerHandle | None = None
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
        stamp = iso(at) or ""
        self._buffer.append((self.run_id, self._seq, stamp, stream, int(partial), text))
        self._seq += 1
        self.lines += 1
        self._logs.bus.publish(
            "log", self.run_id, run_id=self.run_id, task_id=self.task_id, stream=stream,
            text=text, partial=partial, seq=self._seq - 1,
        )
        if len(self._buffer) >= FLUSH_LINES:
            self.flush()
        elif self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_later(FLUSH_INTERVAL_S, self.flush)

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

    def flush(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if not self._buffer:
            return
        rows, self._buffer = self._buffer, []
        with self._logs.store.transaction() as conn:
            conn.executemany(
                "INSERT INTO run_logs (run_id, seq, at, stream, partial, text) VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            conn.execute(
                "UPDATE runs SET log_lines = log_lines + ?, log_truncated = ? WHERE id = ?",
                (len(rows), int(self.truncated), self.run_id),
            )

    def close(self) -> None:
        self.flush()


class RunLogs:
    def __init__(self, store: Store, bus: EventBus, max_lines: int):
        self.store = store
        self.bus = bus
        self.max_lines = max_lines

    def open(self, run_id: str, task_id: str) -> RunLog:
        return RunLog(self, run_id, task_id, self._next_seq(run_id))

    def note(self, run_id: str, task_id: str, text: str) -> None:
        """Append one engine line to a run that is not running here (e.g. after a restart)."""
        log = self.open(run_id, task_id)
        log.note(text)
        log.close()

    def tail(self, run_id: str, lines: int | None) -> list[str]:
        if lines is None:
            rows = self.store.all(
                "SELECT at, stream, partial, text FROM run_logs WHERE run_id = ? ORDER BY seq", (run_id,)
            )
        else:
            rows = self.store.all(
                "SELECT * FROM (SELECT seq, at, stream, partial, text FROM run_logs WHERE run_id = ?"
                " ORDER BY seq DESC LIMIT ?) ORDER BY seq",
                (run_id, lines),
            )
        return [f"{r['at']} {r['stream']} {'P' if r['partial'] else 'F'} {r['text']}" for r in rows]

    def _next_seq(self, run_id: str) -> int:
        row = self.store.one("SELECT max(seq) FROM run_logs WHERE run_id = ?", (run_id,))
        return 0 if row is None or row[0] is None else row[0] + 1
