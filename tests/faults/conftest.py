"""Every test here runs on each database backend (see tests/conftest.py's `db_url`)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _on_each_backend(db_url: str | None) -> None:
    """Requesting `db_url` is what parametrizes a test over the backends."""
