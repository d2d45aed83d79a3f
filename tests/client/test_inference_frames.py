"""What the client makes of infer answers: the DataFrame pandas itself would build from JSON
records (built faster), and an Arrow answer given without its inputs completed from them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from jupyter_orch.client.inference import records_frame, with_inputs
from jupyter_orch.engine.pipelines.flat_lists import flatten, unflatten

RECORDS: list[dict[str, Any]] = [
    {"time": 1700000000000, "in.tensor": [1, 2.5], "out.variable": [3.0], "anomaly.count": 0, "flag": True,
     "name": "a", "maybe": None, "big": 2**70, "mixed": 1, "meta": {"k": 1}},
    {"time": 1700000000001, "in.tensor": [4, 5.0], "out.variable": [6.0], "anomaly.count": 2, "flag": False,
     "name": "b", "maybe": 1.5, "big": 1, "mixed": 2.5, "meta": {"k": 2}},
]


def pandas_own(records: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame({name: [r.get(name) for r in records] for name in records[0]})
    frame["time"] = pd.to_datetime(frame["time"], unit="ms", utc=True).dt.tz_convert(None)
    return frame


def test_records_become_the_frame_pandas_would_build() -> None:
    got = records_frame(RECORDS)
    pd.testing.assert_frame_equal(got, pandas_own(RECORDS))
    assert got["in.tensor"][1] == [4, 5.0] and got["meta"][0] == {"k": 1}
    numeric_only = [{k: r[k] for k in ("time", "in.tensor", "anomaly.count")} for r in RECORDS]
    pd.testing.assert_frame_equal(records_frame(numeric_only), pandas_own(numeric_only))
    # Frames built on shared column labels stay apart.
    one, other = records_frame(numeric_only), records_frame(numeric_only)
    one.columns.name = "renamed"
    assert other.columns.name is None
    iso = [{"time": "2026-12-02T07:00:00Z", "out.variable": [1.0]}]
    assert records_frame(iso)["time"][0] == pd.Timestamp("2026-12-02 07:00:00")
    assert list(records_frame(RECORDS, lambda name: name.startswith("in.")).columns) == ["in.tensor"]


def test_an_answer_without_inputs_gets_them_back_where_the_server_puts_them() -> None:
    inputs = pa.table({"tensor": pa.FixedSizeListArray.from_arrays(pa.array([1.0, 2.0]), 2), "extra": [7]})
    full = pa.table({"time": pa.array([0], pa.timestamp("ms", tz="UTC")), "in.tensor": inputs.column("tensor"),
                     "in.extra": inputs.column("extra"), "out.variable": [[3.0]], "anomaly.count": [0]})
    minimal = full.drop_columns(["in.tensor", "in.extra"])
    assert with_inputs(minimal, inputs).equals(full)
    assert with_inputs(full, inputs) is full  # a server that echoed them


def test_tensors_flatten_without_a_copy_and_come_back_whole_from_any_chunk_layout() -> None:
    values = pa.array(np.arange(18 * 5, dtype=np.float32))
    lists = pa.FixedSizeListArray.from_arrays(values, 18)
    column = pa.chunked_array([lists.slice(0, 2), lists.slice(3, 2), lists.slice(2, 1)])
    table = pa.table({"in.tensor": column, "n": list(range(5))})
    flat = flatten(table)
    assert flat.schema.field("in.tensor").type == pa.binary(18 * 4)
    first = flat.column("in.tensor").chunks[0].buffers()[1]
    assert first.address == values.buffers()[1].address  # the numbers' own memory, not a copy
    assert unflatten(flat).column("in.tensor").to_pylist() == column.to_pylist()
