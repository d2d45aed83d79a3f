"""Schedule controls through a real server: the REST routes (task/pause, task/update_schedule,
task/next_fires, the run_scheduled fields tz, end_date, max_runs), their 4xx answers, and the
client methods on top of them."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from jupyter_orch.client import Client, Orchestration, Task
from tests.support.server import ServerProcess
from tests.support.zips import make_zip

UNKNOWN = "00000000-0000-4000-8000-000000000000"


def orchestration(wl: Client) -> Orchestration:
    ticker = make_zip({"main.py": "print('tick')\n"})
    return wl.upload_orchestration(bytes_buffer=ticker, name="ticker").wait_for_ready(60)


def test_a_schedule_in_a_time_zone_with_an_end_and_a_cap(wl: Client) -> None:
    task = orchestration(wl).run_scheduled("paris", "0 9 * * *", tz="Europe/Paris", end_date=datetime(2099, 1, 1),
                                           max_runs=4)
    assert (task.tz(), task.max_runs(), task.end_date()) == ("Europe/Paris", 4, datetime(2098, 12, 31, 23, tzinfo=UTC))
    fires = task.next_fires(10)
    assert len(fires) == 4  # max_runs caps the preview
    assert all(at.astimezone(task_zone(task)).hour == 9 for at in fires)
    html = task._repr_html_()
    assert "<th>time zone</th><td>Europe/Paris</td>" in html and "<th>max runs</th><td>4</td>" in html
    assert parse_next(task) == fires[0]
    task.kill()


def task_zone(task: Task) -> ZoneInfo:
    return ZoneInfo(task.tz())


def parse_next(task: Task) -> datetime:
    return datetime.fromisoformat(task.to_dict()["next_run_at"])


def test_pause_resume_and_edit_keep_the_task(wl: Client) -> None:
    task = orchestration(wl).run_scheduled("edited", "* * * * * *", json_args={"v": 1})
    task.wait_for_runs(1, "success", timeout=30)
    assert task.pause().status() == "paused" and task.to_dict()["next_run_at"] is None
    assert task.next_fires(2)  # what it would do if resumed now
    assert task.resume().status() == "started"
    edited = task.update_schedule(schedule="@daily", tz="Asia/Tokyo", json_args={"v": 2}, timeout=9)
    assert edited.id() == task.id() and edited.schedule() == "@daily" and edited.input_data() == {"v": 2}
    assert all(at.astimezone(task_zone(edited)).strftime("%H:%M") == "00:00" for at in edited.next_fires(3))
    assert edited.last_runs()  # the runs before the edit are still its runs
    cleared = task.update_schedule(tz=None, timeout=None)
    assert cleared.tz() == "UTC" and cleared.to_dict()["timeout"] is None
    with pytest.raises(TypeError, match="update_schedule"):
        task.update_schedule(cron="@daily")
    task.kill()


def test_preview_before_making_a_task(wl: Client) -> None:
    fires = wl.next_fires("30 2 * * *", "Europe/Paris", 3)
    assert len(fires) == 3 and all(at.tzinfo is not None for at in fires)
    assert wl.next_fires("0 0 12 1-15 2 2024") == []  # ended
    assert len(wl.next_fires("@hourly", count=50, max_runs=2)) == 2


@pytest.mark.parametrize(
    ("route", "body", "status", "words"),
    [
        ("task/run_scheduled", {"schedule": "@daily", "tz": "Mars/Base"}, 400, "IANA time zone"),
        ("task/run_scheduled", {"schedule": "@daily", "max_runs": 0}, 400, "'max_runs' must be a positive integer"),
        ("task/run_scheduled", {"schedule": "@daily", "end_date": "soon"}, 400, "'end_date' must be an ISO 8601"),
        ("task/pause", {"id": UNKNOWN}, 400, "'pause' is required"),
        ("task/pause", {"id": UNKNOWN, "pause": "yes"}, 400, "'pause' must be true or false"),
        ("task/pause", {"id": UNKNOWN, "pause": True}, 404, "does not exist"),
        ("task/update_schedule", {"id": UNKNOWN, "schedule": "@daily"}, 404, "does not exist"),
        ("task/next_fires", {}, 400, "either 'id'"),
        ("task/next_fires", {"schedule": "@daily", "count": 0}, 400, "'count' must be from 1"),
        ("task/next_fires", {"schedule": "bad cron"}, 400, "not a cron expression"),
    ],
)
def test_bad_requests_answer_4xx_and_change_nothing(wl: Client, orch_server: ServerProcess, route: str,
                                                   body: dict[str, object], status: int, words: str) -> None:
    orch = orchestration(wl)
    if route == "task/run_scheduled":
        body = {**body, "workspace_id": orch.workspace_id(), "orch_id": orch.id()}
    before = len(wl.list_tasks())
    answer = orch_server.post(route, body)
    assert (answer.status_code, answer.json()["code"]) == (status, status)
    assert words in answer.json()["msg"]
    assert len(wl.list_tasks()) == before


def test_only_live_scheduled_tasks_pause_or_change(wl: Client, orch_server: ServerProcess) -> None:
    orch = orchestration(wl)
    once = orch.run_once("once")
    assert orch_server.post("task/pause", {"id": once.id(), "pause": True}).status_code == 400
    scheduled = orch.run_scheduled("doomed", "@daily")
    scheduled.kill()
    refused = orch_server.post("task/update_schedule", {"id": scheduled.id(), "schedule": "@hourly"})
    assert refused.status_code == 409 and "cannot be edited" in refused.json()["msg"]
    assert wl.get_task_by_id(scheduled.id()).schedule() == "@daily"
    assert orch_server.post("task/next_fires", {"id": scheduled.id()}).json() == {"fires": []}


def test_run_now_with_overrides_and_rerun(wl: Client, orch_server: ServerProcess) -> None:
    echo = make_zip({"main.py": "from jupyter_orch import Client\nprint('args', Client().task_args())\n"})
    orch = wl.upload_orchestration(bytes_buffer=echo, name="echo").wait_for_ready(60)
    task = orch.run_scheduled("yearly", "@yearly", json_args={"v": 1}, timeout=30)
    run = task.run_now({"v": 9}, timeout=20)
    assert run.status() == "pending" and run.input_data() == {"v": 9} and run.to_dict()["timeout"] == 20
    done = task.wait_for_runs(1, "success", timeout=60)[0]
    assert done.id() == run.id() and "args {'v': 9}" in done.logs().texts()
    assert wl.get_task_by_id(task.id()).input_data() == {"v": 1}
    again = done.rerun()
    assert again.rerun_of() == run.id() and again.input_data() == {"v": 9}
    assert "<th>re-run of</th>" in again._repr_html_()
    assert task.wait_for_runs(2, "success", timeout=60)[0].id() == again.id()

    refused = orch_server.post("task/run_now", {"id": task.id(), "timeout": -1})
    assert (refused.status_code, refused.json()["code"]) == (400, 400)
    assert orch_server.post("task/rerun", {"id": UNKNOWN}).status_code == 404
    once = orch.run_once("once").wait_for(timeout=60)
    assert orch_server.post("task/run_now", {"id": once.id()}).status_code == 400
    task.kill()
    assert orch_server.post("task/rerun", {"id": run.id()}).status_code == 409


def test_retries_through_the_client(wl: Client, orch_server: ServerProcess) -> None:
    failing = make_zip({"main.py": "raise SystemExit('boom')\n"})
    orch = wl.upload_orchestration(bytes_buffer=failing, name="failing").wait_for_ready(60)
    task = orch.run_once("flaky", max_retries=2, retry_delay=0.2).wait_for(timeout=60)
    assert task.status() == "failed" and task.attempt() == 3 and task.max_retries() == 2
    assert "<th>attempt</th><td>3 of 3</td>" in task._repr_html_()
    runs = list(reversed(task.last_runs()))
    assert [r.attempt() for r in runs] == [1, 2, 3] and runs[2].retry_of() == runs[1].id()
    assert "<th>retry of</th>" in runs[1]._repr_html_()
    scheduled = orch.run_scheduled("retrying", "@yearly", max_retries=1, retry_delay=5)
    assert scheduled.max_retries() == 1
    scheduled.kill()
    body = {"workspace_id": orch.workspace_id(), "orch_id": orch.id(), "max_retries": -1}
    refused = orch_server.post("task/run_once", body)
    assert refused.status_code == 400 and "'max_retries' must be from 0" in refused.json()["msg"]
    refused = orch_server.post("task/run_once", {**body, "max_retries": 1, "retry_delay": 0})
    assert refused.status_code == 400 and "'retry_delay' must be a positive number" in refused.json()["msg"]
