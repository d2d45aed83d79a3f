"""Connection details at rest: sealed with Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`).

The key comes from `c.OrchApp.secret_key` (or JUPYTER_ORCH_SECRET_KEY); several keys separated
by `;` rotate: the first seals, every one opens. Without one, a key is generated once into a
0600 file in the data dir. A team sharing one PostgreSQL must configure the same key everywhere.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from ..errors import Invalid, Unavailable

KEY_FILE_NAME = "secret.key"


class SecretBox:
    def __init__(self, keys: list[bytes]):
        try:
            self._fernet = MultiFernet([Fernet(k) for k in keys])
        except ValueError:
            raise Invalid("the secret key must be a Fernet key (32 url-safe base64-encoded bytes)") from None

    def seal(self, details: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(details).encode()).decode()

    def open(self, sealed: str) -> dict[str, Any]:
        try:
            return dict(json.loads(self._fernet.decrypt(sealed.encode())))
        except InvalidToken:
            raise Unavailable("connection details cannot be decrypted with the configured secret key") from None


def load_keys(configured: str | None, data_dir: Path) -> list[bytes]:
    """The configured keys, else the data dir's key file (made on first use, mode 0600)."""
    if configured and configured.strip():
        return [k.strip().encode() for k in configured.split(";") if k.strip()]
    path = data_dir / KEY_FILE_NAME
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return [path.read_bytes().strip()]
    key = Fernet.generate_key()
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return [key]
