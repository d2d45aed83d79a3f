"""The inference endpoint: `POST /v1/api/pipelines/infer/<name>` on a port of its own.

Through jupyter_server a one-row inference costs 3-4 ms on these machines, nearly all of it the
server's per-request work (identity provider, login cookie, Authorizer, request log, handler)
around 0.2 ms of decoding, model, logging and encoding (bench/inference.py). Here tornado's
HTTP/1.1 server parses the request and a thin delegate answers it, in a thread with an event
loop of its own, so the server's loop never sees the request. Callers authenticate with an
inference key (inference_keys.py) that `pipelines/inference_url` hands out.

A small body for a pipeline this engine already serves is inferred right in the endpoint's
thread: less than the two thread hops it would cost elsewhere. Anything else (a large batch, a
pipeline still to be loaded here) goes through `Pipelines.infer` on the server's loop, as the
server's own route does. Answers are that route's: the frame in the body's format, or
`{"msg", "code"}` with a 4xx.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable
from concurrent.futures import Future
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tornado.escape import url_unescape
from tornado.netutil import bind_sockets

from ..engine import EngineError
from ..engine.pipelines.frames import Body, Codec, codec_for
from ..engine.pipelines.pipelines import Pipelines
from .auth import TOKEN_HEADER
from .inference_keys import InferenceGrant, InferenceKeys
from .small_http import Request, Response, SmallHttpServer, error_response

PATH_PREFIX = "/v1/api/pipelines/infer/"
INLINE_MAX_BYTES = 64 * 1024
STOP_WAIT_S = 10.0
ASK_FOR_A_KEY = (("WWW-Authenticate", "Bearer"),)
MINIMAL, PREFERENCE_APPLIED = "return=minimal", "Preference-Applied"

log = logging.getLogger(__name__)


class Refused(EngineError):
    def __init__(self, status: int, msg: str):
        super().__init__(msg)
        self.status = status


class InferenceEndpoint:
    def __init__(self, pipelines: Pipelines, keys: InferenceKeys, max_body_bytes: int):
        self.pipelines = pipelines
        self.keys = keys
        self.max_body_bytes = max_body_bytes
        self.port: int | None = None
        self._server_loop: asyncio.AbstractEventLoop | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    async def start(self, address: str, port: int) -> None:
        """Listen on `address:port` (port 0: any free one); an address or port that cannot be
        bound raises here, on the server's loop, not in the endpoint's thread."""
        self._server_loop = asyncio.get_running_loop()
        sockets = bind_sockets(port, address or None)
        self.port = sockets[0].getsockname()[1]
        started: Future[None] = Future()
        self._thread = threading.Thread(
            target=asyncio.run, args=(self._serve(sockets, started),), name="orch-inference-endpoint", daemon=True
        )
        self._thread.start()
        await asyncio.wrap_future(started)

    async def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, STOP_WAIT_S)
        self.port = None

    async def _serve(self, sockets: list[Any], started: Future[None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        server = SmallHttpServer(self.handle, self.max_body_bytes)
        await server.serve(sockets)
        started.set_result(None)
        await self._stopping.wait()
        await server.close()

    def handle(self, request: Request) -> Response | Awaitable[Response]:
        """One request, in the endpoint's thread: answered here when it is small and this
        engine serves its pipeline already, else later (in the inference threads, or on the
        server's loop when the pipeline is still to be loaded here)."""
        try:
            grant = self._authorize(request)
            codec, body = codec_for(request.headers.get("content-type")), request.body
            echo = echoes_inputs(request.headers.get("prefer"))
            if len(body) <= INLINE_MAX_BYTES:
                answer = self.pipelines.infer_here(grant.pipeline_id, body, codec, echo)
                if answer is not None:
                    return _answered(answer, codec, echo)
        except Exception as e:
            return _failure(e, request)
        return self._infer_later(grant.pipeline_id, body, codec, echo, request)

    async def _infer_later(self, pipeline_id: int, body: Body, codec: Codec, echo: bool, request: Request) -> Response:
        assert self._server_loop is not None
        try:
            answer = await self.pipelines.infer_in_pool(pipeline_id, body, codec, echo)
            if answer is None:
                loading = self.pipelines.infer(pipeline_id, None, body, codec, echo)
                answer = await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(loading, self._server_loop))
        except Exception as e:
            return _failure(e, request)
        return _answered(answer, codec, echo)

    def _authorize(self, request: Request) -> InferenceGrant:
        target = urlsplit(request.target.decode("latin-1"))
        if not target.path.startswith(PATH_PREFIX) or "/" in target.path[len(PATH_PREFIX):]:
            raise Refused(404, f"this port serves only POST {PATH_PREFIX}<pipeline name>")
        if request.method != "POST":
            raise Refused(405, f"{PATH_PREFIX}<pipeline name> takes POST")
        match = TOKEN_HEADER.match(request.headers.get("authorization", ""))
        grant = self.keys.identify(match.group(1)) if match else None
        if grant is None:
            raise Refused(401, "send 'Authorization: Bearer <key>' with a key from pipelines/inference_url "
                               "(keys expire, and die with the run that asked for one)")
        name = url_unescape(target.path[len(PATH_PREFIX):])
        if name != grant.pipeline_name:
            raise Refused(403, f"this key is for pipeline '{grant.pipeline_name}', not '{name}'")
        workspace = parse_qs(target.query).get("workspace_id")
        if workspace and workspace[-1] != str(grant.workspace_id):
            raise Refused(403, f"this key is for pipeline '{name}' of workspace {grant.workspace_id}")
        return grant


def echoes_inputs(prefer: str | None) -> bool:
    """False when the caller sent `Prefer: return=minimal` (RFC 7240): it holds its inputs, so
    the answer leaves out the `in.*` columns (half of a big batch's bytes)."""
    return MINIMAL not in (prefer or "").replace(" ", "").lower().split(",")


def _answered(answer: bytes, codec: Codec, echo: bool) -> Response:
    return Response(200, answer, codec.content_type, () if echo else ((PREFERENCE_APPLIED, MINIMAL),))


def _failure(error: Exception, request: Request) -> Response:
    if isinstance(error, EngineError):
        return error_response(error.status, error.msg, ASK_FOR_A_KEY if error.status == 401 else ())
    log.error("inference endpoint: %s %r", request.method, request.target, exc_info=error)
    return error_response(500, "internal error (see the server log)")
