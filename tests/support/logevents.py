"""The lines a `log` event carries, one dict each, as a test reads them."""

from __future__ import annotations

from typing import Any


def lines_of(event: dict[str, Any]) -> list[dict[str, Any]]:
    """Each line of the event's reads: {"seq", "at", "stream", "text", "partial"}."""
    return [{"seq": read["seq"] + i, "at": read["at"], "stream": read["stream"], "text": text,
             "partial": i in read["partial"]}
            for read in event["reads"] for i, text in enumerate(read["text"])]
