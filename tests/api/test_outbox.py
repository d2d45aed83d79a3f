"""A subscriber's outbox on a real event loop: log lines batched per run, a bounded queue that
drops and says so when its client cannot keep up."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import orjson

from jupyter_orch.server.events import LOG_BATCHES_PER_S, OUTBOX_BYTES, Outbox
from tests.support.logevents import lines_of

NO_DATABASE = True


def line(seq: int, run_id: str = "r1") -> dict[str, Any]:
    return {"kind": "log", "id": run_id, "run_id": run_id, "task_id": "t1", "reads": [
        {"seq": seq, "at": f"t{seq}", "stream": "stdout", "text": [str(seq)], "partial": []}
    ]}


async def test_lines_of_a_run_go_out_in_one_batch_and_before_the_run_ends() -> None:
    sent: list[dict[str, Any]] = []

    async def send(text: str) -> None:
        sent.append(json.loads(text))

    outbox = Outbox(send)
    for seq in range(500):
        outbox.put(line(seq))
    outbox.put(line(0, "r2"))
    outbox.put({"kind": "run", "id": "r1", "status": "success", "at": "now"})
    await asyncio.sleep(2 / LOG_BATCHES_PER_S)
    outbox.close()
    assert [m["kind"] for m in sent] == ["log", "run", "log"]
    assert [x["text"] for x in lines_of(sent[0])] == [str(i) for i in range(500)] and sent[0]["at"] == "t499"
    assert sent[2]["run_id"] == "r2"


async def test_a_client_that_cannot_keep_up_is_told_to_reread() -> None:
    sent: list[dict[str, Any]] = []
    gate = asyncio.Event()

    async def slow_send(text: str) -> None:
        await gate.wait()
        sent.append(json.loads(text))

    one_line = len(orjson.dumps(line(100)["reads"])) - 2  # what a line of three digits holds
    outbox = Outbox(slow_send, capacity=100 * one_line)
    outbox.put({"kind": "task", "id": "t1", "status": "started", "at": "a"})
    await asyncio.sleep(0)  # the writer is now stuck sending the first message
    for seq in range(100, 350):
        outbox.put(line(seq))
    outbox.put({"kind": "task", "id": "t1", "status": "success", "at": "b"})
    gate.set()
    await asyncio.sleep(2 / LOG_BATCHES_PER_S)
    outbox.close()
    # 100 lines filled the outbox: the 101st dropped them and itself, resync; the next 101 did
    # it again; the last 48 went out
    assert [m["kind"] for m in sent] == ["task", "resync", "task", "log"]
    assert sent[1]["dropped"] == 202 and sent[2]["status"] == "success"
    assert [x["seq"] for x in lines_of(sent[3])] == list(range(302, 350))


async def test_the_bound_is_in_bytes_so_short_lines_read_as_they_come_never_overflow() -> None:
    sent: list[dict[str, Any]] = []

    async def send(text: str) -> None:
        sent.append(json.loads(text))

    outbox = Outbox(send, capacity=OUTBOX_BYTES)
    for seq in range(100_000, 400_000, 1000):  # 300,000 lines of six characters, in one batch period
        outbox.put({"kind": "log", "id": "r1", "run_id": "r1", "task_id": "t1", "reads": [
            {"seq": seq, "at": "t", "stream": "stdout", "text": [str(s) for s in range(seq, seq + 1000)],
             "partial": []}]})
    await asyncio.sleep(2 / LOG_BATCHES_PER_S)
    outbox.close()
    assert [m["kind"] for m in sent] == ["log"]
    assert len(lines_of(sent[0])) == 300_000
