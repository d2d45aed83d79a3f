"""Route: orchestration/upload_notebook `{"path", "workspace_id", "name"?}` -> 202 `{"id"}`: the
notebook at `path` (below the server's root, as the contents API names it) uploaded with its
folder's files, the notebook as `main.ipynb` (engine/orchestrations/notebook_folders.py). What
the notebook toolbar's *Run as task…* calls. The caller must also be allowed to read the
server's contents; the folder is read from the file system, so this needs the file contents
manager's layout (the default)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tornado import web

from ..engine import Invalid
from ..engine.orchestrations.notebook_folders import NotebookFolderError, notebook_zip
from . import requests as r
from .base import JsonRoute


class UploadNotebook(JsonRoute[r.NotebookUpload]):
    request_model = r.NotebookUpload
    status = 202

    async def handle(self, request: r.NotebookUpload, *args: str) -> Any:
        if not self.authorizer.is_authorized(self, self.current_user, "read", "contents"):
            raise web.HTTPError(403, "not authorized to read the server's files")
        # resolve() reads links on disk: off the loop, like the zipping.
        root, notebook = await asyncio.to_thread(_resolved, Path(self.settings["server_root_dir"]), request.path)
        if not notebook.is_relative_to(root):
            raise Invalid(f"'{request.path[:200]}' is not below the server's root")
        try:
            data = await asyncio.to_thread(notebook_zip, notebook)
        except NotebookFolderError as refused:
            raise Invalid(str(refused).replace(str(root), "")) from None
        name = request.name or notebook.stem
        orch = await self.engine.orchestrations.upload(request.workspace_id, data, f"{name}.zip", name, self.owner_id)
        return {"id": orch.id}


def _resolved(root_dir: Path, path: str) -> tuple[Path, Path]:
    root = root_dir.resolve()
    return root, (root / path.lstrip("/")).resolve()
