"""Tensor columns as Parquet stores them fast: a fixed-size list of numbers (a model's input
or output, `in.tensor: fixed_size_list<float>[18]`) is written as fixed-size binary, each
value the row's numbers' bytes. Parquet keeps a list with repetition and definition levels per
number, and decoding those is most of the time of reading a big time range; fixed-size binary
is read as one flat buffer. Reading turns the column back into the same list type, without a
copy. A field written this way carries LIST_OF in its metadata (`<value type>:<list size>`);
lists with nulls, or of other value types, are kept as they are.
"""

from __future__ import annotations

import pyarrow as pa

LIST_OF = b"jupyter_orch.list_of"


def _flattenable(field: pa.Field, column: pa.ChunkedArray) -> bool:
    kind = field.type
    if not pa.types.is_fixed_size_list(kind):
        return False
    values = kind.value_type
    if not (pa.types.is_integer(values) or pa.types.is_floating(values)):
        return False
    return column.null_count == 0 and all(chunk.values.null_count == 0 for chunk in column.chunks)


def flatten(table: pa.Table) -> pa.Table:
    """`table` with each numeric fixed-size list column (without nulls) as fixed-size binary:
    each chunk's numbers' buffer seen as the binary values, no copy."""
    for index, field in enumerate(table.schema):
        column = table.column(index)
        if not _flattenable(field, column):
            continue
        kind: pa.FixedSizeListType = field.type
        width = kind.list_size * kind.value_type.bit_width // 8
        flat = pa.chunked_array([_as_binary(chunk, width) for chunk in column.chunks], pa.binary(width))
        metadata = {**(field.metadata or {}), LIST_OF: f"{kind.value_type}:{kind.list_size}".encode()}
        table = table.set_column(index, pa.field(field.name, flat.type, field.nullable, metadata), flat)
    return table


def _as_binary(chunk: pa.FixedSizeListArray, width: int) -> pa.Array:
    numbers = chunk.flatten()  # the chunk's own numbers (a slice of its values, no copy)
    start = numbers.offset * numbers.type.bit_width // 8
    data = numbers.buffers()[1].slice(start, len(chunk) * width)
    return pa.Array.from_buffers(pa.binary(width), len(chunk), [None, data])


def unflatten(table: pa.Table) -> pa.Table:
    """The lists `flatten` stored as binary, back as the lists they were (no copy)."""
    for index, field in enumerate(table.schema):
        if not field.metadata or LIST_OF not in field.metadata:
            continue
        value_name, size_text = field.metadata[LIST_OF].decode().rsplit(":", 1)
        value_type, size = pa.type_for_alias(value_name), int(size_text)
        kind = pa.list_(value_type, size)
        chunks = [
            pa.FixedSizeListArray.from_arrays(pa.Array.from_buffers(
                value_type, len(chunk) * size, [None, chunk.buffers()[1]], offset=chunk.offset * size), size)
            for chunk in table.column(index).chunks
        ]
        metadata = {k: v for k, v in field.metadata.items() if k != LIST_OF} or None
        table = table.set_column(index, pa.field(field.name, kind, field.nullable, metadata),
                                 pa.chunked_array(chunks, kind))
    return table


def form(schema: pa.Schema) -> frozenset[str]:
    """Which fields of a stored part are flattened lists: parts of one form read as one dataset."""
    return frozenset(f.name for f in schema if f.metadata and LIST_OF in f.metadata)
