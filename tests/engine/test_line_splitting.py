"""How a run's output bytes become lines, and how they reach the log: in order, in bounded
loop turns, with reading paused meanwhile (executors/local.py)."""

from __future__ import annotations

import asyncio
import itertools
import sys
from datetime import datetime

from jupyter_orch.engine.executors.local import LINES_PER_TURN, MAX_LINE_CHARS, LineSplitter, _RunProtocol


def test_lines_split_across_chunks_with_their_endings_and_pieces() -> None:
    splitter = LineSplitter()
    euro = "€".encode()
    assert splitter.feed(b"one\r\ntw") == [("one", False)]
    assert splitter.feed(b"o\n" + euro[:1]) == [("two", False)]  # a character cut between reads
    assert splitter.feed(euro[1:] + b"\n\n") == [("€", False), ("", False)]
    long = "x" * (MAX_LINE_CHARS * 2 + 5)
    assert splitter.feed(long.encode()) == [("x" * MAX_LINE_CHARS, True)] * 2  # pieces of a line too long
    assert splitter.feed(b"\nlast") == [("x" * 5, False)]
    assert splitter.close() == [("last", False)]  # a last line without its newline
    assert splitter.close() == []


async def test_a_big_read_reaches_the_sink_in_bounded_turns_in_order() -> None:
    got: list[tuple[str, str]] = []
    turns: list[int] = []

    def sink(stream: str, at: datetime, lines: list[tuple[str, bool]]) -> None:
        got.extend((stream, text) for text, _ in lines)

    protocol = _RunProtocol(sink)
    count = LINES_PER_TURN * 3 + 7
    protocol.pipe_data_received(1, "".join(f"{i}\n" for i in range(count)).encode())
    protocol.pipe_data_received(2, b"err\n")  # read meanwhile: after what was read before it
    turns.append(len(got))
    while len(got) < count + 1:
        await asyncio.sleep(0)
        turns.append(len(got))
    protocol.pipe_connection_lost(1, None)
    protocol.pipe_connection_lost(2, None)
    await asyncio.wait_for(protocol.drained, 1)
    assert got == [("stdout", str(i)) for i in range(count)] + [("stderr", "err")]
    assert turns[0] == LINES_PER_TURN and max(b - a for a, b in itertools.pairwise(turns)) <= LINES_PER_TURN


async def test_a_flood_is_split_and_handed_on_in_bounded_turns_while_its_pipe_pauses() -> None:
    """A real child floods its stdout (256 KiB reads of short lines): every turn hands on at most
    LINES_PER_TURN lines, reading pauses while lines wait, and every line arrives in order."""
    count = 300_000
    calls: list[int] = []
    paused: list[bool] = []
    got: list[str] = []
    loop = asyncio.get_running_loop()
    script = f"import sys\nsys.stdout.write(''.join(f'{{i}}\\n' for i in range({count})))"
    protocol: _RunProtocol | None = None

    def sink(stream: str, at: datetime, lines: list[tuple[str, bool]]) -> None:
        calls.append(len(lines))
        got.extend(text for text, _ in lines)
        assert transport is not None
        pipe = transport.get_pipe_transport(1)
        paused.append(pipe is not None and not pipe.is_reading())

    def made() -> _RunProtocol:
        nonlocal protocol
        protocol = _RunProtocol(sink)
        return protocol

    transport, _ = await loop.subprocess_exec(made, sys.executable, "-c", script, stdin=None)
    assert protocol is not None
    await asyncio.wait_for(protocol.exited, 30)
    await asyncio.wait_for(protocol.drained, 30)
    transport.close()
    assert got == [str(i) for i in range(count)]
    assert max(calls) <= LINES_PER_TURN
    assert any(paused), "reading never paused while lines waited"
