from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

from jupyter_orch.engine.errors import Conflict
from jupyter_orch.engine.orchestrations.environments import environment_key, normalize_requirements
from jupyter_orch.engine.store.database import Duplicate, Store, sqlite_url
from jupyter_orch.engine.store.schema import metadata, workspaces
from jupyter_orch.engine.timeutil import utcnow
from tests.support.databases import sql
from tests.support.engine import head_revision


def store_for(tmp_path: Path, db_url: str | None) -> Store:
    return Store(db_url or sqlite_url(tmp_path / "db.sqlite3"))



def test_a_new_database_gets_the_current_schema_at_the_newest_revision(tmp_path: Path, db_url: str | None) -> None:
    store = store_for(tmp_path, db_url)
    store.migrate()
    assert store.revision() == head_revision()
    with store.read() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    store.migrate()  # opening again applies nothing twice
    assert store.revision() == head_revision()
    store.close()


def test_sqlite_uses_wal(tmp_path: Path) -> None:
    store = Store(sqlite_url(tmp_path / "db.sqlite3"))
    store.migrate()
    assert sql(store.url, "PRAGMA journal_mode")[0][0] == "wal"
    store.close()


def test_uniqueness_comes_back_as_the_engine_s_conflict(tmp_path: Path, db_url: str | None) -> None:
    store = store_for(tmp_path, db_url)
    store.migrate()
    row = {"name": "same", "created_at": utcnow(), "created_by": "me", "archived": False}
    with store.write() as conn:
        conn.execute(workspaces.insert().values(**row))
    with pytest.raises(Duplicate) as caught, store.write() as conn:
        conn.execute(workspaces.insert().values(**row))
    assert isinstance(caught.value, Conflict)
    with store.read() as conn:  # the failed write changed nothing
        assert conn.execute(workspaces.select()).all()[0].name == "same"
        assert len(conn.execute(workspaces.select()).all()) == 1
    store.close()


def test_a_write_inside_a_write_is_one_transaction_whose_parts_fail_alone(tmp_path: Path,
                                                                         db_url: str | None) -> None:
    store = store_for(tmp_path, db_url)
    store.migrate()
    row = {"created_at": utcnow(), "created_by": "me", "archived": False}
    names = select(workspaces.c.name).order_by(workspaces.c.name)
    with pytest.raises(RuntimeError), store.write() as outer:
        outer.execute(workspaces.insert().values(name="first", **row))
        with pytest.raises(Duplicate), store.write() as inner:  # a savepoint: only it is undone
            inner.execute(workspaces.insert().values(name="second", **row))
            inner.execute(workspaces.insert().values(name="first", **row))
        with store.write() as inner:
            inner.execute(workspaces.insert().values(name="third", **row))
        with store.read() as conn:  # the writing thread reads what it wrote
            assert conn.execute(names).scalars().all() == ["first", "third"]
        with store.engine.connect() as elsewhere:  # nothing is seen outside before the commit
            assert elsewhere.execute(names).scalars().all() == []
        raise RuntimeError("the outer write fails: none of it stays")
    with store.read() as conn:
        assert conn.execute(names).scalars().all() == []
    with store.write() as outer, store.write() as inner:
        inner.execute(workspaces.insert().values(name="kept", **row))
    with store.read() as conn:
        assert conn.execute(names).scalars().all() == ["kept"]
    store.close()


def test_requirements_normalize_to_one_key() -> None:
    a = normalize_requirements("six==1.16.0\n# comment\n\nrequests>=2  # why\n")
    b = normalize_requirements("requests>=2\nsix==1.16.0\nsix==1.16.0\n")
    assert a == b == "requests>=2\nsix==1.16.0"
    assert environment_key(a) == environment_key(b)
    assert normalize_requirements("# only a comment\n\n") == ""
