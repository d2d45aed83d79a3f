"""Routes: a run's artifacts (engine/tasks/artifacts.py). `task/list_run_artifacts` `{"id":
run_id}` pages them by path, each with the `url` of GET `task/artifact/<run id>?path=<path>`,
which streams its bytes (`download=1`: as an attachment)."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

from tornado import web

from . import requests as r
from .base import JsonRoute
from .files import OrchestrationFiles, content_type

ARTIFACT_ROUTE = "task/artifact/"


class ListRunArtifacts(JsonRoute[r.RunArtifacts]):
    request_model = r.RunArtifacts

    async def handle(self, request: r.RunArtifacts, *args: str) -> Any:
        page = await self.engine.artifacts.list_page(request.id, request.page())
        url = f"{self.base_url}v1/api/{ARTIFACT_ROUTE}{request.id}?path="
        return {"artifacts": [{"path": a.path, "size": a.size, "url": url + quote(a.path)}
                              for a in self.page_answer(page)]}


class GetArtifact(OrchestrationFiles):
    @web.authenticated
    async def get(self, run_id: str) -> None:
        path = self.get_query_argument("path", "")
        source = await self.engine.artifacts.open(run_id, path)
        self.set_header("Content-Length", str(os.fstat(source.fileno()).st_size))
        await self.stream(source, path, content_type(path), attachment=self.get_query_argument("download", "") == "1")
