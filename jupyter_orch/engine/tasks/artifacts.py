"""Artifacts: the files a run wrote under `outputs/` in its working folder, kept after it ends
in `<data dir>/artifacts/<run id>/`.

When a run ends, its executor hands the folder over (`keep`, off the loop, before the run's own
folder is removed): it is moved to `artifacts/.incoming-<run id>` (a rename: the runs' folders
are in the data dir too), cleared of everything but plain files and folders (a symlink could
name any file of this machine), then renamed to `artifacts/<run id>`. A crash leaves nothing, or
a hidden staging folder that start-up removes (leftovers.py). Retention removes a run's
artifacts with the run (retention.py).

Files are read by their path below the run's folder: a path with `..`, a leading `/` or a
backslash is refused, and nothing but a plain file is opened (never through a symlink).
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import os
import shutil
import stat
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..errors import Invalid, NotFound
from ..paging import Page, PageRequest, decode, encode
from .records import TaskRecords

STAGING_PREFIX = ".incoming-"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Artifact:
    path: str  # below the run's outputs folder, `/`-separated
    size: int


class Artifacts:
    def __init__(self, root: Path, records: TaskRecords):
        self.root = root
        self.records = records

    async def list_page(self, run_id: str, request: PageRequest) -> Page[Artifact]:
        """The run's artifacts by path, a page after `request.cursor` (404: no such run)."""
        await self.records.store.call(self.records.get_run, run_id)
        return await asyncio.to_thread(self._page, run_id, request)

    async def open(self, run_id: str, path: str) -> BinaryIO:
        """One artifact of the run, opened for reading (400: not a path below its folder; 404:
        no such run or file)."""
        relative = _safe_path(path)
        await self.records.store.call(self.records.get_run, _run_id(run_id))
        return await asyncio.to_thread(self._open, run_id, relative)

    # --- off the loop ---------------------------------------------------------------------

    def keep(self, run_id: str, outputs: Path) -> None:
        """Keep what a run left in its `outputs` folder (nothing when it made none). A failure
        is logged, never raised: the run's end is recorded whatever happens here."""
        if outputs.is_symlink() or not outputs.is_dir():
            return
        staging = self.root / f"{STAGING_PREFIX}{run_id}"
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            _remove_tree(staging)
            shutil.move(outputs, staging)
            _keep_plain_files(staging)
            _remove_tree(self.root / run_id)
            staging.rename(self.root / run_id)
        except OSError:
            log.exception("the artifacts of run %s could not be kept", run_id)
            _remove_tree(staging)

    def remove(self, run_ids: Iterable[str]) -> int:
        """Remove the artifacts of these runs; the bytes freed."""
        freed = 0
        for run_id in run_ids:
            folder = self.root / run_id
            if folder.is_dir():
                freed += sum(a.size for a in _files(folder))
                _remove_tree(folder)
        return freed

    def kept_run_ids(self) -> list[str]:
        """The runs that have artifacts here."""
        if not self.root.is_dir():
            return []
        return [p.name for p in self.root.iterdir() if not p.name.startswith(STAGING_PREFIX)]

    def _page(self, run_id: str, request: PageRequest) -> Page[Artifact]:
        folder = self.root / run_id
        files = sorted(_files(folder), key=lambda a: a.path) if folder.is_dir() else []
        start = 0
        if request.cursor:
            after = decode(request.cursor, 1)[0]
            if not isinstance(after, str):
                raise Invalid("'cursor' is not a cursor this server gave out for this list")
            start = bisect.bisect_right([a.path for a in files], after)
        items = files[start:start + request.limit]
        more = start + request.limit < len(files)
        return Page(items, encode([items[-1].path]) if more and items else None)

    def _open(self, run_id: str, relative: str) -> BinaryIO:
        target = self.root / run_id / relative
        try:
            fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            raise NotFound(f"run {run_id} has no artifact '{relative[:200]}'") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise NotFound(f"run {run_id} has no artifact '{relative[:200]}'")
        return os.fdopen(fd, "rb")


def _run_id(text: str) -> str:
    try:
        uuid.UUID(text)
    except ValueError:
        raise Invalid(f"'{text[:100]}' is not a run id") from None
    return text


def _safe_path(path: str) -> str:
    parts = path.split("/")
    if not path or path.startswith("/") or "\\" in path or "\0" in path or any(p in ("", ".", "..") for p in parts):
        raise Invalid(f"'{path[:200]}' is not the path of an artifact")
    return path


def _files(folder: Path) -> list[Artifact]:
    found = []
    for dirpath, _dirs, names in os.walk(folder):  # os.walk does not follow symlinks to folders
        for name in names:
            info = os.lstat(os.path.join(dirpath, name))
            if stat.S_ISREG(info.st_mode):
                relative = os.path.relpath(os.path.join(dirpath, name), folder).replace(os.sep, "/")
                found.append(Artifact(relative, info.st_size))
    return found


def _keep_plain_files(folder: Path) -> None:
    """Remove what is not a plain file or folder (symlinks, sockets, fifos); make every folder
    and file readable by the server, whatever modes the run left."""
    os.chmod(folder, 0o700)
    for dirpath, dirs, names in os.walk(folder):
        for name in [*dirs, *names]:
            path = os.path.join(dirpath, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISDIR(mode):
                os.chmod(path, 0o700)
            elif not stat.S_ISREG(mode):
                os.unlink(path)
            elif not mode & stat.S_IRUSR:
                os.chmod(path, mode | stat.S_IRUSR)
        dirs[:] = [d for d in dirs if os.path.isdir(os.path.join(dirpath, d))]


def _remove_tree(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.exists():
        shutil.rmtree(path, ignore_errors=True)
