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
from streaming_form_data import StreamingFormDataParser
from streaming_form_data.parser import ParseFailedException
from streaming_form_data.targets import BaseTarget, ValueTarget
from streaming_form_data.validators import MaxSizeValidator, ValidationError
from tornado import web

from ..engine import Engine, EngineError
from ..engine.paging import Page
from ..engine.timeutil import iso
from ..engine.uploads import Spool, Upload
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

    def page_answer(self, page: Page[Any]) -> list[Any]:
        """A page's items; the cursor to the next page goes in `x-iteration-cursor` (absent on
        the last page) and `x-iteration-status` says `SomeRemaining` or `All`, as get_logs does."""
        if page.cursor is not None:
            self.set_header("x-iteration-cursor", page.cursor)
        self.set_header("x-iteration-status", "SomeRemaining" if page.cursor else "All")
        return page.items


METADATA_MAX_BYTES = 64 * 1024


class _SpoolTarget(BaseTarget):  # type: ignore[misc]
    """The parser's target for the `file` part: straight into a spool on disk."""

    def __init__(self, spool: Spool):
        super().__init__()
        self.spool = spool
        self.received = False

    def on_start(self) -> None:
        self.received = True

    def on_data_received(self, chunk: bytes) -> None:
        self.spool.write(chunk)


@web.stream_request_body
class MultipartUpload(OrchHandler):
    """Multipart upload of one `file` part plus a JSON `metadata` part (the reference's form).

    The body is parsed as it arrives (streaming-form-data, in a worker thread, chunk by chunk):
    the file goes straight to a spool on disk, hashed on the way, so an upload is never held
    in memory; one over `max_upload_bytes` is refused with 413, before it is read when its
    Content-Length says so. A full disk is a 507 and leaves nothing behind.
    """

    _spool: Spool | None = None
    _refusal: Exception | None = None

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()
        limit = self.engine.config.max_upload_bytes
        declared = self.request.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > limit + METADATA_MAX_BYTES:
            raise web.HTTPError(413, f"the upload exceeds the limit of {limit} bytes")
        if not self.request.headers.get("Content-Type", "").startswith("multipart/form-data"):
            raise web.HTTPError(400, "the upload must be multipart/form-data with parts 'file' and 'metadata'")
        self.request.connection.set_max_body_size(limit + METADATA_MAX_BYTES)  # type: ignore[union-attr]
        try:
            self._parser = StreamingFormDataParser(headers=dict(self.request.headers))
        except ParseFailedException:
            raise web.HTTPError(400, "the multipart body has no boundary in its Content-Type") from None
        self._spool = await asyncio.to_thread(Spool, self.engine.blobs.incoming, limit)
        self._file = _SpoolTarget(self._spool)
        self._metadata = ValueTarget(validator=MaxSizeValidator(METADATA_MAX_BYTES))
        self._parser.register("file", self._file)
        self._parser.register("metadata", self._metadata)

    async def data_received(self, chunk: bytes) -> None:
        # An error raised here would only drop the connection: it is kept for `parts` to
        # answer, and the rest of the body is read without parsing it.
        if self._refusal is not None:
            return
        try:
            await asyncio.to_thread(self._parser.data_received, chunk)
        except ParseFailedException:
            self._refusal = web.HTTPError(400, "the multipart body cannot be parsed")
        except ValidationError:
            self._refusal = web.HTTPError(413, f"the 'metadata' part exceeds {METADATA_MAX_BYTES} bytes")
        except EngineError as refused:  # too large, disk full
            self._refusal = refused

    async def parts(self, metadata_model: type[Request]) -> tuple[Upload, str | None, Request]:
        """Return (the spooled file, its name, metadata) or raise a 4xx that says what is missing.
        The caller takes the upload over (it is discarded here only on failure)."""
        if self._refusal is not None:
            raise self._refusal
        assert self._spool is not None
        if not self._file.received:
            raise web.HTTPError(400, "the upload has no 'file' part")
        raw_meta = self._metadata.value
        if not raw_meta.strip():
            raise web.HTTPError(400, "the upload has no 'metadata' part (JSON with 'workspace_id')")
        metadata = parse(metadata_model, self.scoped(json_object(raw_meta, "the 'metadata' part")))
        upload = await asyncio.to_thread(self._spool.finish)
        self._spool = None
        return upload, self._file.multipart_filename or None, metadata

    def on_finish(self) -> None:
        self._discard()

    def on_connection_close(self) -> None:
        self._discard()
        super().on_connection_close()

    def _discard(self) -> None:
        """A spool nobody took over (a refused or broken upload) is removed."""
        if self._spool is not None:
            self._spool.abort()
            self._spool = None
