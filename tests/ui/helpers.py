"""What the browser tests share: uploads and tasks through the REST API, and what a person
sees (texts, colours) read off the page."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import requests
from playwright import sync_api

from tests.support.server import ServerProcess
from tests.support.zips import make_zip

expect = sync_api.expect

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PANEL = "#jupyter-orch-sidebar"

MAIN_PY = """\
import sys, time
print("hello from the orchestration", flush=True)
print("a warning on stderr", file=sys.stderr, flush=True)
time.sleep(1.5)
print("L" * 150_000, flush=True)  # longer than the executor's 64 KiB line cap: stored in pieces
print("bye from the orchestration", flush=True)
"""


def wait_restored(page: Any) -> None:
    """Wait until lab has restored its layout: a click before that races the restorer, which may
    then fold the sidebar the click opened (or the click folds the one it just opened)."""
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=60_000)
    page.wait_for_function("window.jupyterapp && window.jupyterapp.commands.hasCommand('apputils:change-theme')")
    page.evaluate("() => window.jupyterapp.restored.then(() => true)")


def show_panel(page: Any) -> Any:
    """The sidebar, shown: its tab is clicked only when it is not open already (a click on the
    current tab folds it)."""
    shown = page.locator(PANEL)
    if not shown.is_visible():
        page.locator(f'.jp-SideBar.jp-mod-left li.lm-TabBar-tab[data-id="{PANEL[1:]}"]').click()
    expect(shown).to_be_visible()
    return shown


def open_palette(page: Any) -> Any:
    """Lab's command palette, opened by its shortcut. The modal palette hides when anything else
    takes the focus, and on a loaded machine a focus change still on its way (the click before)
    may land after it opened: press again, up to three times, until its input stays shown."""
    palette = page.locator("#command-palette")
    for _ in range(3):
        page.keyboard.press("Control+Shift+C")
        try:
            palette.locator("input").wait_for(state="visible", timeout=5_000)
            page.wait_for_timeout(200)
            if palette.locator("input").is_visible():
                return palette
        except sync_api.TimeoutError:
            pass
    expect(palette.locator("input")).to_be_visible()
    return palette


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def shot_of(locator: Any, name: str) -> None:
    """A screenshot of one element (the README's pictures are picked from these)."""
    ARTIFACTS.mkdir(exist_ok=True)
    locator.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def expect_live(panel: Any) -> None:
    """The sidebar's socket is connected (on a loaded machine a page may take a while)."""
    expect(panel.locator('.jp-orch-live[data-live="true"]')).to_have_count(1, timeout=30_000)


def choose_workspace(panel: Any, workspace_id: int) -> None:
    select = panel.locator("select.jp-orch-workspace")
    expect(select.locator(f'option[value="{workspace_id}"]')).to_have_count(1, timeout=20_000)
    select.select_option(str(workspace_id))


def upload(lab: ServerProcess, workspace_id: int, name: str, files: dict[str, str] | None = None) -> str:
    response = requests.post(
        lab.api + "orchestration/upload",
        headers=lab.headers,
        files=[
            ("file", (f"{name}.zip", make_zip(files or {"main.py": MAIN_PY}), "application/zip")),
            ("metadata", ("metadata", json.dumps({"workspace_id": workspace_id, "name": name}), "application/json")),
        ],
        timeout=30,
    )
    assert response.status_code in (200, 201, 202), response.text
    return response.json()["id"]


def ready(lab: ServerProcess, orch_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while True:
        body = {"id": orch_id, "wait_for": ["ready", "error"], "wait_timeout": 60}
        orch = lab.post("orchestration/get_by_id", body).json()
        if orch.get("status") in ("ready", "error") or time.monotonic() > deadline:
            assert orch["status"] == "ready", orch
            return orch


def uploaded_ready(lab: ServerProcess, workspace_id: int, name: str, files: dict[str, str] | None = None) -> str:
    orch_id = upload(lab, workspace_id, name, files)
    ready(lab, orch_id)
    return orch_id


def start(lab: ServerProcess, route: str, **body: Any) -> str:
    response = lab.post(route, {"json": {}, **body})
    assert response.status_code in (200, 201), response.text
    return response.json()["id"]


def zip_file(name: str, files: dict[str, str]) -> dict[str, Any]:
    """A zip as Playwright's set_input_files takes it."""
    return {"name": name, "mimeType": "application/zip", "buffer": make_zip(files)}


def status_of(row: Any) -> Any:
    return row.locator(".jp-orch-status").first


CONTRAST_JS = """
el => {
  const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const bg = e => {
    for (let n = e; n; n = n.parentElement) {
      const c = getComputedStyle(n).backgroundColor;
      const v = rgb(c);
      if (v.length >= 3 && (v.length < 4 || v[3] > 0.5)) { return v; }
    }
    return [255, 255, 255];
  };
  const lum = v => {
    const [r, g, b] = v.slice(0, 3).map(x => x / 255).map(x => x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4);
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const a = lum(rgb(getComputedStyle(el).color)), b = lum(bg(el));
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}
"""


def contrast(locator: Any) -> float:
    """WCAG contrast ratio of an element's text against the background it is drawn on."""
    return float(locator.evaluate(CONTRAST_JS))
