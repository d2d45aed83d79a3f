"""Python environments for orchestrations, keyed by their normalized requirements.

An empty requirement set runs in the server's own environment. Any other set gets a venv
layered on the server's environment through a .pth file (so pandas, pyarrow and
jupyter_orch stay importable while the requirements win on conflict), installed with uv
when available, pip otherwise, and shared by every orchestration with the same set.

Installer commands run in their own process group with an allow-listed environment, under a
time limit (`packaging_timeout`); a timeout, a cancel or a shutdown kills the whole group, so a
build lock is never held by an installer that hangs.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import signal
import site
import sys
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update

from ... import __version__
from ..childenv import installer_environ
from ..store import schema as t
from ..store.database import Duplicate, Store
from ..timeutil import utcnow

READY = "ready"
BUILDING = "building"
FAILED = "error"


@dataclass(frozen=True)
class Environment:
    key: str | None
    python: str
    log: str


class EnvironmentBuildFailed(Exception):
    def __init__(self, log: str):
        super().__init__("installing the requirements failed")
        self.log = log


def normalize_requirements(text: str) -> str:
    """One requirement per line, comments and blanks dropped, sorted, duplicates removed."""
    lines = set()
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.add(" ".join(line.split()))
    return "\n".join(sorted(lines))


def environment_key(normalized: str) -> str:
    basis = f"{normalized}\npython={sys.version}\njupyter_orch={__version__}"
    return hashlib.sha256(basis.encode()).hexdigest()[:32]


def server_site_packages() -> list[str]:
    paths = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    paths.update(p for p in site.getsitepackages() if p.startswith(sys.prefix))
    return sorted(p for p in paths if os.path.isdir(p))


def find_uv() -> str | None:
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


class Environments:
    def __init__(self, store: Store, root: Path, installer: str = "auto", timeout: float = 600.0):
        self.store = store
        self.root = root
        self.installer = installer
        self.timeout = timeout
        self._locks: dict[str, asyncio.Lock] = {}
        root.mkdir(parents=True, exist_ok=True)

    def python_for(self, key: str | None) -> str:
        return sys.executable if key is None else str(self._python(self.root / key))

    async def ensure(self, requirements: str, progress: Callable[[str], None]) -> Environment:
        normalized = normalize_requirements(requirements)
        if not normalized:
            return Environment(None, sys.executable, "no requirements: using the server environment\n")
        key = environment_key(normalized)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            path = self.root / key
            known = await self.store.call(self._status, key)
            if known is not None and known[0] == READY and self._python(path).exists():
                progress(f"reusing environment {key}\n")
                return Environment(key, str(self._python(path)), known[1])
            await self.store.call(self._record, key, normalized, path, BUILDING, "")
            log: list[str] = []

            def emit(line: str) -> None:
                log.append(line)
                progress(line)

            try:
                ok = await asyncio.wait_for(self._build(path, normalized, emit), self.timeout)
            except TimeoutError:
                emit(f"packaging timed out after {self.timeout:g} s (c.OrchApp.packaging_timeout)\n")
                ok = False
            text = "".join(log)
            await self.store.call(self._record, key, normalized, path, READY if ok else FAILED, text)
            if not ok:
                await asyncio.to_thread(shutil.rmtree, path, True)
                raise EnvironmentBuildFailed(text)
            return Environment(key, str(self._python(path)), text)

    def _status(self, key: str) -> tuple[str, str] | None:
        envs = t.environments
        with self.store.read() as db:
            row = db.execute(select(envs.c.status, envs.c.log).where(envs.c.key == key)).first()
        return None if row is None else (row.status, row.log)

    def _record(self, key: str, requirements: str, path: Path, status: str, log: str) -> None:
        envs, now = t.environments, utcnow()
        changes = {"status": status, "log": log, "path": str(path), "updated_at": now}
        with self.store.write() as db:
            if db.execute(update(envs).where(envs.c.key == key).values(**changes)).rowcount:
                return
        try:
            with self.store.write() as db:
                db.execute(envs.insert().values(key=key, requirements=requirements, created_at=now, **changes))
        except Duplicate:  # recorded meanwhile: record the newest state over it
            self._record(key, requirements, path, status, log)

    async def _build(self, path: Path, requirements: str, emit: Callable[[str], None]) -> bool:
        return await build_environment(path, requirements, self.installer, emit)

    @staticmethod
    def _python(path: Path) -> Path:
        return env_python(path)


def env_python(path: Path) -> Path:
    return path / "bin" / "python"


async def build_environment(path: Path, requirements: str, installer: str, emit: Callable[[str], None]) -> bool:
    """Make a venv at `path` layered on this process's environment and install `requirements`
    (what a cluster worker does too, with no database: see executors/dask_worker.py)."""
    await asyncio.to_thread(shutil.rmtree, path, True)
    uv = find_uv() if installer in ("auto", "uv") else None
    if uv:
        create = [uv, "venv", "--quiet", "--python", sys.executable, str(path)]
    else:
        create = [sys.executable, "-m", "venv", "--without-pip", str(path)]
    if not await _run(create, emit):
        return False
    await asyncio.to_thread(_layer_on_server, path)
    reqs_file = path / "requirements.txt"
    reqs_file.write_text(requirements + "\n")
    python = str(env_python(path))
    if uv:
        install = [uv, "pip", "install", "--python", python, "--compile-bytecode", "-r", str(reqs_file)]
    else:
        install = [sys.executable, "-m", "pip", "--python", python, "install",
                   "--disable-pip-version-check", "-r", str(reqs_file)]
    emit(f"$ {' '.join(install[:1] + install[1:3])} ... -r requirements.txt\n")
    return await _run(install, emit)


def _layer_on_server(path: Path) -> None:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site_dir = path / "lib" / version / "site-packages"
    site_dir.mkdir(parents=True, exist_ok=True)
    # addsitedir (not a bare path line) also processes the server's own .pth files, so an
    # editable jupyter_orch install is importable too; it appends, so the env's packages win.
    lines = [f"import site; site.addsitedir({parent!r})" for parent in server_site_packages()]
    (site_dir / "_jupyter_orch_server_env.pth").write_text("\n".join(lines) + "\n")


async def _run(cmd: list[str], emit: Callable[[str], None]) -> bool:
    env = {**installer_environ(os.environ), "PYTHONUNBUFFERED": "1", "UV_NO_PROGRESS": "1"}
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        stdin=asyncio.subprocess.DEVNULL, env=env, start_new_session=True,
    )
    assert proc.stdout is not None
    try:
        async for line in proc.stdout:
            emit(line.decode("utf-8", "replace"))
        code = await proc.wait()
    except BaseException:  # timed out, cancelled or shutting down: end the installer and its children
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        await asyncio.shield(proc.wait())
        raise
    if code != 0:
        emit(f"installer exited with code {code}\n")
    return code == 0
