"""`c.OrchApp.run_sandbox = "bubblewrap"`: a run sees its own folder, its environment and the
system's files, but not the Jupyter runtime dir, the rest of the data dir, other runs or the
server's processes; loopback HTTP to the server still works."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_core.paths import jupyter_runtime_dir

from jupyter_orch.engine.executors.sandbox import Sandbox
from tests.security.helpers import ready_orchestration, reported, run_to_end, workspace
from tests.support.server import ServerProcess

SQLITE_ONLY = True

PROBE = '''
import json, os, urllib.request
args = json.load(open(os.environ["JUPYTER_ORCH_TASK_ARGS_FILE"]))
def listing(path):
    try:
        return sorted(os.listdir(path))
    except OSError as e:
        return "error: " + type(e).__name__
request = urllib.request.Request(os.environ["JUPYTER_ORCH_URL"] + "v1/api/workspaces/list", data=b"{}",
                                 headers={"Authorization": "Bearer " + os.environ["JUPYTER_ORCH_TOKEN"]})
with urllib.request.urlopen(request, timeout=30) as answer:
    api_status = answer.status
try:
    server_cmdline = open(f"/proc/{args['server_pid']}/cmdline", "rb").read().decode(errors="replace")
except OSError:
    server_cmdline = None
print("REPORT " + json.dumps({
    "runtime": listing(args["runtime"]), "data": listing(args["data"]), "runs": listing(args["data"] + "/runs"),
    "pids": [int(p) for p in os.listdir("/proc") if p.isdigit()], "server_cmdline": server_cmdline,
    "api": api_status, "run_id": os.environ["RUN_ID"], "cwd_writable": os.access(".", os.W_OK),
}))
'''


@pytest.fixture
def sandboxed_server(tmp_path: Path) -> Iterator[ServerProcess]:
    problem = Sandbox.problem()
    if problem:
        pytest.skip(f"bubblewrap cannot run here: {problem}")
    proc = ServerProcess(root=tmp_path / "root", data_dir=tmp_path / "orch-data",
                         extra_args=["--OrchApp.run_sandbox=bubblewrap"]).start()
    try:
        yield proc
    finally:
        proc.stop()


def test_a_sandboxed_run_sees_only_its_own_folder(sandboxed_server: ServerProcess) -> None:
    server = sandboxed_server
    assert server.proc is not None
    canary = Path(jupyter_runtime_dir()) / f"jpserver-canary-{server.port}.json"
    canary.parent.mkdir(parents=True, exist_ok=True)
    canary.touch()
    wid = workspace(server)
    try:
        report = reported(run_to_end(server, wid, ready_orchestration(server, wid, {"main.py": PROBE}), {
            "runtime": jupyter_runtime_dir(), "data": str(server.data_dir), "server_pid": server.proc.pid,
        }))
    finally:
        canary.unlink()
    assert report["runtime"] == []  # no jpserver-*.json (the server's token), no kernel files
    assert "orch.sqlite3" not in report["data"] and "secret.key" not in report["data"]
    assert "blobs" not in report["data"]
    assert report["runs"] == [report["run_id"]]
    assert server.proc.pid not in report["pids"] and report["server_cmdline"] is None
    assert max(report["pids"]) < 100  # its own PID namespace
    assert report["api"] == 200 and report["cwd_writable"]


def test_a_sandbox_that_cannot_run_is_reported_at_start_and_fails_runs(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from jupyter_orch.engine.executors.sandbox import SandboxUnavailable
    from jupyter_orch.server.app import OrchApp

    reason = "'bwrap --ro-bind / / true' fails: user namespaces are not allowed on this machine"
    monkeypatch.setattr(Sandbox, "problem", staticmethod(lambda: reason))
    app = OrchApp(run_sandbox="bubblewrap", data_dir=str(tmp_path))
    errors: list[str] = []
    monkeypatch.setattr(app.log, "error", lambda message, *args: errors.append(message % args))
    sandbox = app._sandbox()
    assert sandbox is not None and errors and reason in errors[0] and "every run will fail" in errors[0]
    with pytest.raises(SandboxUnavailable, match="user namespaces are not allowed"):
        sandbox.wrap(["python"], tmp_path, [], tmp_path)
