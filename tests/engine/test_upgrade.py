"""A data dir written by release 0.1.0 (tests/fixtures/datadir-0.1.0, see its README) opens with
the current release: migrated on start with no manual step, every object intact."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa

from jupyter_orch.engine.pipelines.frames import ARROW_STREAM_CODEC, decode_arrow
from jupyter_orch.engine.pipelines.inference_log import make_query
from tests.support.databases import sql
from tests.support.engine import head_revision, running_engine

SQLITE_ONLY = True  # release 0.1.0 knew only SQLite
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "datadir-0.1.0"
PLAIN, WITH_REQS = "00d7dff8-0e74-4969-962b-eb00d0c5bfaa", "7f0b1daa-514e-46fe-8cf3-6868c54effa4"
TASKS = {
    "once": "a6297b94-84e6-4b15-8214-d949983a5ad5", "fail": "cdaf9b2f-878e-4a70-aba1-b1a6f6c4791a",
    "cron": "a5661986-0c0e-4bb6-a164-2630833632f9", "ended": "595b9714-7052-49c3-9625-9a21a7995eab",
    "svc": "895744ee-e149-44d0-975c-98b40c356b07", "daily": "473c89a8-1bfd-49bd-b3df-4a50bff779db",
}


def old_data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(FIXTURE, data)
    return data


async def test_a_release_0_1_data_dir_opens_with_everything_intact(tmp_path: Path) -> None:
    data = old_data_dir(tmp_path)
    async with running_engine(data) as engine:
        assert engine.store.revision() == head_revision()
        assert [w.name for w in await engine.workspaces.list()] == ["legacy-ws", "second"]
        orchs = {o.id: o for o in await engine.orchestrations.list()}
        assert set(orchs) == {PLAIN, WITH_REQS} and {o.status for o in orchs.values()} == {"ready"}
        assert orchs[PLAIN].created_at.tzinfo is not None

        tasks = {t.id: t for t in await engine.tasks.list(run_limit=100)}
        assert set(tasks) == set(TASKS.values())
        assert tasks[TASKS["once"]].status == "success" and tasks[TASKS["once"]].input_data == {"n": 1}
        assert tasks[TASKS["fail"]].timeout == 30
        assert tasks[TASKS["cron"]].status == "killed" and tasks[TASKS["svc"]].status == "killed"
        assert tasks[TASKS["ended"]].status == "success" and tasks[TASKS["ended"]].next_run_at is None
        daily = tasks[TASKS["daily"]]
        assert daily.status == "started" and daily.schedule == "@daily" and daily.next_run_at is not None
        cron_runs = await engine.tasks.runs(TASKS["cron"])
        assert len(cron_runs) >= 2 and all(r.scheduled_for for r in cron_runs)
        numbers = sql(engine.store.url, "SELECT number FROM runs WHERE task_id = :t ORDER BY created_at",
                      t=TASKS["cron"])
        assert [n for (n,) in numbers] == list(range(1, len(cron_runs) + 1))
        fires = sql(engine.store.url, "SELECT count(*) FROM fires WHERE task_id = :t", t=TASKS["cron"])
        assert fires[0][0] >= len(cron_runs)

        once_run = tasks[TASKS["once"]].last_runs[0]
        assert any(line.endswith("hello from 0.1") for line in await engine.tasks.run_logs(once_run.run_id))

        (connection,) = await engine.connections.list(1)
        assert connection.name == "house-data" and connection.details["password"] == "s3cret"
        assert connection.workspace_names == ["legacy-ws"]
        # 0.1.0 kept details in clear text; the first start sealed them and emptied the clear column.
        stored = sql(engine.store.url, "SELECT details, sealed_details FROM connections")
        assert all(clear == "{}" and sealed and "s3cret" not in sealed for clear, sealed in stored)
        assert len(await engine.connections.list()) == 2

        (model,) = await engine.models.list(1)
        assert model.name == "doubler" and model.tensor_fields == ["x"]
        state = await engine.pipelines.wait_for_status("legacy-pipe", 1, ("Running", "Error"), 30)
        assert state["status"] == "Running"  # it was deployed: deployed again on start
        assert (await engine.pipelines.get("undeployed-pipe")).status == "Undeployed"
        answer, _page = await engine.pipelines.logs("legacy-pipe", 1, make_query(None, None, "asc", None, None),
                                                   ARROW_STREAM_CODEC)
        logged = decode_arrow(answer)
        assert logged.num_rows == 3 and logged.column("out.scaled").to_pylist() == [[2.0], [4.0], [6.0]]

        # New work goes on beside the old: a run of an old orchestration, and of the one whose
        # environment (left behind on the machine that built it) is rebuilt on first use.
        again = await engine.tasks.create("Oneshot", 1, PLAIN, {"n": 9})
        again = await engine.tasks.wait_for(again.id, ("success", "failed"), 30)
        assert again.status == "success", await engine.tasks.run_logs(again.last_runs[0].run_id)
        assert any(line.endswith("{'n': 9}") for line in await engine.tasks.run_logs(again.last_runs[0].run_id))
        rebuilt = await engine.tasks.create("Oneshot", 1, WITH_REQS, {})
        rebuilt = await engine.tasks.wait_for(rebuilt.id, ("success", "failed"), 120)
        logs = await engine.tasks.run_logs(rebuilt.last_runs[0].run_id)
        assert rebuilt.status == "success", logs
        assert any(" six " in line for line in logs)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, pa.schema([("x", pa.list_(pa.float32()))])) as writer:
            writer.write_table(pa.table({"x": pa.array([[5.0]], pa.list_(pa.float32()))}))
        result = decode_arrow(await engine.pipelines.infer("legacy-pipe", 1, sink.getvalue().to_pybytes(),
                                                            ARROW_STREAM_CODEC))
        assert result.column("out.scaled").to_pylist() == [[10.0]]
    async with running_engine(data) as engine:  # and it opens again as it is now
        assert engine.store.revision() == head_revision()
        assert len(await engine.tasks.runs(TASKS["once"])) == 1
