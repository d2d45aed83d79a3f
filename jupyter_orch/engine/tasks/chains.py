"""Task chains: a task's follow-ups `on_success` and `on_failure`, each a run-once body
(`{"orch_id", "workspace_id"?, "name"?, "json"?, "timeout"?, "max_retries"?, "retry_delay"?,
"on_success"?, "on_failure"?}`), started as a new run-once task when one of the task's runs
ends that way: `success` starts on_success, `failure` or `timed_out` on_failure, and only a
run's final outcome counts (a failure that will be retried starts nothing; a killed or skipped
run nothing). The follow-up's arguments are the body's `json` plus `upstream_run_id`, the id of
the run whose end started it; it runs in its upstream task's workspace.

Loops: orchestrations and the follow-ups between them make a graph, an edge from a task's
orchestration to each of its follow-ups' (nested follow-ups too), over every task not killed.
A chain that would close a cycle in it (A -> B -> A, within one body or through tasks that
exist) is refused before anything is written, in the transaction that writes it (on
PostgreSQL under an advisory lock, so two engines cannot each add half of a loop).

Exactly once: a follow-up task records its upstream run under a unique index, so when two
engines both see a run's end (its own engine, and another that recovered it) only the first
insert of its follow-up commits.
"""

from __future__ import annotations

import graphlib
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Connection, select, text

from ...constants import CHAIN_KEYS, ONESHOT, PENDING, RUN_FAILED, SUCCESS, UPSTREAM_RUN_KEY
from ..errors import Invalid
from ..store import schema as t
from .records import NewTask, Run, Task

CHAIN_LOCK = 0x6A6F6368  # "joch": the advisory lock chain writes take on PostgreSQL
Chain = dict[str, dict[str, Any] | None]  # {"on_success": body or None, "on_failure": ...}


def chain_of(task: Task) -> Chain:
    return {"on_success": task.on_success, "on_failure": task.on_failure}


def follow_up_due(task: Task, run: Run) -> tuple[str, dict[str, Any]] | None:
    """The follow-up a run's final end starts (its key and body), if any."""
    key = "on_success" if run.status == SUCCESS else "on_failure" if run.status in RUN_FAILED else None
    body = getattr(task, key) if key else None
    if task.killed or key is None or body is None or run.follow_up_task_id is not None:
        return None
    return key, body


def follow_up_task(task: Task, body: dict[str, Any], run_id: str) -> NewTask:
    """The run-once task a follow-up body starts after `run_id` ended."""
    return NewTask(
        body.get("name"), task.workspace_id, body["orch_id"], ONESHOT, None, body.get("timeout"), PENDING,
        {**(body.get("json") or {}), UPSTREAM_RUN_KEY: run_id}, None,
        max_retries=body.get("max_retries"), retry_delay=body.get("retry_delay"),
        on_success=body.get("on_success"), on_failure=body.get("on_failure"), upstream_run_id=run_id,
    )


def bodies(chain: Chain) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every follow-up body of a chain with its key, nested ones included, outermost first."""
    for key in CHAIN_KEYS:
        body = chain.get(key)
        if body is not None:
            yield key, body
            yield from bodies(body)


def loop_check(orch_id: str, chain: Chain, replacing: str | None = None) -> Callable[[Connection], None]:
    """A check for `TaskRecords.insert_task`/`set_chain`: refuses (Invalid) a chain of a task of
    `orch_id` that would close a loop with the chains of the tasks not killed (but `replacing`,
    the task whose chain it replaces)."""

    def check(db: Connection) -> None:
        if not any(chain.values()):
            return
        if db.dialect.name == "postgresql":
            db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK})
        graph: dict[str, set[str]] = {}
        query = select(t.tasks.c.id, t.tasks.c.orch_id, t.tasks.c.on_success, t.tasks.c.on_failure).where(
            t.tasks.c.killed.is_(False), t.tasks.c.on_success.is_not(None) | t.tasks.c.on_failure.is_not(None)
        )
        for row in db.execute(query):
            if row.id != replacing:
                _add_edges(graph, row.orch_id, {"on_success": row.on_success, "on_failure": row.on_failure})
        _add_edges(graph, orch_id, chain)
        try:
            graphlib.TopologicalSorter(graph).prepare()
        except graphlib.CycleError as e:
            cycle = " -> ".join(_named(db, list(reversed(e.args[1]))))
            raise Invalid(f"this chain would loop through orchestrations {cycle}: a follow-up would start its"
                          " own upstream again") from None

    return check


def _named(db: Connection, orch_ids: list[str]) -> list[str]:
    """`<name> (<id>)` of each orchestration (the id alone when it has no name)."""
    query = select(t.orchestrations.c.id, t.orchestrations.c.name).where(t.orchestrations.c.id.in_(orch_ids))
    names = {row.id: row.name for row in db.execute(query)}
    return [f"{names[o]} ({o})" if names.get(o) else o for o in orch_ids]


def _add_edges(graph: dict[str, set[str]], orch_id: str, chain: Chain) -> None:
    """Edges orchestration -> follow-up's orchestration (TopologicalSorter's graph maps a node
    to its predecessors: the same cycles, walked backwards)."""
    for key in CHAIN_KEYS:
        body = chain.get(key)
        if body is not None:
            graph.setdefault(orch_id, set()).add(body["orch_id"])
            _add_edges(graph, body["orch_id"], body)
