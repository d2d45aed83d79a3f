"""Which columns `infer` and `logs` give back: the reference SDK's `dataset=` rule.

`dataset` names column families: `time`, `in` (`in.*`), `out` (`out.*`), `anomaly`
(`anomaly.*`), `check_failures` (the 2023 SDK's name of `anomaly.count`) and `metadata`
(`metadata.*`); `*` stands for time, in, out and anomaly, and is the default. `dataset_exclude`
drops families; `dataset_separator` replaces the `.` after a family's name (`/` gives
`in/tensor`). The `time` column is naive UTC, as the reference gives it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .inference import Frame

EVERYTHING = "*"
DEFAULT = ("time", "in", "out", "anomaly")
FAMILIES = (*DEFAULT, "check_failures", "metadata")


def choose(dataset: Iterable[str] | None = None, exclude: Iterable[str] | None = None) -> set[str]:
    """The families `dataset` minus `exclude` names; `ValueError` for a name that is none."""
    return _families(dataset or [EVERYTHING], "dataset") - _families(exclude or [], "dataset_exclude")


def select(frame: Frame, wanted: set[str], separator: str | None = None) -> Frame:
    """`frame` with the `wanted` families' columns, in their order, renamed with `separator`."""
    import pandas as pd

    columns = list(frame.columns) if isinstance(frame, pd.DataFrame) else frame.column_names
    keep = [c for c in columns if in_families(c, wanted)]
    names = [c.replace(".", separator, 1) if separator else c for c in keep]
    if isinstance(frame, pd.DataFrame):
        chosen = frame if names == keep == columns else frame[keep].set_axis(names, axis="columns")
        if "time" in chosen.columns and getattr(chosen["time"].dtype, "tz", None) is not None:
            chosen["time"] = chosen["time"].dt.tz_convert("UTC").dt.tz_localize(None)
        return chosen
    chosen = frame.select(keep).rename_columns(names)
    if "time" in names and getattr(chosen.schema.field("time").type, "tz", None):
        import pyarrow as pa

        naive = pa.timestamp(chosen.schema.field("time").type.unit)  # the same numbers (a cast costs more)
        times = pa.chunked_array([chunk.view(naive) for chunk in chosen.column("time").chunks], naive)
        chosen = chosen.set_column(names.index("time"), "time", times)
    return chosen


def in_families(column: str, wanted: set[str]) -> bool:
    return column.split(".", 1)[0] in wanted


def _families(names: Iterable[str], parameter: str) -> set[str]:
    if isinstance(names, str):
        names = [names]
    chosen: set[str] = set()
    for name in names:
        if name == EVERYTHING:
            chosen.update(DEFAULT)
        elif name in FAMILIES:
            chosen.add(name)
        else:
            raise ValueError(f"{parameter} takes {', '.join((EVERYTHING, *FAMILIES))}; not {name!r}")
    return chosen
