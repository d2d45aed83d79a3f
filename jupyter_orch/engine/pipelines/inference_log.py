"""Inference logs: every inferred row, kept in Arrow and flushed to hourly Parquet partitions.

`append` adds a batch to an in-memory buffer (a query sees it at once). A background thread
flushes the buffer when it holds `flush_rows` rows or its oldest row is `flush_seconds` old,
then compacts; `close` flushes what is left. The root is a local folder or an fsspec URL that
several engines (writers) may share. Parts live at
`<root>/<pipeline id>/<yyyy-mm-dd-hh>/part-<writer>-<lo stamp>-<hi stamp>.parquet`: a flush gets
one stamp (lo = hi), a merged part spans the stamps of the parts it replaced, which readers then
skip. Parts are written to a hidden temporary name, synced, then renamed, so a crash never
leaves a half-written part. They use LZ4: list columns read about 5x faster than with Snappy, and
store tensor columns flat (flat_lists.py), which reads a big time range about 3x faster again.

Every writer reads all writers' parts and compacts only its own: an open hour's parts are
merged into one once `compact_parts` piled up, a closed hour ends as one part per writer.

Queries go through `pyarrow.dataset`: only the hour partitions that overlap the asked range are
listed, newest first for the default descending order, the time filter is pushed down to the
row groups, and only the `time` column is read until the page's end is known. Rows are ordered
by time; rows with the same time keep the order they were logged in. A page's cursor names the
time of its last row and how many rows at that time were already returned: an opaque base64url
token.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import errno
import functools
import itertools
import json
import logging
import operator
import os
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar
from urllib.parse import unquote, urlparse

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from ..errors import DiskFull, Invalid
from .flat_lists import flatten, form, unflatten

TIME_TYPE = pa.timestamp("ms", tz="UTC")
METADATA_COLUMNS = ("metadata.pipeline_version", "metadata.model_sha")
HOUR_FORMAT = "%Y-%m-%d-%H"
ORDERS = ("asc", "desc")
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1_000_000
HOUR_MS = 3_600_000
T = TypeVar("T")
BACKGROUND_NICE = 5
ROW_GROUP_ROWS = 64 * 1024  # row groups small enough for the time filter to skip most of a big part
COMPACT_EVERY_S = 60.0  # the background thread looks for parts to merge at least this often
SCHEMA_CACHE_SIZE = 10_000
WRITER_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# Release 0.1.0's parts, `part-<flush ns>-<n>.parquet`: read as one writer's flushes, never compacted.
LEGACY_PART_NAME = re.compile(r"part-(?P<lo>\d{20})-\d{6}\.parquet")
LEGACY_WRITER = "release-0.1"
PART_NAME = re.compile(r"part-(?P<writer>[A-Za-z0-9._-]+)-(?P<lo>\d{20})-(?P<hi>\d{20})\.parquet")

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

    def expression(self) -> pc.Expression | None:
        """The time filter, as a dataset expression Parquet row-group statistics can prune by."""
        time_ = pc.field("time")
        conditions = []
        if self.start_ms is not None:
            conditions.append(time_ >= _ts(self.start_ms))
        if self.end_ms is not None:
            conditions.append(time_ < _ts(self.end_ms))
        if self.after_ms is not None:
            conditions.append(time_ <= _ts(self.after_ms) if self.order == "desc" else time_ >= _ts(self.after_ms))
        return functools.reduce(operator.and_, conditions) if conditions else None


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
    """The log of one writer (an engine) over a root that several writers may share.

    `compact_parts`: an open hour's parts are merged once this many piled up.
    `settle_seconds`: how long after its end an hour counts as closed (late rows still land).
    """

    def __init__(
        self,
        root: str | Path,
        flush_rows: int = 500_000,
        flush_seconds: float = 5.0,
        writer_id: str = "local",
        compact_parts: int = 16,
        settle_seconds: float = 60.0,
    ):
        if not WRITER_ID.fullmatch(writer_id) or writer_id == LEGACY_WRITER:
            raise ValueError(f"a writer id holds only letters, digits, '.', '_' and '-', got {writer_id!r}")
        self.fs, self.root = open_root(root)
        self._local = isinstance(self.fs, pafs.LocalFileSystem)
        self.writer_id = writer_id
        self.flush_rows = flush_rows
        self.flush_seconds = flush_seconds
        self.compact_parts = compact_parts
        self.settle_seconds = settle_seconds
        self._lock = threading.Lock()  # guards the buffers, the stamps and the dirty hours
        self._flush_lock = threading.Lock()  # one flush or compaction at a time
        self._wake = threading.Condition(self._lock)
        self._pending: dict[Key, list[Batch]] = defaultdict(list)
        self._flushing: dict[Key, tuple[int, list[Batch]]] = {}  # with the stamp their part gets
        self._pending_rows = 0
        self._oldest: float | None = None
        self._stamp = 0
        self._dirty: set[Key] = set()  # hours this writer added parts to since they were compacted
        self._schemas: dict[str, pa.Schema] = {}  # parts never change: their schemas are cached
        self._thread: threading.Thread | None = None
        self._closing = False
        self.disk_full = False  # the last flush found no space: new rows are refused until one succeeds

    def start(self) -> None:
        self.fs.create_dir(self.root, recursive=True)
        for info in self.fs.get_file_info(pafs.FileSelector(self.root, recursive=True)):
            name = info.base_name
            if name.startswith(f".tmp-part-{self.writer_id}-"):  # a crash mid-write leaves only these
                self.fs.delete_file(info.path)
            elif (part := _parse(info.path)) is not None and part.writer == self.writer_id:
                hour_dir = info.path.rsplit("/", 2)
                self._dirty.add((int(hour_dir[0].rsplit("/", 1)[-1]), hour_dir[1]))
        self._closing = False
        self._thread = threading.Thread(target=self._background, name="inference-log-flush", daemon=True)
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
        """Log a result frame (with a `time` column) under the pipeline version and model sha.
        While the disk is full, DiskFull: the rows already taken stay buffered until they fit."""
        if self.disk_full:
            raise DiskFull("the disk is full: the inference log cannot take more rows; free some space")
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
                for key, batches in batch.items():
                    self._flushing[key] = (self._next_stamp(), batches)
                self._pending_rows, self._oldest = 0, None
            for key in batch:
                stamp, batches = self._flushing[key]
                try:
                    self._write(key, materialize(batches), stamp, stamp)
                except Exception as e:
                    self.disk_full = isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT)
                    log.exception("could not flush %d inference batches of pipeline %s", len(batches), key[0])
                    with self._lock:
                        self._pending[key][:0] = self._flushing.pop(key)[1]
                        self._pending_rows += sum(b.frame.num_rows for b in batches)
                    continue
                with self._lock:
                    self._flushing.pop(key, None)
                    self._dirty.add(key)
                self.disk_full = False

    def compact(self) -> int:
        """Merge this writer's parts of an hour into one: an open hour's once `compact_parts`
        piled up, a closed hour's as soon as it holds two. Readers never see a row twice or miss one: a merged
        file's name spans the stamps of the parts it replaces, which are then hidden. Returns
        the number of parts merged."""
        merged = 0
        with self._flush_lock:
            with self._lock:
                keys = sorted(self._dirty)
            now_ms = time.time() * 1000
            for key in keys:
                closed = _hour_ms(key[1]) + HOUR_MS + self.settle_seconds * 1000 <= now_ms
                mine = [p for p in self._parts(key) if p.writer == self.writer_id]
                chosen = mine if len(mine) >= (2 if closed else self.compact_parts) else []
                if chosen:
                    table = self._scan(chosen, [], None, None)
                    self._write(key, table.sort_by("time"), chosen[0].lo, max(p.hi for p in chosen))
                    for part in chosen:
                        self.fs.delete_file(part.path)
                    merged += len(chosen)
                if closed:
                    with self._lock:
                        self._dirty.discard(key)
        return merged

    def drop(self, pipeline_id: int) -> None:
        """Forget a pipeline's log (every writer's parts): the pipeline was deleted."""
        with self._flush_lock, self._lock:
            for key in [k for k in self._pending if k[0] == pipeline_id]:
                self._pending_rows -= sum(b.frame.num_rows for b in self._pending.pop(key))
            self._dirty = {k for k in self._dirty if k[0] != pipeline_id}
        folder = f"{self.root}/{pipeline_id}"
        if self.fs.get_file_info(folder).type == pafs.FileType.Directory:
            self.fs.delete_dir(folder)

    def query(self, pipeline_id: int, query: Query) -> LogPage:
        """A page of rows, newest or oldest first. Only the hours that overlap the range are
        listed; the `time` column alone is read to find where the page ends, then every
        column of just those rows, with the time filter pushed down to the Parquet row groups."""
        return _relisting(lambda: self._page(pipeline_id, query))

    def count(self, pipeline_id: int, query: Query) -> int:
        """Rows in the query's time range, whatever its cursor: a pager's total. Reads only the
        parts' footers when every row counts, else only their `time` column."""
        return _relisting(lambda: self._count(pipeline_id, query))

    def _count(self, pipeline_id: int, query: Query) -> int:
        whole = Query(query.start_ms, query.end_ms, query.order, query.page_size)
        expression = whole.expression()
        total = 0
        for source in self._sources(pipeline_id, whole):
            if source.parts:
                total += sum(d.count_rows(filter=expression) for d in self._datasets(source.parts))
            total += sum(_count_in(b.frame.column("time"), expression) for b in source.batches)
        return total

    def _page(self, pipeline_id: int, query: Query) -> LogPage:
        expression = query.expression()
        wanted = query.skip + query.page_size + 1  # one more tells whether rows remain
        chosen: list[Source] = []
        times: list[pa.ChunkedArray] = []
        found = 0
        for source in self._sources(pipeline_id, query):
            seen = self._read(source, ["time"], expression).column("time")
            if len(seen):
                chosen.append(source)
                times.append(seen)
                found += len(seen)
                if found >= wanted:
                    break
        if not chosen:
            return LogPage(pa.table({}), None, False)
        descending = query.order == "desc"
        if found > wanted:  # read only the rows up to the page's end
            every = pa.chunked_array([c for t in times for c in t.chunks], TIME_TYPE)
            edge = pc.sort_indices(every, sort_keys=[("", "descending" if descending else "ascending")])[wanted - 1]
            cutoff = every[edge.as_py()]
            bound = pc.field("time") >= cutoff if descending else pc.field("time") <= cutoff
            expression = bound if expression is None else expression & bound
        pieces = [self._read(source, [], expression) for source in chosen]
        rows = pa.concat_tables(pieces, promote_options="permissive") if len(pieces) > 1 else pieces[0]
        if descending or not _ascending(rows.column("time")):  # parts are written sorted: often nothing to do
            rows = rows.sort_by([("time", "descending" if descending else "ascending")])
        end = min(rows.num_rows, query.skip + query.page_size)
        page = rows.slice(query.skip, max(end - query.skip, 0))
        if rows.num_rows <= end or page.num_rows == 0:
            return LogPage(page, None, False)
        page_times = rows.column("time").slice(0, end)
        last = page_times[end - 1]
        same = pc.sum(pc.equal(page_times, last)).as_py()
        return LogPage(page, _encode_cursor(last.value, same, query.order), True)

    def _sources(self, pipeline_id: int, query: Query) -> list[Source]:
        """Per overlapping hour, in query order: its visible part files and its buffered batches."""
        with self._lock:  # the buffers first: a part that lands meanwhile hides its batches below
            pending = {k[1]: list(v) for k, v in self._pending.items() if k[0] == pipeline_id}
            flushing = {k[1]: v for k, v in self._flushing.items() if k[0] == pipeline_id}
        folder = f"{self.root}/{pipeline_id}"
        listed = self.fs.get_file_info(pafs.FileSelector(folder, allow_not_found=True))
        hours = {i.base_name for i in listed if i.type == pafs.FileType.Directory} | set(pending) | set(flushing)
        chosen = sorted(h for h in hours if query.hour_overlaps(_hour_ms(h)))
        if query.order == "desc":
            chosen.reverse()
        sources = []
        for hour in chosen:
            parts = self._parts((pipeline_id, hour))
            batches = list(pending.get(hour, ()))
            if hour in flushing:
                stamp, being_written = flushing[hour]
                if not any(p.writer == self.writer_id and p.lo <= stamp <= p.hi for p in parts):
                    batches[:0] = being_written
            if parts or batches:
                sources.append(Source(parts, batches))
        return sources

    def _parts(self, key: Key) -> list[Part]:
        """The hour's visible parts, in stamp order: a part inside a merged part's span is hidden."""
        folder = f"{self.root}/{key[0]}/{key[1]}"
        found = [p for i in self.fs.get_file_info(pafs.FileSelector(folder, allow_not_found=True))
                 if (p := _parse(i.path)) is not None]
        visible = [p for p in found if not any(
            o.writer == p.writer and o.lo <= p.lo and p.hi <= o.hi and (o.lo, o.hi) != (p.lo, p.hi) for o in found
        )]
        return sorted(visible, key=lambda p: (p.lo, p.hi, p.writer))

    def _read(self, source: Source, columns: list[str], expression: pc.Expression | None) -> pa.Table:
        return self._scan(source.parts, source.batches, columns or None, expression)

    def _scan(
        self, parts: list[Part], batches: list[Batch], columns: list[str] | None, expression: pc.Expression | None
    ) -> pa.Table:
        pieces = []
        for dataset in self._datasets(parts):
            pieces.append(unflatten(dataset.to_table(columns=columns, filter=expression)))
        if batches:
            table = materialize(batches)
            table = table if expression is None else table.filter(expression)
            pieces.append(table.select(columns) if columns else table)
        if len(pieces) == 1:
            return pieces[0]
        return pa.concat_tables(pieces, promote_options="permissive")

    def _datasets(self, parts: list[Part]) -> list[ds.Dataset]:
        """The parts as datasets, one per stored form (flat_lists.py: parts written before
        tensors were stored flat hold them as lists), in the parts' order of first form."""
        schemas = self._schemas_of([p.path for p in parts])
        forms: dict[frozenset[str], list[tuple[str, pa.Schema]]] = {}
        for part in parts:
            forms.setdefault(form(schemas[part.path]), []).append((part.path, schemas[part.path]))
        return [ds.dataset([path for path, _ in group], schema=_unified([s for _, s in group]), format="parquet",
                           filesystem=self.fs) for group in forms.values()]

    def _schemas_of(self, paths: list[str]) -> dict[str, pa.Schema]:
        with self._lock:
            missing = [p for p in paths if p not in self._schemas]
        read = {p: pq.read_schema(p, filesystem=self.fs) for p in missing}
        with self._lock:
            if len(self._schemas) > SCHEMA_CACHE_SIZE:
                self._schemas.clear()
            self._schemas.update(read)
            return {p: self._schemas.get(p) or read[p] for p in paths}

    def _next_stamp(self) -> int:
        self._stamp = max(time.time_ns(), self._stamp + 1)
        return self._stamp

    def _write(self, key: Key, table: pa.Table, lo: int, hi: int) -> None:
        """Write a part to a hidden temporary name, sync it, then rename it into place, so a
        crash never leaves a half-written part."""
        folder = f"{self.root}/{key[0]}/{key[1]}"
        self.fs.create_dir(folder, recursive=True)
        name = f"part-{self.writer_id}-{lo:020d}-{hi:020d}.parquet"
        tmp = f"{folder}/.tmp-{name}"
        try:
            with self.fs.open_output_stream(tmp) as sink:
                # Statistics only where a query filters (time): for the tensor columns' wide
                # binary values they were a sixth of the write. Tensors go uncompressed: lz4
                # took half the write to save an eighth of the bytes (measured floats barely shrink).
                flat = flatten(table)
                tensors = form(flat.schema)
                compression = {name: "none" if name in tensors else "lz4" for name in flat.column_names}
                pq.write_table(flat, sink, compression=compression, write_statistics=["time"],
                               use_dictionary=list(METADATA_COLUMNS), row_group_size=ROW_GROUP_ROWS)
            if self._local:
                _fsync(tmp)
            self.fs.move(tmp, f"{folder}/{name}")
        finally:
            if self.fs.get_file_info(tmp).type != pafs.FileType.NotFound:
                self.fs.delete_file(tmp)

    def _background(self) -> None:
        # Writing and compacting can wait; inference cannot: on a busy machine this thread
        # takes the CPU the inference threads leave (Linux sets a nice value per thread).
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)
        while True:
            with self._lock:
                waited = time.monotonic()
                while not self._closing and not self._due() and time.monotonic() - waited < COMPACT_EVERY_S:
                    since = 0.0 if self._oldest is None else time.monotonic() - self._oldest
                    self._wake.wait(min(max(self.flush_seconds - since, 0.01), COMPACT_EVERY_S))
                if self._closing:
                    return
            self.flush()
            try:
                self.compact()
            except Exception:  # the parts stay as they are: readable, only slower
                log.exception("could not compact the inference log")

    def _due(self) -> bool:
        if self._pending_rows >= self.flush_rows:
            return True
        return self._oldest is not None and time.monotonic() - self._oldest >= self.flush_seconds


def _relisting(read: Callable[[], T]) -> T:
    """`read()`, listed and read again if a compaction replaced parts between its listing and
    its reading (the merged part holds the same rows)."""
    for _ in range(2):
        try:
            return read()
        except FileNotFoundError:
            continue
    return read()


@dataclass(frozen=True)
class Part:
    """A Parquet part: `writer` wrote it; `lo`..`hi` are the stamps of the flushes it holds."""

    path: str
    writer: str
    lo: int
    hi: int


@dataclass
class Source:
    parts: list[Part]
    batches: list[Batch]


def _parse(path: str) -> Part | None:
    name = path.rsplit("/", 1)[-1]
    if (found := PART_NAME.fullmatch(name)) is not None:
        return Part(path, found["writer"], int(found["lo"]), int(found["hi"]))
    if (legacy := LEGACY_PART_NAME.fullmatch(name)) is not None:
        return Part(path, LEGACY_WRITER, int(legacy["lo"]), int(legacy["lo"]))
    return None


def open_root(root: str | Path) -> tuple[pafs.FileSystem, str]:
    """The filesystem and path of a log root: a local path, a file:// URL or any fsspec URL
    (s3://bucket/prefix, ...), the latter through pyarrow's fsspec handler."""
    text = str(root)
    if "://" not in text:
        return pafs.LocalFileSystem(), str(Path(text).absolute())
    if text.startswith("file://"):
        return pafs.LocalFileSystem(), str(Path(unquote(urlparse(text).path)).absolute())
    import fsspec

    fs, path = fsspec.core.url_to_fs(text)
    return pafs.PyFileSystem(pafs.FSSpecHandler(fs)), str(path).rstrip("/")


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unified(schemas: list[pa.Schema]) -> pa.Schema:
    unique: list[pa.Schema] = []
    for schema in schemas:
        if not any(schema.equals(u) for u in unique):
            unique.append(schema)
    return unique[0] if len(unique) == 1 else pa.unify_schemas(unique, promote_options="permissive")


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


def _ascending(times: pa.ChunkedArray) -> bool:
    ms = times.combine_chunks().to_numpy(zero_copy_only=False).view(np.int64)
    return bool(np.all(ms[1:] >= ms[:-1]))


def _count_in(times: pa.ChunkedArray | pa.Array, expression: pc.Expression | None) -> int:
    if expression is None:
        return len(times)
    return pa.table({"time": times}).filter(expression).num_rows


@functools.lru_cache(maxsize=64)
def _hour_name(hour_ms: int) -> str:
    return datetime.fromtimestamp(hour_ms / 1000, UTC).strftime(HOUR_FORMAT)


@functools.lru_cache(maxsize=4096)  # every query names every hour folder: parse each once
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
