"""`%orch` in a real kernel against a real server: every subcommand, the live task widget
(status, runs, log tail, next fire, Kill / Run now), and one-line usage errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from jupyter_orch.client import Client
from jupyter_orch.constants import WORKSPACE_MIME
from tests.kernel.driver import Kernel
from tests.support.onnx_models import scale_model
from tests.support.server import ServerProcess
from tests.support.zips import make_zip

MAIN = """\
import json, time
from pathlib import Path
from jupyter_orch import Client
args = Client().task_args()
time.sleep(args.get("sleep", 0))
print("hello", args.get("who"), Path("data.txt").read_text().strip(), Path("assets/more.txt").read_text().strip())
"""
TASK_ORDER = ["pending", "started", "success"]


def distinct(values: list[str]) -> list[str]:
    return [v for i, v in enumerate(values) if i == 0 or v != values[i - 1]]


@pytest.fixture(scope="module")
def hello(kernel: Kernel) -> str:
    """An orchestration uploaded from a cell with two included paths, packaged."""
    (kernel.cwd / "data.txt").write_text("from-data\n")
    (kernel.cwd / "assets").mkdir()
    (kernel.cwd / "assets" / "more.txt").write_text("from-assets\n")
    cell = kernel.execute(f"%%orch_upload hello --include data.txt --include assets\n{MAIN}")
    kernel.wait_for_state(cell.widget_id, "status", "ready")
    return "hello"


@pytest.fixture(scope="module")
def client(module_server: ServerProcess) -> Client:
    """The test's own client, to set things up and check them."""
    return Client(url=module_server.url, token=module_server.token)


def test_run_widget_follows_the_task_to_success_with_its_log(kernel: Kernel, hello: str) -> None:
    cell = kernel.execute("%orch run hello --name greet --args '{\"who\": \"kernel\", \"sleep\": 0.3}' --timeout 60")
    assert cell.reply["status"] == "ok", cell
    widget = cell.widget_id
    kernel.wait_for_state(widget, "status", "success")

    seen = distinct(kernel.values(widget, "status"))
    assert seen == TASK_ORDER[TASK_ORDER.index(seen[0]):], seen
    header, facts, runs, log, buttons, _spawned = kernel.children(widget)
    assert "greet" in kernel.values(header, "value")[-1] and "success" in kernel.values(header, "value")[-1]
    assert "hello kernel from-data from-assets" in kernel.values(log, "value")[-1]
    assert "success" in kernel.values(runs, "value")[-1]
    assert "once" in kernel.values(facts, "value")[-1] and "60 s" in kernel.values(facts, "value")[-1]
    kill, _run_now = kernel.children(buttons)
    assert kernel.values(kill, "disabled")[-1] is True


def test_schedule_widget_shows_the_next_fire_and_its_buttons_work(kernel: Kernel, hello: str) -> None:
    cell = kernel.execute('%orch schedule hello "*/5 * * * *" --name every5 --args \'{"who": "cron"}\'')
    widget = cell.widget_id
    kernel.wait_for_state(widget, "status", "started")
    _header, facts, _runs, _log, buttons, spawned = kernel.children(widget)
    shown = kernel.values(facts, "value")[-1]
    assert "scheduled" in shown and "*/5 * * * * (cron, UTC)" in shown and "next run" in shown
    kill, run_now = kernel.children(buttons)

    kernel.click(run_now)  # a run-once task of the same orchestration and arguments, shown below
    kernel.wait_for_change(spawned, "children", bool)
    now = kernel.children(spawned)[0]
    kernel.wait_for_state(now, "status", "success")
    assert "hello cron" in kernel.values(kernel.children(now)[3], "value")[-1]

    kernel.click(kill)
    kernel.wait_for_state(widget, "status", "killed")
    assert kernel.values(kill, "disabled")[-1] is True


def test_schedule_widget_moves_its_next_run_after_each_fire(kernel: Kernel, hello: str) -> None:
    cell = kernel.execute('%orch schedule hello "*/2 * * * * *" --name every2s')
    widget = cell.widget_id
    kernel.wait_for_state(widget, "status", "started")
    facts = kernel.children(widget)[1]

    def next_run(html: str) -> str | None:
        match = re.search(r"next run</b> (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", html)
        return match.group(1) if match else None

    first = next_run(kernel.values(facts, "value")[-1])
    assert first is not None
    kernel.wait_for_change(facts, "value", lambda v: next_run(v) not in (None, first), timeout=20)
    assert "every2s" in kernel.execute("%orch kill every2s").result["text/plain"]


def test_listing_commands_show_the_client_reprs(kernel: Kernel, hello: str, client: Client) -> None:
    task = client.list_orchestrations()[0].run_once("listed", {"who": "lister"}).wait_for("terminal", timeout=60)
    assert task.status() == "success"
    run_id = task.last_runs()[0].id()

    assert "hello" in kernel.execute("%orch list").result["text/html"]
    assert "listed" in kernel.execute("%orch tasks").result["text/html"]
    assert "success" in kernel.execute("%orch runs listed").result["text/html"]
    for ref in ("listed", task.id(), run_id):  # a task by name or id, or a run by id
        logs = kernel.execute(f"%orch logs {ref} --lines 1")
        assert "hello lister" in logs.result["text/html"], logs

    status = kernel.execute("%orch status listed")
    assert kernel.values(status.widget_id, "status")[0] == "success"
    orch_status = kernel.execute(f"%orch status {client.list_orchestrations()[0].id()}")
    assert kernel.values(orch_status.widget_id, "status")[0] == "ready"


def test_kill_by_name_or_id_and_tasks_all(kernel: Kernel, hello: str, client: Client) -> None:
    orchestration = client.list_orchestrations()[0]
    by_name = orchestration.run_scheduled("doomed", "@daily")
    by_id = orchestration.run_scheduled("doomed-too", "@weekly")
    assert "killed" in kernel.execute("%orch kill doomed").result["text/plain"]
    assert "killed" in kernel.execute(f"%orch kill {by_id.id()}").result["text/plain"]
    assert {by_name.status(), by_id.status()} == {"killed"}
    assert "doomed" not in kernel.execute("%orch tasks").result["text/html"]
    assert "doomed-too" in kernel.execute("%orch tasks --all").result["text/html"]


def test_pipelines_and_their_inference_log(kernel: Kernel, client: Client, tmp_path: Path) -> None:
    model_file = tmp_path / "scale.onnx"
    model_file.write_bytes(scale_model(2.0))
    pipeline = client.build_pipeline("doubler").add_model_step(client.upload_model("scale", model_file)).deploy()
    pipeline.infer(pd.DataFrame({"x": [[1.5], [2.5]]}))

    assert "doubler" in kernel.execute("%orch pipelines").result["text/html"]
    for options in ("--last 10m", "--start 2000-01-01T00:00:00 --end 2100-01-01T00:00:00", ""):
        shown = kernel.execute(f"%orch plogs doubler {options}")
        assert shown.reply["status"] == "ok", shown
        assert "out.scaled" in shown.result["text/plain"] and "5.0" in shown.result["text/plain"], shown.result
    assert "out.scaled" in kernel.execute(f"%orch plogs {pipeline.id()} --limit 1").result["text/plain"]
    empty = kernel.execute("%orch plogs doubler --start 2000-01-01T00:00 --end 2000-01-02T00:00")
    assert "out.scaled" not in empty.result["text/plain"]


def test_connections_and_workspace(kernel: Kernel, hello: str, client: Client) -> None:
    client.create_connection("warehouse", "postgres", {"password": "s3cret"})
    shown = kernel.execute("%orch connections").result["text/html"]
    assert "warehouse" in shown and "s3cret" not in shown

    assert "default" in kernel.execute("%orch workspace").result["text/plain"]
    assert "scratch" in kernel.execute("%orch workspace scratch --create").result["text/plain"]
    assert "hello" not in kernel.execute("%orch list").result["text/html"]
    default = client.get_workspace("default")
    assert default is not None
    kernel.execute(f"%orch workspace {default.id()}")  # an id works as well as a name
    assert "hello" in kernel.execute("%orch list").result["text/html"]


def test_schedule_controls_pause_resume_reschedule_and_fires(kernel: Kernel, hello: str, client: Client) -> None:
    cell = kernel.execute('%orch schedule hello "30 2 * * *" --name paris --tz Europe/Paris --max-runs 3'
                          " --end-date 2099-01-01T00:00")
    kernel.wait_for_state(cell.widget_id, "status", "started")
    assert "30 2 * * * (cron, Europe/Paris)" in kernel.values(kernel.children(cell.widget_id)[1], "value")[-1]
    task = next(t for t in client.list_tasks() if t.name() == "paris")
    assert (task.tz(), task.max_runs(), task.end_date()) == ("Europe/Paris", 3, datetime(2098, 12, 31, 23, tzinfo=UTC))
    fires = kernel.execute("%orch fires paris -n 3").result["text/html"]
    assert fires.count("02:30:00 CE") == 3 and "<th>Europe/Paris</th>" in fires
    preview = kernel.execute('%orch fires "0 9 * * *" --tz Asia/Tokyo -n 2').result["text/html"]
    assert preview.count("09:00:00 JST") == 2 and preview.count("00:00:00</td>") >= 2  # UTC (and local)
    assert "paused" in kernel.execute("%orch pause paris").result["text/html"]
    assert client.get_task_by_id(task.id()).status() == "paused"
    assert "started" in kernel.execute("%orch resume paris").result["text/html"]
    edited = kernel.execute("%orch reschedule paris --cron '0 8 * * 1' --tz America/New_York --args '{\"who\": 1}'")
    assert "0 8 * * 1" in edited.result["text/html"] and "America/New_York" in edited.result["text/html"]
    task = client.get_task_by_id(task.id())
    assert (task.schedule(), task.tz(), task.input_data()) == ("0 8 * * 1", "America/New_York", {"who": 1})
    assert "give what changes" in kernel.execute("%orch reschedule paris").usage_error()
    assert "HTTP 400" in kernel.execute("%orch reschedule paris --tz Mars/Base").usage_error()
    kernel.execute("%orch kill paris")


def test_runnow_with_overrides_and_rerun(kernel: Kernel, hello: str, client: Client) -> None:
    task = client.list_orchestrations()[0].run_scheduled("yearly-hello", "@yearly", {"who": "cron"})
    shown = kernel.execute("%orch runnow yearly-hello --args '{\"who\": \"now\"}' --timeout 30").result["text/html"]
    assert "pending" in shown
    run = task.wait_for_runs(1, "success", timeout=60)[0]
    assert run.input_data() == {"who": "now"} and "hello now" in " ".join(run.logs().texts())
    kernel.execute(f"%orch rerun {run.id()}")
    rerun = task.wait_for_runs(2, "success", timeout=60)[0]
    assert rerun.rerun_of() == run.id() and "hello now" in " ".join(rerun.logs().texts())
    assert "is not a run id" in kernel.execute("%orch rerun yearly-hello").usage_error()
    task.kill()


def test_artifacts_of_a_run_or_of_a_tasks_newest_run(kernel: Kernel, client: Client) -> None:
    main = "from pathlib import Path\nPath('outputs').mkdir()\nPath('outputs/result.csv').write_text('a,b\\n1,2\\n')\n"
    orch = client.upload_orchestration(bytes_buffer=make_zip({"main.py": main}), name="writer").wait_for_ready(60)
    (run,) = orch.run_once("artifact-writer").wait_for(timeout=60).last_runs()
    for ref in (run.id(), "artifact-writer"):
        shown = kernel.execute(f"%orch artifacts {ref}").result["text/html"]
        assert "<td>result.csv</td><td>8</td>" in shown, shown
    assert "no task or run 'nobody'" in kernel.execute("%orch artifacts nobody").usage_error()


def test_a_notebook_is_uploaded_with_its_folder_and_runs_with_arguments(kernel: Kernel, client: Client) -> None:
    folder = kernel.cwd / "nbjob"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "rows.txt").write_text("3\n")
    (folder / ".ipynb_checkpoints").mkdir()
    (folder / ".ipynb_checkpoints" / "report-checkpoint.ipynb").write_text("{}")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("scale = 1", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("print('rows', int(open('data/rows.txt').read()) * scale)")]
    nbformat.write(nb, folder / "report.ipynb")
    cell = kernel.execute("%orch_upload_notebook nbjob/report.ipynb")
    kernel.wait_for_state(cell.widget_id, "status", "ready", timeout=60)
    orch = next(o for o in client.list_orchestrations() if o.name() == "report")
    assert sorted(f["path"] for f in client._http.post("orchestration/files", {"id": orch.id()})["files"]) == [
        "data/rows.txt", "main.ipynb"]
    (run,) = orch.run_once("report-run", json_args={"scale": 5}).wait_for(timeout=120).last_runs()
    assert run.status() == "success" and "rows 15" in run.logs().texts(), run.logs()
    assert [a.path() for a in run.artifacts()] == ["main.ipynb"]
    (folder / "main.py").write_text("print('me first')\n")
    assert "has a main.py" in kernel.execute("%orch_upload_notebook nbjob/report.ipynb").usage_error()
    assert "not a notebook" in kernel.execute("%orch_upload_notebook nbjob/data/rows.txt").usage_error()


def test_run_and_schedule_take_retries(kernel: Kernel, hello: str, client: Client) -> None:
    cell = kernel.execute("%orch run hello --name retried --retries 2 --retry-delay 0.5 --args '{\"who\": \"r\"}'")
    kernel.wait_for_state(cell.widget_id, "status", "success")
    task = next(t for t in client.list_tasks() if t.name() == "retried")
    assert (task.max_retries(), task.to_dict()["retry_delay"], task.attempt()) == (2, 0.5, 1)
    kernel.execute('%orch schedule hello "@yearly" --name retried-cron --retries 1')
    cron = next(t for t in client.list_tasks() if t.name() == "retried-cron")
    assert cron.max_retries() == 1
    cron.kill()


def test_run_and_chain_take_follow_ups(kernel: Kernel, hello: str, client: Client) -> None:
    code = "from jupyter_orch import Client\nprint('after', Client().task_args())\n"
    cell = kernel.execute(f"%%orch_upload after\n{code}")
    kernel.wait_for_state(cell.widget_id, "status", "ready")
    after = next(o for o in client.list_orchestrations() if o.name() == "after")
    cell = kernel.execute("%orch run hello --name chained --on-success after --args '{\"who\": \"c\"}'")
    kernel.wait_for_state(cell.widget_id, "status", "success")
    task = next(t for t in client.list_tasks() if t.name() == "chained")
    assert task.on_success() == after.follow_up("after") and task.on_failure() is None
    (run,) = task.last_runs()
    follow = run.follow_up()
    assert follow is not None and follow.name() == "after" and follow.upstream_run_id() == run.id()
    (follow_run,) = follow.wait_for(timeout=60).last_runs()
    assert f"after {{'upstream_run_id': '{run.id()}'}}" in follow_run.logs().texts()
    shown = kernel.execute("%orch chain chained --on-success none --on-failure after").result["text/html"]
    assert "<th>on failure</th><td>after</td>" in shown and "on success" not in shown
    task = client.get_task_by_id(task.id())
    assert task.on_success() is None and task.on_failure() == after.follow_up("after")
    assert "give --on-success" in kernel.execute("%orch chain chained").usage_error()
    refused = kernel.execute("%orch chain chained --on-success hello").usage_error()
    assert "would loop" in refused and "HTTP 400" in refused
    assert client.get_task_by_id(task.id()).on_success() is None


def test_dryrun_shows_the_log_live_and_answers_the_exit_code(kernel: Kernel) -> None:
    """The run prints a line, then waits for a file the test makes only once that line has
    reached the notebook: the line can only have come while the run was still running."""
    folder = kernel.cwd / "dry"
    folder.mkdir()
    (folder / "main.py").write_text(
        "import pathlib, sys, time\nfrom jupyter_orch import Client\n"
        "print('first', Client().task_args(), flush=True)\n"
        f"while not pathlib.Path({str(folder / 'go')!r}).exists():\n"
        "    time.sleep(0.05)\n"
        "print('second', file=sys.stderr)\nsys.exit(2)\n")
    msg_id = kernel.kc.execute("%orch dryrun dry --json '{\"n\": 1}'")
    kernel.wait_for(lambda m: m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "stream"
                    and "first {'n': 1}" in m["content"]["text"], 60)
    (folder / "go").write_text("")
    kernel.wait_for(lambda m: m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "status"
                    and m["content"]["execution_state"] == "idle", 60)
    outputs = [m for m in kernel.messages if m["parent_header"].get("msg_id") == msg_id]
    streams = [(m["content"]["name"], m["content"]["text"]) for m in outputs if m["msg_type"] == "stream"]
    assert ("stderr", "second\n") in streams
    (result,) = [m["content"]["data"] for m in outputs if m["msg_type"] == "execute_result"]
    assert result["text/plain"].startswith("DryRun(exit_code=2, lines=2")
    assert "<th>exit code</th><td>2</td>" in result["text/html"]
    assert "no orchestration folder or zip" in kernel.execute("%orch dryrun nowhere").usage_error()
    assert "not a valid zip archive" in kernel.execute("%orch dryrun dry/main.py").usage_error()


def test_an_interrupted_dryrun_stops_its_run(kernel: Kernel) -> None:
    folder = kernel.cwd / "forever"
    folder.mkdir()
    pid_file = kernel.cwd / "forever.pid"
    (folder / "main.py").write_text(f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
                                    "print('waiting', flush=True)\ntime.sleep(600)\n")
    msg_id = kernel.kc.execute("%orch dryrun forever")
    kernel.wait_for(lambda m: m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "stream"
                    and "waiting" in m["content"]["text"], 60)
    pid = int(pid_file.read_text())
    kernel.km.interrupt_kernel()
    kernel.wait_for(lambda m: m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "status"
                    and m["content"]["execution_state"] == "idle", 60)
    errors = [m for m in kernel.messages if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "error"]
    assert [e["content"]["ename"] for e in errors] == ["KeyboardInterrupt"]
    assert not Path(f"/proc/{pid}").exists()  # stopped before the cell ended
    assert kernel.execute("1 + 1").result["text/plain"] == "2"


def test_help(kernel: Kernel) -> None:
    overview = kernel.execute("%orch").stdout
    assert overview == kernel.execute("%orch help").stdout
    for command in ("list", "status", "run", "schedule", "tasks", "kill", "runs", "logs", "pipelines", "plogs",
                    "connections", "workspace", "pause", "resume", "reschedule", "fires", "runnow", "rerun", "chain",
                    "dryrun", "artifacts"):
        assert command in overview
    assert "--timeout S" in kernel.execute("%orch help run").stdout


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("%orch frobnicate", "invalid choice: 'frobnicate'"),
        ("%orch run", "the following arguments are required: ORCH"),
        ("%orch run hello --timeout -1", "argument --timeout: invalid positive value"),
        ("%orch run hello --args '{not json'", "neither JSON nor the name of a dict"),
        ("%orch run hello --args '[1, 2]'", "must be a JSON object"),
        ("%orch run no-such-orchestration", "no orchestration with the id or name 'no-such-orchestration'"),
        ('%orch schedule hello "not a cron"', "HTTP 400"),
        ("%orch status 00000000-0000-4000-8000-000000000000", "no task with the id or name"),
        ("%orch kill nobody", "no task with the id or name 'nobody'"),
        ("%orch runs", "the following arguments are required: TASK"),
        ("%orch logs nothing-here", "no task or run 'nothing-here'"),
        ("%orch logs 00000000-0000-4000-8000-000000000000", "no task or run"),
        ("%orch logs hello --lines many", "argument --lines: invalid int value"),
        ("%orch plogs doubler --last 10x", "argument --last: invalid duration value"),
        ("%orch plogs doubler --start 2000-01-01", "--start and --end go together"),
        ("%orch plogs doubler --last 1h --start 2000-01-01 --end 2000-01-02", "--last or --start/--end"),
        ("%orch plogs no-such-pipeline", "Pipeline not found"),
        ("%orch workspace no-such-space", "no workspace 'no-such-space'"),
        ("%orch help frobnicate", "no command 'frobnicate'"),
        ("%orch tasks --everything", "unrecognized arguments"),
        ("%orch run 'hello", "No closing quotation"),
    ],
)
def test_wrong_usage_is_a_one_line_usage_error(kernel: Kernel, hello: str, line: str, message: str) -> None:
    assert message in kernel.execute(line).usage_error()


def test_the_sidebar_hears_the_workspace_the_kernel_switched_to(kernel: Kernel) -> None:
    """`%orch workspace` and the client's `set_current_workspace` both display WORKSPACE_MIME,
    which the JupyterLab sidebar follows; the magic announces once, in its own result."""
    switched = kernel.execute(
        "from jupyter_orch import Client\n"
        "wl = Client()\n"
        "ws = wl.get_workspace('announced', create_if_not_exist=True)\n"
        "wl.set_current_workspace(ws)\n"
        "ws.id()"
    )
    (shown,) = [m["content"]["data"] for m in switched.outputs if m["msg_type"] == "display_data"]
    assert shown == {WORKSPACE_MIME: {"id": int(switched.result["text/plain"]), "name": "announced"}}
    by_magic = kernel.execute("%orch workspace announced")
    assert [m for m in by_magic.outputs if m["msg_type"] == "display_data"] == []
    assert by_magic.result[WORKSPACE_MIME]["name"] == "announced"
