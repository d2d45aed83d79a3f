"""An engine's duties toward the other engines on its database, done on a short tick:
- renew its own lease (every third of the lease), so the others know it lives;
- take or keep the scheduler's lease: the holder fires every schedule; a takeover applies the
  missed-fire policy to what the previous leader left unfired;
- recover engines whose lease expired (their runs ended or freed, their tasks resumed, what
  they were packaging packaged again);
- with other engines about: claim runs whose notification it may have missed, and stop the runs
  it drives whose task was killed through another engine.

With `alone` (SQLite: the data dir's lock says no other engine runs) only the renewals remain.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from ..errors import Unavailable
from ..store.leases import SCHEDULER, Leases
from .tasks import Tasks

log = logging.getLogger(__name__)
MAX_TICK_S = 1.0


class Coordinator:
    def __init__(
        self, leases: Leases, tasks: Tasks, alone: bool, url: str | None,
        resume_packaging: Callable[[], Awaitable[int]],
    ):
        self.leases = leases
        self.tasks = tasks
        self.store = leases.store
        self.alone = alone
        self.url = url
        self.resume_packaging = resume_packaging  # what dead engines left packaging
        self.tick = min(MAX_TICK_S, leases.seconds / 4)
        self.renew_every = leases.seconds / 3
        self._renewed_at = 0.0
        self._led_at = 0.0
        self._loop_task: asyncio.Task[None] | None = None
        self._registered = False

    async def start(self) -> None:
        """Register, recover, and take the lead if it is free, before answering any request."""
        await self.store.call(self.leases.register, self.url)
        self._registered = True
        self._renewed_at = asyncio.get_running_loop().time()
        await self.tasks.start(self.alone)
        await self.resume_packaging()
        await self._lead()
        self._loop_task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None

    async def retire(self) -> None:
        """After the tasks stopped: the engine's row and leases go, so another leads at once."""
        if self._registered:
            self._registered = False
            try:
                await self.store.call(self.leases.retire)
            except Unavailable as e:  # its lease expires instead: the others wait out lease_seconds
                log.warning("engine %s could not sign off: %s", self.leases.engine_id, e)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.tick)
            try:
                await self._once()
            except asyncio.CancelledError:
                raise
            except Exception:  # e.g. the database is briefly unreachable: the next tick retries
                log.exception("engine %s: coordination failed this tick", self.leases.engine_id)

    async def _once(self) -> None:
        now = asyncio.get_running_loop().time()
        if now - self._renewed_at >= self.renew_every:
            if not await self.store.call(self.leases.renew):
                log.error("engine %s: its lease expired and other engines recovered its runs; stopping "
                          "them here and joining again", self.leases.engine_id)
                await self.tasks.lost_lease()
                await self.store.call(self.leases.register, self.url)
            self._renewed_at = now
        if not self.tasks.leading or now - self._led_at >= self.renew_every:
            await self._lead()
        if self.alone:
            return
        await self.tasks.recover_dead()
        await self.resume_packaging()  # also what an engine that stopped cleanly left half packaged
        self.tasks.runner.wake()
        await self.tasks.stop_killed_runs()

    async def _lead(self) -> None:
        held = await self.store.call(self.leases.hold, SCHEDULER)
        if held:
            self._led_at = asyncio.get_running_loop().time()
            if self.tasks.leading:
                await self.tasks.reconcile()
            else:
                log.info("engine %s now fires the schedules", self.leases.engine_id)
                await self.tasks.lead()
        elif self.tasks.leading:
            log.warning("engine %s no longer leads: another engine fires the schedules", self.leases.engine_id)
            self.tasks.unlead()
