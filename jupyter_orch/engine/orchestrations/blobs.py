"""Content-addressed file store: every blob lives at blobs/<sha[:2]>/<sha>."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from ..uploads import Upload


class BlobStore:
    def __init__(self, root: Path):
        self.root = root
        self.incoming = root / ".incoming"  # uploads spool here: adopting one is a rename
        self.lock = asyncio.Lock()  # held from adopting a blob to recording it, and while deleting
        root.mkdir(parents=True, exist_ok=True)

    def path(self, sha: str) -> Path:
        return self.root / sha[:2] / sha

    def adopt(self, upload: Upload) -> str:
        """Store a spooled upload (already synced) under its sha256, moving the file."""
        target = self.path(upload.sha)
        if target.exists():
            upload.discard()
            return upload.sha
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(upload.path, target)
        return upload.sha

    def read(self, sha: str) -> bytes:
        return self.path(sha).read_bytes()
