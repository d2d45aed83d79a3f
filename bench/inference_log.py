"""Inference-log queries in the engine, against the same log before compaction (the baseline).

1. The newest 100 rows after 720 five-second flushes (an hour of a busy pipeline, ending now):
   a log never compacted, and one compacted after each flush as the background thread does.
2. A 1 % time-range query (one hour of 100) of a 10-million-row log, each hour written as
   `--flushes-per-hour` flushes: before and after compaction.

Targets: both <= 50 ms median after compaction.

    .venv/bin/python bench/inference_log.py [--rows-per-flush 20] [--hours 100] [--rows-per-hour 100000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jupyter_orch.engine.pipelines.inference_log import TIME_TYPE, InferenceLog, make_query

FEATURES = 18
TARGET_MS = 50.0


def rows(first_ms: int, offsets: np.ndarray, rng: np.random.Generator) -> pa.Table:
    n = len(offsets)
    x = rng.uniform(0, 1, (n, FEATURES)).astype(np.float32)
    return pa.table({
        "time": pa.array((first_ms + offsets).astype("datetime64[ms]"), TIME_TYPE),
        "in.tensor": pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), FEATURES),
        "out.variable": pa.FixedSizeListArray.from_arrays(pa.array(x[:, 2] * 240), 1),
        "anomaly.count": pa.array(np.zeros(n, dtype=np.int32)),
    })


def median_ms(fn: Callable[[], object], repeat: int = 21) -> float:
    fn()  # warm up: the first query reads the part footers
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e3


def report(label: str, before: float, after: float) -> None:
    verdict = "ok" if after <= TARGET_MS else "over target"
    print(f"   {label:34s} {before:9.2f} ms -> {after:8.2f} ms   (target <= {TARGET_MS:.0f} ms: {verdict})")


def newest_rows(root: Path, rows_per_flush: int) -> None:
    raw, log = (InferenceLog(root / name, flush_rows=10**12, flush_seconds=10**9) for name in ("raw", "log"))
    rng = np.random.default_rng(1)
    end_ms = int(time.time() * 1000)
    for flush in range(720):
        first = end_ms - (720 - flush) * 5000
        batch = rows(first, np.sort(rng.integers(0, 5000, rows_per_flush)), rng)
        for each in (raw, log):
            each.append(1, batch, "v", "sha")
            each.flush()
        log.compact()  # what the background thread does after each flush
    query = make_query(None, None, "desc", 100, None)

    def newest(log: InferenceLog) -> Callable[[], None]:
        return lambda: None if log.query(1, query).table.num_rows == 100 else sys.exit("wrong page")

    print(f"\n1. newest 100 rows after 720 five-second flushes of {rows_per_flush} rows")
    print(f"   parts: {len(list((root / 'raw').glob('1/*/*.parquet')))} never compacted, "
          f"{len(list((root / 'log').glob('1/*/*.parquet')))} compacted after each flush")
    report("engine query, raw -> compacted", median_ms(newest(raw)), median_ms(newest(log)))


def time_range(root: Path, hours: int, rows_per_hour: int, flushes_per_hour: int) -> None:
    log = InferenceLog(root, flush_rows=10**12, flush_seconds=10**9)
    rng = np.random.default_rng(2)
    first = datetime(2026, 1, 1, tzinfo=UTC)
    per_flush = rows_per_hour // flushes_per_hour
    start = time.perf_counter()
    for hour in range(hours):
        base_ms = int((first + timedelta(hours=hour)).timestamp() * 1000)
        offsets = np.sort(rng.integers(0, 3_600_000, per_flush * flushes_per_hour))
        for f in range(flushes_per_hour):
            log.append(1, rows(base_ms, offsets[f * per_flush:(f + 1) * per_flush], rng), "v", "sha")
            log.flush()
    written = time.perf_counter() - start
    total = hours * per_flush * flushes_per_hour
    start_t = first + timedelta(hours=hours // 2)
    query = make_query(start_t, start_t + timedelta(hours=1), "asc", 1_000_000, None)

    def one_percent() -> None:
        assert log.query(1, query).table.num_rows == per_flush * flushes_per_hour

    before = median_ms(one_percent, 7)
    start = time.perf_counter()
    log.compact()
    compacted = time.perf_counter() - start
    print(f"\n2. 1 % time range ({per_flush * flushes_per_hour:,} rows) of {total:,} rows over {hours} hours, "
          f"{flushes_per_hour} flushes an hour")
    print(f"   writing {written:.1f} s, compacting {compacted:.1f} s")
    report("engine query, before -> after", before, median_ms(one_percent, 7))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows-per-flush", type=int, default=20)
    parser.add_argument("--hours", type=int, default=100)
    parser.add_argument("--rows-per-hour", type=int, default=100_000)
    parser.add_argument("--flushes-per-hour", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        newest_rows(Path(tmp) / "newest", args.rows_per_flush)
        time_range(Path(tmp) / "range", args.hours, args.rows_per_hour, args.flushes_per_hour)


if __name__ == "__main__":
    main()
