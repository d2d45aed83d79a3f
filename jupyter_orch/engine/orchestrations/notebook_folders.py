"""What a notebook uploaded with its folder becomes (`%orch_upload_notebook PATH`, the notebook
toolbar's *Run as task…*): the notebook as `main.ipynb` (the entrypoint
compat/notebook_run.py runs) with the other files of its folder, as they are on disk now.

Hidden files and folders (`.ipynb_checkpoints`, `.git`), `__pycache__` and the folder's own
`outputs/` (what an earlier run or a local try wrote) are left out; a `main.py` at the top would
run instead of the notebook, so it is refused, as is a folder too large to be an orchestration.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

from ...constants import OUTPUTS_DIR

NOTEBOOK_ENTRYPOINT = "main.ipynb"
MAX_FILES = 2000
MAX_BYTES = 200 * 1024 * 1024


class NotebookFolderError(ValueError):
    """The notebook or its folder cannot be uploaded as it is."""


def notebook_zip(notebook: Path) -> bytes:
    """The zip of the notebook's folder, the notebook being its `main.ipynb`."""
    if not notebook.is_file() or notebook.suffix != ".ipynb":
        raise NotebookFolderError(f"{notebook} is not a notebook file (.ipynb)")
    folder = notebook.resolve().parent
    if (folder / "main.py").exists():
        raise NotebookFolderError(f"{folder} has a main.py, which would run instead of the notebook; "
                                  "move the notebook to a folder of its own")
    files = [(p.relative_to(folder).as_posix(), p) for p in _folder_files(folder) if p != notebook.resolve()]
    files = [(name, path) for name, path in files if name != NOTEBOOK_ENTRYPOINT]
    size = sum(path.stat().st_size for _, path in files) + notebook.stat().st_size
    if len(files) >= MAX_FILES or size > MAX_BYTES:
        raise NotebookFolderError(f"{folder} holds {len(files) + 1} files of {size} bytes; a notebook's folder is "
                                  f"uploaded whole, up to {MAX_FILES} files and {MAX_BYTES // 2**20} MiB")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(notebook, NOTEBOOK_ENTRYPOINT)
        for name, path in files:
            archive.write(path, name)
    return buffer.getvalue()


def _folder_files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        parts = path.relative_to(folder).parts
        if any(p.startswith(".") or p == "__pycache__" for p in parts) or parts[0] == OUTPUTS_DIR:
            continue
        if path.is_file() and not path.is_symlink():
            yield path
