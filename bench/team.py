"""Team figures: three real servers on one real PostgreSQL (a throwaway cluster started here),
each next to a baseline taken in the same run.

1. Leader failover: SIGKILL of the engine that fires a `* * * * * *` schedule, to the first
   fire recorded by another engine; against the lease (`--lease`, the bound the design gives)
   and against the fire lateness of a live leader.
2. `task/get_by_id` p99 on one server while 200 runs go through the three; against the same
   call with nothing running.

    .venv/bin/python bench/team.py [--lease 10] [--runs 200] [--calls 400]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import requests

# The repository root in place of bench/ itself: bench/packaging.py would shadow `packaging`.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench.tasks import upload
from tests.support.databases import postgres_cluster, sql
from tests.support.server import ServerProcess

JOB = "import time\nprint('working', flush=True)\ntime.sleep(0.5)\n"


def start(base: Path, name: str, db_url: str, lease: float) -> ServerProcess:
    extra = [f"--OrchApp.db_url={db_url}", f"--OrchApp.lease_seconds={lease}",
             f"--OrchApp.blob_url=file://{base / 'blobs'}", "--OrchApp.max_concurrent_runs=8"]
    return ServerProcess(root=base / name, data_dir=base / name / "data", extra_args=extra).start()


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def get_by_id_times(server: ServerProcess, task_id: str, calls: int) -> list[float]:
    session = requests.Session()
    session.headers.update(server.headers)
    times = []
    for _ in range(calls):
        sent = time.perf_counter()
        assert session.post(server.api + "task/get_by_id", json={"id": task_id}, timeout=30).ok
        times.append(time.perf_counter() - sent)
    return times


def failover(servers: dict[str, ServerProcess], db_url: str, wid: int, orch_id: str) -> tuple[float, float]:
    a = servers["a"]
    task_id = a.post("task/run_scheduled", {"workspace_id": wid, "orch_id": orch_id, "json": {},
                                            "schedule": "* * * * * *"}).json()["id"]
    time.sleep(5)
    live = sql(db_url, "SELECT scheduled_at, recorded_at FROM fires WHERE task_id = :t", t=task_id)
    lateness = statistics.median((r.recorded_at - r.scheduled_at).total_seconds() for r in live)
    leader_engine = sql(db_url, "SELECT engine_id FROM leases WHERE name = 'scheduler'")[0][0]
    url = sql(db_url, "SELECT url FROM engines WHERE id = :e", e=leader_engine)[0][0]
    leader = next(s for s in servers.values() if f":{s.port}/" in url)
    leader.crash()
    killed = datetime.now().astimezone()
    survivor = next(s for s in servers.values() if s is not leader)
    while True:
        rows = sql(db_url, "SELECT min(recorded_at) FROM fires WHERE task_id = :t AND engine_id <> :e"
                   " AND recorded_at > :k", t=task_id, e=leader_engine, k=killed)
        if rows[0][0] is not None:
            break
        time.sleep(0.05)
    survivor.post("task/kill", {"id": task_id})
    return (rows[0][0] - killed).total_seconds(), lateness


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lease", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--calls", type=int, default=400)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, postgres_cluster() as cluster, cluster.database() as db_url:
        base = Path(tmp)
        servers = {name: start(base, name, db_url, args.lease) for name in "abc"}
        try:
            a = servers["a"]
            wid = a.post("workspaces/create", {"workspace_name": "bench"}).json()["workspace_id"]
            orch_id = upload(a, wid, JOB)
            probe = a.post("task/run_once", {"workspace_id": wid, "orch_id": orch_id, "json": {}}).json()["id"]
            a.post("task/get_by_id", {"id": probe, "wait_for": "terminal", "wait_timeout": 30})
            idle = get_by_id_times(a, probe, args.calls)

            def submit(server: ServerProcess, count: int) -> None:
                for _ in range(count):
                    server.post("task/run_once", {"workspace_id": wid, "orch_id": orch_id, "json": {}})

            load = [threading.Thread(target=submit, args=(s, args.runs // 3 + (i == 0) * (args.runs % 3)))
                    for i, s in enumerate(servers.values())]
            for thread in load:
                thread.start()
            busy = get_by_id_times(a, probe, args.calls)
            for thread in load:
                thread.join()
            engines = sql(db_url, "SELECT engine_id, count(*) FROM runs GROUP BY engine_id")
            seconds, lateness = failover(servers, db_url, wid, orch_id)
        finally:
            for server in servers.values():
                server.stop()
    print(f"task/get_by_id on one of three servers ({args.calls} calls)")
    print(f"  with {args.runs} runs going through the three   p99 {p99(busy) * 1000:7.1f} ms   "
          f"median {statistics.median(busy) * 1000:6.1f} ms")
    print(f"  with nothing running                  p99 {p99(idle) * 1000:7.1f} ms   "
          f"median {statistics.median(idle) * 1000:6.1f} ms")
    print(f"  ratio (p99)                           {p99(busy) / p99(idle):.1f}x")
    print(f"  runs per engine                       {sorted(int(n) for _e, n in engines)}")
    print("leader failover: SIGKILL of the leader -> first fire recorded by another engine")
    print(f"  failover                              {seconds:6.2f} s")
    print(f"  lease (the bound)                     {args.lease:6.2f} s   ratio {seconds / args.lease:.2f}")
    print(f"  fire lateness with a live leader      {lateness * 1000:6.1f} ms")


if __name__ == "__main__":
    main()
