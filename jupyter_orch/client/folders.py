"""A folder as an orchestration zip (uploads and dry runs)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path


def zip_folder(root: Path) -> bytes:
    """A directory as a zip whose root is the directory's content (so `main.py` is at the root)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(root.rglob("*")):
            if file.is_file() and "__pycache__" not in file.parts:
                archive.write(file, file.relative_to(root).as_posix())
    return buffer.getvalue()
