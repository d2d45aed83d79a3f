"""A run's start and end against a real engine: real subprocess runs, real databases, and real
failures (a trigger that makes the database refuse a write), never a mock.

- a run's pid is recorded before user code runs: when recording it fails, no user code runs;
- kill, timeout and a run's own end leave no process of it alive, not even a daemon that
  double-forked into its own session, ignores SIGTERM, or cleared its environment, with a
  cgroup per run and without one;
- a run's end is recorded while its log cannot be written; the lines are written once the
  database takes them again, none lost, and the run's log says what happened;
- a working copy a crash left half made is made again; start-up removes other leftovers.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from jupyter_orch.engine import Engine
from jupyter_orch.engine.tasks.records import ONESHOT, TASK_TERMINAL
from tests.engine.test_tasks_engine import eventually, orchestration, texts
from tests.support.daemons import DAEMONS, pids
from tests.support.databases import sql
from tests.support.engine import database_url, running_engine
from tests.support.processes import alive, marked_processes


async def wait_for_pids(path: Path, count: int = 3) -> list[int]:
    await eventually(lambda: pids(path, count), 20)
    found = pids(path, count)
    assert found is not None
    return found


@pytest.mark.parametrize("found_by", ["cgroup", "spare's cgroup", "marker"])
@pytest.mark.parametrize("ending", ["kill", "timeout", "own end"])
async def test_no_process_of_a_run_survives_its_end(tmp_path: Path, ending: str, found_by: str) -> None:
    """With a cgroup per run (where the machine gives one; a warm run's is the one its spare
    entered before the run came) and without (the marker alone)."""
    pid_file = tmp_path / "pids"
    args: dict[str, Any] = {"pids": str(pid_file), "sleep": 0 if ending == "own end" else 120}
    timeout = 2 if ending == "timeout" else None
    warm = found_by == "spare's cgroup"
    async with running_engine(tmp_path / "data", kill_grace_seconds=0.5, warm_start=warm,
                              preload_modules=("json",)) as engine:
        cgroups = engine.tasks.runner.executor.processes.cgroups  # type: ignore[attr-defined]
        if found_by == "marker":
            cgroups.root = None
        elif cgroups.root is None:
            pytest.skip("this machine gives runs no cgroup v2 of their own (see README, Guarantees)")
        orch = await orchestration(engine, {"main.py": DAEMONS})
        task = await engine.tasks.create(ONESHOT, orch.workspace_id, orch.id, args, timeout=timeout)
        started = await wait_for_pids(pid_file)
        if found_by != "marker" and ending != "own end":  # (a run that ends by itself may be gone by now)
            groups = {Path(Path(f"/proc/{pid}/cgroup").read_text().strip().split("::")[1]).name for pid in started}
            assert len(groups) == 1 and groups.pop().startswith("spare-") == warm
        if ending == "kill":
            await engine.tasks.kill(task.id)
        task = await engine.tasks.wait_for(task.id, TASK_TERMINAL, 30)
        assert task.status == {"kill": "killed", "timeout": "timed_out", "own end": "success"}[ending]
        # Ended before the end was recorded: nothing is left the moment the status says so.
        assert [pid for pid in started if alive(pid)] == []
        assert marked_processes("RUN_ID", {task.last_runs[0].run_id}) == {}


def refuse(url: str, table: str, when: str, dialect_when: str) -> None:
    """Make the database refuse a write, the way a full disk or a broken constraint would."""
    if url.startswith("sqlite"):
        sql(url, f"CREATE TRIGGER refuse BEFORE {when} ON {table} {dialect_when} "
                 "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")
        return
    sql(url, "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
             "$$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$")
    sql(url, f"CREATE TRIGGER refuse BEFORE {when} ON {table} FOR EACH ROW {dialect_when} EXECUTE FUNCTION refuse()")


def accept(url: str, table: str) -> None:
    sql(url, "DROP TRIGGER refuse" if url.startswith("sqlite") else f"DROP TRIGGER refuse ON {table}")


async def test_user_code_never_runs_unless_its_pid_was_recorded(tmp_path: Path) -> None:
    data, ran = tmp_path / "data", tmp_path / "ran"
    code = "import json, os\nopen(json.load(open(os.environ['JUPYTER_ORCH_TASK_ARGS_FILE']))['ran'], 'w')\n"
    async with running_engine(data) as engine:
        orch = await orchestration(engine, {"main.py": code})
        url = database_url(data)
        when = "WHEN NEW.status = 'running'" if url.startswith("sqlite") else "WHEN (NEW.status = 'running')"
        refuse(url, "runs", "UPDATE", when)
        task = await engine.tasks.create(ONESHOT, orch.workspace_id, orch.id, {"ran": str(ran)})
        task = await engine.tasks.wait_for(task.id, TASK_TERMINAL, 30)
        (run,) = await engine.tasks.runs(task.id)
        assert run.status == "failure" and "could not start" in (run.error or "") and "refused" in (run.error or "")
        assert not ran.exists()
        assert marked_processes("RUN_ID", {run.run_id}) == {}
        accept(url, "runs")
        again = await engine.tasks.create(ONESHOT, orch.workspace_id, orch.id, {"ran": str(ran)})
        assert (await engine.tasks.wait_for(again.id, TASK_TERMINAL, 30)).status == "success" and ran.exists()


async def test_a_run_ends_while_its_log_cannot_be_written_and_no_line_is_lost(tmp_path: Path) -> None:
    data = tmp_path / "data"
    code = "for i in range(3):\n    print(f'line {i}')\n"
    async with running_engine(data) as engine:
        orch = await orchestration(engine, {"main.py": code})
        url = database_url(data)
        refuse(url, "run_logs", "INSERT", "")
        task = await engine.tasks.create(ONESHOT, orch.workspace_id, orch.id, {})
        task = await engine.tasks.wait_for(task.id, TASK_TERMINAL, 30)
        assert task.status == "success"
        run_id = task.last_runs[0].run_id
        assert await engine.tasks.run_logs(run_id) == []
        accept(url, "run_logs")

        await eventually(lambda: _has_note(run_texts(engine, run_id)), 20)
        lines = await run_texts(engine, run_id)
        assert lines[:3] == ["line 0", "line 1", "line 2"]
        assert "it was retried and no line was lost" in lines[3] and "refused by the test" in lines[3]
        run = await engine.store.call(engine.tasks.records.get_run, run_id)
        assert run.log_lines == 4


async def _has_note(lines: Any) -> bool:
    return any("no line was lost" in line for line in await lines)


async def test_a_half_made_working_copy_is_made_again(tmp_path: Path) -> None:
    data = tmp_path / "data"
    code = "import os\nprint(sorted(os.listdir('.')))\n"
    async with running_engine(data, max_concurrent_runs=1) as engine:
        blocker = await orchestration(engine, {"main.py": "import time\ntime.sleep(120)\n"})
        first = await engine.tasks.create(ONESHOT, blocker.workspace_id, blocker.id, {})
        await engine.tasks.wait_for(first.id, ("started",), 20)
        orch = await orchestration(engine, {"main.py": code})
        second = await engine.tasks.create(ONESHOT, orch.workspace_id, orch.id, {})
        # What a crash in the middle of preparing this run leaves: a part of its working copy.
        half_made = data / "runs" / second.last_runs[0].run_id / "work"
        half_made.mkdir(parents=True)
        (half_made / "stale.txt").write_text("left by a crash")
        await engine.tasks.kill(first.id)
        second = await engine.tasks.wait_for(second.id, TASK_TERMINAL, 30)
        assert second.status == "success"
        assert await run_texts(engine, second.last_runs[0].run_id) == ["['main.py']"]


async def test_start_up_removes_what_interrupted_work_left(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with running_engine(data) as engine:
        orch = await orchestration(engine, {"main.py": "print('still runs')\n"})
    leftovers = [
        data / "blobs" / orch.sha[:2] / ".incoming-abc123",
        data / "unpacked" / ".unpack-abc123" / "main.py",
        data / "runs" / "5b0c1f9e-0000-4000-8000-00000000dead" / "work" / "main.py",
        data / "inference_logs" / "1" / "2030-01-01-00" / ".tmp-part-1-000001.parquet",
    ]
    for path in leftovers:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("interrupted")
    async with running_engine(data) as engine:
        assert [path for path in leftovers if path.exists()] == []
        assert not (data / "unpacked" / ".unpack-abc123").exists()
        assert not (data / "runs" / "5b0c1f9e-0000-4000-8000-00000000dead").exists()
        task = await engine.tasks.create(ONESHOT, orch.workspace_id, orch.id, {})
        task = await engine.tasks.wait_for(task.id, TASK_TERMINAL, 30)
        assert task.status == "success" and (await run_texts(engine, task.last_runs[0].run_id)) == ["still runs"]


async def run_texts(engine: Engine, run_id: str) -> list[str]:
    return texts(await engine.tasks.run_logs(run_id))


async def test_a_run_cgroup_ends_what_escaped_a_killed_launcher(tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    async with running_engine(tmp_path / "data") as engine:
        orch = await orchestration(engine, {"main.py": DAEMONS})
        task = await engine.tasks.create(ONESHOT, orch.workspace_id, orch.id, {"pids": str(pid_file), "sleep": 120})
        kept_environment, cleared_environment, main = await wait_for_pids(pid_file)
        if "jupyter-orch-" not in Path(f"/proc/{cleared_environment}/cgroup").read_text():
            await engine.tasks.kill(task.id)
            pytest.skip("this machine gives runs no cgroup v2 of their own (see README, Guarantees)")
        # Someone else SIGKILLs the launcher: the daemon without the marker is now nobody's
        # descendant but init's; only the run's cgroup still holds it.
        launcher = int(Path(f"/proc/{main}/stat").read_text().rsplit(")", 1)[1].split()[1])
        os.kill(launcher, signal.SIGKILL)
        task = await engine.tasks.wait_for(task.id, TASK_TERMINAL, 30)
        assert task.status == "failed"
        assert [pid for pid in (kept_environment, cleared_environment, main) if alive(pid)] == []
