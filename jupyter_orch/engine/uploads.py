"""Uploaded files on disk: spooled as they arrive, hashed on the way, never held whole in memory.

A `Spool` takes chunks (from the server's multipart parser, or one `bytes` from an in-process
caller), writes them to a private temporary file in the blob store's incoming folder (the same
file system as the blobs, so adopting one is a rename), and hashes them; `finish` syncs the file
and answers an `Upload`. A full disk is a `DiskFull` (507), and the half-written file is removed.
"""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .errors import DiskFull, TooLarge


@dataclass(frozen=True)
class Upload:
    path: Path
    sha: str  # sha256 hex of the content
    size: int

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


class Spool:
    def __init__(self, folder: Path, limit: int | None = None):
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=folder, prefix=".upload-")
        self.path = Path(name)
        self._file: BinaryIO = os.fdopen(fd, "wb")
        self._hash = hashlib.sha256()
        self._limit = limit
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self._limit is not None and self.size > self._limit:
            self.abort()
            raise TooLarge(f"the upload exceeds the limit of {self._limit} bytes")
        self._hash.update(chunk)
        try:
            with disk_full_is_507("storing the upload"):
                self._file.write(chunk)
        except BaseException:
            self.abort()
            raise

    def finish(self) -> Upload:
        try:
            with disk_full_is_507("storing the upload"):
                self._file.flush()
                os.fsync(self._file.fileno())
                self._file.close()
        except BaseException:
            self.abort()
            raise
        return Upload(self.path, self._hash.hexdigest(), self.size)

    def abort(self) -> None:
        self._file.close()
        self.path.unlink(missing_ok=True)


def spool_bytes(folder: Path, data: bytes) -> Upload:
    """An upload of bytes already in memory (in-process callers: the engine's tests, scripts)."""
    spool = Spool(folder)
    spool.write(data)
    return spool.finish()


@contextmanager
def disk_full_is_507(what: str) -> Iterator[None]:
    """Turns ENOSPC/EDQUOT into `DiskFull`, saying what could not be written."""
    try:
        yield
    except OSError as error:
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFull(f"the disk is full: {what} failed; free some space and try again") from None
        raise
