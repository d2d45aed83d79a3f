"""Compatibility with scripts written for the reference platform's `wallaroo` SDK.

`install_wallaroo_alias()` makes `import wallaroo` (and its submodules, e.g.
`wallaroo.object`) resolve to `jupyter_orch.compat.wallaroo` when the real package is absent.
Task runs call it at start-up; in a kernel it is opt-in.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
from types import ModuleType

ALIAS = "wallaroo"
TARGET = "jupyter_orch.compat.wallaroo"


class _AliasLoader:
    # Duck-typed, not importlib.abc subclasses: importlib.abc costs ~17 ms at every task start.
    def __init__(self, target: str):
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(self.target)

    def exec_module(self, module: ModuleType) -> None:
        """The target module is already executed by import_module."""


class _AliasFinder:
    def find_spec(self, fullname: str, path: object = None, target: object = None):  # type: ignore[no-untyped-def]
        if fullname != ALIAS and not fullname.startswith(ALIAS + "."):
            return None
        real = TARGET + fullname[len(ALIAS):]
        if importlib.util.find_spec(real) is None:
            return None
        is_package = importlib.util.find_spec(real).submodule_search_locations is not None  # type: ignore[union-attr]
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(real), is_package=is_package)  # type: ignore[arg-type]


def install_wallaroo_alias(force: bool = False) -> bool:
    """Alias `wallaroo` to this package's shim; return False when the real SDK is installed."""
    if any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        return True
    if not force and ALIAS not in sys.modules and _real_sdk_present():
        return False
    sys.meta_path.insert(0, _AliasFinder())
    return True


def _real_sdk_present() -> bool:
    return any(
        finder.find_spec(ALIAS, None) is not None
        for finder in sys.meta_path
        if hasattr(finder, "find_spec") and not isinstance(finder, _AliasFinder)
    )
