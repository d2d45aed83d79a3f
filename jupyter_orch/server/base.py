"""What every jupyter-orch route shares: authentication, authorization, JSON in and out,
errors as JSON.

Authentication and XSRF are jupyter_server's own: a token (`Authorization: token|Bearer`) needs
no XSRF token, a cookie does. Every route is then authorized by the server's Authorizer on
resource `orch` (read or write, auth.py), and a task run's request is confined to its workspace.

A JSON route subclasses `JsonRoute`, names its pydantic `request` model and implements
`handle(request) -> answer`; it never writes the response itself. Engine errors become 4xx/503
`{"msg", "code"}`; nothing else the caller sends can produce a 500.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import datetime
from functools import cached_property
from http import HTTPStatus
from typing import Any, ClassVar, Generic, TypeVar

from jupyter_server.auth import Authorizer
from jupyter_server.base.handlers import APIHandler
from pydantic import BaseModel
from tornado import httputil, web

from ..engine import Engine, EngineError
from ..engine.timeutil import iso
from .auth import (
    AUTH_RESOURCE,
    READ,
    WRITE,
    RunAuthorizer,
    RunScope,
    RunTokenIdentity,
    RunUser,
    action_of,
    authorized_to,
    route_of,
)
from .requests import Body, parse

STARTUP_WAIT_S = 60.0
Request = TypeVar("Request", bound=BaseModel)
RUN_AUTHORIZER = RunAuthorizer()


def to_jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    return value


class OrchHandler(APIHandler):
    """Base of every route: `Authorization: token|Bearer <t>` or cookie + XSRF, then the
    Authorizer; `run_scope` is set when the caller is a task run."""

    auth_resource = AUTH_RESOURCE
    run_scope: RunScope | None = None

    @property
    def engine(self) -> Engine:
        return self.settings["orch_engine"]

    @cached_property
    def identity_provider(self) -> Any:
        return RunTokenIdentity(self.settings["identity_provider"], self.engine.tasks.credentials)

    @property
    def authorizer(self) -> Authorizer:
        return RUN_AUTHORIZER if isinstance(self.current_user, RunUser) else super().authorizer

    @property
    def owner_id(self) -> str:
        user = self.current_user
        return getattr(user, "username", None) or str(user or "anonymous")

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()
        route = route_of(self.request.path)
        await (self._may_read() if action_of(self.request.method or "", route) == READ else self._may_write())
        user = self.current_user
        if isinstance(user, RunUser) and user.grant is not None:
            self.run_scope = RunScope(user.grant, route)
            self._scope_query()
        # The server may answer before the extension has started: never serve state that
        # start-up recovery (runs left by a crash, interrupted packaging) has yet to mend.
        if not self.engine.ready.is_set():  # (wait_for costs a task and loop turns per request)
            try:
                await asyncio.wait_for(self.engine.ready.wait(), STARTUP_WAIT_S)
            except TimeoutError:
                raise web.HTTPError(503, "jupyter-orch is still starting; try again shortly") from None
        if self.engine.refusal is not None:
            raise self.engine.refusal

    def check_xsrf_cookie(self) -> None:
        # jupyter_server's own check (a cookie needs the XSRF token, a token does not); a caller
        # with neither cookie nor token learns what to send instead of "'_xsrf' missing".
        if hasattr(self, "_jupyter_current_user") and not self.current_user:
            raise web.HTTPError(403, "authentication required: send 'Authorization: Bearer <token>'")
        super().check_xsrf_cookie()

    @authorized_to(READ)
    async def _may_read(self) -> None:
        """Returns when the Authorizer lets the caller read jupyter-orch (else a 403)."""

    @authorized_to(WRITE)
    async def _may_write(self) -> None:
        """Returns when the Authorizer lets the caller change jupyter-orch (else a 403)."""

    def scoped(self, fields: dict[str, Any]) -> dict[str, Any]:
        """A request's fields, confined to the run's workspace when the caller is a run."""
        return fields if self.run_scope is None else self.run_scope.fields(fields)

    def _scope_query(self) -> None:
        given = self.get_query_argument("workspace_id", None)
        workspace_id = self.scoped({"workspace_id": given} if given else {})["workspace_id"]
        self.request.query_arguments["workspace_id"] = [str(workspace_id).encode()]

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, EngineError):
            status_code, msg = exc.status, exc.msg
        elif isinstance(exc, web.HTTPError) and exc.log_message:
            msg = exc.log_message % exc.args if exc.args else exc.log_message
        else:
            msg = HTTPStatus(status_code).phrase if status_code in HTTPStatus._value2member_map_ else "error"
        self.set_status(status_code)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"msg": msg, "code": status_code}))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, EngineError):
            self.log.info("%s %s -> %s: %s", self.request.method, self.request.path, value.status, value.msg)
            return
        super().log_exception(typ, value, tb)

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, EngineError):
            status_code = exc.status
        super().send_error(status_code, **kwargs)

    def reply(self, answer: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(to_jsonable(answer)))


INT64 = range(-(2**63), 2**63)


def _int64(text: str) -> int:
    value = int(text)
    if value not in INT64:
        raise ValueError(f"the number {text[:30]} is out of range (64-bit integers only)")
    return value


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is out of range (JSON has no NaN or Infinity)")


def json_object(raw: bytes, what: str) -> dict[str, Any]:
    """Decode a JSON object, or raise a 400 that says what is wrong with it."""
    try:
        body = json.loads(raw, parse_int=_int64, parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise web.HTTPError(400, f"{what} is not valid JSON") from None
    except ValueError as e:
        problem = f": {e}" if "out of range" in str(e) else " is not valid JSON"
        raise web.HTTPError(400, f"{what}{problem}") from None
    if not isinstance(body, dict):
        raise web.HTTPError(400, f"{what} must be a JSON object")
    return body


def json_body(handler: OrchHandler) -> dict[str, Any]:
    raw = handler.request.body
    if not raw or not raw.strip():
        return handler.scoped({})
    return handler.scoped(json_object(raw, "the request body"))


class JsonRoute(OrchHandler, Generic[Request]):
    """POST {json} -> JSON answer. Subclasses name their `request` model and set `status` for a
    non-200 success."""

    request_model: ClassVar[type[BaseModel]] = Body
    status = 200

    @web.authenticated
    async def post(self, *args: str) -> None:
        request = parse(self.request_model, json_body(self))
        if self.run_scope is not None:
            await self.run_scope.check_target(self.engine, request)
        answer = await self.handle(request, *args)  # type: ignore[arg-type]
        if self.run_scope is not None:
            answer = await self.run_scope.answer(self.engine, to_jsonable(answer))
        self.reply(answer, self.status)

    async def handle(self, request: Request, *args: str) -> Any:
        raise NotImplementedError


@web.stream_request_body
class MultipartUpload(OrchHandler):
    """Multipart upload of one `file` part plus a JSON `metadata` part (the reference's form).

    The body is streamed so an upload over `max_upload_bytes` is refused with 413 before it is
    read, instead of being buffered whole.
    """

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()
        self._chunks: list[bytes] = []
        self._size = 0
        limit = self.engine.config.max_upload_bytes
        declared = self.request.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
            raise web.HTTPError(413, f"the upload exceeds the limit of {limit} bytes")
        self.request.connection.set_max_body_size(limit + 64 * 1024)  # type: ignore[union-attr]

    def data_received(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self.engine.config.max_upload_bytes + 64 * 1024:
            raise web.HTTPError(413, f"the upload exceeds the limit of {self.engine.config.max_upload_bytes} bytes")
        self._chunks.append(chunk)

    def parts(self, metadata_model: type[Request]) -> tuple[bytes, str | None, Request]:
        """Return (file bytes, file name, metadata) or raise a 4xx that says what is missing."""
        args: dict[str, list[bytes]] = {}
        files: dict[str, list[httputil.HTTPFile]] = {}
        content_type = self.request.headers.get("Content-Type", "")
        if not content_type.startswith("multipart/form-data"):
            raise web.HTTPError(400, "the upload must be multipart/form-data with parts 'file' and 'metadata'")
        httputil.parse_body_arguments(content_type, b"".join(self._chunks), args, files, self.request.headers)
        if "file" not in files or not files["file"]:
            raise web.HTTPError(400, "the upload has no 'file' part")
        upload = files["file"][0]
        if len(upload.body) > self.engine.config.max_upload_bytes:
            raise web.HTTPError(413, f"the upload exceeds the limit of {self.engine.config.max_upload_bytes} bytes")
        raw_meta = files["metadata"][0].body if files.get("metadata") else (args.get("metadata") or [b""])[0]
        if not raw_meta.strip():
            raise web.HTTPError(400, "the upload has no 'metadata' part (JSON with 'workspace_id')")
        metadata = parse(metadata_model, self.scoped(json_object(raw_meta, "the 'metadata' part")))
        return upload.body, upload.filename or None, metadata
