"""Keyset paging for every list that can grow: a default limit and an opaque cursor.

A page is read in the list's order, one row more than asked (to know whether more remain);
the cursor names the sort key of the page's last row, so the next page starts right after
it, however many rows were added or removed meanwhile. Cursors are base64url JSON tokens.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, and_, or_

from .errors import Invalid
from .timeutil import iso, parse_time

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    cursor: str | None  # None when nothing remains


@dataclass(frozen=True)
class PageRequest:
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise Invalid(f"'limit' must be from 1 to {MAX_LIMIT}, got {self.limit}")


def paged(
    query: Select[Any], keys: Sequence[tuple[Any, bool]], request: PageRequest
) -> Select[Any]:
    """`query` ordered by `keys` ((column, descending) pairs, unique together), starting after
    the request's cursor, limited to one row more than the page."""
    query = query.order_by(*(column.desc() if descending else column for column, descending in keys))
    if request.cursor:
        query = query.where(_after(keys, decode(request.cursor, len(keys))))
    return query.limit(request.limit + 1)


def page_of(rows: Sequence[Any], keys: Sequence[tuple[Any, bool]], request: PageRequest,
            make: Callable[[Any], T]) -> Page[T]:
    """The page of rows `paged` read, and the cursor to its next page."""
    if len(rows) <= request.limit:
        return Page([make(r) for r in rows], None)
    last = rows[request.limit - 1]
    return Page([make(r) for r in rows[: request.limit]], encode([getattr(last, c.key) for c, _ in keys]))


def encode(values: Sequence[Any]) -> str:
    shown = [{"t": iso(v)} if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(shown, separators=(",", ":")).encode()).decode().rstrip("=")


def decode(cursor: str, size: int) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(values, list) or len(values) != size:
            raise ValueError
        return [parse_time(v["t"]) if isinstance(v, dict) else v for v in values]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise Invalid("'cursor' is not a cursor this server gave out for this list") from None


def _after(keys: Sequence[tuple[Any, bool]], values: list[Any]) -> ColumnElement[bool]:
    """Rows strictly after `values` in the order of `keys` (a row-value comparison spelled out,
    since the columns may sort in different directions)."""
    clauses = []
    for i, (column, descending) in enumerate(keys):
        equal = [keys[j][0] == values[j] for j in range(i)]
        step = column < values[i] if descending else column > values[i]
        clauses.append(and_(*equal, step))
    return or_(*clauses)
