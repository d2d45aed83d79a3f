"""Encode the reference platform's multipart upload (a `file` part and a JSON `metadata` part)."""

from __future__ import annotations

import json
from typing import Any

from urllib3 import encode_multipart_formdata


def upload_body(
    data: bytes, metadata: dict[str, Any] | str, file_name: str = "orch.zip"
) -> tuple[bytes, dict[str, str]]:
    meta = metadata if isinstance(metadata, str) else json.dumps(metadata)
    body, content_type = encode_multipart_formdata(
        [
            ("file", (file_name, data, "application/octet-stream")),
            ("metadata", ("metadata", meta, "application/json")),
        ]
    )
    return body, {"Content-Type": content_type}
