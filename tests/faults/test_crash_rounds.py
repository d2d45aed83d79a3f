"""SIGKILL a real `jupyter server` at random moments of a mixed workload, restart it, and check
after each restart and at the end what the README's "Guarantees" promise.

The workload: uploads (one with requirements whose installer never finishes), run-once tasks
starting and printing (each run leaves a daemon in its own session), a schedule firing every
second, a continuous task and inference with its log. After each restart: every acknowledged
object and log line is there, no leftover of the crash (temp files, run folders, installers)
and no process of an ended run is alive, inference rows older than the log's flush interval
are kept. At the end: no run ran twice, every queued run and recorded fire ran (or was running
when a crash ended it, and says so), no scheduled time ran twice, nothing is left behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.engine.test_least_privilege import silent_index
from tests.support.multipart import upload_body
from tests.support.onnx_models import scale_model
from tests.support.processes import alive, marked_processes
from tests.support.server import ServerProcess
from tests.support.zips import make_zip

__all__ = ["silent_index"]  # a fixture, imported to be used here

# Each round restarts a server (seconds, and tens of them on a busy 2-core machine): the test's time
# is mostly that.
pytestmark = pytest.mark.timeout(900)

ROUNDS = 10  # per database backend
FLUSH_S = 0.5  # the inference log's flush interval in these servers
FLUSH_MARGIN_S = 3.0  # how late a flush may be on a busy machine
ENDED = ("success", "failure", "timed_out", "killed", "skipped")  # skipped: a fire while the last run ran
SETTLED = ("success", "failed", "timed_out", "killed")  # a task's end
RESTARTED = "the server restarted while the run was running"
TEMP_PREFIXES = (".incoming-", ".unpack-", ".tmp-")

JOB = """
import json, os, time
args = json.load(open(os.environ["JUPYTER_ORCH_TASK_ARGS_FILE"]))
with open(args["ran"], "a") as f:
    f.write(os.environ["RUN_ID"] + "\\n")
if os.fork() == 0:  # a daemon in its own session that outlives the run unless it is ended
    os.setsid()
    if os.fork() == 0:
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        time.sleep(300)
    os._exit(0)
os.wait()
for i in range(args["lines"]):
    print(f"line {i}", flush=True)
    time.sleep(args["pause"])
"""


@dataclass
class Acknowledged:
    """What the server answered for, as the client saw it."""

    orchestrations: list[str] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)  # in the order acknowledged
    log_lines: dict[str, list[str]] = field(default_factory=dict)  # run id -> lines read, this round
    inferences: list[tuple[float, int]] = field(default_factory=list)  # (answered at, rows), this round
    durable_rows: int = 0  # inference rows answered long enough before a crash to be flushed
    checked: int = 0  # how many orchestrations and tasks an earlier restart found

    def crashed(self, at: float) -> None:
        self.durable_rows += sum(rows for answered, rows in self.inferences if answered < at - FLUSH_S - FLUSH_MARGIN_S)
        self.inferences.clear()


@dataclass
class Setup:
    workspace: int
    job: str
    ticker: str
    service: str
    pipeline: str
    ran: Path


def post(server: ServerProcess, route: str, body: dict[str, Any]) -> Any:
    response = server.post(route, body)
    assert response.ok, (route, response.status_code, response.text)
    return response.json()


def upload(server: ServerProcess, workspace: int, files: dict[str, str]) -> str:
    return server.upload_orchestration(workspace, make_zip(files))


def set_up(server: ServerProcess, ran: Path, silent_index: str) -> Setup:
    wid = post(server, "workspaces/create", {"workspace_name": "faults"})["workspace_id"]
    job = upload(server, wid, {"main.py": JOB})
    ready = post(server, "orchestration/get_by_id", {"id": job, "wait_for": "ready", "wait_timeout": 60})
    assert ready["status"] == "ready", ready
    upload(server, wid, {"main.py": "", "requirements.txt": f"--index-url {silent_index}\nnever-comes==1.0\n"})
    args = {"ran": str(ran), "lines": 2, "pause": 0.1}
    ticker = post(server, "task/run_scheduled", {"workspace_id": wid, "orch_id": job, "schedule": "* * * * * *",
                                                 "json": args})["id"]
    service = post(server, "task/run_continuously", {"workspace_id": wid, "orch_id": job, "json": args})["id"]
    body, headers = upload_body(scale_model(2.0), {"name": "double", "workspace_id": wid}, "double.onnx")
    model = requests.post(server.api + "models/upload", data=body, headers={**server.headers, **headers}, timeout=60)
    assert model.ok, model.text
    post(server, "pipelines/create", {"pipeline_id": "pipe", "workspace_id": wid})
    post(server, "pipelines/add_model_step", {"pipeline_id": "pipe", "model_version_id": model.json()["id"]})
    assert post(server, "pipelines/deploy", {"pipeline_id": "pipe"})["status"] == "Running"
    return Setup(wid, job, ticker, service, "pipe", ran)


def workload(server: ServerProcess, setup: Setup, seen: Acknowledged, stop: threading.Event) -> list[threading.Thread]:
    """Client threads that keep the server busy until `stop` or the server dies."""

    def submit() -> None:
        args = {"ran": str(setup.ran), "lines": 5, "pause": 0.05}
        while not stop.is_set():
            task = server.post("task/run_once", {"workspace_id": setup.workspace, "orch_id": setup.job, "json": args})
            if task.status_code == 201:
                seen.tasks.append(task.json()["id"])
            seen.orchestrations.append(upload(server, setup.workspace, {"main.py": f"# {random.random()}\n"}))
            time.sleep(0.1)

    def read_logs() -> None:
        while not stop.is_set():
            for task_id in seen.tasks[-3:]:
                runs = server.post("task/list_task_runs", {"task_id": task_id}).json()
                for run in runs:
                    logs = server.post("task/get_logs_for_run", {"id": run["run_id"]}).json()["logs"]
                    seen.log_lines[run["run_id"]] = logs
            time.sleep(0.05)

    def infer() -> None:
        rows = json.dumps([{"x": [1.0]}, {"x": [2.0]}])
        headers = {**server.headers, "Content-Type": "application/json; format=pandas-records"}
        while not stop.is_set():
            answer = requests.post(server.api + f"pipelines/infer/{setup.pipeline}", data=rows, headers=headers,
                                   timeout=10)
            if answer.ok:
                seen.inferences.append((time.time(), 2))
            time.sleep(0.05)

    def until_the_server_dies(work: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            with contextlib.suppress(requests.ConnectionError, requests.Timeout, json.JSONDecodeError):
                work()

        return run

    threads = [threading.Thread(target=until_the_server_dies(w), daemon=True) for w in (submit, read_logs, infer)]
    for thread in threads:
        thread.start()
    return threads


@dataclass
class CrashLeft:
    """What the data dir and the machine held right after a crash."""

    at: float
    temp_files: list[Path]
    run_folders: list[Path]
    installers: list[int]


def after_crash(data_dir: Path) -> CrashLeft:
    temp = [p for p in data_dir.rglob(".*") if p.name.startswith(TEMP_PREFIXES)]
    runs = sorted((data_dir / "runs").iterdir()) if (data_dir / "runs").is_dir() else []
    envs = str(data_dir / "envs")
    installers = [pid for pid, value in marked_processes("JUPYTER_ORCH_INSTALLING", None).items()
                  if value.startswith(envs)]
    return CrashLeft(time.time(), temp, runs, installers)


def all_runs(server: ServerProcess) -> list[dict[str, Any]]:
    runs = []
    for task in post(server, "task/list", {"run_limit": 0}):
        runs += [{**run, "task_id": task["id"]} for run in post(server, "task/list_task_runs", {"task_id": task["id"]})]
    return runs


def check_objects(server: ServerProcess, setup: Setup, seen: Acknowledged, since: int) -> None:
    """Every orchestration and task acknowledged (from the `since`th on) is there."""
    for orch_id in seen.orchestrations[since:]:
        assert server.post("orchestration/get_by_id", {"id": orch_id}).ok, f"acknowledged orchestration {orch_id} lost"
    for task_id in [*seen.tasks[since:], setup.ticker, setup.service]:
        assert server.post("task/get_by_id", {"id": task_id}).ok, f"acknowledged task {task_id} lost"


def check_after_restart(server: ServerProcess, setup: Setup, seen: Acknowledged, left: CrashLeft) -> None:
    check_objects(server, setup, seen, seen.checked)
    seen.checked = min(len(seen.orchestrations), len(seen.tasks))
    for run_id, lines in seen.log_lines.items():
        logs = post(server, "task/get_logs_for_run", {"id": run_id})["logs"]
        assert logs[: len(lines)] == lines, f"acknowledged log lines of run {run_id} lost"
    seen.log_lines.clear()
    assert [p for p in left.temp_files if p.exists()] == [], "temp files of interrupted work left"
    runs = [run for task in post(server, "task/list", {"run_limit": 10_000}) for run in task["last_runs"]]
    active = {run["run_id"] for run in runs if run["status"] not in ENDED}
    assert [p for p in left.run_folders if p.exists() and p.name not in active] == [], "run folders left"
    assert [pid for pid in left.installers if alive(pid)] == [], "an installer outlived the crash"
    ended = {run["run_id"] for run in runs if run["status"] in ENDED}
    assert marked_processes("RUN_ID", ended) == {}, "a process of an ended run is alive"
    counted = requests.post(server.api + "pipelines/get_logs", json={"pipeline_name": setup.pipeline, "count": True},
                            headers=server.headers, timeout=30)
    assert counted.ok and int(counted.headers["x-total-count"]) >= seen.durable_rows, "flushed inference rows lost"


def check_at_the_end(server: ServerProcess, setup: Setup, seen: Acknowledged) -> None:
    check_objects(server, setup, seen, 0)
    for task_id in (setup.ticker, setup.service):
        post(server, "task/kill", {"id": task_id})
    # On PostgreSQL what the last crashes' engines held is recovered once their leases expire.
    deadline = time.monotonic() + 120
    runs = all_runs(server)
    while any(run["status"] not in ENDED for run in runs):
        stuck = [run for run in runs if run["status"] not in ENDED]
        assert time.monotonic() < deadline, f"queued runs did not all run: {stuck}"
        time.sleep(0.5)
        runs = all_runs(server)
    while unsettled := [task for task in post(server, "task/list", {"run_limit": 1}) if task["status"] not in SETTLED]:
        assert time.monotonic() < deadline, f"tasks whose runs all ended were not settled: {unsettled}"
        time.sleep(0.5)
    ran = setup.ran.read_text().split()
    assert len(ran) == len(set(ran)), "a run ran twice"
    for run in runs:
        killed_task = run["task_id"] in (setup.ticker, setup.service)
        if run["status"] == "success":
            assert run["run_id"] in ran
        elif run["status"] == "failure":
            assert run["error"] == RESTARTED, run  # it was running when a crash ended it
        elif run["status"] == "skipped":
            assert run["task_id"] == setup.ticker and run["run_id"] not in ran, run  # overlap_policy=skip
        else:
            assert run["status"] == "killed" and killed_task, run
    for task_id in seen.tasks:
        task = post(server, "task/get_by_id", {"id": task_id, "run_limit": 5})
        assert task["status"] in ("success", "failed") and len(task["last_runs"]) == 1, task
    for task_id in (setup.ticker, setup.service):
        assert post(server, "task/get_by_id", {"id": task_id})["status"] == "killed"
    fires = [run["scheduled_for"] for run in runs if run["task_id"] == setup.ticker]
    assert len(fires) == len(set(fires)) and None not in fires, "a scheduled time ran twice"
    assert marked_processes("RUN_ID", {run["run_id"] for run in runs}) == {}, "a process of a run is alive"
    assert [p for p in server.data_dir.rglob(".*") if p.name.startswith(TEMP_PREFIXES)] == []
    assert list((server.data_dir / "runs").iterdir()) == []


@pytest.fixture
def fault_server(tmp_path: Path, db_url: str | None) -> Iterator[ServerProcess]:
    extra = [f"--OrchApp.inference_log_flush_seconds={FLUSH_S}", "--OrchApp.packaging_timeout=3600",
             "--OrchApp.kill_grace_seconds=1", *([f"--OrchApp.db_url={db_url}"] if db_url else [])]
    server = ServerProcess(root=tmp_path / "root", data_dir=tmp_path / "orch-data", extra_args=extra)
    try:
        yield server
    finally:
        if server.proc is not None and server.proc.poll() is not None:
            with contextlib.suppress(RuntimeError):
                server.start()  # its start-up ends what the last crash left
        server.stop()


def test_sigkill_rounds_lose_nothing_and_leave_nothing(fault_server: ServerProcess, tmp_path: Path,
                                                       silent_index: str) -> None:
    seed = random.randrange(2**32)
    chance = random.Random(seed)
    print(f"crash moments drawn with seed {seed}")
    server, seen = fault_server.start(), Acknowledged()
    setup = set_up(server, tmp_path / "ran", silent_index)
    for round_number in range(ROUNDS):
        stop = threading.Event()
        threads = workload(server, setup, seen, stop)
        time.sleep(chance.uniform(0.2, 1.5))
        server.crash()
        stop.set()
        for thread in threads:
            thread.join(15)
        left = after_crash(server.data_dir)
        seen.crashed(left.at)
        server.start()
        try:
            check_after_restart(server, setup, seen, left)
        except AssertionError as failure:
            raise AssertionError(f"round {round_number} (seed {seed}): {failure}") from failure
    check_at_the_end(server, setup, seen)


def installing(data_dir: Path) -> dict[int, bool] | None:
    """While requirements are being installed for this data dir (not while the environment is
    being made), its installer processes: pid -> whether it is a launcher."""
    envs = str(data_dir / "envs")
    found = {}
    for pid, value in marked_processes("JUPYTER_ORCH_INSTALLING", None).items():
        with contextlib.suppress(OSError):
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
            # Only the launcher and the install command itself: helpers the installer starts and
            # ends on its own (an interpreter probe) would read as "ended by the sweep".
            if value.startswith(envs) and (b"launcher.py" in command or b"requirements.txt" in command):
                found[pid] = b"launcher.py" in command
    return found if not all(found.values()) else None


def eventually(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.1)
    return value


@pytest.mark.parametrize("launcher_too", [False, True], ids=["server", "server and launcher"])
def test_no_installer_outlives_a_crash(fault_server: ServerProcess, silent_index: str, launcher_too: bool) -> None:
    server = fault_server.start()
    wid = post(server, "workspaces/create", {"workspace_name": "ws"})["workspace_id"]
    upload(server, wid, {"main.py": "", "requirements.txt": f"--index-url {silent_index}\nnever-comes==1.0\n"})
    started = eventually(lambda: installing(server.data_dir))
    if launcher_too:  # killed with the server (an OOM kill of both): only the start-up sweep is left
        for pid in (pid for pid, is_launcher in started.items() if is_launcher):
            os.kill(pid, signal.SIGKILL)
    server.crash()
    installer = [pid for pid, is_launcher in started.items() if not is_launcher]
    if launcher_too:
        assert all(alive(pid) for pid in installer)  # without its launcher, nothing ends it...
        server.start()  # ...but the next start-up
    eventually(lambda: not any(alive(pid) for pid in installer))
