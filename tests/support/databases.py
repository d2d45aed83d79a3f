"""The databases the engine and API tests run on: a SQLite file in the data dir, and a real
PostgreSQL (Debian's `postgresql` package) in a throwaway cluster this test session starts with
`initdb`/`pg_ctl` in a temporary folder and stops at the end. As root, PostgreSQL's programs run
as the `postgres` user (PostgreSQL refuses to run as root)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.support.server import free_port

BACKENDS = ("sqlite", "postgresql")


def _bin(name: str) -> str:
    found = next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None) or shutil.which(name)
    if found is None:
        raise RuntimeError(f"PostgreSQL's {name} is not installed: `make test` installs Debian's postgresql package")
    return found


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass
class PostgresCluster:
    folder: Path
    port: int

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    @contextmanager
    def database(self) -> Iterator[str]:
        """A fresh, empty database, dropped afterwards."""
        name = f"orch_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield self.url(name)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()


@contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    # Not under pytest's temporary folder: as root that is private to root, and the server runs
    # as `postgres`.
    folder = Path(tempfile.mkdtemp(prefix="orch-test-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    cluster = PostgresCluster(folder, free_port())
    subprocess.run(_as_postgres([_bin("initdb"), "-D", str(folder), "-A", "trust", "--no-sync", "-U", "postgres"]),
                   check=True, capture_output=True)
    options = f"-p {cluster.port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300"
    subprocess.run(_as_postgres([_bin("pg_ctl"), "-D", str(folder), "-o", options, "-l", str(folder / "log"),
                                 "-w", "start"]), check=True, capture_output=True)
    try:
        yield cluster
    finally:
        subprocess.run(_as_postgres([_bin("pg_ctl"), "-D", str(folder), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def sql(url: str, statement: str, **params: Any) -> list[Any]:
    """Run one SQL statement on a database the way a test pokes at it from outside."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(statement), params)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()
