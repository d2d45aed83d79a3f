from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Api
from tests.security.broken_zips import corrupt_stream, with_flag_bits, with_method
from tests.support.databases import sql
from tests.support.multipart import upload_body
from tests.support.zips import make_zip

TWO_REQUIREMENTS = make_zip({"main.py": "", "requirements.txt": "", "a/requirements.txt": ""})
HELLO = make_zip({"main.py": "print('hello')\n", "requirements.txt": "", "data/input.csv": "a,b\n1,2\n"})


@pytest.fixture
def upload(api: Api) -> Any:
    async def send(data: bytes, metadata: dict[str, Any] | str, **kwargs: Any) -> tuple[int, Any]:
        body, headers = upload_body(data, metadata)
        return await api("orchestration/upload", raw=body, headers=headers, **kwargs)

    return send


async def make_workspace(api: Api, name: str = "ws") -> int:
    status, answer = await api("workspaces/create", {"workspace_name": name})
    assert status == 200
    return answer["workspace_id"]


async def test_workspaces_create_list_and_conflict(api: Api) -> None:
    wid = await make_workspace(api, "team-a")
    assert (await api("workspaces/create", {"workspace_name": "team-a"}))[0] == 409
    for bad in ["1abc", "has space", "", "x" * 64, 7]:
        status, error = await api("workspaces/create", {"workspace_name": bad})
        assert status == 400 and error["code"] == 400 and error["msg"]
    status, answer = await api("workspaces/list")
    assert status == 200
    (ws,) = answer["workspaces"]
    assert ws["id"] == wid and ws["name"] == "team-a" and ws["archived"] is False
    assert ws["created_at"].endswith("+00:00") and ws["models"] == [] and ws["pipelines"] == []


async def test_upload_without_requirements_is_ready_at_once(api: Api, upload: Any) -> None:
    wid = await make_workspace(api)
    status, answer = await upload(HELLO, {"workspace_id": wid, "name": "hello"})
    assert status == 202
    wait = {"id": answer["id"], "wait_for": "ready", "wait_timeout": 10}
    status, orch = await api("orchestration/get_by_id", wait)
    assert status == 200
    assert orch["status"] == "ready"
    assert orch["name"] == "hello" and orch["file_name"] == "orch.zip" and orch["entrypoint"] == "main.py"
    assert len(orch["sha"]) == 64 and orch["workspace_id"] == wid
    for field in ("task_id", "owner_id", "created_at", "updated_at", "packaging_log"):
        assert orch[field]
    status, listed = await api("orchestration/list", {"workspace_id": wid})
    assert [o["id"] for o in listed] == [answer["id"]]
    status, everything = await api("orchestration/list_all")
    assert [o["id"] for o in everything] == [answer["id"]]


@pytest.mark.parametrize(
    ("data", "metadata", "code", "words"),
    [
        (b"not a zip", {"workspace_id": 1}, 400, "not a valid zip"),
        (HELLO[:40], {"workspace_id": 1}, 400, "zip"),
        (make_zip({"run.py": ""}), {"workspace_id": 1}, 400, "main.py"),
        (TWO_REQUIREMENTS, {"workspace_id": 1}, 400, "requirements.txt"),
        (make_zip({"main.py": "", "../x": ""}), {"workspace_id": 1}, 400, ".."),
        (HELLO, "{not json", 400, "JSON"),
        (HELLO, {"name": "no workspace"}, 400, "workspace_id"),
        (HELLO, {"workspace_id": 999}, 404, "999"),
        (HELLO, {"workspace_id": "abc"}, 400, "integer"),
        (with_flag_bits(HELLO, 0x1), {"workspace_id": 1}, 400, "encrypted"),
        (with_method(HELLO, 97), {"workspace_id": 1}, 400, "compression method"),
        (corrupt_stream(make_zip({"main.py": "print('hello')\n" * 200})), {"workspace_id": 1}, 400, "corrupt"),
        (make_zip({"main.py": "", "zeros.bin": b"\0" * 5_000_000}), {"workspace_id": 1}, 413, "compressed size"),
    ],
)
async def test_bad_uploads_are_4xx_and_store_nothing(
    api: Api, upload: Any, orch_data_dir: Path, data: bytes, metadata: Any, code: int, words: str
) -> None:
    await make_workspace(api)
    status, error = await upload(data, metadata)
    assert status == code, error
    assert error["code"] == code and words in error["msg"]
    assert (await api("orchestration/list_all"))[1] == []
    assert not list((orch_data_dir / "blobs").glob("*/*"))


async def test_upload_over_the_limit_is_413(api: Api, upload: Any, jp_serverapp: Any) -> None:
    wid = await make_workspace(api)
    jp_serverapp.web_app.settings["orch_engine"].config.max_upload_bytes = 1000
    status, error = await upload(make_zip({"main.py": "x" * 10, "big.bin": os.urandom(5000)}), {"workspace_id": wid})
    assert status == 413 and "limit" in error["msg"]


async def test_unauthenticated_calls_get_no_data(jp_fetch: Any, api: Api) -> None:
    from tornado.httpclient import HTTPClientError

    await make_workspace(api)
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch("v1", "api", "workspaces", "list", method="POST", body="{}", headers={"Authorization": ""})
    assert caught.value.code in (401, 403)
    assert b"workspaces" not in (caught.value.response.body or b"")


async def test_unknown_and_malformed_ids(api: Api) -> None:
    assert (await api("orchestration/get_by_id", {"id": "not-a-uuid"}))[0] == 400
    status, error = await api("orchestration/get_by_id", {"id": "8e0f7c3c-8d7a-4e43-9c39-0f3bb1e9c7a1"})
    assert status == 404 and "does not exist" in error["msg"]
    assert (await api("orchestration/list", {}))[0] == 400
    assert (await api("orchestration/list", raw="[1,2]"))[0] == 400


@pytest.mark.slow
async def test_same_requirements_build_once_and_layer_on_the_server(
    api: Api, upload: Any, orch_data_dir: Path, jp_serverapp: Any
) -> None:
    wid = await make_workspace(api)
    zips = [
        make_zip({"main.py": "import six\n", "requirements.txt": "six==1.16.0\n"}),
        make_zip({"main.py": "import six  # other\n", "requirements.txt": "# same set\nsix==1.16.0\n"}),
    ]
    answers = await asyncio.gather(*(upload(z, {"workspace_id": wid}) for z in zips))
    ids = [a[1]["id"] for a in answers]
    done = [
        (await api("orchestration/get_by_id", {"id": i, "wait_for": "terminal", "wait_timeout": 120}))[1]
        for i in ids
    ]
    assert [o["status"] for o in done] == ["ready", "ready"], [o["packaging_log"] for o in done]
    assert done[0]["env_key"] == done[1]["env_key"]
    store = jp_serverapp.web_app.settings["orch_engine"].store
    assert sql(store.url, "SELECT count(*) FROM environments") == [(1,)]
    assert sum("reusing environment" in o["packaging_log"] for o in done) == 1
    python = orch_data_dir / "envs" / done[0]["env_key"] / "bin" / "python"
    probe = "import six, pandas, pyarrow, jupyter_orch; print(six.__version__)"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # pytest's paths would shadow the env
    ran = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True, env=env, cwd=orch_data_dir)
    assert ran.stdout.strip() == "1.16.0"  # the requirement wins over the server's six


@pytest.mark.slow
async def test_failed_install_is_error_with_the_installers_output(api: Api, upload: Any) -> None:
    wid = await make_workspace(api)
    data = make_zip({"main.py": "", "requirements.txt": "jupyter-orch-no-such-package-xq==1.0\n"})
    _, answer = await upload(data, {"workspace_id": wid})
    wait = {"id": answer["id"], "wait_for": "terminal", "wait_timeout": 120}
    _, orch = await api("orchestration/get_by_id", wait)
    assert orch["status"] == "error"
    assert "jupyter-orch-no-such-package-xq" in orch["packaging_log"]
    assert orch["error"]


async def test_an_upload_onto_a_full_disk_is_507_and_stores_nothing(
    api: Api, upload: Any, orch_data_dir: Path
) -> None:
    from tests.support.disks import small_disk

    wid = await make_workspace(api)
    with small_disk(orch_data_dir / "blobs" / ".incoming") as incoming:
        status, error = await upload(make_zip({"main.py": "", "data.bin": os.urandom(600_000)}), {"workspace_id": wid})
        assert status == 507 and error["code"] == 507 and "disk is full" in error["msg"]
        assert list(incoming.iterdir()) == []
    assert (await api("orchestration/list_all"))[1] == []
