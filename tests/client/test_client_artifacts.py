"""A run's artifacts through the client: listed on the run, read, saved, linked from its repr."""

from __future__ import annotations

from pathlib import Path

from jupyter_orch.client import Client, RunArtifact
from tests.client.test_client_tasks import orchestration

WRITES = """\
from pathlib import Path
Path("outputs/plots").mkdir(parents=True)
Path("outputs/metrics.json").write_text('{"auc": 0.9}')
Path("outputs/plots/a <b>.svg").write_text("<svg/>")
"""


def test_a_runs_artifacts_are_listed_read_saved_and_linked(wl: Client, tmp_path: Path) -> None:
    task = orchestration(wl, WRITES, "writes").run_once("writes outputs")
    (run,) = task.wait_for(timeout=120).last_runs()
    assert run.status() == "success", run.logs()
    artifacts = run.artifacts()
    assert [(a.path(), a.size()) for a in artifacts] == [("metrics.json", 12), ("plots/a <b>.svg", 6)]
    metrics = artifacts[0]
    assert isinstance(metrics, RunArtifact) and metrics.url().startswith(wl._http.url)
    assert metrics.read_bytes() == b'{"auc": 0.9}'
    assert metrics.save(tmp_path) == tmp_path / "metrics.json"
    assert (tmp_path / "metrics.json").read_bytes() == b'{"auc": 0.9}'
    assert artifacts[1].save(tmp_path / "plot.svg").read_text() == "<svg/>"

    shown = run._repr_html_()
    assert f'<a href="{metrics.url()}" target="_blank">metrics.json</a>' in shown
    assert "a &lt;b&gt;.svg" in shown and "<b>" not in shown
    assert "<th>path</th><th>size</th><th>url</th>" in artifacts._repr_html_()

    (quiet,) = orchestration(wl, "print('no outputs')\n", "quiet").run_once("quiet").wait_for(timeout=120).last_runs()
    assert quiet.artifacts() == [] and "artifacts:" not in quiet._repr_html_()
