"""Spooled uploads on a real file system: hashed on the way, refused past the limit, and a
full disk (the kernel's own /dev/full) is a DiskFull (507) that leaves nothing behind."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from jupyter_orch.engine.errors import DiskFull, TooLarge
from jupyter_orch.engine.orchestrations.blobs import BlobStore
from jupyter_orch.engine.uploads import Spool, disk_full_is_507

NO_DATABASE = True


def test_a_spool_hashes_what_it_writes_and_the_blob_store_adopts_it(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    spool = Spool(blobs.incoming)
    chunks = [b"a" * 70_000, b"b" * 10, b""]
    for chunk in chunks:
        spool.write(chunk)
    upload = spool.finish()
    assert upload.sha == hashlib.sha256(b"".join(chunks)).hexdigest() and upload.size == 70_010
    assert blobs.adopt(upload) == upload.sha
    assert blobs.read(upload.sha) == b"".join(chunks) and not upload.path.exists()
    assert list(blobs.incoming.iterdir()) == []


def test_a_spool_past_its_limit_is_refused_and_removed(tmp_path: Path) -> None:
    spool = Spool(tmp_path, limit=10)
    spool.write(b"12345")
    with pytest.raises(TooLarge, match="limit of 10 bytes"):
        spool.write(b"678901")
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_is_a_507_that_says_so() -> None:
    with pytest.raises(DiskFull, match="disk is full: writing it failed") as full:  # noqa: SIM117
        with disk_full_is_507("writing it"), open("/dev/full", "wb") as device:
            device.write(b"x" * 10_000)
            device.flush()
    assert full.value.status == 507
