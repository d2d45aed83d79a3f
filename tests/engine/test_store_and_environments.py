from __future__ import annotations

import sqlite3
from pathlib import Path

from jupyter_orch.engine.orchestrations.environments import environment_key, normalize_requirements
from jupyter_orch.engine.store.database import MIGRATIONS, Store


def test_store_uses_wal_and_records_schema_version(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    assert store.schema_version == len(MIGRATIONS)
    assert store.one("PRAGMA journal_mode")[0] == "wal"
    store.close()
    # Reopening applies nothing twice.
    again = Store(tmp_path / "db.sqlite3")
    assert again.schema_version == len(MIGRATIONS)


def test_a_newer_migration_is_applied_forward(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    Store(path).close()
    MIGRATIONS.append("CREATE TABLE later_feature (x INTEGER)")
    try:
        store = Store(path)
        assert store.schema_version == len(MIGRATIONS)
        store.execute("INSERT INTO later_feature VALUES (1)")
    finally:
        MIGRATIONS.pop()
    raw = sqlite3.connect(path)
    assert raw.execute("SELECT x FROM later_feature").fetchone() == (1,)


def test_requirements_normalize_to_one_key() -> None:
    a = normalize_requirements("six==1.16.0\n# comment\n\nrequests>=2  # why\n")
    b = normalize_requirements("requests>=2\nsix==1.16.0\nsix==1.16.0\n")
    assert a == b == "requests>=2\nsix==1.16.0"
    assert environment_key(a) == environment_key(b)
    assert normalize_requirements("# only a comment\n\n") == ""
