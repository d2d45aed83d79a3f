"""server/files.py: an orchestration's files for the sidebar, against a real server process."""

from __future__ import annotations

import requests

from tests.support.server import ServerProcess
from tests.ui.helpers import upload


def test_lists_reads_and_downloads_an_orchestrations_files(server: ServerProcess) -> None:
    ws = server.post("workspaces/create", {"workspace_name": "files"}).json()["workspace_id"]
    files = {"main.py": "print('hi')\n", "pkg/data.bin": "x" * 200_000}
    orch_id = upload(server, ws, "filed", files)

    listed = server.post("orchestration/files", {"id": orch_id}).json()["files"]
    assert {f["path"]: f["size"] for f in listed} == {"main.py": 12, "pkg/data.bin": 200_000}

    main = requests.get(server.api + f"orchestration/file/{orch_id}", params={"path": "main.py"},
                        headers=server.headers, timeout=30)
    assert main.status_code == 200 and main.text == "print('hi')\n"
    assert main.headers["Content-Type"].startswith("text/plain")
    big = requests.get(server.api + f"orchestration/file/{orch_id}", params={"path": "pkg/data.bin", "download": "1"},
                       headers=server.headers, timeout=30)
    assert len(big.content) == 200_000 and big.headers["Content-Disposition"].startswith("attachment")

    zipped = requests.get(server.api + f"orchestration/zip/{orch_id}", headers=server.headers, timeout=30)
    assert zipped.status_code == 200 and zipped.content[:2] == b"PK"
    assert zipped.headers["Content-Type"] == "application/zip"


def test_refuses_traversal_unknown_members_and_strangers(server: ServerProcess) -> None:
    ws = server.post("workspaces/create", {"workspace_name": "guarded"}).json()["workspace_id"]
    orch_id = upload(server, ws, "guarded", {"main.py": "print(1)\n"})
    url = server.api + f"orchestration/file/{orch_id}"
    for path, status in (("../../etc/passwd", 400), ("/etc/passwd", 400), ("a/../main.py", 400),
                         ("missing.py", 404), ("", 400)):
        answer = requests.get(url, params={"path": path}, headers=server.headers, timeout=30)
        assert answer.status_code == status, (path, answer.text)
        assert "msg" in answer.json()
    assert requests.get(url, params={"path": "main.py"}, timeout=30).status_code == 403
    unknown = requests.get(server.api + "orchestration/zip/00000000-0000-4000-8000-000000000000",
                           headers=server.headers, timeout=30)
    assert unknown.status_code == 404
