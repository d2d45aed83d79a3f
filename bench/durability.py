"""What SQLite's `synchronous=FULL` (the store's setting: no acknowledged commit is lost on a
power cut) costs against `synchronous=NORMAL` (the last commits may be lost), measured in the
same run on the same file system, through the product's own write path (`RunLogs.write` in a
`Store.write()` transaction):

1. small commits: one run-log line per transaction (the worst case, e.g. a run's status change);
2. batched commits: 500 run-log lines per transaction (a busy run's log flush).

    .venv/bin/python bench/durability.py [--commits 300] [--dir PATH]

`--dir` is where the database file goes (default: beside this script, on the file system the
data dir usually lives on; a tmpfs would make fsync free and the figures meaningless).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jupyter_orch.engine.events.bus import EventBus
from jupyter_orch.engine.store import database
from jupyter_orch.engine.store.database import Store, sqlite_url
from jupyter_orch.engine.tasks.runlogs import RunLogs
from jupyter_orch.engine.timeutil import utcnow


def commits_per_second(folder: Path, synchronous: str, commits: int, lines: int) -> float:
    database.SQLITE_SYNCHRONOUS = synchronous  # read by each new connection
    store = Store(sqlite_url(folder / f"{synchronous}-{lines}.sqlite3"), threads=1)
    try:
        store.migrate()
        logs = RunLogs(store, EventBus(), 10**9)
        seq, now = 0, utcnow()
        started = time.perf_counter()
        for _ in range(commits):
            logs.write("bench-run", [(seq + i, now, "stdout", False, f"line {seq + i}") for i in range(lines)], False)
            seq += lines
        return commits / (time.perf_counter() - started)
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commits", type=int, default=300)
    parser.add_argument("--dir", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir, prefix=".durability-") as tmp:
        for lines in (1, 500):
            normal = commits_per_second(Path(tmp), "NORMAL", args.commits, lines)
            full = commits_per_second(Path(tmp), "FULL", args.commits, lines)
            print(f"{lines:>3} line(s) per commit: NORMAL {normal:8.0f} commits/s, FULL {full:8.0f} commits/s, "
                  f"FULL takes {normal / full:.2f}x the time of NORMAL")


if __name__ == "__main__":
    main()
