"""Content-addressed file store: every blob lives at blobs/<sha[:2]>/<sha>."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

INCOMING_PREFIX = ".incoming-"  # a blob being written; one left by a crash is removed at start-up


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class BlobStore:
    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path(self, sha: str) -> Path:
        return self.root / sha[:2] / sha

    def put(self, data: bytes) -> str:
        """Store bytes durably (write, fsync, atomic rename) and return their sha256."""
        sha = sha256_bytes(data)
        target = self.path(sha)
        if target.exists():
            return sha
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=INCOMING_PREFIX)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha

    def read(self, sha: str) -> bytes:
        return self.path(sha).read_bytes()
