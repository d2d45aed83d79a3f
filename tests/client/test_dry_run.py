"""Dry runs with real subprocesses and no server: a folder or a zip runs as a task run would
(the same variables but no credential, the same log capture, the same zip rules, its
requirements environment built as the server builds it), printed live, answered with its exit
code and lines."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from jupyter_orch.client import Client
from jupyter_orch.client.dryrun import dry_run
from jupyter_orch.engine import Invalid
from tests.support.zips import make_zip

MAIN = """\
import os, sys
from helper import VALUE
from jupyter_orch import Client
print("args", Client().task_args())
print("data", open("data/input.csv").read().strip(), VALUE)
print("oops", file=sys.stderr)
for name in ("TASK_ID", "WALLAROO_TASK_ID", "RUN_ID", "ORCH_ID", "PYTHONUNBUFFERED", "JUPYTER_ORCH_TOKEN",
             "JUPYTER_ORCH_URL", "DRY_RUN_SECRET"):
    print(name, os.environ.get(name))
print("cwd", os.getcwd())
open("scratch.txt", "w").write("the working copy is the run's own")
sys.exit(3)
"""
LINE = re.compile(r"^\d{4}-\d\d-\d\dT\S+\+00:00 (stdout|stderr) F (.*)$")


def job(folder: Path) -> Path:
    (folder / "data").mkdir(parents=True)
    (folder / "main.py").write_text(MAIN)
    (folder / "helper.py").write_text("VALUE = 42\n")
    (folder / "data" / "input.csv").write_text("a,b\n")
    return folder


def test_a_folder_runs_as_a_task_run_would_and_is_shown_live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capfd: pytest.CaptureFixture[str]) -> None:
    folder = job(tmp_path / "job")
    monkeypatch.setenv("DRY_RUN_SECRET", "the server's environment is not passed on")
    monkeypatch.setenv("JUPYTER_ORCH_TOKEN", "a kernel's server token")
    result = Client.dry_run(folder, {"rows": 3})
    assert result.exit_code == 3 and not result.ok and result.entrypoint == "main.py"
    parsed = [LINE.match(line) for line in result.lines]
    assert all(parsed), result.lines
    streams = {m[2]: m[1] for m in parsed if m}
    assert streams["args {'rows': 3}"] == "stdout" and streams["oops"] == "stderr"
    assert streams["data a,b 42"] == "stdout"
    values = dict(text.split(" ", 1) for text in streams if " " in text)
    assert values["TASK_ID"].startswith("dry-run-") and values["WALLAROO_TASK_ID"] == values["TASK_ID"]
    assert values["ORCH_ID"] == "dry-run" and values["PYTHONUNBUFFERED"] == "1" and len(values["RUN_ID"]) == 36
    assert values["JUPYTER_ORCH_TOKEN"] == values["JUPYTER_ORCH_URL"] == values["DRY_RUN_SECRET"] == "None"
    assert not Path(values["cwd"]).is_relative_to(folder) and not (folder / "scratch.txt").exists()
    assert not Path(values["cwd"]).exists()  # the run's folder went with it
    printed = capfd.readouterr()
    assert "args {'rows': 3}\n" in printed.out and "oops\n" in printed.err
    assert "<th>exit code</th><td>3</td>" in result._repr_html_()
    assert result.logs().texts()[0] == "args {'rows': 3}"


def test_a_zip_with_requirements_runs_in_their_environment_built_once(tmp_path: Path,
                                                                     capfd: pytest.CaptureFixture[str]) -> None:
    data = make_zip({"job/main.py": "import six\nprint('six', six.__version__)\n",
                     "requirements.txt": "six==1.16.0\n"})
    (tmp_path / "job.zip").write_bytes(data)
    first = dry_run(tmp_path / "job.zip", env_cache=tmp_path / "envs")
    assert first.ok and first.entrypoint == "job/main.py" and first.logs().texts()[-1] == "six 1.16.0"
    assert Path(first.python).is_relative_to(tmp_path / "envs")
    assert "installing the requirements" in capfd.readouterr().out
    again = dry_run(data, echo=False, env_cache=tmp_path / "envs")
    assert again.ok and again.python == first.python and again.logs().texts() == ["six 1.16.0"]
    assert capfd.readouterr().out == ""


def test_what_an_upload_refuses_a_dry_run_refuses(tmp_path: Path) -> None:
    with pytest.raises(Invalid, match=r"main\.py"):
        dry_run(make_zip({"other.py": "print(1)\n"}))
    with pytest.raises(Invalid, match="zip"):
        dry_run(b"not a zip")
    with pytest.raises(FileNotFoundError):
        dry_run(tmp_path / "nothing-here")
