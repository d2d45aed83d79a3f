"""State changes on jupyter_server's event system: every engine event but log lines is emitted
on `serverapp.event_logger` under a versioned jupyter_events schema (event_schemas/*.yaml), so
`/api/events/subscribe`, Lab's `serviceManager.events` and other extensions can listen.

Inference events are merged per pipeline to at most one a second (rows and calls summed): a
busy pipeline infers thousands of times a second and jupyter_server's socket has no batching.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..engine.events.bus import Event, EventBus
from .base import to_jsonable

SCHEMA_DIR = Path(__file__).parent / "event_schemas"
SCHEMA_BASE = "https://events.jupyter.org/jupyter_orch"
STATE_KINDS = ("orchestration", "task", "run", "pipeline", "inference")
INFERENCE_EVERY_S = 1.0

log = logging.getLogger(__name__)


def schema_id(kind: str) -> str:
    return f"{SCHEMA_BASE}/{kind}/v1"


class StateEvents:
    """Relays the bus's state events to a jupyter_events EventLogger."""

    def __init__(self, event_logger: Any, bus: EventBus):
        self.event_logger = event_logger
        for kind in STATE_KINDS:
            event_logger.register_event_schema(SCHEMA_DIR / f"{kind}.yaml")
        self._inference: dict[Any, dict[str, Any]] = {}
        self._unsubscribe: Callable[[], None] = bus.subscribe(self._relay)

    def close(self) -> None:
        self._unsubscribe()

    def _relay(self, event: Event) -> None:
        kind = event["kind"]
        if kind not in STATE_KINDS or "line" in event:  # packaging output is a log, not a state
            return
        if kind == "inference":
            self._merge_inference(event)
            return
        self._emit(kind, event)

    def _merge_inference(self, event: Event) -> None:
        rows, batches = int(event.get("rows") or 0), int(event.get("batches") or 1)
        held = self._inference.get(event["id"])
        if held is not None:
            held["rows"] += rows
            held["batches"] += batches
            held["at"] = event["at"]
            return
        self._inference[event["id"]] = {**event, "rows": rows, "batches": batches}
        asyncio.get_running_loop().call_later(INFERENCE_EVERY_S, self._release_inference, event["id"])

    def _release_inference(self, pipeline_id: Any) -> None:
        held = self._inference.pop(pipeline_id, None)
        if held is not None:
            self._emit("inference", held)

    def _emit(self, kind: str, event: Event) -> None:
        data = {k: v for k, v in to_jsonable(event).items() if k != "kind" and v is not None}
        try:
            self.event_logger.emit(schema_id=schema_id(kind), data=data)
        except Exception:  # a bad event must not keep the bus's other subscribers from theirs
            log.exception("could not emit a jupyter-orch %s event", kind)
