"""Team servers: three real `jupyter server` processes on one real PostgreSQL, each with its own
data dir and a shared blob folder (as servers on three machines would be). Every engine serves
the API and executes runs; one at a time fires the schedules; kills, events and deployments
cross servers. The last test SIGKILLs the leader."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests
import websocket

from jupyter_orch.samples import sample_paths
from tests.support.databases import PostgresCluster, sql
from tests.support.logevents import lines_of
from tests.support.multipart import upload_body
from tests.support.server import ServerProcess
from tests.support.zips import make_zip

LEASE_S = 2.0
T = TypeVar("T")
PRINT_AND_SLEEP = (
    "import json, os, time\n"
    "args = json.load(open(os.environ['JUPYTER_ORCH_TASK_ARGS_FILE']))\n"
    "print('hello', flush=True)\n"
    "time.sleep(args.get('sleep', 0))\n"
)


class Team:
    def __init__(self, base: Path, db_url: str):
        self.base = base
        self.db_url = db_url
        self.servers: dict[str, ServerProcess] = {}

    def start(self, name: str) -> ServerProcess:
        extra = [
            f"--OrchApp.db_url={self.db_url}", f"--OrchApp.lease_seconds={LEASE_S}",
            f"--OrchApp.blob_url=file://{self.base / 'shared-blobs'}",
            f"--OrchApp.inference_log_url=file://{self.base / 'shared-inference-logs'}",
            "--OrchApp.missed_fire_policy=run_all", "--OrchApp.inference_log_flush_seconds=0.2",
        ]
        server = ServerProcess(root=self.base / name, data_dir=self.base / name / "orch-data", extra_args=extra)
        self.servers[name] = server.start()
        return server

    def engine_of(self, name: str) -> str:
        rows = sql(self.db_url, "SELECT id FROM engines WHERE url LIKE :u", u=f"%:{self.servers[name].port}/%")
        assert len(rows) == 1, rows
        return str(rows[0][0])

    def leader(self) -> str:
        rows = sql(self.db_url, "SELECT engine_id FROM leases WHERE name = 'scheduler'")
        engine = str(rows[0][0])
        return next(name for name in self.servers if self.servers[name].proc and self.servers[name].proc.poll() is None
                    and self.engine_of(name) == engine)


@pytest.fixture(scope="module")
def team(postgres: PostgresCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    base = tmp_path_factory.mktemp("team")
    with postgres.database() as url:
        team = Team(base, url)
        try:
            for name in "abc":
                team.start(name)
            yield team
        finally:
            for server in team.servers.values():
                server.stop()


@pytest.fixture(scope="module")
def workspace(team: Team) -> int:
    return int(team.servers["a"].post("workspaces/create", {"workspace_name": "team"}).json()["workspace_id"])


@pytest.fixture(scope="module")
def orch_id(team: Team, workspace: int) -> str:
    a = team.servers["a"]
    orch = a.upload_orchestration(workspace, make_zip({"main.py": PRINT_AND_SLEEP}))
    assert a.post("orchestration/get_by_id", {"id": orch, "wait_for": "ready"}).json()["status"] == "ready"
    return orch


def eventually(check: Callable[[], T | None], timeout: float, every: float = 0.1) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s: last {value!r}")
        time.sleep(every)


def runs(server: ServerProcess, task_id: str) -> list[dict[str, Any]]:
    return list(server.post("task/list_task_runs", {"task_id": task_id, "limit": 1000}).json())


def test_an_orchestration_uploaded_through_one_server_runs_on_another(team: Team, workspace: int,
                                                                      orch_id: str) -> None:
    b, c = team.servers["b"], team.servers["c"]
    task = b.post("task/run_once", {"workspace_id": workspace, "orch_id": orch_id, "json": {}}).json()
    done = c.post("task/get_by_id", {"id": task["id"], "wait_for": "terminal", "wait_timeout": 30}).json()
    assert done["status"] == "success", done
    (run,) = runs(c, task["id"])
    assert run["engine_id"] == team.engine_of("b")  # claimed where it was asked for: B had a free slot
    logs = c.post("task/get_logs_for_run", {"id": run["run_id"]}).json()["logs"]
    assert any(line.endswith(" hello") for line in logs), logs


def test_a_schedule_fires_once_per_time_across_three_servers(team: Team, workspace: int, orch_id: str) -> None:
    a = team.servers["a"]
    body = {"workspace_id": workspace, "orch_id": orch_id, "json": {}, "schedule": "* * * * * *"}
    task = a.post("task/run_scheduled", body).json()
    time.sleep(20)
    a.post("task/kill", {"id": task["id"]})
    fired = [r for r in runs(a, task["id"]) if r["scheduled_for"]]
    times = Counter(r["scheduled_for"] for r in fired)
    assert times and max(times.values()) == 1, times  # none doubled
    seconds = sorted(datetime.fromisoformat(at) for at in times)
    span = int((seconds[-1] - seconds[0]).total_seconds()) + 1
    assert len(seconds) == span >= 17, seconds  # none lost: one run for every second in the span
    rows = sql(team.db_url, "SELECT DISTINCT engine_id FROM fires WHERE task_id = :t", t=task["id"])
    assert len(rows) == 1  # one leader recorded them all


def test_a_kill_through_one_server_stops_a_run_on_another(team: Team, workspace: int, orch_id: str) -> None:
    a = team.servers["a"]
    task = a.post("task/run_once", {"workspace_id": workspace, "orch_id": orch_id, "json": {"sleep": 60}}).json()
    run = eventually(lambda: next((r for r in runs(a, task["id"]) if r["status"] == "running"), None), 20)
    # Whichever engine claimed it (usually A, whose upload woke it first), kill it through another.
    b = next(server for name, server in team.servers.items() if team.engine_of(name) != run["engine_id"])
    asked = time.monotonic()
    assert b.post("task/kill", {"id": task["id"]}).status_code == 202
    done = b.post("task/get_by_id", {"id": task["id"], "wait_for": "terminal", "wait_timeout": 10}).json()
    assert done["status"] == "killed" and time.monotonic() - asked < 5  # stopped at once, not at a lease tick
    assert runs(a, task["id"])[0]["status"] == "killed"


def test_a_continuous_task_never_has_two_live_runs(team: Team, workspace: int) -> None:
    a, c = team.servers["a"], team.servers["c"]
    quick = a.upload_orchestration(workspace, make_zip({"main.py": "print('tick')\n"}), name="quick")
    a.post("orchestration/get_by_id", {"id": quick, "wait_for": "ready"})
    task = c.post("task/run_continuously", {"workspace_id": workspace, "orch_id": quick, "json": {}}).json()
    samples = []
    for _ in range(40):
        live = [r for r in runs(a, task["id"]) if r["status"] in ("pending", "running")]
        samples.append(len(live))
        time.sleep(0.1)
    a.post("task/kill", {"id": task["id"]})
    assert max(samples) == 1, samples
    assert len({r["engine_id"] for r in runs(a, task["id"]) if r["engine_id"]}) >= 1


def test_a_pipeline_deployed_through_one_server_answers_on_every_server(team: Team, workspace: int) -> None:
    a, b, c = team.servers["a"], team.servers["b"], team.servers["c"]
    samples = sample_paths()
    body, headers = upload_body(samples["model"].read_bytes(), {"name": "housing", "workspace_id": workspace},
                                "rf_model.onnx")
    model = requests.post(a.api + "models/upload", data=body, headers={**a.headers, **headers}, timeout=60).json()
    a.post("pipelines/create", {"pipeline_id": "team-pipe", "workspace_id": workspace})
    a.post("pipelines/add_model_step", {"pipeline_id": "team-pipe", "model_version_id": model["id"]})
    assert a.post("pipelines/deploy", {"pipeline_id": "team-pipe"}).json()["status"] == "Running"
    smoke = samples["smoke_test.df.json"].read_bytes()
    records = {"Content-Type": "application/json; format=pandas-records"}
    for server in (b, a):
        answer = requests.post(server.api + "pipelines/infer/team-pipe", data=smoke,
                               headers={**server.headers, **records}, timeout=60)
        assert answer.status_code == 200, answer.text
        assert len(json.loads(answer.content)) == 1

    def logged() -> int:
        response = c.post("pipelines/get_logs", {"pipeline_name": "team-pipe", "workspace_id": workspace})
        return len(response.json()) if response.ok else 0

    eventually(lambda: logged() >= 2, 20)  # rows logged by A and by B, read on C


def test_a_subscriber_on_one_server_sees_the_runs_and_lines_of_another(team: Team, workspace: int) -> None:
    a, b = team.servers["a"], team.servers["b"]
    chatty = a.upload_orchestration(workspace, make_zip({"main.py": "for i in range(3000):\n    print('x' * 40, i)\n"}),
                                    name="chatty")
    a.post("orchestration/get_by_id", {"id": chatty, "wait_for": "ready"})
    socket = websocket.create_connection(f"ws://127.0.0.1:{b.port}/v1/api/events?kinds=run,log&token={b.token}",
                                         timeout=20)
    try:
        task = a.post("task/run_once", {"workspace_id": workspace, "orch_id": chatty, "json": {}}).json()
        statuses, lines = [], []
        while "success" not in statuses:
            event = json.loads(socket.recv())
            if event.get("task_id") != task["id"]:
                continue
            if event["kind"] == "run":
                statuses.append(event["status"])
            else:
                lines += lines_of(event)
    finally:
        socket.close()
    (run,) = runs(a, task["id"])
    assert run["engine_id"] == team.engine_of("a")  # it ran on A; B's subscriber heard it all
    assert statuses == ["pending", "running", "success"]
    assert [line["seq"] for line in lines] == list(range(3000))

def test_when_the_leader_dies_another_fires_the_missed_times_once(team: Team, workspace: int, orch_id: str) -> None:
    body = {"workspace_id": workspace, "orch_id": orch_id, "json": {}, "schedule": "* * * * * *"}
    first = next(iter(team.servers.values()))
    task = first.post("task/run_scheduled", body).json()
    eventually(lambda: len(runs(first, task["id"])) >= 2, 15)
    leader = team.leader()
    team.servers[leader].crash()
    killed_at = datetime.now().astimezone()
    survivor = next(s for name, s in team.servers.items() if name != leader)
    eventually(lambda: any(datetime.fromisoformat(r["scheduled_for"]) > killed_at + timedelta(seconds=LEASE_S + 1)
                           for r in runs(survivor, task["id"])), 20)
    time.sleep(2)
    survivor.post("task/kill", {"id": task["id"]})
    fired = runs(survivor, task["id"])
    times = Counter(r["scheduled_for"] for r in fired)
    assert max(times.values()) == 1, times
    seconds = sorted(datetime.fromisoformat(at) for at in times)
    span = int((seconds[-1] - seconds[0]).total_seconds()) + 1
    assert len(seconds) == span, seconds  # the times the dead leader missed ran, each once
    assert team.leader() != leader
