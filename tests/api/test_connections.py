from __future__ import annotations

import logging

import pytest

from tests.conftest import Api

DETAILS = {"host": "http://127.0.0.1:9/data.arrow", "password": "s3cr3t-value"}


async def make_workspace(api: Api, name: str) -> int:
    status, answer = await api("workspaces/create", {"workspace_name": name})
    assert status == 200
    return answer["workspace_id"]


async def test_create_get_list_delete(api: Api) -> None:
    status, created = await api("connections/create", {"name": "src", "type": "HTTP", "details": DETAILS})
    assert status == 200 and set(created) == {"id"}
    status, conn = await api("connections/get", {"name": "src"})
    assert status == 200
    assert conn["id"] == created["id"] and conn["name"] == "src" and conn["type"] == "HTTP"
    assert conn["details"] == DETAILS and conn["workspace_names"] == []
    assert conn["created_at"].endswith("+00:00")
    assert (await api("connections/get_by_id", {"id": created["id"]}))[1] == conn
    status, listed = await api("connections/list")
    assert status == 200 and [c["name"] for c in listed["connections"]] == ["src"]
    assert await api("connections/delete", {"name": "src"}) == (200, {})
    assert (await api("connections/list"))[1] == {"connections": []}


async def test_conflict_not_found_and_bad_input(api: Api) -> None:
    body = {"name": "dup", "type": "HTTP", "details": {}}
    assert (await api("connections/create", body))[0] == 200
    status, error = await api("connections/create", body)
    assert status == 409 and error["code"] == 409 and "dup" in error["msg"]
    status, error = await api("connections/get", {"name": "missing"})
    assert status == 404 and error["code"] == 404
    assert (await api("connections/delete", {"name": "missing"}))[0] == 404
    unknown = "00000000-0000-4000-8000-000000000000"
    assert (await api("connections/get_by_id", {"id": unknown}))[0] == 404
    for bad in [
        {"name": "x", "type": "HTTP"},
        {"name": "x", "type": "HTTP", "details": "not an object"},
        {"name": "", "type": "HTTP", "details": {}},
        {"name": "x", "type": 3, "details": {}},
    ]:
        status, error = await api("connections/create", bad)
        assert status == 400 and error["msg"]
    assert (await api("connections/get_by_id", {"id": "nope"}))[0] == 400
    assert [c["name"] for c in (await api("connections/list"))[1]["connections"]] == ["dup"]


async def test_workspace_membership(api: Api) -> None:
    ws_a, ws_b = await make_workspace(api, "ws-a"), await make_workspace(api, "ws-b")
    cid = (await api("connections/create", {"name": "c", "type": "ODBC", "details": {"k": 1}}))[1]["id"]
    for wid in (ws_b, ws_a, ws_a):  # adding twice is harmless
        body = {"workspace_id": wid, "connection_id": cid}
        assert await api("connections/add_to_workspace", body) == (200, {"id": cid})
    assert (await api("connections/get", {"name": "c"}))[1]["workspace_names"] == ["ws-a", "ws-b"]
    assert [c["id"] for c in (await api("connections/list", {"workspace_id": ws_a}))[1]["connections"]] == [cid]
    body = {"workspace_id": ws_a, "connection_id": cid}
    assert await api("connections/remove_from_workspace", body) == (200, {})
    assert (await api("connections/list", {"workspace_id": ws_a}))[1] == {"connections": []}
    assert (await api("connections/get", {"name": "c"}))[1]["workspace_names"] == ["ws-b"]
    assert (await api("connections/add_to_workspace", {"workspace_id": 999, "connection_id": cid}))[0] == 404
    assert (await api("connections/list", {"workspace_id": 999}))[0] == 404
    assert (await api("connections/add_to_workspace", {"workspace_id": ws_a}))[0] == 400
    assert await api("connections/delete", {"name": "c"}) == (200, {})
    assert (await api("connections/list", {"workspace_id": ws_b}))[1] == {"connections": []}


async def test_details_never_logged(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await api("connections/create", {"name": "secret", "type": "HTTP", "details": DETAILS})
    await api("connections/create", {"name": "secret", "type": "HTTP", "details": DETAILS})  # 409 path
    await api("connections/get", {"name": "secret"})
    assert "s3cr3t-value" not in caplog.text
