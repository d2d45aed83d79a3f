"""XSRF is jupyter_server's own: a cookie-authenticated request needs the XSRF token (JSON
routes, uploads, even a body sent as text/plain, which a cross-site form can forge); a request
authenticated by a token (`token` or `Bearer`) needs none."""

from __future__ import annotations

import json

import requests

from tests.security.helpers import workspace
from tests.support.server import ServerProcess
from tests.support.zips import make_zip

SQLITE_ONLY = True  # request checks, before any database work


def logged_in(server: ServerProcess) -> requests.Session:
    """A browser's session: the login form posted with the token, as a person would."""
    session = requests.Session()
    session.get(server.url + "login", timeout=10)
    answer = session.post(server.url + "login", data={"password": server.token, "_xsrf": session.cookies["_xsrf"]},
                          timeout=10, allow_redirects=False)
    assert answer.status_code in (302, 303), answer.text
    return session


def test_cookie_requests_need_the_xsrf_token_and_token_requests_do_not(server: ServerProcess) -> None:
    session = logged_in(server)
    xsrf = {"X-XSRFToken": session.cookies["_xsrf"]}
    forged = [
        session.post(server.api + "workspaces/create", json={"workspace_name": "forged"}, timeout=10),
        session.post(server.api + "workspaces/create", data='{"workspace_name": "forged"}', timeout=10,
                     headers={"Content-Type": "text/plain"}),
        session.post(server.api + "orchestration/upload", timeout=10, files=[
            ("file", ("job.zip", make_zip({"main.py": "print(1)"}), "application/zip")),
            ("metadata", ("metadata", json.dumps({"workspace_id": 1}), "application/json")),
        ]),
    ]
    for answer in forged:
        assert answer.status_code == 403 and answer.json()["code"] == 403, answer.text
        assert "_xsrf" in answer.json()["msg"]
    assert server.post("workspaces/list").json() == {"workspaces": []}

    made = session.post(server.api + "workspaces/create", json={"workspace_name": "by-cookie"}, headers=xsrf,
                        timeout=10)
    assert made.status_code == 200, made.text
    wid = workspace(server, "by-bearer")
    by_token = requests.post(server.api + "workspaces/list", json={}, timeout=10,
                             headers={"Authorization": f"token {server.token}"})
    assert {w["id"] for w in by_token.json()["workspaces"]} == {made.json()["workspace_id"], wid}


def test_an_anonymous_request_is_told_what_to_send(server: ServerProcess) -> None:
    answer = requests.post(server.api + "workspaces/list", json={}, timeout=10)
    assert answer.status_code == 403
    assert answer.json() == {"msg": "authentication required: send 'Authorization: Bearer <token>'", "code": 403}
