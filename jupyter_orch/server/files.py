"""Routes: an orchestration's files. `orchestration/files` lists what its zip holds; GET
`orchestration/file/<id>?path=<member>` streams one member and GET `orchestration/zip/<id>`
the zip itself.

Members are looked up by their exact name in the zip, never joined onto a folder, so no
path can reach outside it; names with `..` or a leading `/` are refused outright.
"""

from __future__ import annotations

import asyncio
import mimetypes
import zipfile
from pathlib import Path
from typing import IO, Any

from tornado import web

from ..engine.orchestrations.orchestrations import Orchestration
from . import requests as r
from .base import OrchHandler, json_body

CHUNK = 64 * 1024
TEXT_TYPES = {".py", ".txt", ".md", ".json", ".cfg", ".toml", ".yaml", ".yml", ".csv", ".ipynb", ".sql", ".sh"}


def content_type(name: str) -> str:
    """Text files as UTF-8 text (so a browser shows them), others by their suffix."""
    if Path(name).suffix.lower() in TEXT_TYPES:
        return "text/plain; charset=utf-8"
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _members(zip_path: Path) -> list[dict[str, Any]]:
    with zipfile.ZipFile(zip_path) as zf:
        return [{"path": i.filename, "size": i.file_size} for i in zf.infolist() if not i.is_dir()]


def _safe_member(name: str) -> str:
    parts = name.replace("\\", "/").split("/")
    if not name or name.startswith("/") or ".." in parts:
        raise web.HTTPError(400, f"'{name[:200]}' is not a file of the orchestration")
    return name


class OrchestrationFiles(OrchHandler):
    """What the three routes share: the orchestration's zip, and streaming off the event loop."""

    async def zip_of(self, body: dict[str, Any]) -> tuple[Orchestration, Path]:
        """The orchestration named by `body["id"]` (404 when unknown) and its stored zip."""
        orch = await self.engine.orchestrations.get(r.parse(r.ById, body).id)
        try:
            return orch, await asyncio.to_thread(self.engine.blobs.local, orch.sha)
        except FileNotFoundError:
            raise web.HTTPError(404, f"the zip of orchestration {orch.id} is gone") from None

    async def stream(self, source: IO[bytes], name: str, content_type: str, attachment: bool) -> None:
        self.set_header("Content-Type", content_type)
        disposition = "attachment" if attachment else "inline"
        self.set_header("Content-Disposition", f'{disposition}; filename="{Path(name).name}"')
        try:
            while chunk := await asyncio.to_thread(source.read, CHUNK):
                self.write(chunk)
                await self.flush()
        finally:
            await asyncio.to_thread(source.close)
        self.finish()


class ListFiles(OrchestrationFiles):
    @web.authenticated
    async def post(self) -> None:
        _, zip_path = await self.zip_of(json_body(self))
        self.reply({"files": await asyncio.to_thread(_members, zip_path)})


class GetFile(OrchestrationFiles):
    @web.authenticated
    async def get(self, orch_id: str) -> None:
        name = _safe_member(self.get_query_argument("path", ""))
        _, zip_path = await self.zip_of({"id": orch_id})

        def open_member() -> IO[bytes]:
            zf = zipfile.ZipFile(zip_path)
            try:
                return zf.open(zf.getinfo(name))
            except KeyError:
                zf.close()
                raise web.HTTPError(404, f"the orchestration has no file '{name[:200]}'") from None

        source = await asyncio.to_thread(open_member)
        await self.stream(source, name, content_type(name), attachment=self.get_query_argument("download", "") == "1")


class GetZip(OrchestrationFiles):
    @web.authenticated
    async def get(self, orch_id: str) -> None:
        orch, zip_path = await self.zip_of({"id": orch_id})
        source = await asyncio.to_thread(zip_path.open, "rb")
        await self.stream(source, orch.file_name or f"{orch.name or orch_id}.zip", "application/zip", attachment=True)
