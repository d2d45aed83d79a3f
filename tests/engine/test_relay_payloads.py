"""What the PostgreSQL relay sends fits NOTIFY's payload limit, in order, with nothing lost
(the relay itself runs in tests/team against a real PostgreSQL)."""

from __future__ import annotations

import json

from jupyter_orch.engine.events.bus import EventBus
from jupyter_orch.engine.events.relay import PAYLOAD_LIMIT, PostgresRelay

NO_DATABASE = True


def test_large_batches_of_lines_travel_in_pieces_under_the_limit() -> None:
    relay = PostgresRelay("postgresql+psycopg://nobody@127.0.0.1:1/none", EventBus("me"))
    lines = [{"seq": i, "stream": "stdout", "text": "é" * 100 + str(i), "partial": False} for i in range(500)]
    long_line = {"seq": 500, "stream": "stderr", "text": "y" * 20_000, "partial": False}
    events = [{"kind": "log", "id": "r", "lines": lines}, {"kind": "log", "id": "r", "lines": [long_line]},
              {"kind": "run", "id": "r", "status": "success"}]
    payloads = relay._payloads(events)
    assert len(payloads) > 1 and all(len(p) <= PAYLOAD_LIMIT for p in payloads)
    received = [event for p in payloads for event in json.loads(p)["events"]]
    sent = [line for event in received if event["kind"] == "log" for line in event["lines"]]
    assert [line["seq"] for line in sent] == list(range(501))
    assert sent[-1]["text"].endswith("[cut: too long to relay to other engines]")
    assert received[-1] == {"kind": "run", "id": "r", "status": "success"}
