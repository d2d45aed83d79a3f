"""The JupyterLab sidebar in a real Chromium against a real `jupyter lab` process.

Each step saves a screenshot into tests/ui/artifacts/. The lab loads the labextension
freshly built into jupyter_orch/labextension (`cd labextension && jlpm build:prod`), whatever
copy the environment has installed, through an extra labextensions path.
"""

from __future__ import annotations

import json
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright import sync_api

from tests.support.onnx_models import scale_model
from tests.support.server import ServerProcess
from tests.support.zips import make_zip

pytestmark = pytest.mark.browser

expect = sync_api.expect

REPO = Path(__file__).resolve().parents[2]
BUILT = REPO / "jupyter_orch" / "labextension"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
]
PANEL = "#jupyter-orch-sidebar"
NO_NEWS = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}

MAIN_PY = """\
import sys, time
print("hello from the orchestration", flush=True)
print("a warning on stderr", file=sys.stderr, flush=True)
time.sleep(1.5)
print("L" * 150_000, flush=True)  # longer than the executor's 64 KiB line cap: stored in pieces
print("bye from the orchestration", flush=True)
"""


# ---- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def jp_asyncio_loop() -> None:
    """Replace pytest-jupyter's autouse loop fixture: it closes the current asyncio loop, which
    here is the one Playwright's sync API keeps running. These tests use no in-process server."""
    return None


@pytest.fixture
def jp_server_cleanup() -> None:
    """Replace pytest-jupyter's autouse cleanup (see jp_asyncio_loop)."""
    return None


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    if not list((BUILT / "static").glob("remoteEntry.*.js")):
        pytest.fail(f"no built labextension in {BUILT}: run `cd labextension && jlpm install && jlpm build:prod`")
    tmp = tmp_path_factory.mktemp("ui")
    # The freshly built extension comes first on the labextensions path.
    extensions = tmp / "labextensions"
    extensions.mkdir()
    (extensions / "jupyter-orch").symlink_to(BUILT, target_is_directory=True)
    # Keep the news toast away, and keep settings/layout out of the user's home.
    app_settings = tmp / "app-settings"
    app_settings.mkdir()
    (app_settings / "overrides.json").write_text(json.dumps(NO_NEWS))
    server = ServerProcess(
        root=tmp / "root",
        data_dir=tmp / "data",
        app="lab",
        extra_args=[
            f"--LabApp.extra_labextensions_path={extensions}",
            f"--LabApp.app_settings_dir={app_settings}",
            f"--LabApp.user_settings_dir={tmp / 'user-settings'}",
            f"--LabApp.workspaces_dir={tmp / 'workspaces'}",
        ],
    ).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed: `make test` installs it (apt-get install -y chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, lab: ServerProcess, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}-final.png"))
    context.close()
    assert not [e for e in errors if "jupyter-orch" in e or "orch" in e.lower()], errors


@pytest.fixture
def workspace(lab: ServerProcess, request: pytest.FixtureRequest) -> int:
    name = f"ui-{request.node.name.replace('_', '-')[:40]}-{secrets.token_hex(3)}"
    response = lab.post("workspaces/create", {"workspace_name": name})
    assert response.status_code in (200, 201), response.text
    return response.json()["workspace_id"]


# ---- helpers ------------------------------------------------------------------------------------


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def open_panel(page: Any, lab: ServerProcess, workspace_id: int) -> Any:
    # A fresh lab workspace per page: no layout restored from an earlier test.
    page.goto(f"{lab.url}lab/workspaces/ui{secrets.token_hex(4)}?token={lab.token}")
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=60_000)
    panel = page.locator(PANEL)
    page.locator(f'.jp-SideBar.jp-mod-left li.lm-TabBar-tab[data-id="{PANEL[1:]}"]').click()
    expect(panel).to_be_visible()
    select = panel.locator("select.jp-orch-workspace")
    expect(select.locator(f'option[value="{workspace_id}"]')).to_have_count(1, timeout=15_000)
    select.select_option(str(workspace_id))
    return panel


def upload(lab: ServerProcess, workspace_id: int, name: str, files: dict[str, str] | None = None) -> str:
    data = make_zip(files or {"main.py": MAIN_PY})
    response = requests.post(
        lab.api + "orchestration/upload",
        headers=lab.headers,
        files=[
            ("file", (f"{name}.zip", data, "application/zip")),
            ("metadata", ("metadata", json.dumps({"workspace_id": workspace_id, "name": name}), "application/json")),
        ],
        timeout=30,
    )
    assert response.status_code in (200, 201, 202), response.text
    return response.json()["id"]


def zip_file(name: str, files: dict[str, str]) -> dict[str, Any]:
    """A zip as Playwright's set_input_files takes it."""
    return {"name": name, "mimeType": "application/zip", "buffer": make_zip(files)}


def status_of(locator: Any) -> Any:
    return locator.locator(".jp-orch-status").first


# ---- tests --------------------------------------------------------------------------------------


def test_panel_opens_with_its_sections(page: Any, lab: ServerProcess, workspace: int) -> None:
    panel = open_panel(page, lab, workspace)
    for section in ("orchestrations", "tasks", "runs", "pipelines", "connections"):
        expect(panel.locator(f'[data-section="{section}"]')).to_be_visible()
    # The push channel is up (the sidebar shows it as live).
    expect(panel.locator('.jp-orch-live[data-live="true"]')).to_have_count(1, timeout=15_000)
    shot(page, "01-panel-open")


def test_uploaded_orchestration_reaches_ready_without_reload(page: Any, lab: ServerProcess, workspace: int) -> None:
    panel = open_panel(page, lab, workspace)
    expect(panel.locator('.jp-orch-live[data-live="true"]')).to_have_count(1, timeout=15_000)
    orch_id = upload(lab, workspace, "hello-orch")
    row = panel.locator(f'li[data-orch-id="{orch_id}"]')
    expect(row).to_be_visible(timeout=10_000)
    expect(status_of(row)).to_have_text("ready", timeout=60_000)
    expect(row.locator(".jp-orch-sha")).not_to_be_empty()
    shot(page, "02-orchestration-ready")


def test_hidden_panel_drops_the_channel_and_catches_up_when_shown(
    page: Any, lab: ServerProcess, workspace: int
) -> None:
    panel = open_panel(page, lab, workspace)
    live = panel.locator(".jp-orch-live")
    expect(live).to_have_attribute("data-live", "true", timeout=15_000)
    tab = page.locator(f'.jp-SideBar.jp-mod-left li.lm-TabBar-tab[data-id="{PANEL[1:]}"]')
    tab.click()  # collapse the sidebar: the panel is hidden
    expect(panel).to_be_hidden()
    expect(live).to_have_attribute("data-live", "false")  # socket released while hidden
    orch_id = upload(lab, workspace, "while-hidden")
    lab.post("orchestration/get_by_id", {"id": orch_id, "wait_for": "ready"})
    tab.click()  # show again: reconnect and refresh
    expect(panel).to_be_visible()
    expect(status_of(panel.locator(f'li[data-orch-id="{orch_id}"]'))).to_have_text("ready", timeout=15_000)
    expect(live).to_have_attribute("data-live", "true", timeout=15_000)
    shot(page, "02b-caught-up-after-hidden")


def test_upload_with_the_file_picker(page: Any, lab: ServerProcess, workspace: int) -> None:
    panel = open_panel(page, lab, workspace)
    panel.locator("input.jp-orch-file-input").set_input_files(
        files=[zip_file("picked.zip", {"main.py": "print('picked')\n"})]
    )
    row = panel.locator('li[data-orch-id]:has(.jp-orch-name:text-is("picked"))')
    expect(row).to_be_visible(timeout=15_000)
    expect(status_of(row)).to_have_text("ready", timeout=60_000)
    listed = lab.post("orchestration/list", {"workspace_id": workspace}).json()
    assert [o["name"] for o in listed] == ["picked"]
    shot(page, "03-uploaded-with-picker")


def test_rejected_uploads_show_a_readable_message(page: Any, lab: ServerProcess, workspace: int) -> None:
    panel = open_panel(page, lab, workspace)
    picker = panel.locator("input.jp-orch-file-input")
    # Refused by the server (400): its {"msg"} sentence is shown, not raw HTML.
    picker.set_input_files(
        files=[zip_file("broken.zip", {"README.md": "no entrypoint"})]
    )
    toast = page.locator(".Toastify__toast", has_text="broken.zip")
    expect(toast).to_contain_text("main.py", timeout=15_000)
    assert "<html" not in toast.inner_text().lower()
    # Refused before sending: not a zip.
    picker.set_input_files(files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"}])
    expect(page.locator(".Toastify__toast", has_text="notes.txt")).to_contain_text("not a .zip")
    shot(page, "03b-rejected-uploads")
    assert lab.post("orchestration/list", {"workspace_id": workspace}).json() == []


def test_packaging_error_raises_a_notification(page: Any, lab: ServerProcess, workspace: int) -> None:
    panel = open_panel(page, lab, workspace)
    expect(panel.locator('.jp-orch-live[data-live="true"]')).to_have_count(1, timeout=15_000)
    orch_id = upload(
        lab, workspace, "bad-reqs", {"main.py": "print('never')\n", "requirements.txt": "not ! a requirement ===\n"}
    )
    row = panel.locator(f'li[data-orch-id="{orch_id}"]')
    expect(status_of(row)).to_have_text("error", timeout=120_000)
    expect(page.locator(".Toastify__toast", has_text='Orchestration "bad-reqs" failed')).to_be_visible(timeout=15_000)
    shot(page, "03c-packaging-error")


def test_failed_run_raises_a_notification(page: Any, lab: ServerProcess, workspace: int) -> None:
    orch_id = upload(lab, workspace, "crasher", {"main.py": "import sys\nprint('about to fail')\nsys.exit(3)\n"})
    panel = open_panel(page, lab, workspace)
    expect(status_of(panel.locator(f'li[data-orch-id="{orch_id}"]'))).to_have_text("ready", timeout=60_000)
    expect(panel.locator('.jp-orch-live[data-live="true"]')).to_have_count(1, timeout=15_000)
    response = lab.post("task/run_once", {"workspace_id": workspace, "orch_id": orch_id, "json": {}})
    assert response.status_code in (200, 201), response.text
    toast = page.locator(".Toastify__toast", has_text="failed")
    expect(toast).to_contain_text("crasher", timeout=60_000)
    shot(page, "03d-run-failed-notification")
    # Its "Show log" action opens the run's log.
    toast.locator("button", has_text="Show log").click()
    expect(page.locator(".jp-orch-logview .jp-orch-log-stdout", has_text="about to fail")).to_be_visible(timeout=15_000)
    shot(page, "03e-failed-run-log")


def test_run_from_the_panel_and_read_its_live_log(page: Any, lab: ServerProcess, workspace: int) -> None:
    panel = open_panel(page, lab, workspace)
    orch_id = upload(lab, workspace, "runner")
    orch_row = panel.locator(f'li[data-orch-id="{orch_id}"]')
    expect(status_of(orch_row)).to_have_text("ready", timeout=60_000)

    # "Run" on the orchestration creates a run-once task and selects it.
    orch_row.locator('button[data-action="run"]').click()
    task_row = panel.locator("li[data-task-id]").first
    expect(task_row).to_be_visible(timeout=15_000)
    expect(task_row).to_have_attribute("aria-selected", "true")
    run_row = panel.locator('[data-section="runs"] li[data-run-id]').first
    expect(run_row).to_be_visible(timeout=15_000)
    shot(page, "04-run-started")

    # Open the log while the run is still going: the rest arrives by the push channel.
    run_id = run_row.get_attribute("data-run-id")
    run_row.click()
    log = page.locator(f'.jp-orch-logview[data-run-id="{run_id}"]')
    expect(log).to_be_visible(timeout=10_000)
    expect(log.locator(".jp-orch-log-stdout", has_text="hello from the orchestration")).to_have_count(1, timeout=15_000)
    expect(log.locator(".jp-orch-log-stderr", has_text="a warning on stderr")).to_have_count(1, timeout=15_000)
    expect(log.locator(".jp-orch-log-stdout", has_text="bye from the orchestration")).to_have_count(1, timeout=30_000)
    expect(log.locator(".jp-orch-logview-status .jp-orch-status")).to_have_text("success", timeout=30_000)
    expect(status_of(run_row)).to_have_text("success", timeout=15_000)
    expect(run_row.locator(".jp-orch-exit-code")).to_have_text("exit 0", timeout=15_000)
    # No line twice (stored + pushed), and the long line's pieces joined into one line.
    assert log.locator(".jp-orch-log-line").count() == 4
    assert log.locator(".jp-orch-log-text").nth(2).evaluate("e => e.textContent.length") == 150_000
    shot(page, "05-run-log")

    # "Run now" on the task runs the same orchestration again as a new task.
    task_id = task_row.get_attribute("data-task-id")
    panel.locator(f'li[data-task-id="{task_id}"] button[data-action="run-now"]').click()
    expect(panel.locator("li[data-task-id]")).to_have_count(2, timeout=15_000)
    selected = panel.locator('li[data-task-id][aria-selected="true"]')
    expect(selected).not_to_have_attribute("data-task-id", task_id or "")
    newest_run = panel.locator('[data-section="runs"] li[data-run-id]').first
    expect(status_of(newest_run)).to_have_text("success", timeout=60_000)
    tasks = lab.post("task/list", {"workspace_id": workspace}).json()
    tasks = tasks["tasks"] if isinstance(tasks, dict) else tasks
    assert {t["orch_id"] for t in tasks} == {orch_id}
    shot(page, "06-run-now")


def test_kill_a_scheduled_task(page: Any, lab: ServerProcess, workspace: int) -> None:
    orch_id = upload(lab, workspace, "nightly")
    ready = lab.post("orchestration/get_by_id", {"id": orch_id, "wait_for": "ready"}).json()
    deadline = time.monotonic() + 60
    while ready.get("status") != "ready" and time.monotonic() < deadline:
        time.sleep(0.5)
        ready = lab.post("orchestration/get_by_id", {"id": orch_id}).json()
    assert ready["status"] == "ready", ready
    response = lab.post(
        "task/run_scheduled",
        {"name": "nightly-job", "workspace_id": workspace, "orch_id": orch_id, "schedule": "0 0 * * *", "json": {}},
    )
    assert response.status_code in (200, 201), response.text
    task_id = response.json()["id"]

    panel = open_panel(page, lab, workspace)
    row = panel.locator(f'li[data-task-id="{task_id}"]')
    expect(row).to_be_visible(timeout=15_000)
    expect(row.locator(".jp-orch-run-type")).to_have_text("CronJob")
    expect(row.locator(".jp-orch-schedule")).to_have_text("at 00:00, every day")
    expect(row.locator(".jp-orch-next-run")).to_contain_text("next in")
    shot(page, "07-scheduled-task")

    row.locator('button[data-action="kill"]').click()
    expect(status_of(row)).to_have_text("killed", timeout=30_000)
    expect(row.locator('button[data-action="kill"]')).to_be_disabled()
    assert lab.post("task/get_by_id", {"id": task_id}).json()["status"] == "killed"
    shot(page, "08-task-killed")


def test_pipeline_deploy_and_inference_log_table(page: Any, lab: ServerProcess, workspace: int) -> None:
    name = f"uipipe{secrets.token_hex(3)}"
    created = lab.post("pipelines/create", {"pipeline_id": name, "workspace_id": workspace})
    assert created.status_code in (200, 201), created.text
    model = requests.post(
        lab.api + "models/upload",
        headers=lab.headers,
        files=[
            ("file", ("linear.onnx", scale_model(2.0, 3, "tensor", "variable"), "application/octet-stream")),
            ("metadata", ("metadata", json.dumps({"name": "uilinear", "workspace_id": workspace}), "application/json")),
        ],
        timeout=30,
    )
    assert model.status_code in (200, 201), model.text
    step = lab.post("pipelines/add_model_step", {"pipeline_id": name, "model_version_id": model.json()["id"]})
    assert step.status_code in (200, 201), step.text

    panel = open_panel(page, lab, workspace)
    row = panel.locator(f'li[data-pipeline="{name}"]')
    expect(row).to_be_visible(timeout=15_000)
    expect(row).to_have_attribute("data-deployed", "false")
    row.locator('button[data-action="deploy"]').click()
    expect(row).to_have_attribute("data-deployed", "true", timeout=60_000)
    expect(row.locator('button[data-action="undeploy"]')).to_be_enabled()
    shot(page, "09-pipeline-deployed")

    rows = [{"tensor": [float(i), 1.0, 0.0]} for i in range(150)]
    inferred = requests.post(
        lab.api + f"pipelines/infer/{name}",
        headers={**lab.headers, "Content-Type": "application/json; format=pandas-records"},
        data=json.dumps(rows),
        timeout=60,
    )
    assert inferred.status_code == 200, inferred.text

    row.locator('button[data-action="open-log"]').click()
    view = page.locator(f'.jp-orch-inference[data-pipeline="{name}"]')
    expect(view).to_be_visible(timeout=10_000)
    table = view.locator("table.jp-orch-inference-table")
    expect(table.locator("tbody tr")).to_have_count(100, timeout=15_000)  # one page of the newest 100
    headers = table.locator("thead th").all_inner_texts()
    assert headers[0] == "time"
    assert "in.tensor" in headers and "out.variable" in headers, headers
    shot(page, "10-inference-log-page-1")

    view.locator('button[data-action="next-page"]').click()
    expect(table.locator("tbody tr")).to_have_count(50, timeout=15_000)
    expect(view.locator('button[data-action="next-page"]')).to_be_disabled()
    shot(page, "11-inference-log-page-2")

    # A time range before the rows were logged holds none of them.
    view.locator("input.jp-orch-from").fill("2001-01-01T00:00:00")
    view.locator("input.jp-orch-to").fill("2001-01-02T00:00:00")
    view.locator('button[data-action="apply"]').click()
    expect(view.locator(".jp-orch-empty")).to_be_visible(timeout=15_000)
    shot(page, "12-inference-log-empty-range")

    # Back in the panel: undeploy.
    row.locator('button[data-action="undeploy"]').click()
    expect(row).to_have_attribute("data-deployed", "false", timeout=60_000)
    shot(page, "13-pipeline-undeployed")


def test_connections_are_listed_with_details_masked(page: Any, lab: ServerProcess, workspace: int) -> None:
    name = f"ui-conn-{secrets.token_hex(3)}"
    details = {"url": "https://x", "password": "s3cr3t-value"}
    created = lab.post("connections/create", {"name": name, "type": "HTTP", "details": details})
    assert created.status_code in (200, 201), created.text
    added = lab.post("connections/add_to_workspace", {"workspace_id": workspace, "connection_id": created.json()["id"]})
    assert added.status_code in (200, 201), added.text

    panel = open_panel(page, lab, workspace)
    section = panel.locator('[data-section="connections"]')
    section.locator("summary").click()  # folded by default
    row = section.locator(f'li[data-connection-id="{created.json()["id"]}"]')
    expect(row).to_be_visible(timeout=15_000)
    expect(row.locator(".jp-orch-details")).to_have_text("details: ••••")
    assert "s3cr3t-value" not in panel.inner_text()
    shot(page, "14-connections-masked")
