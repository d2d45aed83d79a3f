"""Every route asks the server's Authorizer (resource `orch`, read or write): with one that
allows reads and denies writes, reads work and writes answer 403 JSON and change nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_orch.server.app import API_ROUTES
from jupyter_orch.server.auth import READ_ROUTES, route_of
from tests.conftest import Api
from tests.security.authorizers import NothingAuthorizer, ReadOnlyAuthorizer
from tests.support.multipart import upload_body
from tests.support.zips import make_zip


@pytest.fixture
def authorizer_class() -> type | None:
    """The server's own Authorizer unless a test parametrizes another."""
    return None


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], authorizer_class: type | None) -> dict[str, Any]:
    if authorizer_class is not None:
        jp_server_config["ServerApp"]["authorizer_class"] = authorizer_class
    return jp_server_config


def test_every_read_route_is_a_route() -> None:
    paths = {route_of(f"/v1/api/{path}") for path, _ in API_ROUTES} | {"events"}
    assert paths >= READ_ROUTES


@pytest.mark.parametrize("authorizer_class", [ReadOnlyAuthorizer])
async def test_reads_work_and_writes_are_refused_and_change_nothing(api: Api, jp_fetch: Any) -> None:
    for route in ("workspaces/list", "orchestration/list_all", "task/list", "connections/list", "pipelines/list"):
        status, _answer = await api(route, {})
        assert status == 200, route
    assert (await api("task/next_fires", {"schedule": "@daily"}))[0] == 200
    writes = [
        ("workspaces/create", {"workspace_name": "nope"}),
        ("connections/create", {"name": "c", "type": "HTTP", "details": {"k": "v"}}),
        ("task/run_once", {"workspace_id": 1, "orch_id": "00000000-0000-4000-8000-000000000000", "json": {}}),
        ("pipelines/create", {"pipeline_id": "p", "workspace_id": 1}),
        ("task/kill", {"id": "00000000-0000-4000-8000-000000000000"}),
        ("task/pause", {"id": "00000000-0000-4000-8000-000000000000", "pause": True}),
        ("task/update_schedule", {"id": "00000000-0000-4000-8000-000000000000", "schedule": "@daily"}),
    ]
    for route, body in writes:
        status, answer = await api(route, body)
        assert (status, answer["code"]) == (403, 403), route
        assert "not authorized to write" in answer["msg"], answer
    body, headers = upload_body(make_zip({"main.py": "print(1)"}), {"workspace_id": 1})
    with pytest.raises(HTTPClientError) as refused:
        await jp_fetch("v1", "api", "orchestration", "upload", method="POST", body=body, headers=headers)
    assert refused.value.code == 403
    assert refused.value.response is not None and json.loads(refused.value.response.body)["code"] == 403
    assert (await api("workspaces/list", {}))[1] == {"workspaces": []}
    assert (await api("connections/list", {}))[1] == {"connections": []}
    assert (await api("orchestration/list_all", {}))[1] == []


@pytest.mark.parametrize("authorizer_class", [NothingAuthorizer])
async def test_the_push_channel_asks_the_authorizer(api: Api, jp_ws_fetch: Any) -> None:
    status, _answer = await api("workspaces/list", {})
    assert status == 403
    with pytest.raises(HTTPClientError) as refused:
        await jp_ws_fetch("v1", "api", "events")
    assert refused.value.code == 403


async def test_the_push_channel_opens_for_an_authorized_reader(api: Api, jp_ws_fetch: Any) -> None:
    await api("workspaces/list", {})  # starts the engine
    socket = await jp_ws_fetch("v1", "api", "events")
    socket.close()
