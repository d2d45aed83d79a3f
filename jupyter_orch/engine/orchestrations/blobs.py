"""Content-addressed file store: every blob lives at blobs/<sha[:2]>/<sha> in the data dir.

Team servers on other machines share blobs through a shared store named by URL (fsspec: a
shared folder `file:///…`, S3-compatible storage `s3://…`, `c.OrchApp.blob_url`): every blob
is also written there, and one this engine lacks is fetched from there into its data dir on
first use, so an orchestration uploaded or a model registered through one server runs on all.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import fsspec


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class BlobStore:
    def __init__(self, root: Path, shared_url: str | None = None):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.shared: tuple[Any, str] | None = None
        if shared_url:
            fs, base = fsspec.core.url_to_fs(shared_url)
            fs.makedirs(base, exist_ok=True)
            self.shared = (fs, base.rstrip("/"))

    def path(self, sha: str) -> Path:
        """Where the blob is kept in this data dir (see `local` to have it there)."""
        return self.root / sha[:2] / sha

    def put(self, data: bytes) -> str:
        """Store bytes durably (write, fsync, atomic rename; and in the shared store) and
        return their sha256."""
        sha = sha256_bytes(data)
        target = self.path(sha)
        if not target.exists():
            _write_atomically(target, lambda f: f.write(data))
        if self.shared is not None:
            fs, base = self.shared
            remote = f"{base}/{sha[:2]}/{sha}"
            if not fs.exists(remote):
                # A name of its own first, then a rename: a reader never sees half a blob.
                staging = f"{base}/{sha[:2]}/.incoming-{uuid.uuid4().hex}"
                fs.makedirs(f"{base}/{sha[:2]}", exist_ok=True)
                fs.pipe_file(staging, data)
                fs.mv(staging, remote)
        return sha

    def local(self, sha: str) -> Path:
        """The blob's path in this data dir, fetched from the shared store if it is not here
        yet. FileNotFoundError when no store has it. File work: call it off the event loop."""
        target = self.path(sha)
        if target.exists() or self.shared is None:
            if not target.exists():
                raise FileNotFoundError(f"blob {sha} is not in {self.root}")
            return target
        fs, base = self.shared
        remote = f"{base}/{sha[:2]}/{sha}"
        with fs.open(remote, "rb") as source:
            _write_atomically(target, lambda f: _copy(source, f))
        return target

    def read(self, sha: str) -> bytes:
        return self.local(sha).read_bytes()


def _copy(source: IO[bytes], target: IO[bytes]) -> None:
    while chunk := source.read(1 << 20):
        target.write(chunk)


def _write_atomically(target: Path, write: Callable[[IO[bytes]], object]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
