"""Every route answers malformed input with a 4xx {"msg", "code"}, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jupyter_orch.server.app import ROUTES  # importing the app mounts every route module
from tests.conftest import Api

ROUTE_NAMES = sorted(pattern.removeprefix("/v1/api/").replace("([^/]+)", "nope") for pattern, _ in ROUTES)
RAW_BODIES = [b"null", b"[]", b"1", b'"text"', b"{", b"\xff\xfe", b'{"id": }', b'{"id": NaN}', b'{"limit": Infinity}']
BAD_VALUES: list[Any] = [None, -1, 1.5, 10**30, 2**63 - 1, 1e300, "", "../../etc", [], {"a": 1}, True, "\u0000"]
FIELDS = ["id", "workspace_id", "workspace_name", "orch_id", "json", "timeout", "schedule", "name", "task_id",
          "status", "limit", "lines", "sha", "type", "details", "connection_id", "pipeline_id", "pipeline_name",
          "model_version_id", "start_time", "end_time", "order", "page_size", "cursor", "wait_for",
          "wait_for_count", "tensor_fields"]
LOOKUPS = {"workspaces/list", "orchestration/list_all", "connections/list", "pipelines/list", "task/list",
           "task/get_tasks_by_orch_sha"}


def assert_client_error(status: int, answer: Any) -> None:
    assert 400 <= status < 500, answer
    assert set(answer) == {"msg", "code"} and answer["code"] == status and answer["msg"]


@pytest.mark.parametrize("route", ROUTE_NAMES)
async def test_malformed_bodies_are_4xx(api: Api, route: str) -> None:
    await api("workspaces/create", {"workspace_name": "ws"})
    for raw in RAW_BODIES:
        assert_client_error(*await api(route, raw=raw, headers={"Content-Type": "application/json"}))
    for value in BAD_VALUES:
        body = {field: value for field in FIELDS}
        body["wait_timeout"] = 0
        status, answer = await api(route, raw=json.dumps(body))
        if route in LOOKUPS:
            assert status < 500, answer  # a search may ignore what it does not filter on, or find nothing
            continue
        assert_client_error(status, answer)
