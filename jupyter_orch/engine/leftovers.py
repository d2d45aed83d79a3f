"""Start-up: what interrupted work left in the data dir is removed before anything resumes.

Every writer here writes to a hidden temporary name, then renames it into place, so what a
crash leaves is recognisable by its name:
- `blobs/<xx>/.incoming-*`: a blob fetched from the shared store, not yet renamed into place;
- `blobs/.incoming/*`: an upload (an orchestration, a model) still being received;
- `unpacked/.unpack-*`: an orchestration's tree not yet unpacked whole;
- `inference_logs/<pipeline>/<hour>/.tmp-*`: an inference log part not yet fsynced whole;
- `artifacts/.incoming-*`: a run's outputs not yet moved into place whole (tasks/artifacts.py);
- `runs/<run id>`: a run's private folder, of a run that is not recorded running (a working copy
  half made, or one whose removal at the run's end was cut short). A run recorded running keeps
  its folder until start-up recovery has ended its processes (the executor removes it then).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

from .orchestrations.blobs import INCOMING_PREFIX
from .orchestrations.zips import STAGING_PREFIX
from .tasks.artifacts import STAGING_PREFIX as ARTIFACTS_STAGING_PREFIX

INFERENCE_LOG_TMP_PREFIX = ".tmp-"  # pipelines/inference_log.py's `_write`

log = logging.getLogger(__name__)


def remove_leftovers(data_dir: Path, running: set[str]) -> list[Path]:
    """Remove them; the paths removed. `running`: ids of the runs recorded running (by any
    engine: team servers may share a data dir)."""
    removed = list(_leftovers(data_dir, running))
    for path in removed:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    if removed:
        log.info("removed %d leftovers of interrupted work: %s", len(removed), ", ".join(map(str, removed)))
    return removed


def _leftovers(data_dir: Path, running: set[str]) -> Iterator[Path]:
    yield from data_dir.glob(f"blobs/*/{INCOMING_PREFIX}*")
    yield from data_dir.glob("blobs/.incoming/*")
    yield from data_dir.glob(f"unpacked/{STAGING_PREFIX}*")
    yield from data_dir.glob(f"inference_logs/*/*/{INFERENCE_LOG_TMP_PREFIX}*")
    yield from data_dir.glob(f"artifacts/{ARTIFACTS_STAGING_PREFIX}*")
    runs = data_dir / "runs"
    if runs.is_dir():
        yield from (folder for folder in runs.iterdir() if folder.name not in running)
