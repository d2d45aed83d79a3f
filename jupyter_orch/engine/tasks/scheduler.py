"""Fires scheduled tasks: one asyncio timer, armed for the earliest next fire in a heap.

There is no polling interval: the timer sleeps until the earliest fire and is re-armed when a
task is added or removed, so 1,000 idle schedules cost nothing between fires. Each fire is
recorded in `fires` (task id + scheduled time, unique) in the same transaction as the run it
makes and the task's next fire, so a restart neither loses nor doubles a run.

With several engines on one database only the leader fires (tasks/coordinator.py), and each
fire's transaction checks it still leads. The timer sleeps at most MAX_SLEEP_S, then looks at
the wall clock again: monotonic time stops while a laptop sleeps.

Policies:
- missed fires (they fell while no engine could fire: the server was down, the laptop slept,
  the event loop stalled, the leader died), applied as soon as it can fire again: `run_once`
  (default) runs the latest missed fire once, `run_all` runs each (at most MAX_CATCH_UP),
  `skip` runs none; the fires not run are recorded as `missed`;
- overlap (a fire while the task's previous run is still running): `skip` (default) records a
  run with status `skipped`, `queue` queues one run behind the running one (a fire while one
  is already queued is skipped).
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from sqlalchemy import Connection

from ..timeutil import utcnow
from .records import NOT_LEADER, SKIPPED_OVERLAP, Fire, TaskRecords
from .schedules import Schedule

MISSED_FIRE_POLICIES = ("run_once", "skip", "run_all")
OVERLAP_POLICIES = ("skip", "queue")
MAX_CATCH_UP = 100
MAX_SLEEP_S = 60.0
MAX_SLACK_S = 0.1
ON_TIME_S = 1.0  # a fire handled this late still counts as on time
# A fire is handled this long before its time: recorded and its run claimed, the run's process
# made; the runner lets its code go at the fire time (runner.py's `due`). Its skip-if-busy look
# and a pause or an edit of the schedule count from then; a kill still stops it unstarted.
FIRE_LEAD = timedelta(milliseconds=50)

T = TypeVar("T")


class Queue(Protocol):
    """Runs a store function that may queue runs (a fire's), claiming them in the same trip."""

    def __call__(self, write: Callable[[], T]) -> Awaitable[T]: ...


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Entry:
    seq: int
    due: datetime
    schedule: Schedule


class Scheduler:
    def __init__(
        self,
        records: TaskRecords,
        queue: Queue,
        ended: Callable[[str], Awaitable[None]],
        missed_fire_policy: str = "run_once",
        overlap_policy: str = "skip",
        *,
        leader: Callable[[Connection], bool],
        engine_id: str,
    ):
        if missed_fire_policy not in MISSED_FIRE_POLICIES:
            raise ValueError(f"missed_fire_policy must be one of {MISSED_FIRE_POLICIES}")
        if overlap_policy not in OVERLAP_POLICIES:
            raise ValueError(f"overlap_policy must be one of {OVERLAP_POLICIES}")
        self.records = records
        self._queue = queue  # how a fire's write reaches the store: with a claim, in one trip
        self._ended = ended  # (task_id): the task's schedule has no further fire
        self.missed_fire_policy = missed_fire_policy
        self.overlap_policy = overlap_policy
        self._leader = leader  # inside a fire's transaction: whether this engine still leads
        self.engine_id = engine_id
        self._entries: dict[str, _Entry] = {}
        self._heap: list[tuple[datetime, int, str]] = []
        self._seq = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._armed_for: datetime | None = None
        self._firing: asyncio.Task[None] | None = None
        self._ending: set[asyncio.Task[None]] = set()
        self._in_flight: set[str] = set()  # tasks whose due fires are being recorded
        self._removed_in_flight: set[str] = set()

    def add(self, task_id: str, schedule: Schedule, due: datetime | None) -> None:
        if due is None:
            self.remove(task_id)
            self._end_later(task_id)
            return
        entry = _Entry(next(self._seq), due, schedule)
        self._entries[task_id] = entry
        heapq.heappush(self._heap, (due, entry.seq, task_id))
        self._rearm()

    def has(self, task_id: str) -> bool:
        return task_id in self._entries or task_id in self._in_flight

    def remove(self, task_id: str) -> None:
        if task_id in self._in_flight:
            self._removed_in_flight.add(task_id)
        if self._entries.pop(task_id, None) is not None:
            self._rearm()

    async def resume(self, task_id: str, schedule: Schedule, due: datetime | None) -> None:
        """Start-up or takeover: re-add a schedule, first applying the missed-fire policy to the
        fires that fell while no engine was firing."""
        now = utcnow()
        if due is None or due > now:
            self.add(task_id, schedule, due)
            return
        self.add(task_id, schedule, await self._catch_up(task_id, schedule, due, now))

    async def _catch_up(self, task_id: str, schedule: Schedule, due: datetime, now: datetime) -> datetime | None:
        """Handle every fire time from `due` to now and return the next one to come. One time
        is a fire on time. Several mean the fires fell while nothing fired (the server was
        down, the laptop slept, the event loop stalled): `missed_fire_policy` says which run,
        and the others are recorded as missed, never dropped unseen. A time less than
        ON_TIME_S old always runs."""
        times: list[datetime] = []
        moment: datetime | None = due
        while moment is not None and moment <= now + FIRE_LEAD:
            times.append(moment)
            if len(times) > MAX_CATCH_UP:
                moment = schedule.next_after(now)
                break
            moment = schedule.next_after(moment)
        if len(times) > MAX_CATCH_UP:
            log.warning("task %s: more than %d fires were missed; the latest %d are handled", task_id,
                        MAX_CATCH_UP, MAX_CATCH_UP)
            times = [*times[:1], *times[-MAX_CATCH_UP:]][-MAX_CATCH_UP:]
        if len(times) == 1 or self.missed_fire_policy == "run_all":
            run = times
        elif self.missed_fire_policy == "run_once":
            run = times[-1:]
        else:
            run = [at for at in times if (now - at).total_seconds() <= ON_TIME_S]
        for at in times:
            if at in run:
                exhausted = await self._fire(task_id, at, moment, check_overlap=len(run) == 1)
            else:
                exhausted = await self._fire(task_id, at, moment, check_overlap=False, missed=True)
            if exhausted:  # the schedule made its max_runs runs: it has ended
                return None
        if len(times) > 1:
            log.warning("task %s: %d fires fell while none could fire; ran %d (missed_fire_policy=%s)",
                        task_id, len(times), len(run), self.missed_fire_policy)
        return moment

    def stop(self) -> None:
        """Stop firing (server stop, or the leadership went to another engine); `add` and
        `resume` start again."""
        if self._firing is not None:
            self._firing.cancel()
            self._firing = None
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._armed_for = None
        self._entries.clear()
        self._heap.clear()
        self._removed_in_flight.update(self._in_flight)

    def _rearm(self) -> None:
        while self._heap and self._is_stale(self._heap[0]):
            heapq.heappop(self._heap)
        if not self._heap:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self._armed_for = None
            return
        due = self._heap[0][0]
        if self._timer is not None and self._armed_for == due:
            return
        if self._timer is not None:
            self._timer.cancel()
        delay = max(0.0, (due - FIRE_LEAD - utcnow()).total_seconds())
        if delay > MAX_SLEEP_S:  # wake to look at the wall clock: a sleeping laptop stops monotonic time
            delay = MAX_SLEEP_S
        elif delay > 1.0:  # a long timer wakes late by up to 0.1 %: wake early, then a short timer
            delay -= min(MAX_SLACK_S, delay * 0.001)
        self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)
        self._armed_for = due

    def _is_stale(self, item: tuple[datetime, int, str]) -> bool:
        entry = self._entries.get(item[2])
        return entry is None or entry.seq != item[1]

    def _on_timer(self) -> None:
        self._timer = self._armed_for = None
        if self._firing is None or self._firing.done():
            self._firing = asyncio.get_running_loop().create_task(self._fire_due())

    async def _fire_due(self) -> None:
        """Handle every schedule that is due (one database call per fire, off the loop), then
        re-arm."""
        now = utcnow()
        while self._heap and self._heap[0][0] <= now + FIRE_LEAD:
            item = heapq.heappop(self._heap)
            if self._is_stale(item):
                continue
            due, _, task_id = item
            schedule = self._entries.pop(task_id).schedule
            self._in_flight.add(task_id)
            try:
                next_due = await self._catch_up(task_id, schedule, due, now)
            except Exception:  # one task's failure must not stop the others' schedules
                log.exception("task %s: could not record the fire of %s", task_id, due.isoformat())
                next_due = schedule.next_after(now)
            finally:
                self._in_flight.discard(task_id)
            if task_id in self._removed_in_flight or task_id in self._entries:  # killed, or re-added: that wins
                self._removed_in_flight.discard(task_id)
                continue
            if next_due is not None:
                entry = self._entries[task_id] = _Entry(next(self._seq), next_due, schedule)
                heapq.heappush(self._heap, (next_due, entry.seq, task_id))
            else:
                await self._ended(task_id)
        self._rearm()

    async def _fire(
        self, task_id: str, at: datetime, next_due: datetime | None, check_overlap: bool, missed: bool = False
    ) -> bool:
        """Record one fire; True when the schedule has now made its max_runs runs."""
        fire = Fire(task_id, at, next_due, check_overlap, self.overlap_policy == "queue", missed)
        outcome, _run_id, exhausted = await self._queue(
            functools.partial(self.records.record_fire, fire, self._leader, self.engine_id)
        )
        if outcome == SKIPPED_OVERLAP:
            log.info("task %s: skipped the fire of %s, its previous run is still running", task_id, at.isoformat())
        elif outcome == NOT_LEADER:
            log.warning("task %s: the fire of %s is left to the engine that now leads", task_id, at.isoformat())
        return exhausted

    def _end_later(self, task_id: str) -> None:
        job: asyncio.Task[None] = asyncio.ensure_future(self._ended(task_id))
        self._ending.add(job)
        job.add_done_callback(self._ending.discard)
