"""Frames on the wire: pandas-records JSON or Arrow IPC, to and from Arrow tables.

JSON answers write `time` as epoch milliseconds (what pandas `to_json` writes and reads back);
list cells stay lists. Arrow bodies may be in the IPC file or stream format (told apart by the
file format's magic bytes); answers use the format the media type names (file by default).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from ...constants import ARROW_FILE, ARROW_STREAM, RECORDS
from ..errors import Invalid

__all__ = [
    "ARROW_CODEC", "ARROW_FILE", "ARROW_MAGIC", "ARROW_STREAM", "ARROW_STREAM_CODEC", "JSON_CODEC", "RECORDS", "Body",
    "Codec", "codec_for", "decode_arrow", "decode_records", "encode_arrow", "encode_records",
]

ARROW_MAGIC = b"ARROW1"
Body = bytes | bytearray  # a request body as it arrived (a large one is read into a bytearray)


@dataclass(frozen=True)
class Codec:
    content_type: str

    def decode(self, body: Body) -> pa.Table:
        return decode_records(body) if self.content_type == RECORDS else decode_arrow(body)

    def encode(self, table: pa.Table) -> bytes:
        if self.content_type == RECORDS:
            return encode_records(table)
        return encode_arrow(table, stream=self.content_type == ARROW_STREAM)


JSON_CODEC = Codec(RECORDS)
ARROW_CODEC = Codec(ARROW_FILE)
ARROW_STREAM_CODEC = Codec(ARROW_STREAM)


def codec_for(media_type: str | None) -> Codec:
    """The codec for a Content-Type or Accept value: Arrow when it names Arrow, else JSON."""
    media = (media_type or "").lower()
    if "arrow" not in media:
        return JSON_CODEC
    return ARROW_STREAM_CODEC if "stream" in media else ARROW_CODEC


def decode_records(body: Body) -> pa.Table:
    try:
        records = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Invalid("the body is not valid JSON; send pandas records: a list of objects") from None
    if not isinstance(records, list) or not records or not all(isinstance(r, dict) for r in records):
        raise Invalid(
            "the body must be pandas records: a non-empty JSON list of objects such as "
            '[{"tensor": [1.0, 2.0]}]'
        )
    try:
        return pa.Table.from_pylist(records)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        raise Invalid(f"the records do not make a table (mixed value types in a column?): {e}") from None


def decode_arrow(body: Body) -> pa.Table:
    buffer = pa.py_buffer(body)
    try:
        if body[:6] == ARROW_MAGIC:
            return pa.ipc.open_file(buffer).read_all()
        return pa.ipc.open_stream(buffer).read_all()
    except (pa.ArrowInvalid, OSError) as e:
        raise Invalid(f"the body is not an Arrow IPC file or stream: {e}") from None


def encode_arrow(table: pa.Table, stream: bool = False) -> bytes:
    sink = pa.BufferOutputStream()
    with (pa.ipc.new_stream if stream else pa.ipc.new_file)(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def encode_records(table: pa.Table) -> bytes:
    columns: dict[str, Any] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_timestamp(column.type):
            column = column.cast(pa.int64())
        columns[name] = column.to_pylist()
    names = list(columns)
    rows = [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]
    return json.dumps(rows).encode()
