"""Run credentials: a token per run, minted when the run starts and revoked when it ends.

A run's token stands for that run only: the server accepts it on jupyter-orch's own routes and
scopes it to the run's workspace (see jupyter_orch/server/auth.py). Tokens live in memory only,
as sha256 digests, so neither the database nor a crash dump holds one that still works.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

TOKEN_BYTES = 32


@dataclass(frozen=True)
class RunGrant:
    run_id: str
    task_id: str
    workspace_id: int
    orch_id: str = ""  # the one orchestration whose zip the run may fetch (a cluster worker does)


class RunCredentials:
    def __init__(self) -> None:
        self._grants: dict[str, RunGrant] = {}  # sha256(token) -> grant
        self._digest_of_run: dict[str, str] = {}

    def mint(self, grant: RunGrant) -> str:
        self.revoke(grant.run_id)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        digest = token_digest(token)
        self._grants[digest] = grant
        self._digest_of_run[grant.run_id] = digest
        return token

    def revoke(self, run_id: str) -> None:
        digest = self._digest_of_run.pop(run_id, None)
        if digest is not None:
            self._grants.pop(digest, None)

    def identify(self, token: str) -> RunGrant | None:
        return self._grants.get(token_digest(token)) if token else None

    def active(self) -> int:
        return len(self._grants)

    def holds(self, run_id: str) -> bool:
        """Whether the run's credential is still in force."""
        return run_id in self._digest_of_run


def token_digest(token: str) -> str:
    # A dict lookup by digest does not compare the secret itself byte by byte.
    return hashlib.sha256(token.encode()).hexdigest()
