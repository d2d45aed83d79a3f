"""Arrow columns <-> numpy tensors, without per-row Python objects.

A tensor column holds one list (fixed-size or variable, possibly nested) per row; it becomes a
(rows, *dims) array by flattening the list levels, so Arrow's buffers are used as they are.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import Invalid
from .onnx_models import TensorSpec

NUMPY_TYPES: dict[str, Any] = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(int16)": np.int16,
    "tensor(int8)": np.int8,
    "tensor(uint64)": np.uint64,
    "tensor(uint32)": np.uint32,
    "tensor(uint16)": np.uint16,
    "tensor(uint8)": np.uint8,
    "tensor(bool)": np.bool_,
}


def numpy_type(spec: TensorSpec) -> Any:
    try:
        return NUMPY_TYPES[spec.type]
    except KeyError:
        raise Invalid(f"input '{spec.name}' has type {spec.type}, which pipelines cannot feed") from None


def row_dims(spec: TensorSpec) -> list[int | None]:
    """The per-row dimensions of an input (its shape without the batch dimension)."""
    return spec.shape[1:] if spec.shape else []


def describe(spec: TensorSpec) -> str:
    dims = row_dims(spec)
    if not dims:
        return "one number"
    if all(d is not None for d in dims):
        count = math.prod(d or 0 for d in dims)
        return f"lists of {count} numbers" if len(dims) == 1 else f"nested lists of shape {dims}"
    return f"lists of shape {dims}"


def is_list(type_: pa.DataType) -> bool:
    return pa.types.is_list(type_) or pa.types.is_large_list(type_) or pa.types.is_fixed_size_list(type_)


def is_number(type_: pa.DataType) -> bool:
    return pa.types.is_integer(type_) or pa.types.is_floating(type_) or pa.types.is_boolean(type_)


def column_tensor(column: pa.ChunkedArray | pa.Array, name: str, spec: TensorSpec) -> np.ndarray:
    """The column `name` as the input `spec`: shape (rows, *dims), the input's dtype."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    rows = len(array)
    if array.null_count:
        raise Invalid(f"column '{name}' has empty (null) rows; every row needs {describe(spec)}")
    data_dims: list[int] = []
    while is_list(array.type):
        if pa.types.is_fixed_size_list(array.type):
            width = array.type.list_size
        else:
            lengths = np.diff(array.offsets.to_numpy())
            width = int(lengths[0]) if len(lengths) else 0
            if (lengths != width).any():
                raise Invalid(
                    f"column '{name}' holds lists of different lengths "
                    f"({lengths.min()} to {lengths.max()}); input '{spec.name}' needs {describe(spec)}"
                )
        data_dims.append(width)
        array = array.flatten()
        if array.null_count:
            raise Invalid(f"column '{name}' holds null values; input '{spec.name}' needs numbers")
    if not is_number(array.type):
        raise Invalid(f"column '{name}' holds {array.type} values; input '{spec.name}' needs numbers")
    values = array.to_numpy(zero_copy_only=False).astype(numpy_type(spec), copy=False)
    return values.reshape(rows, *_fit_dims(data_dims, name, spec))


def _fit_dims(data_dims: list[int], name: str, spec: TensorSpec) -> list[int]:
    wanted = row_dims(spec)
    size = math.prod(data_dims)
    if all(d is not None for d in wanted):
        if size != math.prod(wanted):  # type: ignore[arg-type]
            got = f"lists of {size} numbers" if data_dims else "single numbers"
            raise Invalid(
                f"input '{spec.name}' (shape {spec.shape}) needs {describe(spec)} per row in "
                f"column '{name}', got {got}"
            )
        return wanted  # type: ignore[return-value]
    if len(data_dims) != len(wanted):
        raise Invalid(f"input '{spec.name}' (shape {spec.shape}) needs {describe(spec)} per row in column '{name}'")
    return data_dims


def stacked_tensor(table: pa.Table, spec: TensorSpec) -> np.ndarray:
    """Scalar feature columns stacked side by side, in column order, as a (rows, n) input."""
    empty = [name for name, column in zip(table.column_names, table.columns, strict=True) if column.null_count]
    if empty:
        raise Invalid(f"feature column(s) {empty} have empty (null) rows; input '{spec.name}' needs numbers")
    columns = [table.column(i).to_numpy() for i in range(table.num_columns)]
    return np.column_stack(columns).astype(numpy_type(spec), copy=False)


def tensor_column(values: Any) -> pa.Array:
    """A model output as a column with one list per row (a (rows,) output gives 1-item lists)."""
    if not isinstance(values, np.ndarray):  # e.g. a ZipMap's list of dicts
        return pa.array(values)
    if values.ndim == 1:
        values = values.reshape(-1, 1)
    flat = pa.array(np.ascontiguousarray(values).reshape(-1))
    array: pa.Array = flat
    for width in reversed(values.shape[1:]):
        array = pa.FixedSizeListArray.from_arrays(array, width)
    return array
