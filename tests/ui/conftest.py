"""A real `jupyter lab` process and a real Chromium (Playwright, Debian's /usr/bin/chromium).

The lab loads the labextension freshly built into jupyter_orch/labextension, whatever copy
the environment has installed, through an extra labextensions path. Every test gets a fresh
page (and a fresh lab workspace, so no layout is restored from an earlier test) in the light
or the dark theme; each step's screenshot goes to tests/ui/artifacts/ (git-ignored).
These tests run in their own pytest invocation: Playwright's sync API keeps an asyncio loop
running, which must not meet the async API tests' loop fixtures.
"""

from __future__ import annotations

import json
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright import sync_api

from tests.support.server import ServerProcess
from tests.ui.helpers import ARTIFACTS, show_panel, wait_restored

REPO = Path(__file__).resolve().parents[2]
BUILT = REPO / "jupyter_orch" / "labextension"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
]
NO_NEWS = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}


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
    extensions = tmp / "labextensions"
    extensions.mkdir()
    (extensions / "jupyter-orch").symlink_to(BUILT, target_is_directory=True)
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
            "--LabApp.expose_app_in_browser=True",
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


@pytest.fixture(params=["light"])
def theme(request: pytest.FixtureRequest) -> str:
    """The theme of the page; a test asks for both with `@pytest.mark.parametrize("theme", ...)`."""
    return request.param


@pytest.fixture
def page(browser: Any, lab: ServerProcess, theme: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(f"{lab.url}lab/workspaces/ui{secrets.token_hex(4)}?token={lab.token}")
    wait_restored(pg)
    pg.evaluate("t => window.jupyterapp.commands.execute('apputils:change-theme', {theme: t})", THEMES[theme])
    pg.wait_for_function(
        "dark => (document.body.dataset.jpThemeLight === 'false') === dark", arg=theme == "dark", timeout=15_000
    )
    yield pg
    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}-final.png"))
    context.close()
    assert not [e for e in errors if "orch" in e.lower()], errors


@pytest.fixture
def panel(page: Any) -> Any:
    """The sidebar, shown."""
    return show_panel(page)


@pytest.fixture
def workspace(lab: ServerProcess, request: pytest.FixtureRequest) -> int:
    name = f"ui-{request.node.originalname.replace('_', '-')[5:35]}-{secrets.token_hex(3)}"
    response = lab.post("workspaces/create", {"workspace_name": name})
    assert response.status_code in (200, 201), response.text
    return response.json()["workspace_id"]
