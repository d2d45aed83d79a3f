"""The push channel: one authenticated WebSocket at v1/api/events, authorized as a read of
`orch` by the server's Authorizer. A task run's credential is not accepted here (runs poll).

Query filters: `kinds=task,run` and `ids=<id>,<id>`. Each engine event is sent as one JSON
message.
"""

from __future__ import annotations

import json
from typing import Any

from jupyter_server.base.handlers import JupyterHandler
from tornado import web, websocket

from ..engine.events.bus import Event
from .auth import AUTH_RESOURCE, READ, authorized_to
from .base import to_jsonable

# An `ids=` filter matches an event's own id or the ids it belongs to (a run's task, ...).
ID_FIELDS = ("id", "task_id", "run_id", "orch_id", "pipeline_name")


class EventsSocket(websocket.WebSocketHandler, JupyterHandler):
    auth_resource = AUTH_RESOURCE

    async def prepare(self) -> None:  # type: ignore[override]
        # A socket is not a page: refuse (403) rather than redirect to the login page.
        await JupyterHandler.prepare(self, _redirect_to_login=False)
        if not self.current_user:
            raise web.HTTPError(403, "authentication required")

    @authorized_to(READ)
    async def get(self, *args: Any, **kwargs: Any) -> None:
        self._kinds = _csv(self.get_argument("kinds", ""))
        self._ids = _csv(self.get_argument("ids", ""))
        await super().get(*args, **kwargs)

    def check_origin(self, origin: str | None = None) -> bool:
        return JupyterHandler.check_origin(self, origin or "")

    def open(self, *args: str, **kwargs: str) -> None:
        self._unsubscribe = self.settings["orch_engine"].bus.subscribe(self._forward)

    def _forward(self, event: Event) -> None:
        if self._kinds and event["kind"] not in self._kinds:
            return
        if self._ids and self._ids.isdisjoint(str(event.get(k)) for k in ID_FIELDS):
            return
        if self.ws_connection is None or self.ws_connection.is_closing():
            self._unsubscribe()
            return
        try:
            self.write_message(json.dumps(to_jsonable(event), default=str))
        except websocket.WebSocketClosedError:
            self._unsubscribe()

    def on_message(self, message: str | bytes) -> None:
        """Clients may change their filter: {"kinds": [...], "ids": [...]}."""
        try:
            wanted = json.loads(message)
        except ValueError:
            return
        if isinstance(wanted, dict):
            self._kinds = {str(k) for k in wanted.get("kinds") or []}
            self._ids = {str(i) for i in wanted.get("ids") or []}

    def on_close(self) -> None:
        self._unsubscribe()


def _csv(value: str) -> set[str]:
    return {v for v in value.split(",") if v}
