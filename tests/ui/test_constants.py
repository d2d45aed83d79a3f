"""The sidebar's copy of the shared names (labextension/src/constants.ts) matches
jupyter_orch/constants.py, the one place they are defined."""

from __future__ import annotations

import json
import re
from pathlib import Path

from jupyter_orch import constants

SOURCE = Path(__file__).resolve().parents[2] / "labextension" / "src" / "constants.ts"
EXPORT = re.compile(r"^export const (\w+) = (.+);$", re.M)


def exported() -> dict[str, object]:
    return {name: json.loads(value.replace("'", '"')) for name, value in EXPORT.findall(SOURCE.read_text())}


def test_the_sidebar_copy_matches_the_python_constants() -> None:
    copy = exported()
    python = {name: getattr(constants, name) for name in copy if hasattr(constants, name)}
    assert set(copy) == set(python), f"names only in constants.ts: {set(copy) - set(python)}"
    for name, value in copy.items():
        expected = list(python[name]) if isinstance(python[name], tuple) else python[name]
        assert value == expected, name
