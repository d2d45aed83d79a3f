"""Runs on a real Dask cluster (`dask scheduler` and `dask worker` processes on 127.0.0.1) through
a real `jupyter server`: where a run executed, its lines with their print times, requirements
built on the worker, kill, timeout and end of the whole tree there (daemons too), slots, a worker that dies mid-run,
and a server that dies while its runs execute on workers. (tests/api/test_tasks_api.py runs the
task routes on both executors.)"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from jupyter_orch.client import Client
from jupyter_orch.kernel.widget_html import runs_table
from tests.conftest import DASK_EXECUTOR
from tests.support.daemons import DAEMONS, pids
from tests.support.dask_cluster import DaskCluster, dask_cluster
from tests.support.processes import alive
from tests.support.server import ServerProcess, warm_interpreters
from tests.support.zips import make_zip

NO_DATABASE = True  # one backend is enough: what differs here is where runs execute
READ_ARGS = (
    "import json, os, subprocess, sys, time\n"
    "args = json.load(open(os.environ['JUPYTER_ORCH_TASK_ARGS_FILE']))\n"
)
TREE = READ_ARGS + (
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
    "open(args['pids'], 'w').write(f'{os.getpid()} {child.pid}')\n"
    "print('working', flush=True)\n"
    "time.sleep(120)\n"
)


def start_server(base: Path, cluster: DaskCluster, *extra: str, warm_start: bool = False) -> ServerProcess:
    args = [f"--OrchApp.executor_class={DASK_EXECUTOR}", f"--DaskExecutor.scheduler_address={cluster.address}",
            "--OrchApp.kill_grace_seconds=1", *extra]
    return ServerProcess(root=base / "root", data_dir=base / "data", extra_args=args, warm_start=warm_start).start()


@pytest.fixture
def on_dask(tmp_path: Path, dask: DaskCluster) -> Iterator[ServerProcess]:
    server = start_server(tmp_path, dask)
    try:
        yield server
    finally:
        server.stop()


def ready(server: ServerProcess, files: dict[str, str], wid: int | None = None) -> tuple[int, str]:
    if wid is None:
        wid = int(server.post("workspaces/create", {"workspace_name": "ws"}).json()["workspace_id"])
    orch = server.upload_orchestration(wid, make_zip(files))
    answer = server.post("orchestration/get_by_id", {"id": orch, "wait_for": "terminal", "wait_timeout": 120}).json()
    assert answer["status"] == "ready", answer
    return wid, orch


def run_once(server: ServerProcess, wid: int, orch: str, args: dict[str, Any] | None = None, **extra: Any) -> str:
    return str(server.post("task/run_once", {"workspace_id": wid, "orch_id": orch, "json": args or {}, **extra})
               .json()["id"])


def finished(server: ServerProcess, task_id: str, timeout: float = 60) -> dict[str, Any]:
    return dict(server.post("task/get_by_id", {"id": task_id, "wait_for": "terminal", "wait_timeout": timeout}).json())


def runs(server: ServerProcess, task_id: str) -> list[dict[str, Any]]:
    return list(server.post("task/list_task_runs", {"task_id": task_id, "limit": 100}).json())


def logs(server: ServerProcess, run_id: str) -> list[str]:
    return list(server.post("task/get_logs_for_run", {"id": run_id}).json()["logs"])


def eventually(check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while (value := check()) in (None, False, []):
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.1)
    return value




def test_a_run_on_a_worker_streams_its_lines_with_their_print_times(on_dask: ServerProcess, dask: DaskCluster,
                                                                     tmp_path: Path) -> None:
    code = READ_ARGS + ("import wallaroo\nprint('first', args['x'], flush=True)\ntime.sleep(1)\n"
                        "print(wallaroo.__name__, flush=True)\n")
    wid, orch = ready(on_dask, {"main.py": code})
    task = run_once(on_dask, wid, orch, {"x": 42})
    assert finished(on_dask, task)["status"] == "success"
    (run,) = runs(on_dask, task)
    assert run["worker"].startswith("tcp://127.0.0.1:") and run["engine_id"]
    first, second = logs(on_dask, run["run_id"])
    assert first.endswith("stdout F first 42") and second.endswith("stdout F jupyter_orch.compat.wallaroo")
    gap = datetime.fromisoformat(second.split()[0]) - datetime.fromisoformat(first.split()[0])
    assert 0.9 < gap.total_seconds() < 3  # the time each line was printed, not when it arrived
    # Where it ran shows in the client's run object and in the task widget's runs table.
    (client_run,) = Client(url=on_dask.url, token=on_dask.token).get_task_by_id(task).last_runs()
    assert client_run.worker() == run["worker"] and client_run.engine_id() == run["engine_id"]
    table = runs_table([run])
    assert ">worker</th>" in table and run["worker"].split("://")[1] in table


@pytest.mark.slow
def test_requirements_are_built_on_the_worker_once_per_environment(on_dask: ServerProcess) -> None:
    code = "import six\nprint(six.__version__)\n"
    wid, orch = ready(on_dask, {"main.py": code, "requirements.txt": "six==1.16.0\n"})
    for _ in range(2):
        task = run_once(on_dask, wid, orch)
        assert finished(on_dask, task, 180)["status"] == "success"
        (run,) = runs(on_dask, task)
        assert logs(on_dask, run["run_id"])[-1].endswith("stdout F 1.16.0")


@pytest.mark.parametrize("ending", ["kill", "timeout", "own end"])
def test_no_process_of_a_run_outlives_it_on_the_worker(on_dask: ServerProcess, tmp_path: Path, ending: str) -> None:
    """Not even a daemon that double-forked into its own session, ignores SIGTERM, or cleared
    its environment: the launcher runs on workers too."""
    wid, orch = ready(on_dask, {"main.py": DAEMONS})
    pid_file = tmp_path / "pids"
    args = {"pids": str(pid_file), "sleep": 0 if ending == "own end" else 120}
    task = run_once(on_dask, wid, orch, args, **({"timeout": 3} if ending == "timeout" else {}))
    started = eventually(lambda: pids(pid_file, 3), 30)
    if ending == "kill":
        assert on_dask.post("task/kill", {"id": task}).status_code == 202
    done = finished(on_dask, task, 30)
    assert done["status"] == {"kill": "killed", "timeout": "timed_out", "own end": "success"}[ending]
    eventually(lambda: not any(alive(p) for p in started), 10)


def test_runs_beyond_the_slots_wait_and_a_lost_worker_fails_its_run(tmp_path: Path) -> None:
    with dask_cluster(tmp_path / "cluster", workers=0) as cluster:
        worker = cluster.add_worker(slots=1)
        cluster.wait_for_workers(1)
        server = start_server(tmp_path, cluster)
        try:
            wid, orch = ready(server, {"main.py": TREE})
            first = run_once(server, wid, orch, {"pids": str(tmp_path / "first")})
            second = run_once(server, wid, orch, {"pids": str(tmp_path / "second")})
            eventually(lambda: (tmp_path / "first").exists(), 30)
            time.sleep(1)
            assert [r["status"] for r in runs(server, second)] == ["pending"]  # one slot: it waits
            started = [int(p) for p in (tmp_path / "first").read_text().split()]
            cluster.kill_worker(worker)
            done = finished(server, first, 30)
            assert done["status"] == "failed"
            (run,) = runs(server, first)
            assert "was lost" in (run["error"] or "") and run["worker"] in run["error"]
            eventually(lambda: not any(alive(p) for p in started), 10)  # the run died with its worker
            cluster.add_worker(slots=1)
            eventually(lambda: (tmp_path / "second").exists(), 60)  # the queue goes on on a new worker
            server.post("task/kill", {"id": second})
            assert finished(server, second, 30)["status"] == "killed"
        finally:
            server.stop()


def test_a_server_that_dies_ends_its_runs_on_the_workers_when_it_is_back(tmp_path: Path, dask: DaskCluster) -> None:
    server = start_server(tmp_path, dask)
    try:
        wid, orch = ready(server, {"main.py": TREE})
        pids_file = tmp_path / "pids"
        task = run_once(server, wid, orch, {"pids": str(pids_file)})
        eventually(lambda: pids_file.exists() and pids_file.read_text(), 30)
        pids = [int(p) for p in pids_file.read_text().split()]
        server.crash()
        assert all(alive(p) for p in pids)  # the runs go on on the workers meanwhile
        server = start_server(tmp_path, dask)
        assert finished(server, task, 30)["status"] == "failed"
        (run,) = runs(server, task)
        assert "restarted" in (run["error"] or "")
        eventually(lambda: not any(alive(p) for p in pids), 15)
    finally:
        server.stop()


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def test_warm_runs_on_a_worker_end_whole_and_die_with_it(tmp_path: Path) -> None:
    """With warm starts on, a worker forks runs from a warm interpreter of its own; a killed
    run leaves nothing (daemons included), and a worker that dies takes its runs' groups along."""
    with dask_cluster(tmp_path / "cluster", workers=0) as cluster:
        worker = cluster.add_worker(slots=2)
        cluster.wait_for_workers(1)
        server = start_server(tmp_path, cluster, warm_start=True)
        try:
            wid, orch = ready(server, {"main.py": DAEMONS})
            warm_up = run_once(server, wid, orch, {"pids": str(tmp_path / "warm-up"), "sleep": 0})
            assert finished(server, warm_up)["status"] == "success"  # it started the worker's zygote
            (zygote,) = eventually(lambda: warm_interpreters(worker.pid), 60)
            task = run_once(server, wid, orch, {"pids": str(tmp_path / "pids"), "sleep": 120})
            started = eventually(lambda: pids(tmp_path / "pids", 3), 30)
            assert parent_of(started[-1]) == zygote  # forked, not started cold
            assert server.post("task/kill", {"id": task}).status_code == 202
            assert finished(server, task, 30)["status"] == "killed"
            eventually(lambda: not any(alive(p) for p in started), 10)

            _, tree = ready(server, {"main.py": TREE}, wid)
            lost = run_once(server, wid, tree, {"pids": str(tmp_path / "tree")})
            in_group = [int(p) for p in eventually(lambda: (tmp_path / "tree").exists()
                                                   and (tmp_path / "tree").read_text(), 30).split()]
            assert parent_of(in_group[0]) == zygote
            cluster.kill_worker(worker)
            assert finished(server, lost, 30)["status"] == "failed"
            eventually(lambda: not any(alive(p) for p in in_group), 10)
        finally:
            server.stop()
