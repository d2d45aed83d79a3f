"""Task figures against real server subprocesses, each next to a baseline taken in the same run.

1. `task/run_once` request to the first line of user code (the code prints `time.time()` first),
   with warm starts (c.OrchApp.warm_start, the default) and cold ones (a server with it off),
   against spawning a bare `python -u -c 'print(time.time())'` to its first line.
2. The same for a main.py that first imports pandas, pyarrow, requests and wallaroo.
3. Lateness of scheduled fires on a seconds schedule (warm): the run's start record (its
   `started_at`, written once the fire's time has come: the scheduler arms a fire ahead), and its
   first line of user code, against the fire time the scheduler recorded.
4. CPU used by the server process over an idle window with 1,000 `@yearly` tasks, against the
   same window with none.

Targets (issue 20): (1) warm <= 10 ms median, (2) warm <= 20 ms median, (3) first line p95 <= 15 ms.

    .venv/bin/python bench/tasks.py [--runs 20] [--heavy-runs 10] [--fires 20] [--idle-tasks 1000] [--window 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.server import ServerProcess, running_server
from tests.support.zips import make_zip

FIRST_LINE = "import time\nprint(time.time())\n"
HEAVY_FIRST_LINE = "import pandas, pyarrow, requests, wallaroo\n" + FIRST_LINE


def upload(server: ServerProcess, workspace_id: int, code: str) -> str:
    response = requests.post(
        server.api + "orchestration/upload",
        headers=server.headers,
        files=[("file", ("bench.zip", make_zip({"main.py": code}), "application/zip")),
               ("metadata", ("metadata", json.dumps({"workspace_id": workspace_id}), "application/json"))],
        timeout=60,
    )
    orch_id = response.json()["id"]
    ready = server.post("orchestration/get_by_id", {"id": orch_id, "wait_for": "ready", "wait_timeout": 60})
    assert ready.json()["status"] == "ready", ready.text
    return orch_id


def first_line_time(server: ServerProcess, run_id: str) -> float:
    logs = server.post("task/get_logs_for_run", {"id": run_id}).json()["logs"]
    return float(logs[0].split(" ", 3)[3])


def run_once_latency(server: ServerProcess, session: requests.Session, wid: int, orch_id: str) -> float:
    body = {"workspace_id": wid, "orch_id": orch_id, "json": {}}
    sent = time.time()
    task_id = session.post(server.api + "task/run_once", json=body, timeout=30).json()["id"]
    task = server.post("task/get_by_id", {"id": task_id, "wait_for": "terminal", "wait_timeout": 60}).json()
    assert task["status"] == "success", task
    return first_line_time(server, task["last_runs"][0]["run_id"]) - sent


def bare_python_latency() -> float:
    started = time.time()
    out = subprocess.run([sys.executable, "-u", "-c", "import time; print(time.time())"],
                         capture_output=True, text=True, check=True).stdout
    return float(out.split()[0]) - started


def fire_lateness(server: ServerProcess, wid: int, orch_id: str, fires: int) -> tuple[list[float], list[float]]:
    body = {"workspace_id": wid, "orch_id": orch_id, "json": {}, "schedule": "* * * * * *"}
    task_id = server.post("task/run_scheduled", body).json()["id"]
    deadline = time.monotonic() + fires * 3 + 30
    while time.monotonic() < deadline:
        runs = server.post("task/list_task_runs", {"task_id": task_id, "status": "success"}).json()
        if len(runs) >= fires + 1:
            break
        time.sleep(0.5)
    server.post("task/kill", {"id": task_id})
    runs = sorted(runs, key=lambda r: r["scheduled_for"])[1:]  # the first fire may follow creation at once
    spawn = [_seconds(r["started_at"]) - _seconds(r["scheduled_for"]) for r in runs]
    code = [first_line_time(server, r["run_id"]) - _seconds(r["scheduled_for"]) for r in runs]
    return spawn, code


def cpu_seconds(pid: int) -> float:
    try:
        import psutil
    except ImportError:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def idle_cpu(pid: int, window: float) -> float:
    before = cpu_seconds(pid)
    time.sleep(window)
    return cpu_seconds(pid) - before


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered) * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms   (n={len(ordered)})"


def latencies(server: ServerProcess, runs: int, heavy_runs: int) -> tuple[int, str, list[float], list[float]]:
    """run_once -> first line, of the bare main.py and of the heavy one (after one warm-up each)."""
    wid = server.post("workspaces/create", {"workspace_name": "bench"}).json()["workspace_id"]
    orch_id, heavy_id = upload(server, wid, FIRST_LINE), upload(server, wid, HEAVY_FIRST_LINE)
    session = requests.Session()
    session.headers.update(server.headers)
    run_once_latency(server, session, wid, orch_id)
    bare = [run_once_latency(server, session, wid, orch_id) for _ in range(runs)]
    run_once_latency(server, session, wid, heavy_id)
    heavy = [run_once_latency(server, session, wid, heavy_id) for _ in range(heavy_runs)]
    return wid, orch_id, bare, heavy


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--heavy-runs", type=int, default=10)
    parser.add_argument("--fires", type=int, default=20)
    parser.add_argument("--idle-tasks", type=int, default=1000)
    parser.add_argument("--window", type=float, default=10.0)
    args = parser.parse_args()
    bare_python = [bare_python_latency() for _ in range(args.runs)]
    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp), warm_start=False) as server:
        _, _, cold, cold_heavy = latencies(server, args.runs, args.heavy_runs)
    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp), warm_start=True) as server:
        assert server.proc is not None
        wid, orch_id, warm, warm_heavy = latencies(server, args.runs, args.heavy_runs)
        spawn, code = fire_lateness(server, wid, orch_id, args.fires)
        time.sleep(1)
        cpu_none = idle_cpu(server.proc.pid, args.window)
        session = requests.Session()
        session.headers.update(server.headers)
        for _ in range(args.idle_tasks):
            session.post(server.api + "task/run_scheduled", json={
                "workspace_id": wid, "orch_id": orch_id, "json": {}, "schedule": "@yearly"}, timeout=30)
        time.sleep(1)
        cpu_idle_tasks = idle_cpu(server.proc.pid, args.window)

    print("run_once request -> first line of user code, main.py = print(time.time())")
    print(f"  warm start              {summary(warm)}   target: median <= 10 ms")
    print(f"  cold start              {summary(cold)}")
    print(f"  bare python -c start    {summary(bare_python)}")
    print(f"  warm / bare python      {statistics.median(warm) / statistics.median(bare_python):7.2f} x (medians)")
    print("run_once request -> first line, main.py importing pandas, pyarrow, requests, wallaroo first")
    print(f"  warm start              {summary(warm_heavy)}   target: median <= 20 ms")
    print(f"  cold start              {summary(cold_heavy)}")
    print(f"  cold / warm             {statistics.median(cold_heavy) / statistics.median(warm_heavy):7.0f} x (medians)")
    print("scheduled fire lateness, '* * * * * *' (warm)")
    print(f"  start recorded          {summary(spawn)}")
    print(f"  first line of user code {summary(code)}   target: p95 <= 15 ms")
    print(f"server CPU over an idle {args.window:g} s window")
    print(f"  no tasks                {cpu_none * 1000:7.1f} ms CPU")
    print(f"  {args.idle_tasks} @yearly tasks       {cpu_idle_tasks * 1000:7.1f} ms CPU"
          f"   ({(cpu_idle_tasks - cpu_none) * 1000:+.1f} ms)")


if __name__ == "__main__":
    main()
