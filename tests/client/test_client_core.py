"""Workspaces, orchestrations and connections through the client, against a real server."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from jupyter_orch.client import (
    ApiError,
    Client,
    Connection,
    ConnectionNotFound,
    EntityNotFoundError,
    Listing,
    RequiredAttributeMissing,
)
from jupyter_orch.client.folders import zip_folder
from tests.support.zips import make_zip

HELLO = make_zip({"main.py": "print('hello')\n", "data/input.csv": "a,b\n1,2\n"})
SECRET = {"url": "http://127.0.0.1:9/x.arrow", "token": "very-secret-token"}


def test_workspaces(wl: Client) -> None:
    current = wl.get_current_workspace()
    names = [w.name() for w in wl.list_workspaces()]
    assert current.name() in names and isinstance(current.id(), int)
    assert wl.get_workspace("no-such-workspace") is None
    made = wl.get_workspace("made-on-demand", create_if_not_exist=True)
    assert made is not None and made.name() == "made-on-demand"
    assert wl.get_workspace("made-on-demand", create_if_not_exist=True) == made
    assert wl.set_current_workspace(made) is made and wl.get_current_workspace() is made
    with pytest.raises(ApiError) as conflict:
        wl.create_workspace("made-on-demand")
    assert conflict.value.code == 409 and "already exists" in conflict.value.msg
    assert made.created_at().endswith("+00:00") and made.archived() is False


def test_default_workspace_is_made_lazily(wl: Client) -> None:
    fresh = Client(url=wl._http.url, token=wl.auth.auth_header()["Authorization"].split()[1])
    workspace = fresh.get_current_workspace()
    assert workspace.name() == "default"
    assert fresh.get_current_workspace() == workspace
    again = Client(url=wl._http.url, token=wl.auth.auth_header()["Authorization"].split()[1])
    assert again.get_current_workspace() == workspace  # found, not made twice


def test_upload_orchestration_bytes_zip_and_directory(wl: Client, tmp_path: Path) -> None:
    from_bytes = wl.upload_orchestration(bytes_buffer=HELLO, name="hello")
    assert from_bytes.name() == "hello" and from_bytes.file_name() == "hello.zip"
    assert from_bytes.sha() == hashlib.sha256(HELLO).hexdigest()
    assert from_bytes.workspace_id() == wl.get_current_workspace().id()
    assert from_bytes.wait_for_ready(timeout=30) is from_bytes
    assert from_bytes.status() == "ready"

    zip_path = tmp_path / "hello-orch.zip"
    zip_path.write_bytes(HELLO)
    from_zip = wl.upload_orchestration(path=zip_path, name="zipped").wait_for_ready(timeout=30)
    assert from_zip.file_name() == "hello-orch.zip" and from_zip.sha() == from_bytes.sha()

    folder = tmp_path / "my_orch"
    (folder / "data").mkdir(parents=True)
    (folder / "main.py").write_text("print('hello')\n")
    (folder / "data" / "input.csv").write_text("a,b\n1,2\n")
    from_dir = wl.upload_orchestration(path=folder).wait_for_ready(timeout=30)
    assert from_dir.file_name() == "my_orch.zip" and from_dir.name() is None
    assert from_dir._data["entrypoint"] == "main.py"  # the folder's content is the zip's root
    assert sorted(zipfile.ZipFile(io.BytesIO(zip_folder(folder))).namelist()) == ["data/input.csv", "main.py"]

    listed = wl.list_orchestrations()
    assert isinstance(listed, Listing)
    assert [o.id() for o in listed] == [from_bytes.id(), from_zip.id(), from_dir.id()]
    assert wl.get_orchestration_by_id(from_dir.id()) == from_dir
    for orch in listed:
        assert orch.task_id() and orch.owner_id() and orch.created_at() <= orch.updated_at()


def test_upload_orchestration_rejects_bad_input(wl: Client) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        wl.upload_orchestration()
    with pytest.raises(ApiError) as bad:
        wl.upload_orchestration(bytes_buffer=make_zip({"readme.txt": "no entrypoint"}))
    assert bad.value.code == 400
    with pytest.raises(EntityNotFoundError):
        wl.get_orchestration_by_id("00000000-0000-4000-8000-000000000000")


def test_connections(wl: Client) -> None:
    made = wl.create_connection("source", "HTTP", SECRET)
    assert isinstance(made, Connection)
    assert made.name() == "source" and made.connection_type() == "HTTP" and made.details() == SECRET
    assert wl.get_connection("source") == made and wl.get_connection("source").details() == SECRET
    assert "source" in [c.name() for c in wl.list_connections()]
    for caught in (RequiredAttributeMissing, EntityNotFoundError, ConnectionNotFound):
        with pytest.raises(caught):
            wl.get_connection("absent")
    with pytest.raises(ApiError) as duplicate:
        wl.create_connection("source", "HTTP", {})
    assert duplicate.value.code == 409

    workspace = wl.get_current_workspace()
    workspace.add_connection("source")
    assert [c.name() for c in workspace.list_connections()] == ["source"]
    assert wl.get_connection("source").workspace_names() == [workspace.name()]
    workspace.remove_connection("source")
    assert workspace.list_connections() == []
    wl.add_connection_to_workspace(workspace.id(), made.id())
    assert made.add_to_workspace(workspace.id()).workspace_names() == [workspace.name()]
    wl.remove_connection_from_workspace(workspace.id(), made.id())
    assert workspace.list_connections() == []
    wl.delete_connection("source")
    with pytest.raises(RequiredAttributeMissing):
        wl.get_connection("source")


def test_reference_helper_for_connections(wl: Client) -> None:
    """The tutorial's get-or-create helper, verbatim in spirit."""

    def get_connection(name: str, connection_type: str, connection_arguments: dict) -> Connection:
        try:
            connection = wl.get_connection(name)
        except RequiredAttributeMissing:
            connection = wl.create_connection(name, connection_type, connection_arguments)
        return connection

    first = get_connection("helper-conn", "HTTP", SECRET)
    assert get_connection("helper-conn", "HTTP", SECRET) == first
    wl.delete_connection("helper-conn")
