"""Zips that are broken in the ways an upload can be: encrypted entries, compression methods
Python cannot read, corrupt streams."""

from __future__ import annotations


def with_flag_bits(data: bytes, flags: int) -> bytes:
    """The zip with each entry's general-purpose flags set in both of its headers (Python's
    zipfile writes no encrypted entries, so an encrypted one is made this way)."""
    patched = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = patched.find(signature)
        while at != -1:
            patched[at + offset:at + offset + 2] = (int.from_bytes(patched[at + offset:at + offset + 2], "little")
                                                    | flags).to_bytes(2, "little")
            at = patched.find(signature, at + 4)
    return bytes(patched)


def with_method(data: bytes, method: int) -> bytes:
    patched = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        at = patched.find(signature)
        while at != -1:
            patched[at + offset:at + offset + 2] = method.to_bytes(2, "little")
            at = patched.find(signature, at + 4)
    return bytes(patched)


def corrupt_stream(data: bytes) -> bytes:
    """The first entry's deflate stream overwritten with bytes that are no valid stream."""
    patched = bytearray(data)
    header = patched.find(b"PK\x03\x04")
    name_len = int.from_bytes(patched[header + 26:header + 28], "little")
    extra_len = int.from_bytes(patched[header + 28:header + 30], "little")
    start = header + 30 + name_len + extra_len
    patched[start:start + 8] = b"\xff" * 8
    return bytes(patched)

