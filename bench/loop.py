"""Does a chatty run stall the server? Figures against a real server subprocess, each next to a
baseline taken in the same run.

1. A run prints 150,000 lines while `task/get_by_id` is called back to back: the p50/p99
   latency of those calls and the run's own duration (started_at to ended_at), first with no
   subscriber (the baseline), then with three unfiltered subscribers on v1/api/events reading
   everything the server sends them.
2. The inference-log figures of bench/inference_log.py: the newest 100 rows after 720
   five-second flushes, and a 1 % time range of a 10-million-row log.

Targets: p99 <= 50 ms with three subscribers; the run within 1.5x of the baseline run;
both log queries <= 50 ms median.

    .venv/bin/python bench/loop.py [--lines 150000] [--subscribers 3] [--skip-log]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
import websocket

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import inference_log
from bench.tasks import upload
from tests.support.server import ServerProcess

P99_TARGET_MS = 50.0
DURATION_TARGET = 1.5


def subscribe(url: str, opened: Any, counts: Any) -> None:
    """A subscriber in its own process (so its reading never slows the caller's timing):
    reads every message the server sends, as fast as it comes; counts messages, lines, resyncs."""
    ws = websocket.create_connection(url, skip_utf8_validation=True)
    opened.set()
    try:
        while True:
            event = json.loads(ws.recv())
            counts[0] += 1
            counts[1] += sum(len(read["text"]) for read in event.get("reads", ()))
            counts[2] += event["kind"] == "resync"
    except (OSError, websocket.WebSocketException, ValueError):
        return


def one_run(server: ServerProcess, wid: int, orch_id: str) -> tuple[float, list[float]]:
    """Start the run, call task/get_by_id back to back until it ends: (run seconds, latencies)."""
    task_id = server.post("task/run_once", {"workspace_id": wid, "orch_id": orch_id, "json": {}}).json()["id"]
    latencies: list[float] = []
    with requests.Session() as session:
        while True:
            start = time.perf_counter()
            task = session.post(server.api + "task/get_by_id", json={"id": task_id}, headers=server.headers,
                                timeout=60).json()
            latencies.append(time.perf_counter() - start)
            if task["status"] not in ("pending", "started"):
                break
    assert task["status"] == "success", task
    (run,) = server.post("task/list_task_runs", {"task_id": task_id}).json()
    seconds = (datetime.fromisoformat(run["ended_at"]) - datetime.fromisoformat(run["started_at"])).total_seconds()
    return seconds, latencies


def quantile_ms(samples: list[float], q: float) -> float:
    return sorted(samples)[min(len(samples) - 1, int(len(samples) * q))] * 1e3


def chatty_run(base: Path, lines: int, subscribers: int) -> None:
    server = ServerProcess(root=base / "root", data_dir=base / "data",
                           extra_args=[f"--OrchApp.max_log_lines_per_run={lines + 10}"]).start()
    try:
        wid = server.post("workspaces/create", {"workspace_name": "bench"}).json()["workspace_id"]
        orch_id = upload(server, wid, f"for i in range({lines}):\n    print('line', i)\n")
        one_run(server, wid, orch_id)  # not measured: neither figure pays for the server's first run
        quiet_s, quiet = one_run(server, wid, orch_id)
        url = f"ws://127.0.0.1:{server.port}/v1/api/events?token={server.token}"
        counts = [multiprocessing.Array("q", 3) for _ in range(subscribers)]
        opened = [multiprocessing.Event() for _ in range(subscribers)]
        readers = [multiprocessing.Process(target=subscribe, args=(url, o, c), daemon=True)
                   for o, c in zip(opened, counts, strict=True)]
        for reader, ready in zip(readers, opened, strict=True):
            reader.start()
            ready.wait(30)
        busy_s, busy = one_run(server, wid, orch_id)
        time.sleep(1)  # the last batches
        for reader in readers:
            reader.terminate()
    finally:
        server.stop()
    print(f"\n1. a run printing {lines:,} lines, task/get_by_id called back to back")
    print(f"   {'':28s} {'calls':>6s} {'p50':>9s} {'p99':>9s} {'run':>8s}")
    for label, seconds, samples in (("no subscriber (baseline)", quiet_s, quiet),
                                    (f"{subscribers} unfiltered subscribers", busy_s, busy)):
        p50, p99 = quantile_ms(samples, 0.5), quantile_ms(samples, 0.99)
        print(f"   {label:28s} {len(samples):6d} {p50:6.2f} ms {p99:6.2f} ms {seconds:6.2f} s")
    ratio = busy_s / quiet_s
    p99 = quantile_ms(busy, 0.99)
    print(f"   p99 with subscribers {p99:.2f} ms (target <= {P99_TARGET_MS:.0f} ms: "
          f"{'ok' if p99 <= P99_TARGET_MS else 'over target'}); run {ratio:.2f}x the baseline "
          f"(target <= {DURATION_TARGET}x: {'ok' if ratio <= DURATION_TARGET else 'over target'})")
    for n, (messages, lines_read, resyncs) in enumerate(counts, 1):
        print(f"   subscriber {n}: {messages:,} messages, {lines_read:,} lines, {resyncs} resyncs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=150_000)
    parser.add_argument("--subscribers", type=int, default=3)
    parser.add_argument("--skip-log", action="store_true", help="leave out the inference-log figures")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        chatty_run(Path(tmp), args.lines, args.subscribers)
        if not args.skip_log:
            inference_log.newest_rows(Path(tmp) / "newest", 20)
            inference_log.time_range(Path(tmp) / "range", 100, 100_000, 20)


if __name__ == "__main__":
    main()
