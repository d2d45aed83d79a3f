"""`%load_ext jupyter_orch` and `%%orch_upload` in a real kernel: the bound variable and the
live status widget, whose states reach the frontend (iopub) in order while the server packages."""

from __future__ import annotations

import pytest

from tests.kernel.driver import Kernel
from tests.support.server import ServerProcess

ORDER = ["pending_packaging", "packaging", "ready"]


def distinct(values: list[str]) -> list[str]:
    return [v for i, v in enumerate(values) if i == 0 or v != values[i - 1]]


def test_loading_the_extension_again_is_harmless(kernel: Kernel) -> None:
    for line in ("%load_ext jupyter_orch", "%reload_ext jupyter_orch"):
        assert kernel.execute(line).reply["status"] == "ok"
    assert "orch_upload" in kernel.execute("%lsmagic").result["text/plain"]


def test_upload_shows_each_packaging_state_live(kernel: Kernel, module_server: ServerProcess) -> None:
    cell = kernel.execute('%%orch_upload six-job --requirements "six==1.16.0"\nimport six\nprint(six.__version__)\n')
    assert cell.reply["status"] == "ok", cell
    widget = cell.widget_id
    kernel.wait_for_state(widget, "status", "ready")

    seen = distinct(kernel.values(widget, "status"))  # the comm_open state first, then updates
    assert seen == ORDER[ORDER.index(seen[0]):], seen  # in order, nothing skipped after the first
    assert "packaging" in seen, seen  # shown while uv installed six
    header, details = kernel.children(widget)
    assert "ready" in kernel.values(header, "value")[-1]
    assert "six==1.16.0" in kernel.values(details, "value")[-1]

    bound = kernel.execute("print(six_job.id(), six_job.status(), six_job.name())")
    orch_id, status, name = bound.stdout.split()
    assert (status, name) == ("ready", "six-job")
    stored = module_server.post("orchestration/get_by_id", {"id": orch_id}).json()
    assert stored["requirements"].split() == ["six==1.16.0"] and stored["entrypoint"] == "main.py"
    assert stored["file_name"] == "six-job.zip"


def test_failed_packaging_ends_in_error_with_its_log(kernel: Kernel) -> None:
    cell = kernel.execute('%%orch_upload broken --requirements "./no-such-folder" --as broken_orch\nprint(1)\n')
    widget = cell.widget_id
    kernel.wait_for_state(widget, "status", "error")
    details = kernel.values(kernel.children(widget)[1], "value")[-1]
    assert "packaging log" in details and "no-such-folder" in details
    assert kernel.execute("print(broken_orch.status())").stdout.strip() == "error"


def test_upload_into_another_workspace_keeps_the_current_one(kernel: Kernel, module_server: ServerProcess) -> None:
    other = module_server.post("workspaces/create", {"workspace_name": "elsewhere"}).json()["workspace_id"]
    cell = kernel.execute("%%orch_upload away --workspace elsewhere\nprint('away')\n")
    kernel.wait_for_state(cell.widget_id, "status", "ready")
    listed = module_server.post("orchestration/list", {"workspace_id": other}).json()
    assert [o["name"] for o in listed] == ["away"]
    assert "away" not in kernel.execute("%orch list").result["text/plain"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("%%orch_upload", "the following arguments are required: name"),
        ("%%orch_upload job --bogus", "unrecognized arguments: --bogus"),
        ("%%orch_upload job --as 1st", "is not a valid variable name"),
        ("%%orch_upload job --include missing.txt", "missing.txt: no such file or folder"),
        ("%%orch_upload job --workspace nowhere", "no workspace 'nowhere'"),
        ("%%orch_upload 'job", "No closing quotation"),
    ],
)
def test_wrong_usage_is_a_one_line_usage_error(kernel: Kernel, line: str, message: str) -> None:
    shown = kernel.execute(f"{line}\nprint('never uploaded')\n").usage_error()
    assert message in shown
