"""Re-execute the tutorials against a fresh jupyter-orch server and save their outputs.

    .venv/bin/python tests/notebooks/refresh_outputs.py [NOTEBOOK ...]

The stored outputs are what `pytest --nbval` compares with (after tests/notebooks/sanitize.cfg), so
refresh them whenever a notebook or what it shows changes. Notebooks run in name order on one
server, as the test session runs them.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[2]
TUTORIALS = REPO / "notebooks"
sys.path.insert(0, str(REPO))

from tests.support.server import ServerProcess  # noqa: E402


def main(names: list[str]) -> None:
    paths = [Path(n).resolve() for n in names] or sorted(TUTORIALS.glob("[0-9]*.ipynb"))
    scratch = Path(tempfile.mkdtemp(prefix="orch-refresh-"))
    server = ServerProcess(root=scratch / "root", data_dir=scratch / "data").start()
    os.environ["JUPYTER_ORCH_URL"], os.environ["JUPYTER_ORCH_TOKEN"] = server.url, server.token
    try:
        for path in paths:
            nb = nbformat.read(path, as_version=4)
            started = time.monotonic()
            NotebookClient(nb, timeout=120, kernel_name="python3", store_widget_state=True,
                           resources={"metadata": {"path": str(path.parent)}}).execute()
            for cell in nb.cells:
                if cell.cell_type == "code" and cell.get("execution_count") is None:
                    raise RuntimeError(f"{path.name}: a code cell was not executed")
            nbformat.write(nb, path)
            print(f"{path.name}: {time.monotonic() - started:.1f} s")
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
