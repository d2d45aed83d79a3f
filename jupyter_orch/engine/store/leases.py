"""Engines and leases: every engine on a database has a row it renews, and named leases (the
scheduler's leadership) are held by one engine at a time. An engine whose row has expired is
dead: another engine takes its recovery (one at a time, itself under a lease) and ends or frees
its runs.

Lease times follow the database's clock on PostgreSQL, so engines on machines whose clocks
differ still agree on who holds what; on SQLite (one engine, one machine) this process's clock.
Everything here runs in the store's thread pool.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, insert, literal, select, update
from sqlalchemy.sql import ColumnElement

from ..timeutil import utcnow
from . import schema as t
from .database import Duplicate, Store
from .types import UTCDateTime

SCHEDULER = "scheduler"  # the lease of the engine that fires schedules


class Leases:
    def __init__(self, store: Store, engine_id: str, seconds: float):
        self.store = store
        self.engine_id = engine_id
        self.seconds = seconds
        self.host = socket.gethostname()

    def _now(self) -> ColumnElement[Any]:
        return func.now() if self.store.dialect == "postgresql" else literal(utcnow(), UTCDateTime)

    def _until(self) -> ColumnElement[Any]:
        ahead = timedelta(seconds=self.seconds)
        if self.store.dialect == "postgresql":
            return func.now() + literal(ahead)
        return literal(utcnow() + ahead, UTCDateTime)

    # --- this engine ---

    def register(self, url: str | None) -> None:
        with self.store.write() as db:
            db.execute(insert(t.engines).values(
                id=self.engine_id, url=url, host=self.host, pid=os.getpid(), started_at=self._now(),
                expires_at=self._until(),
            ))

    def renew(self) -> bool:
        """Extend this engine's lease. False when its row is gone: other engines found it
        expired (a stall longer than the lease) and recovered its runs."""
        with self.store.write() as db:
            done = db.execute(update(t.engines).where(t.engines.c.id == self.engine_id)
                              .values(expires_at=self._until())).rowcount
        return bool(done)

    def retire(self) -> None:
        """A clean stop: this engine's row and the leases it holds go at once."""
        with self.store.write() as db:
            db.execute(delete(t.leases).where(t.leases.c.engine_id == self.engine_id))
            db.execute(delete(t.engines).where(t.engines.c.id == self.engine_id))

    # --- named leases ---

    def hold(self, name: str) -> bool:
        """Take the lease `name` if it is free or expired, or renew it if this engine holds it."""
        leases = t.leases
        with self.store.write() as db:
            taken = db.execute(update(leases).where(
                leases.c.name == name,
                (leases.c.engine_id == self.engine_id) | (leases.c.expires_at < self._now()),
            ).values(engine_id=self.engine_id, expires_at=self._until())).rowcount
            if taken:
                return True
            if db.scalar(select(func.count()).select_from(leases).where(leases.c.name == name)):
                return False
        try:
            with self.store.write() as db:
                db.execute(insert(leases).values(name=name, engine_id=self.engine_id, expires_at=self._until()))
        except Duplicate:  # another engine inserted it first
            return False
        return True

    def holds(self, db: Any, name: str) -> bool:
        """Inside a write transaction: whether this engine holds `name` now. The row stays
        locked until the transaction ends, so the lease cannot change hands meanwhile."""
        leases = t.leases
        row = db.execute(select(leases.c.engine_id, leases.c.expires_at >= self._now())
                         .where(leases.c.name == name).with_for_update()).first()
        return row is not None and row[0] == self.engine_id and bool(row[1])

    def release(self, name: str) -> None:
        with self.store.write() as db:
            db.execute(delete(t.leases).where(t.leases.c.name == name, t.leases.c.engine_id == self.engine_id))

    # --- dead engines ---

    def take_dead(self, everyone_else: bool) -> str | None:
        """Take the recovery of one dead engine: its row's lease is renewed in this engine's
        name, so no other engine recovers it at the same time, and if this one dies mid-way the
        row expires again and another finishes the job. With `everyone_else` (an engine that holds
        the data dir alone) every other row is dead."""
        engines = t.engines
        with self.store.write() as db:
            query = select(engines.c.id).where(engines.c.id != self.engine_id)
            if not everyone_else:
                query = query.where(engines.c.expires_at < self._now())
            row = db.execute(query.order_by(engines.c.started_at).limit(1).with_for_update(skip_locked=True)).first()
            if row is None:
                return None
            db.execute(update(engines).where(engines.c.id == row.id).values(expires_at=self._until()))
        return str(row.id)

    def forget(self, engine_id: str) -> None:
        with self.store.write() as db:
            db.execute(delete(t.leases).where(t.leases.c.engine_id == engine_id))
            db.execute(delete(t.engines).where(t.engines.c.id == engine_id))
