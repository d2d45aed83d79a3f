"""Live notebook widgets for an orchestration's packaging and for a task and its runs.

A widget is seeded with the entity's state when it is made (so the first state the frontend
sees is already true), subscribes to the server's push channel for the entity's id, asks the
server once more (anything that changed before the subscription took hold), then applies
pushed events. Updates are coalesced; a status change is always shown on its own. A widget
stops listening when its entity reaches a terminal state, after one last look at the server.
Events arrive on a background thread; ipykernel sends widget updates from any thread.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import TYPE_CHECKING, Any

import ipywidgets as w
from traitlets import Unicode

from . import widget_html as view
from .live import CLOCK, Coalescer, Event, Subscription, channel_for

if TYPE_CHECKING:
    from ..client import Client, Orchestration, Task

ORCH_RANK = {"pending_packaging": 0, "packaging": 1, "ready": 2, "error": 2}
TASK_RANK = {"pending": 0, "started": 1, "pending_kill": 2, "success": 3, "failed": 3,
             "timed_out": 3, "killed": 3}
RUN_RANK = {"pending": 0, "running": 1, "success": 2, "failure": 2, "timed_out": 2, "killed": 2}
TASK_TERMINAL = ("success", "failed", "timed_out", "killed")
RUN_ACTIVE = ("pending", "running")
RUNS_SHOWN = 5
TAIL_LINES = 20
TICK_S = 1.0


def _moves_forward(rank: dict[str, int], old: str, new: str) -> bool:
    """False for an event older than what the widget already shows (it raced a fresh read)."""
    return rank.get(new, 0) >= rank.get(old, 0)


class LiveWidget(w.VBox):  # type: ignore[misc]
    """Shared machinery: the push subscription, coalesced flushes, elapsed-time ticks."""

    status = Unicode("").tag(sync=True)
    entity_id = Unicode("").tag(sync=True)
    _data: dict[str, Any]  # the entity's JSON, as last read or pushed

    def __init__(self, client: Client, entity_id: str, status: str, **kwargs: Any):
        self._client = client
        self._lock = threading.RLock()
        self._live = True
        self._coalescer = Coalescer(self._flush)
        self._subscription: Subscription | None = None
        super().__init__(status=status, entity_id=entity_id, **kwargs)
        token = client.auth.auth_header()["Authorization"].split(" ", 1)[1]
        channel = channel_for(client.api_endpoint, token)
        self._subscription = channel.subscribe([entity_id], self._on_event, self._resync)
        try:
            self._resync()
        except BaseException:
            self.close()
            raise
        if self._live:
            CLOCK.call_later(TICK_S, self._tick)

    # what subclasses implement
    def _apply(self, event: Event) -> bool:
        """Fold a pushed event into the state; True when it changed a status."""
        raise NotImplementedError

    def _fetch(self) -> None:
        """Replace the state with the server's (REST)."""
        raise NotImplementedError

    def _render(self) -> None:
        """Write the state into the child widgets (called under the lock)."""
        raise NotImplementedError

    def _terminal(self) -> bool:
        raise NotImplementedError

    def _ticking(self) -> bool:
        """Whether something on show grows with time (an elapsed time, a running run)."""
        return not self._terminal()

    def _advance(self, rank: dict[str, int], event: Event) -> bool:
        """Take a pushed status when it moves the entity forward; True when it did."""
        old = self._data["status"]
        new = event.get("status") or old
        if new == old or not _moves_forward(rank, old, new):
            return False
        self._data.update(status=new, updated_at=event.get("at") or self._data["updated_at"])
        return True

    def _on_event(self, event: Event) -> None:
        with self._lock:
            if not self._live:
                return
            urgent = self._apply(event)
        if urgent and self._terminal():
            self._resync()  # the final state, with every log line, then stop
        else:
            self._coalescer.poke(urgent)

    def _resync(self) -> None:
        self._fetch()
        with self._lock:
            if self._terminal():
                self._stop()
        self._flush()

    def _stop(self) -> None:
        self._live = False
        if self._subscription is not None:
            self._subscription.close()

    def _flush(self) -> None:
        with self._lock, self.hold_sync():
            self._render()

    def _tick(self) -> None:
        if not self._live:
            return
        if self._ticking():
            self._coalescer.poke()
        CLOCK.call_later(TICK_S, self._tick)

    def __repr__(self) -> str:
        """What a notebook shows before the widget's state is loaded (text/plain)."""
        name = self._data.get("name") or self._data.get("id", "")
        kind = type(self).__name__.removesuffix("Widget").lower()
        return f"{kind} {name}: {view.status_words(self._data.get('status', ''))}"

    def close(self) -> None:
        self._stop()
        for child in self.children:
            _close_tree(child)
        super().close()


def _close_tree(widget: w.Widget) -> None:
    for child in getattr(widget, "children", ()):
        _close_tree(child)
    widget.close()


class OrchestrationWidget(LiveWidget):
    """`pending_packaging` -> `packaging` -> `ready` | `error`, with the elapsed time and,
    on `error`, the packaging log."""

    def __init__(self, orchestration: Orchestration):
        self.orchestration = orchestration
        self._data = orchestration.to_dict()
        self._progress: deque[str] = deque(maxlen=3)
        self._header, self._details = w.HTML(), w.HTML()
        super().__init__(
            orchestration.client, orchestration.id(), self._data["status"],
            children=[self._header, self._details],
        )

    def _apply(self, event: Event) -> bool:
        if event.get("kind") != "orchestration":
            return False
        if event.get("line"):
            self._progress.append(str(event["line"]).rstrip())
        return self._advance(ORCH_RANK, event)

    def _fetch(self) -> None:
        self.orchestration.status()  # refreshes the object from the server
        with self._lock:
            self._data = self.orchestration.to_dict()

    def _terminal(self) -> bool:
        return self._data["status"] in ("ready", "error")

    def _render(self) -> None:
        data = self._data
        end = data["updated_at"] if self._terminal() else None
        self._header.value = view.header(
            "orchestration", data.get("name"), data["status"], view.elapsed(data["created_at"], end)
        )
        details = view.facts({"file": data.get("file_name"), "entrypoint": data.get("entrypoint"),
                              "requirements": " ".join((data.get("requirements") or "").split()),
                              "id": data["id"]})
        if data["status"] == "error":
            details += view.pre([data.get("error") or ""]) + view.pre(
                (data.get("packaging_log") or "").splitlines(), "packaging log")
        elif not self._terminal():
            details += view.pre(self._progress)
        self._details.value = details
        self.status = data["status"]


class TaskWidget(LiveWidget):
    """A task: its status, next fire (scheduled), recent runs with start and duration, a live
    tail of the newest run's log, and Kill / Run now buttons. Run now starts a run-once task
    of the same orchestration with the same arguments, shown below."""

    def __init__(self, task: Task):
        self.task = task
        self._data = task.to_dict()
        self._runs: dict[str, dict[str, Any]] = {}
        self._tail: deque[str] = deque(maxlen=TAIL_LINES)
        self._header, self._facts, self._table, self._log = w.HTML(), w.HTML(), w.HTML(), w.HTML()
        self._kill = w.Button(description="Kill", icon="stop", button_style="danger")
        self._run_now = w.Button(description="Run now", icon="play")
        self._spawned = w.VBox()
        self._kill.on_click(lambda _: self._on_kill())
        self._run_now.on_click(lambda _: self._on_run_now())
        super().__init__(
            task.client, task.id(), self._data["status"],
            children=[self._header, self._facts, self._table, self._log,
                      w.HBox([self._kill, self._run_now]), self._spawned],
        )

    def _by_age(self) -> list[dict[str, Any]]:
        """Runs, newest first."""
        return sorted(self._runs.values(), key=lambda r: r.get("created_at") or "", reverse=True)

    def _apply(self, event: Event) -> bool:
        kind = event.get("kind")
        if kind == "task":
            return self._advance(TASK_RANK, event)
        if kind == "run":
            return self._apply_run(event)
        if kind == "log":
            runs = self._by_age()
            if not runs or runs[0]["run_id"] == event.get("run_id"):
                self._tail.extend(str(text).rstrip("\n") for read in event.get("reads", ()) for text in read["text"])
        return False

    def _apply_run(self, event: Event) -> bool:
        run_id, status, at = str(event["id"]), event.get("status") or "", event.get("at")
        run = self._runs.get(run_id)
        if run is None:
            run = self._runs[run_id] = {"run_id": run_id, "status": status, "created_at": at}
            self._tail.clear()
            for old in self._by_age()[RUNS_SHOWN:]:
                del self._runs[old["run_id"]]
        elif not _moves_forward(RUN_RANK, run["status"], status):
            return False
        run["status"] = status
        if status == "running":
            run.setdefault("started_at", at)
        elif status not in RUN_ACTIVE:
            run.setdefault("started_at", at)
            run.setdefault("ended_at", at)
        return True

    def _fetch(self) -> None:
        self.task.status()  # refreshes the object from the server
        runs = self.task.last_runs(limit=RUNS_SHOWN)
        tail = runs[0].logs(limit=TAIL_LINES).texts() if runs else []
        with self._lock:
            self._data = self.task.to_dict()
            self._runs = {run.id(): run.to_dict() for run in runs}
            self._tail.clear()
            self._tail.extend(tail)

    def _terminal(self) -> bool:
        return self._data["status"] in TASK_TERMINAL

    def _ticking(self) -> bool:
        next_fire = bool(self._data.get("next_run_at")) and not self._terminal()
        return next_fire or any(r["status"] in RUN_ACTIVE for r in self._runs.values())

    def _on_event(self, event: Event) -> None:
        super()._on_event(event)
        # A scheduled fire (a new pending run) moved the task's next fire: read it again.
        if event.get("kind") == "run" and event.get("status") == "pending" and self._data.get("schedule"):
            self.task.status()  # refreshes the object from the server
            with self._lock:
                self._data.update(next_run_at=self.task.to_dict().get("next_run_at"))
            self._coalescer.poke()

    def _render(self) -> None:
        data = self._data
        end = data["updated_at"] if self._terminal() else None
        self._header.value = view.header(
            "task", data.get("name"), data["status"], view.elapsed(data["created_at"], end)
        )
        next_fire = data.get("next_run_at") if not self._terminal() else None
        self._facts.value = view.facts({
            "runs": view.run_type_words(data.get("run_type")),
            "schedule": f"{data['schedule']} (cron, {data.get('tz') or 'UTC'})" if data.get("schedule") else "",
            "next run": f"{view.when(next_fire)} ({view.countdown(next_fire)})" if next_fire else "",
            "timeout": f"{data['timeout']} s" if data.get("timeout") else "", "id": data["id"],
        })
        self._table.value = view.runs_table(self._by_age())
        self._log.value = view.pre(self._tail, "log (newest run)")
        self._kill.disabled = data["status"] in (*TASK_TERMINAL, "pending_kill")
        self.status = data["status"]

    def _on_kill(self) -> None:
        status = self.task.kill().to_dict()["status"]
        self._on_event({"kind": "task", "id": self.task.id(), "status": status})

    def _on_run_now(self) -> None:
        orchestration = self._client.get_orchestration_by_id(self.task.orchestration_id())
        name = f"{self._data.get('name') or 'task'}-now"
        task = orchestration.run_once(name, self.task.input_data(), self._data.get("timeout"))
        self._spawned.children = (*self._spawned.children, TaskWidget(task))
