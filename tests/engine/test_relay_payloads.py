"""What the PostgreSQL relay sends fits NOTIFY's payload limit, in order, with nothing lost
(the relay itself runs in tests/team against a real PostgreSQL)."""

from __future__ import annotations

import json

from jupyter_orch.engine.events.bus import EventBus
from jupyter_orch.engine.events.relay import PAYLOAD_LIMIT, PostgresRelay

NO_DATABASE = True


def test_large_batches_of_lines_travel_in_pieces_under_the_limit() -> None:
    relay = PostgresRelay("postgresql+psycopg://nobody@127.0.0.1:1/none", EventBus("me"))
    many = {"seq": 0, "at": "t0", "stream": "stdout", "text": ["é" * 100 + str(i) for i in range(400)],
            "partial": [7, 399]}
    more = {"seq": 400, "at": "t1", "stream": "stdout", "text": ["é" * 100 + str(i) for i in range(400, 500)],
            "partial": []}
    long_line = {"seq": 500, "at": "t2", "stream": "stderr", "text": ["y" * 20_000], "partial": [0]}
    events = [{"kind": "log", "id": "r", "reads": [many, more]}, {"kind": "log", "id": "r", "reads": [long_line]},
              {"kind": "run", "id": "r", "status": "success"}]
    payloads = relay._payloads(events)
    assert len(payloads) > 1 and all(len(p) <= PAYLOAD_LIMIT for p in payloads)
    received = [event for p in payloads for event in json.loads(p)["events"]]
    reads = [read for event in received if event["kind"] == "log" for read in event["reads"]]
    lines = [(read["seq"] + i, read["at"], text, i in read["partial"]) for read in reads
             for i, text in enumerate(read["text"])]
    assert [seq for seq, *_ in lines] == list(range(501))
    assert [seq for seq, _, _, partial in lines if partial] == [7, 399, 500]
    assert [at for _, at, *_ in lines] == ["t0"] * 400 + ["t1"] * 100 + ["t2"]
    assert lines[-1][2].endswith("[cut: too long to relay to other engines]")
    assert received[-1] == {"kind": "run", "id": "r", "status": "success"}
