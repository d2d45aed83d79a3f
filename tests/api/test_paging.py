"""Paged lists, in-process on each database: a default limit, `limit` + `cursor` in the
request, the next cursor in `x-iteration-cursor`; every item once, in the list's order."""

from __future__ import annotations

import json
from typing import Any

from tornado.httpclient import HTTPClientError

from tests.api.test_tasks_api import ready_orchestration, wait_task
from tests.conftest import Api


async def walk(jp_fetch: Any, route: str, body: dict[str, Any], key: str | None = None) -> list[list[Any]]:
    """Every page of a list, following the cursors."""
    pages: list[list[Any]] = []
    while True:
        response = await jp_fetch("v1", "api", *route.split("/"), method="POST", body=json.dumps(body))
        answer = json.loads(response.body)
        pages.append(answer[key] if key else answer)
        cursor = response.headers.get("x-iteration-cursor")
        assert response.headers["x-iteration-status"] == ("SomeRemaining" if cursor else "All")
        if cursor is None:
            return pages
        body = {**body, "cursor": cursor}


async def test_connections_page_through_every_item_once(api: Api, jp_fetch: Any) -> None:
    for n in range(5):
        assert (await api("connections/create", {"name": f"c{n}", "type": "HTTP", "details": {}}))[0] == 200
    pages = await walk(jp_fetch, "connections/list", {"limit": 2}, "connections")
    assert [[c["name"] for c in page] for page in pages] == [["c0", "c1"], ["c2", "c3"], ["c4"]]
    assert len((await api("connections/list", {}))[1]["connections"]) == 5  # the default limit holds them all


async def test_tasks_runs_and_run_logs_are_paged(api: Api, jp_fetch: Any) -> None:
    wid, orch = await ready_orchestration(api, "for i in range(25):\n    print(i)\n")
    ids = []
    for _ in range(3):
        ids.append((await api("task/run_once", {"workspace_id": wid, "orch_id": orch["id"], "json": {}}))[1]["id"])
    for task_id in ids:
        assert (await wait_task(api, task_id))["status"] == "success"
    pages = await walk(jp_fetch, "task/list", {"workspace_id": wid, "limit": 2})
    assert [[t["id"] for t in page] for page in pages] == [ids[:2], ids[2:]]  # oldest first

    run_id = (await wait_task(api, ids[0]))["last_runs"][0]["run_id"]
    pages = await walk(jp_fetch, "task/get_logs_for_run", {"id": run_id, "limit": 10}, "logs")
    assert [len(p) for p in pages] == [10, 10, 5]
    assert [line.rsplit(" ", 1)[1] for p in pages for line in p] == [str(i) for i in range(25)]
    assert (await api("task/get_logs_for_run", {"id": run_id, "lines": 2}))[1]["logs"] == pages[-1][-2:]

    cron = (await api("task/run_scheduled", {"workspace_id": wid, "orch_id": orch["id"], "json": {},
                                             "schedule": "* * * * * *"}))[1]["id"]
    status, ran = await api("task/list_task_runs", {"task_id": cron, "status": "success", "wait_for_count": 3,
                                                    "wait_timeout": 60})
    assert status == 200 and len(ran) >= 3
    await api("task/kill", {"id": cron})
    await wait_task(api, cron)
    everything = (await api("task/list_task_runs", {"task_id": cron}))[1]
    pages = await walk(jp_fetch, "task/list_task_runs", {"task_id": cron, "limit": 2})
    assert [r["run_id"] for p in pages for r in p] == [r["run_id"] for r in everything]  # newest first
    assert len(everything) >= 3 and all(len(p) <= 2 for p in pages)


async def test_a_bad_cursor_or_limit_is_a_400(api: Api, jp_fetch: Any) -> None:
    for body, words in (({"cursor": "not-a-cursor"}, "cursor"), ({"limit": 0}, "limit"),
                        ({"limit": 10**6}, "limit"), ({"cursor": "WzFd"}, "cursor")):
        status, answer = await api("orchestration/list_all", body)
        assert status == 400 and words in answer["msg"], answer
    try:
        await jp_fetch("v1", "api", "connections", "list", method="POST", body=json.dumps({"cursor": 5}))
    except HTTPClientError as refused:
        assert refused.code == 400
    else:
        raise AssertionError("a number is not a cursor")
