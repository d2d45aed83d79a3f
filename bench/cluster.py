"""Dask figures against a real server and a real Dask cluster (`dask scheduler` and `dask worker`
processes started here), each next to a baseline taken in the same run.

1. `task/run_once` request to the first line of user code through Dask, against the local
   executor.
2. Throughput of `--runs` runs of a job that sleeps 1 s: through 2 workers with 4 slots each,
   against 1 worker with 4 slots (target: at least 1.8x). Each is measured once its workers
   are warm: a second worker that joins has yet to start its warm interpreter, and its first
   runs would count that start (seconds, once per worker) against the two-worker figure.

    .venv/bin/python bench/cluster.py [--runs 200] [--latency-runs 15] [--cold]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

# The repository root in place of bench/ itself: bench/packaging.py would shadow `packaging`.
sys.path.remove(str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.tasks import FIRST_LINE, run_once_latency, summary, upload
from tests.support.dask_cluster import dask_cluster
from tests.support.server import ServerProcess

DASK = "jupyter_orch.engine.executors.dask.DaskExecutor"
SLEEP_1S = "import time\ntime.sleep(1)\n"
WARM_UP_S = 8.0
SLOTS = 4  # per worker: DaskExecutor.slots_per_worker's default


def server(base: Path, warm: bool, *extra: str) -> ServerProcess:
    return ServerProcess(root=base / "root", data_dir=base / "data", extra_args=list(extra), warm_start=warm).start()


def latencies(proc: ServerProcess, runs: int) -> list[float]:
    wid = proc.post("workspaces/create", {"workspace_name": "bench"}).json()["workspace_id"]
    orch_id = upload(proc, wid, FIRST_LINE)
    session = requests.Session()
    session.headers.update(proc.headers)
    for _ in range(2):  # warm-up: the worker imports what a run needs once
        run_once_latency(proc, session, wid, orch_id)
    if proc.warm_start:
        time.sleep(WARM_UP_S)  # the first run started the warm interpreter; its preloads take seconds
    return [run_once_latency(proc, session, wid, orch_id) for _ in range(runs)]


def throughput(proc: ServerProcess, runs: int, name: str, slots: int) -> float:
    """Runs per second: `runs` one-second jobs, from the first request to the last end, once
    every worker is warm (a worker's first runs import what a run needs, fetch the
    orchestration and start its warm interpreter: seconds, once per worker's life)."""
    wid = proc.post("workspaces/create", {"workspace_name": name}).json()["workspace_id"]
    orch_id = upload(proc, wid, SLEEP_1S)
    session = requests.Session()
    session.headers.update(proc.headers)
    run_all(proc, session, wid, orch_id, slots)  # one run per slot: every worker gets some
    if proc.warm_start:
        time.sleep(WARM_UP_S)
    run_all(proc, session, wid, orch_id, slots)
    started = time.monotonic()
    run_all(proc, session, wid, orch_id, runs)
    return runs / (time.monotonic() - started)


def run_all(proc: ServerProcess, session: requests.Session, wid: int, orch_id: str, runs: int) -> None:
    ids = [session.post(proc.api + "task/run_once", json={"workspace_id": wid, "orch_id": orch_id, "json": {}},
                        timeout=60).json()["id"] for _ in range(runs)]
    for task_id in ids:
        task = proc.post("task/get_by_id", {"id": task_id, "wait_for": "terminal", "wait_timeout": 600}).json()
        assert task["status"] == "success", task


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--latency-runs", type=int, default=15)
    parser.add_argument("--cold", action="store_true", help="warm_start off (on by default, as in the product)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        warm = not args.cold
        local = server(base / "local", warm)
        try:
            local_latency = latencies(local, args.latency_runs)
        finally:
            local.stop()
        with dask_cluster(base / "cluster", workers=1) as cluster:
            on_dask = server(base / "dask", warm, f"--OrchApp.executor_class={DASK}",
                             f"--DaskExecutor.scheduler_address={cluster.address}")
            try:
                dask_latency = latencies(on_dask, args.latency_runs)
                one_worker = throughput(on_dask, args.runs, "one-worker", SLOTS)
                cluster.add_worker()
                cluster.wait_for_workers(2)
                time.sleep(1.5)  # the engine looks at the cluster's slots at most once a second
                two_workers = throughput(on_dask, args.runs, "two-workers", 2 * SLOTS)
            finally:
                on_dask.stop()
    print(f"run_once request -> first line of user code ({'warm' if warm else 'cold'} starts)")
    print(f"  through Dask            {summary(dask_latency)}")
    print(f"  local executor          {summary(local_latency)}")
    print(f"  ratio (medians)         {statistics.median(dask_latency) / statistics.median(local_latency):.1f}x")
    print(f"{args.runs} runs of a 1-second job")
    print(f"  1 worker x 4 slots      {one_worker:6.2f} runs/s")
    print(f"  2 workers x 4 slots     {two_workers:6.2f} runs/s")
    print(f"  ratio                   {two_workers / one_worker:.2f}x   target: at least 1.8x")


if __name__ == "__main__":
    main()
