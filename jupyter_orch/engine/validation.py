"""Checks shared by every engine service for values that arrive from API callers."""

from __future__ import annotations

import re
import uuid
from typing import Any

from .errors import Invalid

DNS_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,62}$")


def require_int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        raise Invalid(f"'{field}' must be an integer, got {value!r}")
    return value


def require_str(value: Any, field: str, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise Invalid(f"'{field}' must be a non-empty string")
    return value


def require_uuid(value: Any, field: str) -> str:
    try:
        return str(uuid.UUID(require_str(value, field)))
    except ValueError:
        raise Invalid(f"'{field}' must be a UUID, got {value!r}") from None


def require_dns_name(value: Any, field: str) -> str:
    name = require_str(value, field)
    if not DNS_NAME.match(name):
        raise Invalid(
            f"'{field}' must start with a letter and hold only letters, digits and '-' "
            f"(at most 63 characters), got {name!r}"
        )
    return name
