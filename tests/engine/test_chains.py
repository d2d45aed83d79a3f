"""Task chains against a real engine, on each database backend: a run's end starts its task's
on_success / on_failure follow-up with the run's id in its arguments, a retried run chains only
on its final outcome, loops are refused without a change, and a follow-up starts once however
many times its run's end is handled."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from jupyter_orch.constants import TASK_TERMINAL, UPSTREAM_RUN_KEY
from jupyter_orch.engine import Engine, Invalid
from jupyter_orch.engine.tasks.chains import follow_up_task
from jupyter_orch.engine.tasks.records import CRONJOB, ONESHOT, Task
from tests.engine.test_tasks_engine import _at_least, eventually, log_texts, orchestration
from tests.support.engine import running_engine

PRINT_ARGS = "import json, os\nprint('args', json.load(open(os.environ['JUPYTER_ORCH_TASK_ARGS_FILE'])))\n"


async def count_tasks(engine: Engine, orch_id: str) -> int:
    return len(await engine.tasks.list(orch_id=orch_id))


async def follow_up_of(engine: Engine, task: Task) -> Task:
    (run,) = await engine.tasks.runs(task.id)
    assert run.follow_up_task_id is not None
    return await engine.tasks.wait_for(run.follow_up_task_id, TASK_TERMINAL, 60)


async def test_a_success_starts_on_success_with_the_upstream_run_id(tmp_path: Path) -> None:
    async with running_engine(tmp_path / "data") as engine:
        upstream = await orchestration(engine, {"main.py": "print('upstream')\n"})
        downstream = await orchestration(engine, {"main.py": PRINT_ARGS})
        failure = await orchestration(engine, {"main.py": "print('never')\n"})
        task = await engine.tasks.create(
            ONESHOT, upstream.workspace_id, upstream.id, {},
            on_success={"orch_id": downstream.id, "name": "then", "json": {"rows": 3}},
            on_failure={"orch_id": failure.id},
        )
        task = await engine.tasks.wait_for(task.id, TASK_TERMINAL, 60)
        assert task.status == "success" and task.on_success is not None
        assert task.on_success["orch_id"] == downstream.id and task.on_success["workspace_id"] == task.workspace_id
        (run,) = await engine.tasks.runs(task.id)
        follow = await follow_up_of(engine, task)
        assert follow.status == "success" and follow.name == "then" and follow.orch_id == downstream.id
        assert follow.upstream_run_id == run.run_id and follow.run_type == ONESHOT
        assert follow.input_data == {"rows": 3, UPSTREAM_RUN_KEY: run.run_id}
        (follow_run,) = await engine.tasks.runs(follow.id)
        assert f"args {{'rows': 3, '{UPSTREAM_RUN_KEY}': '{run.run_id}'}}" in await log_texts(engine, follow_run.run_id)
        assert await engine.tasks.list(orch_id=failure.id) == []


async def test_a_retried_run_chains_only_on_its_final_failure(tmp_path: Path) -> None:
    async with running_engine(tmp_path / "data") as engine:
        failing = await orchestration(engine, {"main.py": "raise SystemExit(3)\n"})
        cleanup = await orchestration(engine, {"main.py": PRINT_ARGS})
        task = await engine.tasks.create(ONESHOT, failing.workspace_id, failing.id, {}, max_retries=1,
                                         retry_delay=0.1, on_failure={"orch_id": cleanup.id})
        task = await engine.tasks.wait_for(task.id, ("failed",), 60)
        first, final = reversed(await engine.tasks.runs(task.id))
        assert (first.attempt, final.attempt) == (1, 2) and first.follow_up_task_id is None
        (follow,) = await engine.tasks.list(orch_id=cleanup.id)
        assert final.follow_up_task_id == follow.id and follow.input_data == {UPSTREAM_RUN_KEY: final.run_id}


async def test_each_run_of_a_schedule_starts_its_own_follow_up(tmp_path: Path) -> None:
    async with running_engine(tmp_path / "data") as engine:
        job = await orchestration(engine, {"main.py": "pass\n"})
        then = await orchestration(engine, {"main.py": "pass\n"})
        task = await engine.tasks.create(CRONJOB, job.workspace_id, job.id, {}, schedule="@yearly",
                                         on_success={"orch_id": then.id})
        runs = [await engine.tasks.run_now(task.id) for _ in range(2)]
        await eventually(lambda: _at_least(count_tasks(engine, then.id), 2), 60)
        follows = await engine.tasks.list(orch_id=then.id)
        assert sorted(f.upstream_run_id or "" for f in follows) == sorted(r.run_id for r in runs)


async def test_loops_are_refused_and_change_nothing(tmp_path: Path) -> None:
    async with running_engine(tmp_path / "data") as engine:
        a = await orchestration(engine, {"main.py": "pass\n"})
        b = await orchestration(engine, {"main.py": "pass\n"})
        c = await orchestration(engine, {"main.py": "pass\n"})
        other = await orchestration(engine, {"main.py": "pass\n"}, workspace="elsewhere")
        wid = a.workspace_id
        with pytest.raises(Invalid, match="loop"):  # A -> A
            await engine.tasks.create(ONESHOT, wid, a.id, {}, on_failure={"orch_id": a.id})
        with pytest.raises(Invalid, match=f"loop through orchestrations {a.id} -> {b.id} -> {a.id}"):
            await engine.tasks.create(ONESHOT, wid, a.id, {},
                                      on_success={"orch_id": b.id, "on_failure": {"orch_id": a.id}})
        with pytest.raises(Invalid, match="workspace"):
            await engine.tasks.create(ONESHOT, wid, a.id, {}, on_success={"orch_id": other.id})
        existing = await engine.tasks.create(CRONJOB, wid, a.id, {}, schedule="@yearly",
                                             on_success={"orch_id": b.id})
        before = len(await engine.tasks.list())
        with pytest.raises(Invalid, match="loop"):  # B -> A closes A -> B of the existing task
            await engine.tasks.create(CRONJOB, wid, b.id, {}, schedule="@yearly", on_success={"orch_id": a.id})
        chained = await engine.tasks.create(CRONJOB, wid, b.id, {}, schedule="@yearly", on_success={"orch_id": c.id})
        with pytest.raises(Invalid, match="loop"):  # C -> A, through both existing tasks
            await engine.tasks.update_chain(chained.id, {"on_failure": {"orch_id": c.id,
                                                                        "on_success": {"orch_id": a.id}}})
        assert (await engine.tasks.get(chained.id)).on_failure is None
        assert len(await engine.tasks.list()) == before + 1
        # Replacing a task's own chain is no loop with its old one; a killed task's chain counts no more.
        edited = await engine.tasks.update_chain(existing.id, {"on_success": {"orch_id": c.id}})
        assert edited.on_success is not None and edited.on_success["orch_id"] == c.id
        await engine.tasks.kill(existing.id)
        freed = await engine.tasks.update_chain(chained.id, {"on_success": None, "on_failure": {"orch_id": a.id}})
        assert freed.on_success is None and freed.on_failure is not None


async def test_a_follow_up_starts_once_however_often_the_end_is_seen(tmp_path: Path) -> None:
    """The engine that drives a run and one that recovered it may both handle its end: the
    unique upstream key lets only the first follow-up be written."""
    async with running_engine(tmp_path / "data") as engine:
        job = await orchestration(engine, {"main.py": "pass\n"})
        then = await orchestration(engine, {"main.py": "pass\n"})
        task = await engine.tasks.create(ONESHOT, job.workspace_id, job.id, {}, on_success={"orch_id": then.id})
        task = await engine.tasks.wait_for(task.id, TASK_TERMINAL, 60)
        (run,) = await engine.tasks.runs(task.id)
        assert task.on_success is not None and run.follow_up_task_id is not None
        again = follow_up_task(task, task.on_success, run.run_id)
        seen = await asyncio.gather(*(engine.store.call(engine.tasks.records.insert_task, again, True)
                                      for _ in range(3)), engine.tasks._follow_up(task, run.run_id),
                                    return_exceptions=True)
        assert [type(e).__name__ for e in seen] == ["Duplicate"] * 3 + ["NoneType"]
        assert [f.id for f in await engine.tasks.list(orch_id=then.id)] == [run.follow_up_task_id]


async def test_a_follow_up_whose_orchestration_is_gone_is_noted_in_the_runs_log(tmp_path: Path) -> None:
    async with running_engine(tmp_path / "data") as engine:
        job = await orchestration(engine, {"main.py": "import time\ntime.sleep(1)\n"})
        then = await orchestration(engine, {"main.py": "pass\n"})
        task = await engine.tasks.create(ONESHOT, job.workspace_id, job.id, {}, on_success={"orch_id": then.id})
        await engine.retention.delete_orchestrations([then.id], confirm=False)
        task = await engine.tasks.wait_for(task.id, TASK_TERMINAL, 60)
        (run,) = await engine.tasks.runs(task.id)
        assert task.status == "success" and run.follow_up_task_id is None
        await eventually(lambda: _noted(engine, run.run_id), 15)


async def _noted(engine: Engine, run_id: str) -> bool:
    return any("on_success: the follow-up could not start" in line for line in await log_texts(engine, run_id))
