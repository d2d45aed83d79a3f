"""What the engine keeps private and how little it hands out: file modes in the data dir,
connection details sealed at rest, runs' working copies that share large files, installers
that cannot hang packaging forever."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_orch.engine.tasks.records import ONESHOT, TASK_TERMINAL
from jupyter_orch.engine.workspaces.secrets import KEY_FILE_NAME
from tests.engine.test_tasks_engine import logs, orchestration, texts
from tests.support.databases import sql
from tests.support.engine import running_engine
from tests.support.zips import make_zip

REPORT_MODES = '''
import json, os, stat
args = os.environ["JUPYTER_ORCH_TASK_ARGS_FILE"]
big = os.stat("data/big.bin")
print(json.dumps({"args": stat.S_IMODE(os.stat(args).st_mode), "run_dir": stat.S_IMODE(os.stat("..").st_mode),
                  "big_links": big.st_nlink, "big_inode": big.st_ino, "cwd": os.getcwd()}))
'''


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_the_data_dir_is_private_and_large_files_are_shared_not_copied(tmp_path: Path,
                                                                            db_url: str | None) -> None:
    data = tmp_path / "data"
    async with running_engine(data) as engine:
        orch = await orchestration(engine, {"main.py": REPORT_MODES, "data/big.bin": os.urandom(2 * 1024 * 1024)})
        task = await engine.tasks.create(ONESHOT, orch.workspace_id, orch.id, {})
        task = await engine.tasks.wait_for(task.id, TASK_TERMINAL, 60)
        lines = texts(await logs(engine, task))
        assert task.status == "success", lines
        seen = json.loads(lines[-1])
        shared = engine.orchestrations.unpacked_path(orch.sha) / "data" / "big.bin"

    assert mode(data) == 0o700
    assert mode(data / KEY_FILE_NAME) == 0o600
    blobs = [p for p in (data / "blobs").rglob("*") if p.is_file()]
    assert blobs and {mode(p) for p in blobs} == {0o600}
    if db_url is None:
        assert {mode(p) for p in data.glob("orch.sqlite3*")} == {0o600}
    assert seen["args"] == 0o600 and seen["run_dir"] == 0o700
    # The run's large file is the shared one (a hard link), read-only so a run cannot change it
    # for the next one.
    assert seen["big_links"] >= 2 and seen["big_inode"] == shared.stat().st_ino
    assert mode(shared) & 0o222 == 0


async def test_a_world_readable_sqlite_file_is_made_private(tmp_path: Path, db_url: str | None) -> None:
    if db_url is not None:
        pytest.skip("a SQLite file only")
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    (data / "orch.sqlite3").touch(mode=0o644)
    async with running_engine(data):
        pass
    assert mode(data) == 0o700 and mode(data / "orch.sqlite3") == 0o600


async def test_connection_details_are_sealed_at_rest_and_read_back(tmp_path: Path, db_url: str | None) -> None:
    data = tmp_path / "data"
    async with running_engine(data) as engine:
        made = await engine.connections.create("db", "ODBC", {"password": "hunter2-at-rest"})
        assert (await engine.connections.get(made.id)).details == {"password": "hunter2-at-rest"}
        url = engine.store.url
    stored = sql(url, "SELECT details, sealed_details FROM connections")
    assert "hunter2" not in repr(stored)
    if db_url is None:
        assert b"hunter2" not in b"".join(p.read_bytes() for p in data.glob("orch.sqlite3*"))
    async with running_engine(data) as engine:  # the key file opens them again
        assert (await engine.connections.by_name("db")).details == {"password": "hunter2-at-rest"}


async def test_a_configured_key_is_used_and_a_wrong_one_cannot_open(tmp_path: Path, db_url: str | None) -> None:
    from cryptography.fernet import Fernet

    key, other = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    data = tmp_path / "data"
    async with running_engine(data, secret_key=key) as engine:
        await engine.connections.create("db", "ODBC", {"password": "p"})
    assert not (data / KEY_FILE_NAME).exists()
    async with running_engine(data, secret_key=f"{other};{key}") as engine:  # rotation: old key still opens
        assert (await engine.connections.by_name("db")).details == {"password": "p"}
    async with running_engine(data, secret_key=other) as engine:
        with pytest.raises(Exception, match="cannot be decrypted"):
            await engine.connections.by_name("db")


@pytest.fixture
def silent_index() -> Iterator[str]:
    """A package index that accepts connections and never answers."""
    server = socket.create_server(("127.0.0.1", 0))
    server.listen(16)
    yield f"http://127.0.0.1:{server.getsockname()[1]}/simple"
    server.close()


async def test_a_hanging_installer_times_out_and_releases_the_build(tmp_path: Path, silent_index: str,
                                                                     db_url: str | None) -> None:
    requirements = f"--index-url {silent_index}\nsome-package-that-never-comes==1.0\n"
    async with running_engine(tmp_path / "data", packaging_timeout=2.0) as engine:
        first = await orchestration(engine, {"main.py": "", "requirements.txt": requirements})
        assert first.status == "error" and "timed out after 2 s" in first.packaging_log, first.packaging_log
        # The build lock was released: the same requirements are built (and time out) again.
        second = await asyncio.wait_for(
            orchestration(engine, {"main.py": "# again", "requirements.txt": requirements}), 30
        )
        assert second.status == "error" and "timed out" in second.packaging_log


def processes_mentioning(*texts: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and all(t.encode() in (entry / "cmdline").read_bytes() for t in texts):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


async def test_shutdown_kills_an_installer_in_progress(tmp_path: Path, silent_index: str, db_url: str | None) -> None:
    data = tmp_path / "data"
    requirements = f"--index-url {silent_index}\nsome-package-that-never-comes==1.0\n"
    async with running_engine(data, packaging_timeout=120.0) as engine:
        ws = await engine.workspaces.create("ws", "tester")
        await engine.orchestrations.upload(ws.id, make_zip({"main.py": "", "requirements.txt": requirements}),
                                           "o.zip", None, "tester")
        for _ in range(200):
            if processes_mentioning(str(data), "requirements.txt"):  # the install, not the venv
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the installer never started")
    for _ in range(100):
        if not processes_mentioning(str(data)):
            break
        await asyncio.sleep(0.05)
    assert processes_mentioning(str(data)) == []
