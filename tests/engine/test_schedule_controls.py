"""Schedule controls against a real engine: time zones across both 2026 daylight saving changes
(the scheduler driven by a fake clock), pause and resume, edits, end dates, run caps, the
next-fires preview, run-now with overrides and re-runs."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from jupyter_orch.engine import Conflict, Engine, Invalid
from jupyter_orch.engine.tasks.records import CRONJOB, ONESHOT, RUN_ENDED, SERVICE, Run
from jupyter_orch.engine.tasks.schedules import parse_schedule
from jupyter_orch.engine.timeutil import parse_time, utcnow
from tests.engine.test_tasks_engine import _at_least, eventually, orchestration, run_count
from tests.support.databases import sql
from tests.support.engine import running_engine

PARIS = ZoneInfo("Europe/Paris")
# 2026 in Paris: 29 March 02:00 CET -> 03:00 CEST; 25 October 03:00 CEST -> 02:00 CET.
SPRING = datetime(2026, 3, 27, tzinfo=PARIS), datetime(2026, 4, 1, tzinfo=PARIS)
AUTUMN = datetime(2026, 10, 23, tzinfo=PARIS), datetime(2026, 10, 28, tzinfo=PARIS)


async def fires_with_a_fake_clock(engine: Engine, schedule: str, since: datetime, until: datetime) -> list[datetime]:
    """Make a Paris task of `schedule`, then let the real scheduler handle every fire from
    `since` with its clock at `until` (as after a sleep: it walks each fire time and records
    each one in `fires`); answer the recorded fire times."""
    orch = await orchestration(engine, {"main.py": "pass\n"})
    task = await engine.tasks.create(CRONJOB, orch.workspace_id, orch.id, {}, schedule=schedule, tz="Europe/Paris")
    parsed = parse_schedule(schedule, "Europe/Paris")
    first = parsed.next_after(since.astimezone(UTC))
    assert first is not None
    await engine.tasks.scheduler._catch_up(task.id, parsed, first, until.astimezone(UTC))
    await engine.tasks.kill(task.id)
    rows = sql(engine.store.url, "SELECT scheduled_at FROM fires WHERE task_id = :t ORDER BY 1", t=task.id)
    return [parse_time(r[0]) for r in rows]


def local_days(fires: list[datetime]) -> Counter[str]:
    return Counter(at.astimezone(PARIS).strftime("%m-%d") for at in fires)


@pytest.mark.parametrize("since, until", [SPRING, AUTUMN], ids=["spring", "autumn"])
async def test_a_daily_time_fires_once_a_day_across_the_change(tmp_path: Path, since: datetime,
                                                              until: datetime) -> None:
    async with running_engine(tmp_path / "data", missed_fire_policy="run_all") as engine:
        fires = await fires_with_a_fake_clock(engine, "30 2 * * *", since, until)
    assert list(local_days(fires).values()) == [1] * 5, fires  # no day doubled, none missing
    walls = [at.astimezone(PARIS).strftime("%H:%M") for at in fires]
    if since == SPRING[0]:  # 02:30 does not exist on 29 March: it fires at the change, 03:00 CEST
        assert walls == ["02:30", "02:30", "03:00", "02:30", "02:30"]
        assert fires[2] == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    else:  # 02:30 happens twice on 25 October: the first pass only (CEST, 00:30 UTC)
        assert walls == ["02:30"] * 5 and fires[2] == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize("since, until, hours", [(*SPRING, 23), (*AUTUMN, 25)], ids=["spring", "autumn"])
async def test_an_hourly_schedule_keeps_real_hours_across_the_change(tmp_path: Path, since: datetime,
                                                                     until: datetime, hours: int) -> None:
    async with running_engine(tmp_path / "data") as engine:  # run_once: the rest recorded as missed
        fires = await fires_with_a_fake_clock(engine, "0 * * * *", since, until)
    change_day = "03-29" if since == SPRING[0] else "10-25"
    assert local_days(fires)[change_day] == hours
    assert all(b - a == timedelta(hours=1) for a, b in itertools.pairwise(fires)), fires


def test_utc_stays_the_default_and_bad_zones_are_refused() -> None:
    assert parse_schedule("0 9 * * *").next_after(datetime(2026, 7, 1, tzinfo=UTC)) == datetime(
        2026, 7, 1, 9, tzinfo=UTC)
    assert parse_schedule("0 9 * * *", "Europe/Paris").next_after(datetime(2026, 7, 1, tzinfo=UTC)) == datetime(
        2026, 7, 1, 7, tzinfo=UTC)
    assert parse_schedule("0 9 * * *", "America/New_York").next_after(
        datetime(2026, 12, 1, tzinfo=UTC)) == datetime(2026, 12, 1, 14, tzinfo=UTC)
    for bad in ("Mars/Olympus", "", "../etc/passwd"):
        with pytest.raises(Invalid, match="IANA time zone"):
            parse_schedule("0 9 * * *", bad)


async def test_pause_stops_fires_and_resume_starts_them_from_now(tmp_path: Path) -> None:
    async with running_engine(tmp_path / "data") as engine:
        orch = await orchestration(engine, {"main.py": "pass\n"})
        task = await engine.tasks.create(CRONJOB, orch.workspace_id, orch.id, {}, schedule="* * * * * *")
        await eventually(lambda: _at_least(run_count(engine, task.id, "success"), 1), 10)
        paused = await engine.tasks.pause(task.id, True)
        assert paused.status == "paused" and paused.next_run_at is None
        assert (await engine.tasks.pause(task.id, True)).status == "paused"  # twice: no change
        fired = len(await engine.tasks.runs(task.id))
        await asyncio.sleep(2.5)
        assert len(await engine.tasks.runs(task.id)) == fired
        assert [at.microsecond for at in await engine.tasks.next_fires(task.id, 3)] == [0, 0, 0]
        resumed = await engine.tasks.pause(task.id, False)
        assert resumed.status == "started" and parse_time(resumed.next_run_at) > utcnow()
        await eventually(lambda: _at_least(run_count(engine, task.id, "success"), fired + 1), 10)
        killed = await engine.tasks.kill(task.id)
        assert killed.status in ("pending_kill", "killed")
        with pytest.raises(Conflict, match="cannot be paused"):
            await engine.tasks.pause(task.id, False)
        once = await engine.tasks.create(ONESHOT, orch.workspace_id, orch.id, {})
        with pytest.raises(Invalid, match="only scheduled tasks"):
            await engine.tasks.pause(once.id, True)


async def test_an_edit_keeps_the_task_and_its_runs(tmp_path: Path) -> None:
    async with running_engine(tmp_path / "data") as engine:
        orch = await orchestration(engine, {"main.py": "import json, os\n"
                                            "print(json.load(open(os.environ['JUPYTER_ORCH_TASK_ARGS_FILE'])))\n"})
        task = await engine.tasks.create(CRONJOB, orch.workspace_id, orch.id, {"v": 1}, schedule="* * * * * *")
        await eventually(lambda: _at_least(run_count(engine, task.id, "success"), 1), 10)
        edited = await engine.tasks.update_schedule(
            task.id, {"schedule": "*/2 * * * * *", "json": {"v": 2}, "timeout": 30, "tz": "Asia/Tokyo"})
        assert (edited.id, edited.schedule, edited.input_data, edited.timeout, edited.tz) == (
            task.id, "*/2 * * * * *", {"v": 2}, 30, "Asia/Tokyo")
        assert parse_time(edited.next_run_at).second % 2 == 0
        before = len(await engine.tasks.runs(task.id))
        await eventually(lambda: _at_least(run_count(engine, task.id, "success"), before + 1), 10)
        newest = (await engine.tasks.runs(task.id, "success"))[0]
        assert any("{'v': 2}" in line for line in await engine.tasks.run_logs(newest.run_id))
        assert parse_time(newest.scheduled_for).second % 2 == 0
        with pytest.raises(Invalid):
            await engine.tasks.update_schedule(task.id, {"schedule": "61 * * * *"})
        with pytest.raises(Invalid, match="IANA"):
            await engine.tasks.update_schedule(task.id, {"tz": "Nowhere/Land"})
        assert (await engine.tasks.get(task.id)).schedule == "*/2 * * * * *"  # a refused edit changes nothing
        await engine.tasks.kill(task.id)


async def test_max_runs_and_end_date_end_the_schedule(tmp_path: Path) -> None:
    async with running_engine(tmp_path / "data") as engine:
        orch = await orchestration(engine, {"main.py": "pass\n"})
        capped = await engine.tasks.create(CRONJOB, orch.workspace_id, orch.id, {}, schedule="* * * * * *", max_runs=2)
        assert capped.max_runs == 2 and len(await engine.tasks.next_fires(capped.id, 10)) == 2
        capped = await engine.tasks.wait_for(capped.id, ("success",), 15)
        assert capped.next_run_at is None and [r.status for r in capped.last_runs] == ["success", "success"]
        end = utcnow() + timedelta(seconds=2.5)
        ending = await engine.tasks.create(CRONJOB, orch.workspace_id, orch.id, {}, schedule="* * * * * *",
                                           end_date=end)
        assert all(at <= end for at in await engine.tasks.next_fires(ending.id, 10))
        ending = await engine.tasks.wait_for(ending.id, ("success",), 15)
        assert ending.next_run_at is None and 1 <= len(ending.last_runs) <= 3
        assert all(parse_time(r.scheduled_for) <= end for r in await engine.tasks.runs(ending.id))
        # An end date without an offset is on the schedule's own wall clock.
        paris = await engine.tasks.create(CRONJOB, orch.workspace_id, orch.id, {}, schedule="@daily",
                                          tz="Europe/Paris", end_date=datetime(2099, 7, 1))
        assert paris.end_date == datetime(2099, 6, 30, 22, tzinfo=UTC)
        await engine.tasks.kill(paris.id)
        with pytest.raises(Invalid, match="scheduled tasks"):
            await engine.tasks.create(ONESHOT, orch.workspace_id, orch.id, {}, max_runs=1)


async def test_a_fire_armed_ahead_of_its_time_is_still_among_the_next_fires(tmp_path: Path) -> None:
    """A fire is recorded (and counted against `max_runs`) `FIRE_LEAD` before its time: until
    then it is still a next fire, and the cap still allows the fires after it."""
    async with running_engine(tmp_path / "data") as engine:
        orch = await orchestration(engine, {"main.py": "pass\n"})
        task = await engine.tasks.create(CRONJOB, orch.workspace_id, orch.id, {}, schedule="* * * * * *", max_runs=3)
        for _ in range(3):  # each try catches one fire in its lead; a slow read may miss its time
            armed, earlier = None, 0
            async with asyncio.timeout(10):
                while armed is None:
                    fired = sorted(parse_time(r.scheduled_for) for r in await engine.tasks.runs(task.id)
                                   if r.scheduled_for)
                    armed = fired[-1] if fired and fired[-1] > utcnow() else None
                    earlier = len(fired) - 1
                    await asyncio.sleep(0.002)
            fires = await engine.tasks.next_fires(task.id, 3)
            if utcnow() < armed:
                assert fires == [armed + timedelta(seconds=n) for n in range(3 - earlier)]
                break
        else:
            pytest.fail("no fire was read within its lead")
        await engine.tasks.kill(task.id)


ECHO_ARGS = ("import json, os, time\n"
             "args = json.load(open(os.environ['JUPYTER_ORCH_TASK_ARGS_FILE']))\n"
             "time.sleep(args.get('sleep', 0))\n"
             "print('args', json.dumps(args, sort_keys=True))\n")


async def ended_run(engine: Engine, run_id: str) -> Run:
    async def done() -> bool:
        return (await engine.store.call(engine.tasks.records.get_run, run_id)).status in RUN_ENDED

    await eventually(done, 30)
    return await engine.store.call(engine.tasks.records.get_run, run_id)


async def test_run_now_overrides_one_run_and_a_rerun_repeats_what_it_ran_with(tmp_path: Path) -> None:
    async with running_engine(tmp_path / "data") as engine:
        orch = await orchestration(engine, {"main.py": ECHO_ARGS})
        task = await engine.tasks.create(CRONJOB, orch.workspace_id, orch.id, {"v": 1}, timeout=30, schedule="@yearly")
        override = await ended_run(engine, (await engine.tasks.run_now(task.id, {"v": 9}, 20)).run_id)
        assert (override.status, override.input_data, override.timeout) == ("success", {"v": 9}, 20)
        assert 'args {"v": 9}' in " ".join(await engine.tasks.run_logs(override.run_id))
        plain = await ended_run(engine, (await engine.tasks.run_now(task.id)).run_id)
        assert (plain.input_data, plain.timeout) == ({"v": 1}, 30)  # the task's own
        assert (await engine.tasks.get(task.id)).input_data == {"v": 1}  # the override was for that run only
        short = await ended_run(engine, (await engine.tasks.run_now(task.id, {"sleep": 30}, 0.5)).run_id)
        assert short.status == "timed_out"

        await engine.tasks.update_schedule(task.id, {"json": {"v": 2}})
        again = await ended_run(engine, (await engine.tasks.rerun(override.run_id)).run_id)
        assert (again.input_data, again.timeout, again.rerun_of) == ({"v": 9}, 20, override.run_id)
        assert 'args {"v": 9}' in " ".join(await engine.tasks.run_logs(again.run_id))
        assert (await engine.tasks.get(task.id)).status == "started"

        once = await engine.tasks.create(ONESHOT, orch.workspace_id, orch.id, {"v": 3})
        once = await engine.tasks.wait_for(once.id, ("success",), 30)
        rerun = await engine.tasks.rerun(once.last_runs[0].run_id)
        assert (await ended_run(engine, rerun.run_id)).input_data == {"v": 3}
        once = await engine.tasks.wait_for(once.id, ("success",), 30)
        assert [r.status for r in once.last_runs] == ["success", "success"]

        with pytest.raises(Invalid, match="run now is for scheduled tasks"):
            await engine.tasks.run_now(once.id)
        busy = await engine.tasks.run_now(task.id, {"sleep": 30})
        await eventually(lambda: _is_running(engine, busy.run_id), 15)
        with pytest.raises(Conflict, match="only a finished run"):
            await engine.tasks.rerun(busy.run_id)
        await engine.tasks.kill(task.id)
        with pytest.raises(Conflict, match="was killed"):
            await engine.tasks.rerun(override.run_id)


async def _is_running(engine: Engine, run_id: str) -> bool:
    return (await engine.store.call(engine.tasks.records.get_run, run_id)).status == "running"


FLAKY = ("import os, sys\n"
         "from pathlib import Path\n"
         "marker = Path(os.environ['MARKER_DIR']) / os.environ['TASK_ID']\n"
         "tries = int(marker.read_text()) + 1 if marker.exists() else 1\n"
         "marker.write_text(str(tries))\n"
         "print('try', tries)\n"
         "sys.exit(0 if tries >= int(os.environ.get('PASS_ON', '99')) else 1)\n")


async def test_failed_runs_are_retried_with_backoff_as_linked_runs(tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    async with running_engine(tmp_path / "data", run_env={"MARKER_DIR": str(markers)}) as engine:
        orch = await orchestration(engine, {"main.py": FLAKY})
        task = await engine.tasks.create(ONESHOT, orch.workspace_id, orch.id, {}, max_retries=2, retry_delay=0.3)
        task = await engine.tasks.wait_for(task.id, ("failed",), 30)
        runs = list(reversed(await engine.tasks.runs(task.id)))
        assert [(r.attempt, r.status) for r in runs] == [(1, "failure"), (2, "failure"), (3, "failure")]
        assert [r.retry_of for r in runs] == [None, runs[0].run_id, runs[1].run_id]
        waits = [(parse_time(b.started_at) - parse_time(a.ended_at)).total_seconds()
                 for a, b in itertools.pairwise(runs)]
        assert waits[0] >= 0.3 and waits[1] >= 0.6, waits  # the delay doubles (jitter only adds)
        assert task.last_runs[0].attempt == 3 and (task.max_retries, task.retry_delay) == (2, 0.3)
        with pytest.raises(Invalid, match="continuous"):
            await engine.tasks.create(SERVICE, orch.workspace_id, orch.id, {}, max_retries=1)


async def test_a_retry_that_succeeds_ends_the_task_in_success(tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    env = {"MARKER_DIR": str(markers), "PASS_ON": "2"}
    async with running_engine(tmp_path / "data", run_env=env) as engine:
        orch = await orchestration(engine, {"main.py": FLAKY})
        task = await engine.tasks.create(ONESHOT, orch.workspace_id, orch.id, {}, max_retries=3, retry_delay=0.1)
        task = await engine.tasks.wait_for(task.id, ("success", "failed"), 30)
        assert task.status == "success"
        assert [(r.attempt, r.status) for r in reversed(task.last_runs)] == [(1, "failure"), (2, "success")]
