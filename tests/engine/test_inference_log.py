"""The inference log against real Arrow buffers and real Parquet files in a temp dir."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jupyter_orch.engine import Invalid
from jupyter_orch.engine.pipelines.inference_log import TIME_TYPE, InferenceLog, make_query

NO_DATABASE = True  # pure logic: nothing here touches the store

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def frame(start: datetime, rows: int, step_ms: int = 1000, first_value: int = 0, fixed: bool = True) -> pa.Table:
    """`rows` rows from `start`, `step_ms` apart; in.x holds [value, value], out.y [value]."""
    ms = int(start.timestamp() * 1000) + np.arange(rows) * step_ms
    values = np.arange(first_value, first_value + rows, dtype=np.float32)
    pairs = np.repeat(values, 2)
    tensor = pa.FixedSizeListArray.from_arrays(pa.array(pairs), 2) if fixed else pa.array(pairs.reshape(-1, 2).tolist())
    return pa.table({
        "time": pa.array(ms.astype("datetime64[ms]"), TIME_TYPE),
        "in.x": tensor,
        "out.y": pa.FixedSizeListArray.from_arrays(pa.array(values), 1),
        "anomaly.count": pa.array(np.zeros(rows, dtype=np.int32)),
    })


def values(table: pa.Table) -> list[float]:
    return [row[0] for row in table.column("out.y").to_pylist()]


def parts(root: str | Path) -> list[Path]:
    return sorted(Path(root).glob("*/*/*.parquet"))


@pytest.fixture
def log(tmp_path: Path):
    log = InferenceLog(tmp_path / "logs", flush_rows=10**9, flush_seconds=3600)
    log.start()
    yield log
    log.close()


def test_a_row_is_visible_at_once_and_after_a_flush(log: InferenceLog) -> None:
    log.append(1, frame(T0, 3), "v1", "sha1")
    page = log.query(1, make_query(None, None, None, None, None))
    assert values(page.table) == [2, 1, 0]  # newest first by default
    assert page.cursor is None and not page.remaining
    assert page.table.column("metadata.pipeline_version").to_pylist() == ["v1"] * 3
    assert page.table.column("metadata.model_sha").to_pylist() == ["sha1"] * 3
    assert parts(log.root) == []
    log.flush()
    (part,) = parts(log.root)
    assert part.parent.name == "2026-03-01-10" and part.parent.parent.name == "1"
    assert values(log.query(1, make_query(None, None, "asc", None, None)).table) == [0, 1, 2]
    assert log.query(2, make_query(None, None, None, None, None)).table.num_rows == 0


def test_paging_with_a_cursor_walks_every_row_once_in_both_orders(log: InferenceLog) -> None:
    log.append(1, frame(T0, 5, step_ms=0), "v1", "s")  # five rows with the same time
    log.flush()
    log.append(1, frame(T0 + timedelta(seconds=1), 4, first_value=5), "v1", "s")
    for order in ("desc", "asc"):
        seen, cursor, statuses = [], None, []
        while True:
            page = log.query(1, make_query(None, None, order, 2, cursor))
            seen += values(page.table)
            statuses.append(page.remaining)
            cursor = page.cursor
            if cursor is None:
                break
        assert sorted(seen) == list(range(9)) and len(seen) == 9
        if order == "asc":
            assert seen == list(range(9))
        else:
            assert seen[:4] == [8, 7, 6, 5] and sorted(seen[4:]) == [0, 1, 2, 3, 4]
        assert statuses == [True] * 4 + [False]


def test_a_time_range_reads_only_the_hours_it_overlaps(log: InferenceLog) -> None:
    for hour in range(3):
        log.append(1, frame(T0 + timedelta(hours=hour), 10, first_value=hour * 100), "v1", "s")
    log.flush()
    # Spoil hours 10 and 12: a query for hour 11 must never open them.
    for part in parts(log.root):
        if part.parent.name != "2026-03-01-11":
            part.write_bytes(b"not parquet")
    start = T0 + timedelta(hours=1)
    page = log.query(1, make_query(start, start + timedelta(hours=1), "asc", 1000, None))
    assert values(page.table) == list(range(100, 110))
    window = log.query(1, make_query(start + timedelta(seconds=2), start + timedelta(seconds=5), "asc", None, None))
    assert values(window.table) == [102, 103, 104]  # start inclusive, end exclusive


def test_the_background_thread_flushes_on_size_and_time(tmp_path: Path) -> None:
    by_size = InferenceLog(tmp_path / "a", flush_rows=5, flush_seconds=3600)
    by_time = InferenceLog(tmp_path / "b", flush_rows=10**9, flush_seconds=0.2)
    for log in (by_size, by_time):
        log.start()
        log.append(7, frame(T0, 6), "v", "s")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not (parts(by_size.root) and parts(by_time.root)):
        time.sleep(0.05)
    assert parts(by_size.root) and parts(by_time.root)
    for log in (by_size, by_time):
        assert log.query(7, make_query(None, None, None, None, None)).table.num_rows == 6  # no duplicates
        log.close()


def test_rows_survive_a_restart_and_crash_leftovers_are_ignored(tmp_path: Path) -> None:
    first = InferenceLog(tmp_path / "logs")
    first.start()
    first.append(1, frame(T0, 4), "v1", "s")
    first.close()  # flushes what is buffered
    leftover = tmp_path / "logs" / "1" / "2026-03-01-10" / f".tmp-part-local-{1:020d}-{1:020d}.parquet"
    leftover.write_bytes(b"half a file")
    second = InferenceLog(tmp_path / "logs")
    second.start()
    assert not leftover.exists()
    assert values(second.query(1, make_query(None, None, "asc", None, None)).table) == [0, 1, 2, 3]
    second.close()


def test_batches_of_different_column_types_are_read_together(log: InferenceLog) -> None:
    log.append(1, frame(T0, 2, fixed=True), "v1", "s")
    log.flush()
    log.append(1, frame(T0 + timedelta(seconds=5), 2, first_value=2, fixed=False), "v2", "s")
    table = log.query(1, make_query(None, None, "asc", None, None)).table
    assert table.column("in.x").to_pylist() == [[0, 0], [1, 1], [2, 2], [3, 3]]
    assert table.column("metadata.pipeline_version").to_pylist() == ["v1", "v1", "v2", "v2"]


def test_a_batch_across_hours_lands_in_each_hour(log: InferenceLog) -> None:
    log.append(1, frame(T0 - timedelta(seconds=2), 4), "v", "s")  # 09:59:58 .. 10:00:01
    log.flush()
    assert [p.parent.name for p in parts(log.root)] == ["2026-03-01-09", "2026-03-01-10"]
    assert values(log.query(1, make_query(None, None, "asc", None, None)).table) == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("start", "end", "order", "size", "cursor", "words"),
    [
        (T0, None, None, None, None, "both"),
        (None, T0, None, None, None, "both"),
        (T0, T0 - timedelta(1), None, None, None, "before"),
        (None, None, "newest", None, None, "order"),
        (None, None, None, 0, None, "page_size"),
        (None, None, None, "ten", None, "page_size"),
        (None, None, None, None, "not-a-cursor", "cursor"),
        (None, None, "asc", None, "eyJ0IjoxLCJrIjoxLCJvIjoiZGVzYyJ9", "order"),
    ],
)
def test_bad_queries_say_what_is_wrong(
    start: datetime | None, end: datetime | None, order: str | None, size: object, cursor: str | None, words: str
) -> None:
    with pytest.raises(Invalid, match=words):
        make_query(start, end, order, size, cursor)


def test_the_count_covers_flushed_and_buffered_rows_in_the_asked_range(log: InferenceLog) -> None:
    log.append(1, frame(T0, 90, step_ms=60_000), "v1", "sha1")  # 10:00 to 11:29, two hours
    log.flush()
    log.append(1, frame(T0 + timedelta(hours=2), 10), "v1", "sha1")  # 12:00, still in memory
    log.append(2, frame(T0, 5), "v1", "sha1")  # another pipeline's rows never count
    assert log.count(1, make_query(None, None, None, None, None)) == 100
    hour = make_query(T0 + timedelta(minutes=30), T0 + timedelta(minutes=90), "asc", 10, None)
    assert log.count(1, hour) == 60
    first_page = log.query(1, hour)
    after = make_query(T0 + timedelta(minutes=30), T0 + timedelta(minutes=90), "asc", 10, first_page.cursor)
    assert log.count(1, after) == 60  # the cursor pages; the total stays the range's
    assert log.count(1, make_query(T0 + timedelta(hours=2), T0 + timedelta(hours=3), None, None, None)) == 10


def test_compaction_merges_an_open_hours_parts_and_a_closed_hour_into_one(tmp_path: Path) -> None:
    log = InferenceLog(tmp_path / "logs", flush_rows=10**9, flush_seconds=3600, compact_parts=4)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    for i in range(6):  # an old (closed) hour
        log.append(1, frame(T0 + timedelta(seconds=i), 1, first_value=i), "v1", "s")
        log.flush()
    for i in range(3):  # the open hour: fewer parts than compact_parts
        log.append(1, frame(now + timedelta(seconds=i), 1, first_value=100 + i), "v1", "s")
        log.flush()
    assert log.compact() == 6
    by_hour = {p.parent.name: [] for p in parts(log.root)}
    for p in parts(log.root):
        by_hour[p.parent.name].append(p)
    assert len(by_hour["2026-03-01-10"]) == 1 and len(by_hour[now.strftime("%Y-%m-%d-%H")]) == 3
    log.append(1, frame(now + timedelta(seconds=3), 1, first_value=103), "v1", "s")
    log.flush()
    assert log.compact() == 4  # the open hour reached compact_parts
    assert len(parts(log.root)) == 2
    asc = values(log.query(1, make_query(None, None, "asc", None, None)).table)
    assert asc == [0, 1, 2, 3, 4, 5, 100, 101, 102, 103]


def test_a_merged_part_hides_the_parts_it_replaced_until_they_are_deleted(tmp_path: Path) -> None:
    log = InferenceLog(tmp_path / "logs", flush_rows=10**9, flush_seconds=3600)
    for i in range(3):
        log.append(1, frame(T0 + timedelta(seconds=i), 1, first_value=i), "v1", "s")
        log.flush()
    saved = {p: p.read_bytes() for p in parts(log.root)}
    log.compact()
    for path, data in saved.items():  # as a reader sees it between the rename and the deletes
        path.write_bytes(data)
    assert len(parts(log.root)) == 4
    assert values(log.query(1, make_query(None, None, "asc", None, None)).table) == [0, 1, 2]
    assert log.count(1, make_query(None, None, None, None, None)) == 3


def test_writers_sharing_a_root_read_each_other_and_compact_only_their_own(tmp_path: Path) -> None:
    url = (tmp_path / "shared").as_uri()
    a = InferenceLog(url, flush_rows=10**9, flush_seconds=3600, writer_id="engine-a")
    b = InferenceLog(url, flush_rows=10**9, flush_seconds=3600, writer_id="engine-b")
    for i in range(4):
        writer = a if i % 2 == 0 else b
        writer.append(1, frame(T0 + timedelta(seconds=i), 1, first_value=i), "v1", "s")
        writer.flush()
    a.compact()
    names = [p.name for p in parts(tmp_path / "shared")]
    assert sum(n.startswith("part-engine-a-") for n in names) == 1  # a's two parts merged
    assert sum(n.startswith("part-engine-b-") for n in names) == 2  # b's left to b
    for reader in (a, b):
        assert values(reader.query(1, make_query(None, None, "asc", None, None)).table) == [0, 1, 2, 3]


def test_an_fsspec_url_is_a_root_too() -> None:
    log = InferenceLog("memory://orch-test/logs", flush_rows=10**9, flush_seconds=3600)
    log.start()
    log.append(3, frame(T0, 3), "v1", "s")
    log.close()
    reader = InferenceLog("memory://orch-test/logs")
    assert values(reader.query(3, make_query(None, None, None, None, None)).table) == [2, 1, 0]
    reader.drop(3)
    assert reader.query(3, make_query(None, None, None, None, None)).table.num_rows == 0


def test_a_bad_writer_id_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="writer id"):
        InferenceLog(tmp_path, writer_id="a/b")


def test_a_full_disk_refuses_new_rows_and_keeps_what_was_written(tmp_path: Path) -> None:
    from jupyter_orch.engine.errors import DiskFull
    from tests.support.disks import small_disk

    with small_disk(tmp_path / "disk") as disk:
        log = InferenceLog(disk / "logs", flush_rows=10**9, flush_seconds=3600)
        log.append(1, frame(T0, 10), "v1", "s")
        log.flush()
        written = parts(log.root)
        log.append(1, frame(T0 + timedelta(seconds=10), 200_000, step_ms=1), "v1", "s")  # far more than 256k
        log.flush()
        assert log.disk_full and parts(log.root) == written  # no half-written part
        with pytest.raises(DiskFull) as full:
            log.append(1, frame(T0, 1), "v1", "s")
        assert full.value.status == 507
        assert log.count(1, make_query(None, None, None, None, None)) == 200_010  # nothing lost
        assert values(log.query(1, make_query(None, None, "asc", 10, None)).table) == list(range(10))


def test_release_0_1_parts_are_read_and_left_alone(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from jupyter_orch.engine.pipelines.inference_log import Batch as LoggedBatch
    from jupyter_orch.engine.pipelines.inference_log import materialize

    hour = tmp_path / "logs" / "1" / "2026-03-01-10"
    hour.mkdir(parents=True)
    for n in range(2):  # the name release 0.1.0 gave its flushes
        table = materialize([LoggedBatch(frame(T0 + timedelta(seconds=n), 1, first_value=n), "v0", "s")])
        pq.write_table(table, hour / f"part-{1764000000000000000 + n:020d}-{n:06d}.parquet")
    log = InferenceLog(tmp_path / "logs", flush_rows=10**9, flush_seconds=3600)
    log.append(1, frame(T0 + timedelta(seconds=5), 1, first_value=5), "v1", "s")
    log.flush()
    assert log.compact() == 0 and len(parts(log.root)) == 3  # only its own parts are its to merge
    assert values(log.query(1, make_query(None, None, "asc", None, None)).table) == [0, 1, 5]


def test_tensors_are_stored_flat_and_read_back_as_they_were_beside_parts_that_hold_lists(log: InferenceLog) -> None:
    ints = pa.FixedSizeListArray.from_arrays(pa.array(np.arange(6, dtype=np.int64)), 3)
    written = frame(T0, 2).append_column("in.ids", ints)
    log.append(1, written, "v1", "sha1")
    log.flush()
    (flat,) = parts(log.root)
    stored = pq.read_schema(flat)
    assert stored.field("in.x").type == pa.binary(8) and stored.field("in.ids").type == pa.binary(24)
    # A part from before tensors were stored flat, beside it in the same hour.
    old = frame(T0 + timedelta(seconds=10), 1, first_value=7).append_column(
        "in.ids", pa.FixedSizeListArray.from_arrays(pa.array([7, 8, 9], pa.int64()), 3))
    pq.write_table(old, flat.with_name("part-older-00000000000000000001-00000000000000000001.parquet"))
    table = log.query(1, make_query(None, None, "asc", None, None)).table
    assert table.schema.field("in.x").type == written.schema.field("in.x").type
    assert table.schema.field("in.ids").type == pa.list_(pa.int64(), 3)
    assert table.column("in.x").to_pylist() == [[0.0, 0.0], [1.0, 1.0], [7.0, 7.0]]
    assert table.column("in.ids").to_pylist() == [[0, 1, 2], [3, 4, 5], [7, 8, 9]]
    assert log.count(1, make_query(None, None, None, None, None)) == 3
    # Variable-size lists and lists with nulls stay lists.
    log.append(1, frame(T0 + timedelta(seconds=20), 1, fixed=False), "v1", "sha1")
    log.flush()
    newest = log.query(1, make_query(None, None, "desc", 1, None)).table
    assert newest.column("in.x").to_pylist() == [[0.0, 0.0]]
