"""Inference logs: every inferred row, kept in Arrow and flushed to hourly Parquet partitions.

`append` adds a batch to an in-memory buffer (a query sees it at once). A background thread
flushes the buffer when it holds `flush_rows` rows or its oldest row is `flush_seconds` old, and
`close` flushes what is left. Files live at
`<root>/<pipeline id>/<yyyy-mm-dd-hh>/part-<flush ns>-<n>.parquet` and are written to a hidden
temporary name, fsynced, then renamed, so a crash never leaves a half-written part. They use
LZ4: list columns read about 5x faster than with Snappy, at the same size.

Queries read only the hour partitions that overlap the asked range, newest first for the
default descending order, and stop as soon as a page is full. Rows are ordered by time; rows
with the same time keep the order they were logged in. A page's cursor names the time of its
last row and how many rows at that time were already returned: an opaque base64url token.
"""

from __future__ import annotations

import base64
import binascii
import functools
import itertools
import json
import logging
import os
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import Invalid

TIME_TYPE = pa.timestamp("ms", tz="UTC")
METADATA_COLUMNS = ("metadata.pipeline_version", "metadata.model_sha")
HOUR_FORMAT = "%Y-%m-%d-%H"
ORDERS = ("asc", "desc")
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1_000_000
HOUR_MS = 3_600_000

log = logging.getLogger(__name__)

Key = tuple[int, str]  # (pipeline id, hour partition name)


@dataclass(frozen=True)
class Batch:
    """Logged rows; the metadata columns are added only when the rows are read or written."""

    frame: pa.Table
    pipeline_version: str
    model_sha: str


def materialize(batches: list[Batch]) -> pa.Table:
    """One table of the batches, in order: runs with the same metadata are joined first, so
    thousands of one-row batches cost two metadata columns, not thousands."""
    tables = []
    for (version, sha), run in itertools.groupby(batches, key=lambda b: (b.pipeline_version, b.model_sha)):
        frames = [b.frame for b in run]
        table = frames[0] if len(frames) == 1 else pa.concat_tables(frames, promote_options="permissive")
        table = table.append_column(METADATA_COLUMNS[0], constant_column(version, table.num_rows))
        tables.append(table.append_column(METADATA_COLUMNS[1], constant_column(sha, table.num_rows)))
    return tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="permissive")


@dataclass
class LogPage:
    table: pa.Table
    cursor: str | None  # None when nothing remains
    remaining: bool
    total: int | None = None  # rows in the asked time range, when counted


@dataclass
class Query:
    start_ms: int | None = None  # inclusive
    end_ms: int | None = None  # exclusive
    order: str = "desc"
    page_size: int = DEFAULT_PAGE_SIZE
    after_ms: int | None = None  # from the cursor: the last time already returned
    skip: int = 0  # rows at `after_ms` already returned

    def hour_overlaps(self, hour_ms: int) -> bool:
        lo, hi = self.start_ms, self.end_ms
        if self.after_ms is not None and self.order == "asc":
            lo = self.after_ms if lo is None else max(lo, self.after_ms)
        elif self.after_ms is not None:
            hi = self.after_ms + 1 if hi is None else min(hi, self.after_ms + 1)
        return (lo is None or hour_ms + HOUR_MS > lo) and (hi is None or hour_ms < hi)

    def mask(self, times: pa.ChunkedArray) -> pa.ChunkedArray | None:
        conditions = []
        if self.start_ms is not None:
            conditions.append(pc.greater_equal(times, _ts(self.start_ms)))
        if self.end_ms is not None:
            conditions.append(pc.less(times, _ts(self.end_ms)))
        if self.after_ms is not None:
            compare = pc.less_equal if self.order == "desc" else pc.greater_equal
            conditions.append(compare(times, _ts(self.after_ms)))
        if not conditions:
            return None
        mask = conditions[0]
        for condition in conditions[1:]:
            mask = pc.and_(mask, condition)
        return mask


def make_query(
    start: datetime | None, end: datetime | None, order: object, page_size: object, cursor: object
) -> Query:
    """Validate a caller's query; Invalid says what is wrong."""
    if (start is None) != (end is None):
        raise Invalid("give both 'start_time' and 'end_time', or neither")
    if start is not None and end is not None and end < start:
        raise Invalid("'end_time' is before 'start_time'")
    order = "desc" if order is None else order
    if order not in ORDERS:
        raise Invalid(f"'order' must be 'asc' or 'desc', got {order!r}")
    size = DEFAULT_PAGE_SIZE if page_size is None else page_size
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_PAGE_SIZE:
        raise Invalid(f"'page_size' must be an integer from 1 to {MAX_PAGE_SIZE}, got {page_size!r}")
    query = Query(_ms(start), _ms(end), order, size)
    if cursor not in (None, ""):
        query.after_ms, query.skip, cursor_order = _decode_cursor(cursor)
        if cursor_order != order:
            raise Invalid(f"the cursor was made for order '{cursor_order}'; ask with the same order")
    return query


def constant_column(value: str, rows: int) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, dtype=np.int32)), pa.array([value]))


class InferenceLog:
    def __init__(self, root: Path, flush_rows: int = 500_000, flush_seconds: float = 5.0):
        self.root = root
        self.flush_rows = flush_rows
        self.flush_seconds = flush_seconds
        self._lock = threading.Lock()  # guards the buffers and the set of visible files
        self._flush_lock = threading.Lock()  # one flush at a time
        self._wake = threading.Condition(self._lock)
        self._pending: dict[Key, list[Batch]] = defaultdict(list)
        self._flushing: dict[Key, list[Batch]] = {}
        self._pending_rows = 0
        self._oldest: float | None = None
        self._seq = 0
        self._thread: threading.Thread | None = None
        self._closing = False

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        for leftover in self.root.glob("*/*/.tmp-*"):  # a crash mid-write leaves only these
            leftover.unlink(missing_ok=True)
        self._closing = False
        self._thread = threading.Thread(target=self._flusher, name="inference-log-flush", daemon=True)
        self._thread.start()

    def close(self) -> None:
        with self._lock:
            self._closing = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.flush()

    def append(self, pipeline_id: int, frame: pa.Table, pipeline_version: str, model_sha: str) -> None:
        """Log a result frame (with a `time` column) under the pipeline version and model sha."""
        parts = _split_by_hour(frame)
        with self._lock:
            for hour, part in parts:
                self._pending[(pipeline_id, hour)].append(Batch(part, pipeline_version, model_sha))
            self._pending_rows += frame.num_rows
            if self._oldest is None:
                self._oldest = time.monotonic()
            if self._pending_rows >= self.flush_rows:
                self._wake.notify_all()

    def flush(self) -> None:
        """Write every buffered row to its partition (atomically, one part file per partition)."""
        with self._flush_lock:
            with self._lock:
                batch, self._pending = dict(self._pending), defaultdict(list)
                self._flushing.update(batch)
                self._pending_rows, self._oldest = 0, None
            for key, batches in batch.items():
                try:
                    self._write(key, batches)
                except Exception:
                    log.exception("could not flush %d inference batches of pipeline %s", len(batches), key[0])
                    with self._lock:
                        self._pending[key][:0] = self._flushing.pop(key)
                        self._pending_rows += sum(b.frame.num_rows for b in batches)

    def query(self, pipeline_id: int, query: Query) -> LogPage:
        sources = self._sources(pipeline_id, query)
        wanted = query.skip + query.page_size + 1  # one more tells whether rows remain
        pieces: list[pa.Table] = []
        found = 0
        for files, batches in sources:
            piece = _read_partition(files, batches, query)
            if piece.num_rows:
                pieces.append(piece)
                found += piece.num_rows
                if found >= wanted:
                    break
        if not pieces:
            return LogPage(pa.table({}), None, False)
        rows = pa.concat_tables(pieces, promote_options="permissive")
        end = min(rows.num_rows, query.skip + query.page_size)
        page = rows.slice(query.skip, max(end - query.skip, 0))
        remaining = rows.num_rows > end
        if not remaining or page.num_rows == 0:
            return LogPage(page, None, False)
        times = rows.column("time").slice(0, end)
        last = times[end - 1]
        same = pc.sum(pc.equal(times, last)).as_py()
        return LogPage(page, _encode_cursor(last.value, same, query.order), True)

    def count(self, pipeline_id: int, query: Query) -> int:
        """Rows in the query's time range, whatever its cursor: a pager's total. Reads only the
        parts' footers when every row counts, else only their `time` column."""
        whole = Query(query.start_ms, query.end_ms, query.order, query.page_size)
        total = 0
        for files, batches in self._sources(pipeline_id, whole):
            for path in files:
                if whole.start_ms is None and whole.end_ms is None:
                    total += pq.ParquetFile(path).metadata.num_rows
                else:
                    total += _count_in(pq.read_table(path, columns=["time"]).column("time"), whole)
            total += sum(_count_in(b.frame.column("time"), whole) for b in batches)
        return total

    def _sources(self, pipeline_id: int, query: Query) -> list[tuple[list[Path], list[Batch]]]:
        """Per overlapping hour, in query order: its part files and its buffered tables."""
        folder = self.root / str(pipeline_id)
        with self._lock:
            hours = {p.name for p in folder.iterdir() if p.is_dir()} if folder.is_dir() else set()
            hours |= {hour for (pid, hour) in (*self._flushing, *self._pending) if pid == pipeline_id}
            chosen = sorted(h for h in hours if query.hour_overlaps(_hour_ms(h)))
            if query.order == "desc":
                chosen.reverse()
            sources = []
            for hour in chosen:
                files = sorted(p for p in (folder / hour).glob("part-*.parquet")) if (folder / hour).is_dir() else []
                key = (pipeline_id, hour)
                batches = [*self._flushing.get(key, ()), *self._pending.get(key, ())]
                sources.append((files, batches))
        return sources

    def _write(self, key: Key, batches: list[Batch]) -> None:
        pipeline_id, hour = key
        folder = self.root / str(pipeline_id) / hour
        folder.mkdir(parents=True, exist_ok=True)
        table = materialize(batches).combine_chunks()
        with self._lock:
            self._seq += 1
            name = f"part-{time.time_ns():020d}-{self._seq:06d}.parquet"
        tmp = folder / f".tmp-{name}"
        try:
            with open(tmp, "wb") as f:
                pq.write_table(table, f, compression="lz4", use_dictionary=list(METADATA_COLUMNS))
                f.flush()
                os.fsync(f.fileno())
            with self._lock:
                os.replace(tmp, folder / name)
                self._flushing.pop(key, None)
        finally:
            tmp.unlink(missing_ok=True)

    def _flusher(self) -> None:
        while True:
            with self._lock:
                while not self._closing and not self._due():
                    since = 0.0 if self._oldest is None else time.monotonic() - self._oldest
                    self._wake.wait(max(self.flush_seconds - since, 0.01))
                if self._closing:
                    return
            self.flush()

    def _due(self) -> bool:
        if self._pending_rows >= self.flush_rows:
            return True
        return self._oldest is not None and time.monotonic() - self._oldest >= self.flush_seconds


def _split_by_hour(table: pa.Table) -> list[tuple[str, pa.Table]]:
    times = table.column("time")
    ms = times.to_numpy().view(np.int64)
    first, last = int(ms.min()) // HOUR_MS, int(ms.max()) // HOUR_MS
    if first == last:
        return [(_hour_name(first * HOUR_MS), table)]
    hours = pc.floor_temporal(times, unit="hour")
    parts = []
    for hour in pc.unique(hours).to_pylist():
        part = table.filter(pc.equal(hours, pa.scalar(hour, TIME_TYPE)))
        parts.append((hour.strftime(HOUR_FORMAT), part))
    return parts


def _read_partition(files: list[Path], batches: list[Batch], query: Query) -> pa.Table:
    pieces = [pq.read_table(f) for f in files] + ([materialize(batches)] if batches else [])
    table = pa.concat_tables(pieces, promote_options="permissive") if len(pieces) > 1 else pieces[0]
    mask = query.mask(table.column("time"))
    if mask is not None:
        table = table.filter(mask)
    return table.sort_by([("time", "descending" if query.order == "desc" else "ascending")])


def _count_in(times: pa.ChunkedArray | pa.Array, query: Query) -> int:
    mask = query.mask(times)
    return len(times) if mask is None else int(pc.sum(mask).as_py() or 0)


@functools.lru_cache(maxsize=64)
def _hour_name(hour_ms: int) -> str:
    return datetime.fromtimestamp(hour_ms / 1000, UTC).strftime(HOUR_FORMAT)


def _hour_ms(name: str) -> int:
    try:
        return int(datetime.strptime(name, HOUR_FORMAT).replace(tzinfo=UTC).timestamp() * 1000)
    except ValueError:
        return -HOUR_MS  # not a partition: overlaps nothing a caller can ask for


def _ms(dt: datetime | None) -> int | None:
    return None if dt is None else int(dt.timestamp() * 1000)


def _ts(ms: int) -> pa.Scalar:
    return pa.scalar(ms, TIME_TYPE)


def _encode_cursor(after_ms: int, skip: int, order: str) -> str:
    raw = json.dumps({"t": after_ms, "k": skip, "o": order}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: object) -> tuple[int, int, str]:
    try:
        if not isinstance(cursor, str):
            raise ValueError
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        after, skip, order = data["t"], data["k"], data["o"]
        if not (isinstance(after, int) and isinstance(skip, int) and skip >= 0 and order in ORDERS):
            raise ValueError
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise Invalid("'cursor' is not a cursor this server gave out") from None
    return after, skip, order
