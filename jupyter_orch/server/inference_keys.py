"""Inference keys: what the inference endpoint accepts instead of the server's own credentials.

The endpoint (inference_endpoint.py) answers outside jupyter_server, so it cannot ask the
server's identity provider or Authorizer: a caller first asks `pipelines/inference_url`, which
jupyter_server authenticates and authorizes like `pipelines/infer/<name>` itself, for a key.
A key may infer one pipeline and nothing else. It expires (`c.OrchApp.inference_key_seconds`);
one a task run asked for also dies with the run's credential. Keys live in memory only, as
sha256 digests, like run credentials: a restart or a crash dump leaves none that still works.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

from ..engine.tasks.credentials import RunCredentials, token_digest

KEY_BYTES = 32


@dataclass(frozen=True)
class InferenceGrant:
    pipeline_id: int
    pipeline_name: str
    workspace_id: int
    expires_at: float  # time.time()
    run_id: str | None = None  # the run that asked for it: the key ends with the run's credential


class InferenceKeys:
    def __init__(self, credentials: RunCredentials, lifetime_s: float):
        self._credentials = credentials
        self.lifetime_s = lifetime_s
        self._grants: dict[str, InferenceGrant] = {}  # sha256(key) -> grant
        self._lock = threading.Lock()  # minted on the server's loop, checked in the endpoint's thread

    def mint(self, pipeline_id: int, pipeline_name: str, workspace_id: int, run_id: str | None) -> tuple[str, float]:
        """A new key for one pipeline, and when it expires (epoch seconds)."""
        key = secrets.token_urlsafe(KEY_BYTES)
        grant = InferenceGrant(pipeline_id, pipeline_name, workspace_id, time.time() + self.lifetime_s, run_id)
        with self._lock:
            self._forget_expired()
            self._grants[token_digest(key)] = grant
        return key, grant.expires_at

    def identify(self, key: str) -> InferenceGrant | None:
        """The grant of a key that still works, else None."""
        digest = token_digest(key)
        grant = self._grants.get(digest)
        if grant is None:
            return None
        if grant.expires_at <= time.time() or (grant.run_id is not None and not self._credentials.holds(grant.run_id)):
            with self._lock:
                self._grants.pop(digest, None)
            return None
        return grant

    def _forget_expired(self) -> None:
        now = time.time()
        for digest in [d for d, g in self._grants.items() if g.expires_at <= now]:
            del self._grants[digest]

