"""Tasks against a real engine: real subprocess runs, a real SQLite file, real timers."""

from __future__ import annotations

import asyncio
import inspect
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from jupyter_orch.engine import Conflict, Engine, Invalid, NotFound
from jupyter_orch.engine.orchestrations.orchestrations import Orchestration
from jupyter_orch.engine.store.leases import Leases
from jupyter_orch.engine.tasks.records import CRONJOB, ONESHOT, SERVICE, TASK_TERMINAL, Task
from jupyter_orch.engine.tasks.schedules import parse_schedule
from jupyter_orch.engine.timeutil import iso, parse_time
from tests.support.databases import sql
from tests.support.engine import database_url, running_engine
from tests.support.logevents import lines_of
from tests.support.processes import alive
from tests.support.zips import make_zip

RUN_ENDED = ("success", "failure", "timed_out", "killed")
HOUR_CHANGE_MARGIN_S = 60  # more than a missed-fires test takes, two engine starts included
# Runs forked from a warm interpreter behave as cold ones: the same tests, both ways.
WARM_OR_COLD = pytest.mark.parametrize("warm_start", [False, True], ids=["cold", "warm"])


async def orchestration(engine: Engine, files: dict[str, str | bytes], workspace: str = "ws") -> Orchestration:
    try:
        ws = await engine.workspaces.by_name(workspace)
    except NotFound:
        ws = await engine.workspaces.create(workspace, "tester")
    orch = await engine.orchestrations.upload(ws.id, make_zip(files), "o.zip", None, "tester")
    return await engine.orchestrations.wait_for(orch.id, ("ready", "error"), 30)


async def run_once(engine: Engine, code: str, args: dict[str, Any] | None = None, **kwargs: Any) -> Task:
    orch = await orchestration(engine, {"main.py": code})
    task = await engine.tasks.create(ONESHOT, orch.workspace_id, orch.id, args or {}, **kwargs)
    return await engine.tasks.wait_for(task.id, TASK_TERMINAL, 60)


async def logs(engine: Engine, task: Task) -> list[str]:
    return await engine.tasks.run_logs(task.last_runs[0].run_id)


def texts(lines: Iterable[str]) -> list[str]:
    return [line.split(" ", 3)[3] for line in lines]



async def eventually(check: Any, timeout: float = 15.0) -> None:
    """Wait until `check()` (a bool, or an awaitable of one) holds."""
    deadline = time.monotonic() + timeout
    while not await _value(check()):
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def _value(result: Any) -> Any:
    return await result if inspect.isawaitable(result) else result


async def _at_least(value: Any, least: int) -> bool:
    return bool(await value >= least)


async def _equals(value: Any, expected: Any) -> bool:
    return bool(await value == expected)


async def run_count(engine: Engine, task_id: str, status: str) -> int:
    return len(await engine.tasks.runs(task_id, status))


async def log_texts(engine: Engine, run_id: str) -> list[str]:
    return texts(await engine.tasks.run_logs(run_id))


@WARM_OR_COLD
async def test_a_start_is_recorded_before_user_code_and_its_process_once_let_go(tmp_path: Path,
                                                                              warm_start: bool) -> None:
    code = "import os, time\nprint(os.getpid(), os.getppid(), time.time())\ntime.sleep(1)\n"
    async with running_engine(tmp_path, warm_start=warm_start) as engine:
        orch = await orchestration(engine, {"main.py": code})
        seen: list[dict[str, Any]] = []
        engine.tasks.bus.subscribe(seen.append)
        task = await engine.tasks.create(ONESHOT, orch.workspace_id, orch.id, {}, until_started=True)
        run = task.last_runs[0]
        assert (task.status, run.status) == ("started", "running")  # answered once let go, not pending
        assert ("run", run.run_id, "running") in [(e["kind"], e["id"], e.get("status")) for e in seen]
        task = await engine.tasks.wait_for(task.id, TASK_TERMINAL, 60)
        pid, parent, printed_at = (await log_texts(engine, run.run_id))[0].split()
        (ended,) = await engine.tasks.runs(task.id)
        assert ended.started_at is not None and ended.started_at.timestamp() <= float(printed_at)
        (recorded,) = sql(database_url(tmp_path), "SELECT pid FROM runs WHERE id = :id", id=run.run_id)[0]
        # A warm run is its fork; a cold run's first process is its launcher, the code's parent.
        assert recorded == int(pid if warm_start else parent)


@WARM_OR_COLD
async def test_success_runs_in_a_private_copy_with_args_and_environment(tmp_path: Path, warm_start: bool) -> None:
    code = (
        "import json, os, sys\n"
        "from helper import VALUE\n"  # a sibling module of the entrypoint
        "print('args', json.load(open(os.environ['JUPYTER_ORCH_TASK_ARGS_FILE'])))\n"
        "print('csv', open('data/input.csv').read().strip())\n"  # relative to the zip root
        "for k in ('TASK_ID', 'RUN_ID', 'ORCH_ID', 'ORCH_SHA', 'ORCH_OWNER_ID', 'WALLAROO_TASK_ID',\n"
        "          'PYTHONUNBUFFERED'):\n"
        "    print(k, os.environ[k])\n"
        "print('cwd', os.getcwd())\n"
        "open('scratch.txt', 'w').write('mine')\n"
        "import wallaroo\n"
        "print('helper', VALUE, 'wallaroo', wallaroo.__name__)\n"
        "print('oops', file=sys.stderr)\n"
    )
    async with running_engine(tmp_path / "data", warm_start=warm_start) as engine:
        orch = await orchestration(engine, {
            "job/main.py": code, "job/helper.py": "VALUE = 42\n", "data/input.csv": "a,b",
        })
        created = await engine.tasks.create(ONESHOT, orch.workspace_id, orch.id, {"k": [1, 2]}, name="first")
        assert created.status in ("pending", "started") and created.run_type == "Oneshot"
        task = await engine.tasks.wait_for(created.id, TASK_TERMINAL, 60)
        assert task.status == "success", (await logs(engine, task))
        (run,) = await engine.tasks.runs(task.id)
        assert run.status == "success" and run.exit_code == 0 and run.error is None
        out = dict(t.split(" ", 1) for t in texts(line for line in (await logs(engine, task)) if " stdout " in line))
        assert out["args"] == "{'k': [1, 2]}" and out["csv"] == "a,b"
        assert out["TASK_ID"] == out["WALLAROO_TASK_ID"] == task.id and out["RUN_ID"] == run.run_id
        assert out["ORCH_ID"] == orch.id and out["ORCH_SHA"] == orch.sha and out["ORCH_OWNER_ID"] == "tester"
        assert out["PYTHONUNBUFFERED"] == "1" and out["helper"] == "42 wallaroo jupyter_orch.compat.wallaroo"
        assert task.extra_env_vars == {"TASK_ID": task.id, "ORCH_ID": orch.id, "ORCH_SHA": orch.sha,
                                       "ORCH_OWNER_ID": "tester"}
        # The run's copy is private and goes away; the unpacked orchestration is untouched.
        assert not Path(out["cwd"]).exists()
        assert not (engine.orchestrations.unpacked_path(orch.sha) / "scratch.txt").exists()
        lines = await logs(engine, task)
        assert any(line.split(" ")[1:3] == ["stderr", "F"] and line.endswith(" oops") for line in lines)


@WARM_OR_COLD
async def test_failure_keeps_the_traceback_summary_and_exit_code(tmp_path: Path, warm_start: bool) -> None:
    async with running_engine(tmp_path / "data", warm_start=warm_start) as engine:
        task = await run_once(engine, "print('before')\nx = 1 / 0\n")
        assert task.status == "failed"
        (run,) = await engine.tasks.runs(task.id)
        assert run.status == "failure" and run.exit_code == 1
        assert run.error == "ZeroDivisionError: division by zero"
        assert task.last_runs[0].status == "failure"
        exited = await run_once(engine, "import sys\nsys.exit(3)\n")
        assert exited.status == "failed"
        assert (await engine.tasks.runs(exited.id))[0].error == "exited with code 3"


@WARM_OR_COLD
async def test_timeout_stops_the_run(tmp_path: Path, warm_start: bool) -> None:
    async with running_engine(tmp_path / "data", kill_grace_seconds=1, warm_start=warm_start) as engine:
        start = time.monotonic()
        task = await run_once(engine, "import time\nprint('sleeping')\ntime.sleep(60)\n", timeout=1)
        assert time.monotonic() - start < 15
        assert task.status == "timed_out" and task.timeout == 1
        (run,) = await engine.tasks.runs(task.id)
        assert run.status == "timed_out" and run.error == "timed out after 1 s"
        assert any("timed out after 1 s" in line for line in (await logs(engine, task)))


@WARM_OR_COLD
async def test_kill_stops_the_run_and_every_child(tmp_path: Path, warm_start: bool) -> None:
    pid_file = tmp_path / "child.pid"
    code = (
        "import json, os, subprocess, sys, time\n"
        "args = json.load(open(os.environ['JUPYTER_ORCH_TASK_ARGS_FILE']))\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import signal, time;"
        " signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)'])\n"
        "open(args['pid_file'], 'w').write(str(child.pid))\n"
        "time.sleep(120)\n"
    )
    async with running_engine(tmp_path / "data", kill_grace_seconds=0.5, warm_start=warm_start) as engine:
        orch = await orchestration(engine, {"main.py": code})
        task = await engine.tasks.create(ONESHOT, orch.workspace_id, orch.id, {"pid_file": str(pid_file)})
        await eventually(lambda: pid_file.exists() and pid_file.read_text())
        child = int(pid_file.read_text())
        assert alive(child)
        answer = await engine.tasks.kill(task.id)
        assert answer.status == "pending_kill" and answer.killed
        task = await engine.tasks.wait_for(task.id, ("killed",), 30)
        assert task.status == "killed"
        (run,) = await engine.tasks.runs(task.id)
        assert run.status == "killed" and run.ended_at
        await eventually(lambda: not alive(child), 5)
        # Killing again, or killing a finished task, changes nothing.
        assert (await engine.tasks.kill(task.id)).status == "killed"
        done = await run_once(engine, "print(1)\n")
        assert (await engine.tasks.kill(done.id)).status == "success"


@WARM_OR_COLD
async def test_logs_keep_stream_time_order_and_are_capped(tmp_path: Path, warm_start: bool) -> None:
    code = (
        "import sys, time\n"
        "print('err first', file=sys.stderr)\n"
        "time.sleep(0.3)\n"
        "for i in range(120):\n"
        "    print(f'line {i}')\n"
        "raise RuntimeError('after all that')\n"
    )
    async with running_engine(tmp_path / "data", max_log_lines_per_run=50, warm_start=warm_start) as engine:
        task = await run_once(engine, "import sys\nprint('first')\nsys.stdout.write('no newline')\n")
        (run,) = await engine.tasks.runs(task.id)
        lines = (await logs(engine, task))
        assert texts(lines) == ["first", "no newline"] and run.log_lines == 2 and not run.log_truncated
        for line in lines:
            at, stream, tag, _ = line.split(" ", 3)
            assert stream == "stdout" and tag == "F"
            assert parse_time(run.started_at) <= parse_time(at) <= parse_time(run.ended_at)

        capped = await run_once(engine, code)
        (run,) = await engine.tasks.runs(capped.id)
        lines = (await logs(engine, capped))
        assert run.log_truncated and run.log_lines == 51 and len(lines) == 51
        assert "log truncated" in lines[-1] and "more than 50 lines" in lines[-1]
        assert lines[0].endswith("stderr F err first") and lines[1].endswith("stdout F line 0")
        assert lines[49].endswith("stdout F line 48")
        assert run.error == "RuntimeError: after all that"
        assert await engine.tasks.run_logs(run.run_id, 2) == lines[-2:]
        assert await engine.tasks.run_logs(run.run_id, 0) == []

        huge = await run_once(engine, "import sys\nsys.stdout.write('y' * 150000 + '\\nend\\n')\n")
        pieces = (await logs(engine, huge))
        assert [p.split(" ", 3)[2] for p in pieces] == ["P", "P", "F", "F"]
        assert "".join(texts(pieces)[:3]) == "y" * 150000 and texts(pieces)[3] == "end"


async def test_run_log_is_readable_while_running_and_published(tmp_path: Path) -> None:
    async with running_engine(tmp_path / "data") as engine:
        events: list[dict[str, Any]] = []
        engine.bus.subscribe(events.append)
        orch = await orchestration(engine, {"main.py": "import time\nprint('hello')\ntime.sleep(60)\n"})
        task = await engine.tasks.create(ONESHOT, orch.workspace_id, orch.id, {})
        await eventually(lambda: any(e["kind"] == "log" for e in events))
        run_id = (await engine.tasks.get(task.id)).last_runs[0].run_id
        await eventually(lambda: _equals(log_texts(engine, run_id), ["hello"]), 2)
        log = next(e for e in events if e["kind"] == "log")
        assert log["id"] == log["run_id"] == run_id and log["task_id"] == task.id
        (line,) = lines_of(log)  # the lines read in one loop turn make one event
        assert line["stream"] == "stdout" and line["text"] == "hello" and line["at"] and line["seq"] == 0
        assert (await engine.tasks.runs(task.id, "running"))[0].run_id == run_id
        await engine.tasks.kill(task.id)
        await engine.tasks.wait_for(task.id, ("killed",), 30)
        kinds = [(e["kind"], e.get("status")) for e in events if e["kind"] in ("task", "run")]
        assert kinds[:2] == [("task", "pending"), ("run", "pending")]
        assert ("run", "running") in kinds and ("task", "started") in kinds
        assert kinds[-3:] == [("task", "pending_kill"), ("run", "killed"), ("task", "killed")]


async def test_seconds_schedule_fires_on_time_and_records_each_fire(tmp_path: Path) -> None:
    async with running_engine(tmp_path / "data") as engine:
        orch = await orchestration(engine, {"main.py": "print('tick')\n"})
        task = await engine.tasks.create(CRONJOB, orch.workspace_id, orch.id, {}, schedule="*/2 * * * * *")
        assert task.status == "started" and task.run_type == "CronJob" and task.schedule == "*/2 * * * * *"
        first_due = parse_time(task.next_run_at)
        assert first_due.second % 2 == 0 and first_due.microsecond == 0
        await eventually(lambda: _at_least(run_count(engine, task.id, "success"), 2), 10)
        await engine.tasks.kill(task.id)
        task = await engine.tasks.wait_for(task.id, ("killed",), 10)
        assert task.next_run_at is None
        runs = await engine.tasks.runs(task.id)
        fires = sql(engine.store.url, "SELECT scheduled_at, run_id, outcome FROM fires WHERE task_id = :t"
                    " ORDER BY 1", t=task.id)
        assert parse_time(fires[0][0]) == first_due
        assert {f[1] for f in fires} == {r.run_id for r in runs}
        for run in runs:
            if run.started_at:
                lateness = (parse_time(run.started_at) - parse_time(run.scheduled_for)).total_seconds()
                assert 0 <= lateness < 1.0


async def test_a_fire_armed_ahead_runs_its_code_at_its_time_and_a_kill_before_that_leaves_it_unstarted(
        tmp_path: Path) -> None:
    async with running_engine(tmp_path / "data") as engine:
        orch = await orchestration(engine, {"main.py": "import time\nprint(time.time())\n"})
        task = await engine.tasks.create(CRONJOB, orch.workspace_id, orch.id, {}, schedule="@yearly")
        at, next_year = datetime.now(UTC) + timedelta(seconds=1), datetime.now(UTC) + timedelta(days=365)
        await engine.tasks.scheduler._fire(task.id, at, next_year, check_overlap=False)
        (armed,) = await engine.tasks.runs(task.id)
        assert armed.status == "pending" and armed.engine_id is not None  # claimed, its time not come
        (ran,) = await engine.tasks.wait_for_runs(task.id, "success", None, 1, 15)
        assert ran.started_at is not None and parse_time(ran.started_at) >= at
        assert float((await log_texts(engine, ran.run_id))[0]) >= at.timestamp()

        later = datetime.now(UTC) + timedelta(seconds=3)
        await engine.tasks.scheduler._fire(task.id, later, next_year, check_overlap=False)
        await engine.tasks.kill(task.id)
        await engine.tasks.wait_for(task.id, ("killed",), 10)
        killed = next(r for r in await engine.tasks.runs(task.id) if r.run_id != ran.run_id)
        assert (killed.status, killed.error, killed.started_at) == ("killed", "killed before it started", None)
        assert parse_time(killed.ended_at) < later and await log_texts(engine, killed.run_id) == []


async def test_overlapping_fires_are_skipped_by_default(tmp_path: Path) -> None:
    async with running_engine(tmp_path / "data") as engine:
        orch = await orchestration(engine, {"main.py": "import time\ntime.sleep(3.5)\n"})
        task = await engine.tasks.create(CRONJOB, orch.workspace_id, orch.id, {}, schedule="* * * * * *")

        def outcomes() -> list[str]:
            return [r[0] for r in sql(engine.store.url, "SELECT outcome FROM fires WHERE task_id = :t", t=task.id)]

        await eventually(lambda: outcomes().count("skipped_overlap") >= 2, 10)
        runs = await engine.tasks.runs(task.id)
        skipped = [r for r in runs if r.status == "skipped"]
        assert len(runs) - len(skipped) == outcomes().count("run") == 1  # the run list shows each skip
        assert len(skipped) == outcomes().count("skipped_overlap") and all(r.scheduled_for for r in skipped)
        assert "previous run was still running" in (skipped[0].error or "")
        assert len(await engine.tasks.runs(task.id, "skipped")) == len(skipped)
        await engine.tasks.kill(task.id)
        await engine.tasks.wait_for(task.id, ("killed",), 10)


async def test_fires_that_fall_in_an_event_loop_stall_follow_the_missed_fire_policy(tmp_path: Path) -> None:
    async with running_engine(tmp_path / "data") as engine:  # run_once: the latest runs, the rest missed
        orch = await orchestration(engine, {"main.py": "pass\n"})
        task = await engine.tasks.create(CRONJOB, orch.workspace_id, orch.id, {}, schedule="* * * * * *")
        await eventually(lambda: _at_least(run_count(engine, task.id, "success"), 1), 10)
        time.sleep(3.5)  # the engine shares this event loop: nothing fires while it is blocked
        await asyncio.sleep(1.5)
        await engine.tasks.kill(task.id)
        fires = sql(engine.store.url, "SELECT scheduled_at, outcome FROM fires WHERE task_id = :t ORDER BY 1",
                    t=task.id)
        outcomes = [f[1] for f in fires]
        assert outcomes.count("missed") >= 2, outcomes
        seconds = [parse_time(f[0]) for f in fires]
        assert all((b - a).total_seconds() == 1 for a, b in itertools.pairwise(seconds)), seconds  # none unseen


async def test_the_timer_looks_at_the_wall_clock_at_least_every_minute(tmp_path: Path) -> None:
    async with running_engine(tmp_path / "data") as engine:
        orch = await orchestration(engine, {"main.py": "pass\n"})
        await engine.tasks.create(CRONJOB, orch.workspace_id, orch.id, {}, schedule="@yearly")
        timer = engine.tasks.scheduler._timer
        assert timer is not None and timer.when() - asyncio.get_running_loop().time() <= 60


async def test_overlap_policy_queue_runs_one_behind_the_running_one(tmp_path: Path) -> None:
    async with running_engine(tmp_path / "data", overlap_policy="queue") as engine:
        orch = await orchestration(engine, {"main.py": "import time\ntime.sleep(2.5)\n"})
        task = await engine.tasks.create(CRONJOB, orch.workspace_id, orch.id, {}, schedule="* * * * * *")
        await eventually(lambda: _at_least(run_count(engine, task.id, "success"), 2), 15)
        runs = [r for r in reversed(await engine.tasks.runs(task.id)) if r.status != "skipped"]
        assert len(await engine.tasks.runs(task.id, "pending")) <= 1
        # The queued run starts when the one before it ends, never beside it.
        assert parse_time(runs[1].started_at) >= parse_time(runs[0].ended_at)
        await engine.tasks.kill(task.id)
        await engine.tasks.wait_for(task.id, ("killed",), 10)


def test_schedules_parse_the_tutorial_forms() -> None:

    noon = parse_schedule("0 0 12 1-15 2 2027")
    assert noon.next_after(datetime(2026, 12, 1, tzinfo=UTC)) == datetime(2027, 2, 1, 12, tzinfo=UTC)
    assert noon.next_after(datetime(2027, 2, 15, 12, tzinfo=UTC)) is None
    assert parse_schedule("0 0 12 1-15 2 2024").next_after(datetime.now(UTC)) is None
    assert parse_schedule("42 * * * *").next_after(datetime(2026, 1, 1, 10, 50, tzinfo=UTC)) == datetime(
        2026, 1, 1, 11, 42, tzinfo=UTC)
    every2 = parse_schedule("*/2 * * * * *")
    assert every2.next_after(datetime(2026, 1, 1, 0, 0, 2, 1, tzinfo=UTC)) == datetime(2026, 1, 1, 0, 0, 4, tzinfo=UTC)
    macros = {"@hourly": datetime(2026, 5, 5, 11, tzinfo=UTC), "@daily": datetime(2026, 5, 6, tzinfo=UTC),
              "@weekly": datetime(2026, 5, 10, tzinfo=UTC), "@monthly": datetime(2026, 6, 1, tzinfo=UTC),
              "@yearly": datetime(2027, 1, 1, tzinfo=UTC)}
    for macro, expected in macros.items():
        assert parse_schedule(macro).next_after(datetime(2026, 5, 5, 10, 30, tzinfo=UTC)) == expected
    for bad in ["", "* * *", "61 * * * *", "* * * * * * *", "@sometimes", "* * * * * 1900", 5, None]:
        with pytest.raises(Invalid):
            parse_schedule(bad)


async def test_an_ended_schedule_leaves_the_task_finished(tmp_path: Path) -> None:
    async with running_engine(tmp_path / "data") as engine:
        orch = await orchestration(engine, {"main.py": "print(1)\n"})
        task = await engine.tasks.create(CRONJOB, orch.workspace_id, orch.id, {}, schedule="0 0 12 1-15 2 2024")
        assert task.status == "success" and task.next_run_at is None and task.last_runs == []
        yearly = await engine.tasks.create(CRONJOB, orch.workspace_id, orch.id, {}, schedule="@yearly")
        assert yearly.status == "started" and parse_time(yearly.next_run_at).strftime("%m-%d %H:%M") == "01-01 00:00"
        # A schedule whose last fire falls now: it runs once, then the task is finished.
        soon = time.gmtime(time.time() + 2)
        last = f"{soon.tm_sec} {soon.tm_min} {soon.tm_hour} {soon.tm_mday} {soon.tm_mon} {soon.tm_year}"
        ending = await engine.tasks.create(CRONJOB, orch.workspace_id, orch.id, {}, schedule=last)
        ending = await engine.tasks.wait_for(ending.id, ("success",), 15)
        assert ending.status == "success" and ending.next_run_at is None
        assert [r.status for r in ending.last_runs] == ["success"]


async def test_continuous_task_restarts_with_backoff_until_killed(tmp_path: Path) -> None:
    async with running_engine(tmp_path / "data") as engine:
        orch = await orchestration(engine, {"main.py": "raise SystemExit('boom')\n"})
        task = await engine.tasks.create(SERVICE, orch.workspace_id, orch.id, {})
        assert task.run_type == "NetworkService" and task.status == "started"
        await eventually(lambda: _at_least(run_count(engine, task.id, "failure"), 3), 20)
        runs = list(reversed(await engine.tasks.runs(task.id)))
        gaps = [(parse_time(b.started_at) - parse_time(a.ended_at)).total_seconds()
                for a, b in itertools.pairwise(runs) if a.ended_at and b.started_at]
        assert gaps[0] >= 0.4 and gaps[1] >= 0.9  # 0.5 s, then 1 s, ...
        assert runs[0].error == "boom"
        await engine.tasks.kill(task.id)
        task = await engine.tasks.wait_for(task.id, ("killed",), 10)
        count = len(await engine.tasks.runs(task.id))
        await asyncio.sleep(2.5)
        assert len(await engine.tasks.runs(task.id)) == count


async def test_concurrency_limit_queues_runs_in_order(tmp_path: Path) -> None:
    async with running_engine(tmp_path / "data", max_concurrent_runs=1) as engine:
        orch = await orchestration(engine, {"main.py": "import time\ntime.sleep(1.5)\n"})
        first = await engine.tasks.create(ONESHOT, orch.workspace_id, orch.id, {})
        second = await engine.tasks.create(ONESHOT, orch.workspace_id, orch.id, {})
        await engine.tasks.wait_for(first.id, ("started",), 10)
        assert (await engine.tasks.get(second.id)).status == "pending"
        assert (await engine.tasks.get(second.id)).last_runs[0].status == "pending"
        first = await engine.tasks.wait_for(first.id, TASK_TERMINAL, 20)
        second = await engine.tasks.wait_for(second.id, TASK_TERMINAL, 20)
        (run1,), (run2,) = await engine.tasks.runs(first.id), await engine.tasks.runs(second.id)
        assert parse_time(run2.started_at) >= parse_time(run1.ended_at)


async def test_runs_queued_at_once_never_exceed_the_limit(tmp_path: Path) -> None:
    """Creating a task claims in its own store trip, beside the runner's own claims: slots
    reserved by claims under way keep them from taking more than there are."""
    async with running_engine(tmp_path / "data", max_concurrent_runs=2) as engine:
        orch = await orchestration(engine, {"main.py": "import time\ntime.sleep(0.3)\n"})
        tasks = await asyncio.gather(*(engine.tasks.create(ONESHOT, orch.workspace_id, orch.id, {})
                                       for _ in range(8)))
        for task in tasks:
            assert (await engine.tasks.wait_for(task.id, TASK_TERMINAL, 30)).status == "success"
        runs = [run for task in tasks for run in await engine.tasks.runs(task.id)]
        spans = [(parse_time(r.started_at), parse_time(r.ended_at)) for r in runs]
        most = max(sum(start <= at < end for start, end in spans) for at, _ in spans)
        assert len(runs) == 8 and most == 2


async def test_domain_rules_refuse_bad_tasks_and_create_nothing(tmp_path: Path) -> None:
    """Malformed values are refused by the server's request models (tests/api); the engine
    refuses what only it can know."""
    async with running_engine(tmp_path / "data") as engine:
        orch = await orchestration(engine, {"main.py": "print(1)\n"})
        wid, oid = orch.workspace_id, orch.id
        cases: list[tuple[type[Exception], dict[str, Any]]] = [
            (NotFound, {"orch_id": "8e0f7c3c-8d7a-4e43-9c39-0f3bb1e9c7a1"}),
            (NotFound, {"workspace_id": 999}),
        ]
        for error, override in cases:
            fields = {"workspace_id": wid, "orch_id": oid, "args": {}, **override}
            with pytest.raises(error):
                await engine.tasks.create(ONESHOT, **fields)
        with pytest.raises(Invalid):
            await engine.tasks.create(CRONJOB, wid, oid, {}, schedule="every tuesday")
        sql(engine.store.url, "UPDATE orchestrations SET status = 'packaging' WHERE id = :o", o=oid)
        with pytest.raises(Conflict, match="packaging, not ready"):
            await engine.tasks.create(ONESHOT, wid, oid, {})
        assert await engine.tasks.list() == []


@pytest.mark.parametrize(("policy", "expected"), [("run_once", 1), ("skip", 0), ("run_all", 4)])
async def test_missed_fires_follow_the_policy_after_a_restart(tmp_path: Path, policy: str, expected: int) -> None:
    data = tmp_path / "data"
    async with running_engine(data) as engine:
        orch = await orchestration(engine, {"main.py": "print('ran')\n"})
        task = await engine.tasks.create(CRONJOB, orch.workspace_id, orch.id, {}, schedule="@hourly")
    # As if the server had been down since 3 hours before the last full hour: 4 fires missed.
    # The figures hold only while no full hour passes during the test, so it does not start just before one.
    if (to_the_hour := 3600 - time.time() % 3600) < HOUR_CHANGE_MARGIN_S:
        await asyncio.sleep(to_the_hour + 1)
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    missed_since = iso(hour - timedelta(hours=3))
    sql(database_url(data), "UPDATE tasks SET next_run_at = :at", at=missed_since)
    async with running_engine(data, missed_fire_policy=policy) as engine:
        await eventually(lambda: _equals(run_count(engine, task.id, "success"), expected), 20)
        task = await engine.tasks.get(task.id)
        assert task.status == "started" and parse_time(task.next_run_at) == hour + timedelta(hours=1)
        if policy == "run_once":
            assert (await engine.tasks.runs(task.id))[0].scheduled_for == hour
    # Starting again over the same missed fires does not run a recorded fire twice.
    sql(database_url(data), "UPDATE tasks SET next_run_at = :at", at=missed_since)
    async with running_engine(data, missed_fire_policy=policy) as engine:
        await asyncio.sleep(1)
        assert len(await engine.tasks.runs(task.id)) == expected


@WARM_OR_COLD
async def test_restart_fails_orphaned_runs_and_kills_their_processes(tmp_path: Path, warm_start: bool) -> None:
    data = tmp_path / "data"
    async with running_engine(data, warm_start=warm_start) as engine:
        orch = await orchestration(engine, {"main.py": "print(1)\n"})
        task = await engine.tasks.create(ONESHOT, orch.workspace_id, orch.id, {})
        await engine.tasks.wait_for(task.id, TASK_TERMINAL, 30)
    run_id = "5b0c1f9e-0000-4000-8000-000000000001"
    # What a server killed mid-run leaves behind: a run row `running`, its process group alive.
    orphan = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                              env={**os.environ, "RUN_ID": run_id}, start_new_session=True)
    url = database_url(data)
    sql(url, "UPDATE tasks SET status = 'started' WHERE id = :t", t=task.id)
    sql(url, "INSERT INTO runs (id, task_id, number, status, pid, log_lines, log_truncated, created_at, updated_at,"
             " started_at) VALUES (:r, :t, 2, 'running', :pid, 0, false, :at, :at, :at)",
        r=run_id, t=task.id, pid=orphan.pid, at=iso(datetime(2030, 1, 1, tzinfo=UTC)))
    try:
        async with running_engine(data, warm_start=warm_start) as engine:
            assert orphan.wait(10) == -signal.SIGKILL
            run = await engine.store.call(engine.tasks.records.get_run, run_id)
            assert run.status == "failure" and "server restarted" in (run.error or "")
            assert "the server restarted while this run was running" in (await engine.tasks.run_logs(run_id))[-1]
            assert (await engine.tasks.get(task.id)).status == "failed"
    finally:
        if orphan.poll() is None:
            orphan.kill()


async def test_a_restart_settles_the_tasks_whose_runs_ended_just_before_the_crash(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with running_engine(data) as engine:
        orch = await orchestration(engine, {"main.py": "print(1)\n"})
        failing = await orchestration(engine, {"main.py": "raise SystemExit(3)\n"})
        done = await engine.tasks.create(ONESHOT, orch.workspace_id, orch.id, {})
        retried = await engine.tasks.create(ONESHOT, orch.workspace_id, failing.id, {}, max_retries=1, retry_delay=0)
        await engine.tasks.wait_for(done.id, TASK_TERMINAL, 30)
        await engine.tasks.wait_for(retried.id, TASK_TERMINAL, 30)
    # What an engine killed right after recording its runs' ends leaves: the runs ended, the
    # tasks still started, the first run's retry never queued, the engine's row.
    url = database_url(data)
    sql(url, "DELETE FROM runs WHERE task_id = :t AND number > 1", t=retried.id)
    sql(url, "UPDATE tasks SET status = 'started'")
    sql(url, "INSERT INTO engines (id, host, pid, started_at, expires_at) VALUES ('gone', 'h', 1, :at, :at)",
        at=iso(datetime(2020, 1, 1, tzinfo=UTC)))
    sql(url, "UPDATE runs SET engine_id = 'gone'")
    async with running_engine(data) as engine:
        assert (await engine.tasks.get(done.id)).status == "success"
        assert (await engine.tasks.wait_for(retried.id, TASK_TERMINAL, 30)).status == "failed"
        attempts = sorted((r.attempt, r.status) for r in await engine.tasks.runs(retried.id))
        assert attempts == [(1, "failure"), (2, "failure")]


async def test_a_kill_while_the_engine_holding_the_run_is_dead_ends_the_run_when_it_is_recovered(
        tmp_path: Path) -> None:
    async with running_engine(tmp_path / "data") as engine:
        orch = await orchestration(engine, {"main.py": "print('never')\n"})
        task = await engine.tasks.create(CRONJOB, orch.workspace_id, orch.id, {}, schedule="@yearly")
        records, gone = engine.tasks.records, Leases(engine.store, "gone", 0.0)
        await engine.store.call(gone.register, None)

        def queue_for_the_gone_engine() -> str:
            with engine.store.write():  # one transaction: this engine cannot claim it first
                run_id = records.insert_run(task.id)
                assert records.claim_runs("gone", 1) == [(run_id, task.id)]
            return run_id

        run_id = await engine.store.call(queue_for_the_gone_engine)
        assert (await engine.tasks.kill(task.id)).status == "pending_kill"  # no engine stops it yet
        assert await engine.tasks.recover_dead() == 1
        run = await engine.store.call(records.get_run, run_id)
        assert (run.status, run.error, run.started_at) == ("killed", "killed before it started", None)
        assert (await engine.tasks.get(task.id)).status == "killed"


@WARM_OR_COLD
async def test_stop_kills_running_runs_and_keeps_queued_ones(tmp_path: Path, warm_start: bool) -> None:
    data = tmp_path / "data"
    async with running_engine(data, max_concurrent_runs=1, warm_start=warm_start) as engine:
        orch = await orchestration(engine, {"main.py": "import time\nprint('up')\ntime.sleep(60)\n"})
        first = await engine.tasks.create(ONESHOT, orch.workspace_id, orch.id, {})
        second = await engine.tasks.create(ONESHOT, orch.workspace_id, orch.id, {})
        await engine.tasks.wait_for(first.id, ("started",), 10)
        start = time.monotonic()
    assert time.monotonic() - start < 10
    statuses = dict(sql(database_url(data), "SELECT task_id, status FROM runs"))
    assert statuses == {first.id: "failure", second.id: "pending"}
    async with running_engine(data, max_concurrent_runs=1, warm_start=warm_start) as engine:
        assert (await engine.tasks.get(first.id)).status == "failed"
        assert (await engine.tasks.wait_for(second.id, ("started",), 10)).status == "started"
        await engine.tasks.kill(second.id)
        assert (await engine.tasks.wait_for(second.id, ("killed",), 10)).status == "killed"


async def test_list_filters_and_sha_lookup(tmp_path: Path) -> None:
    async with running_engine(tmp_path / "data") as engine:
        a = await orchestration(engine, {"main.py": "print('a')\n"})
        b = await orchestration(engine, {"main.py": "print('b')\n"}, workspace="other")
        t1 = await engine.tasks.create(ONESHOT, a.workspace_id, a.id, {})
        t2 = await engine.tasks.create(CRONJOB, b.workspace_id, b.id, {"x": 1}, schedule="@daily")
        await engine.tasks.kill(t2.id)
        assert [t.id for t in await engine.tasks.list()] == [t1.id, t2.id]
        assert [t.id for t in await engine.tasks.list(workspace_id=b.workspace_id)] == [t2.id]
        assert [t.id for t in await engine.tasks.list(orch_id=a.id)] == [t1.id]
        assert [t.id for t in await engine.tasks.list(killed=True)] == [t2.id]
        assert [t.id for t in await engine.tasks.list(killed=False)] == [t1.id]
        assert await engine.tasks.ids_by_orch_sha(b.sha.upper()) == [t2.id]
        await engine.tasks.wait_for(t1.id, TASK_TERMINAL, 30)
