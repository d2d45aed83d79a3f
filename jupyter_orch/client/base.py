"""What every client object shares: the server's JSON, a readable repr and an HTML repr."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .display import record_html, table_html

if TYPE_CHECKING:
    from .client import Client


class Entity:
    """A server object as the reference SDK shows it: accessor methods over the API's JSON."""

    def __init__(self, client: Client, data: dict[str, Any]):
        self._client = client
        self._data = dict(data)

    def id(self) -> Any:
        return self._data["id"]

    @property
    def client(self) -> Client:
        """The client this object was read with."""
        return self._client

    def to_dict(self) -> dict[str, Any]:
        """The server's JSON for this object, as last read (a copy)."""
        return dict(self._data)

    def _fields(self) -> dict[str, Any]:
        """What people see, in order; subclasses choose and format."""
        raise NotImplementedError

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self._fields().items())
        return f"{type(self).__name__}({fields})"

    def _repr_html_(self) -> str:
        return record_html(self._fields())

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.id() == self.id()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.id()))


E = TypeVar("E", bound=Entity)


class Listing(list[E], Generic[E]):
    """A list of objects that shows itself as one table in a notebook."""

    def _repr_html_(self) -> str:
        return table_html(item._fields() for item in self)
