"""A run's credential: its own token, valid only on jupyter-orch's routes, only for its own
workspace, only while it runs; the server's token is nowhere in the run's environment."""

from __future__ import annotations

import json
import time

import requests
import websocket

from tests.security.helpers import ready_orchestration, reported, run_to_end, workspace
from tests.support.server import ServerProcess

SQLITE_ONLY = True  # what a run may reach does not depend on the database

PROBE = '''
import json, os, urllib.request, urllib.error
url, token = os.environ["JUPYTER_ORCH_URL"], os.environ["JUPYTER_ORCH_TOKEN"]

def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method=method,
                                     headers={"Authorization": "Bearer " + token})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, None

args = json.load(open(os.environ["JUPYTER_ORCH_TASK_ARGS_FILE"]))
report = {
    "env_names": sorted(os.environ),
    "env_values": list(os.environ.values()),
    "token": token,
    "contents": call("GET", "api/contents")[0],
    "kernels": call("GET", "api/kernels")[0],
    "terminals": call("GET", "api/terminals")[0],
    "kernelspecs": call("GET", "api/kernelspecs")[0],
    "workspaces": call("POST", "v1/api/workspaces/list", {}),
    "own_tasks": call("POST", "v1/api/task/list", {})[0],
    "other_tasks": call("POST", "v1/api/task/list", {"workspace_id": args["other"]})[0],
    "other_task": call("POST", "v1/api/task/get_by_id", {"id": args["other_task"]})[0],
    "kill_other": call("POST", "v1/api/task/kill", {"id": args["other_task"]})[0],
    "create_workspace": call("POST", "v1/api/workspaces/create", {"workspace_name": "sneaky"})[0],
    "linked": call("POST", "v1/api/connections/get", {"name": "linked"}),
    "unlinked": call("POST", "v1/api/connections/get", {"name": "unlinked"})[0],
    "connections": call("POST", "v1/api/connections/list", {}),
    "files": call("POST", "v1/api/orchestration/files", {"id": args["other_orch"]})[0],
    "zip": call("GET", "v1/api/orchestration/zip/" + args["other_orch"])[0],
}
print("REPORT " + json.dumps(report))
'''

IDLE = "import time\ntime.sleep(60)\n"


def test_a_run_holds_its_own_token_scoped_to_its_workspace(server: ServerProcess) -> None:
    mine, other = workspace(server, "mine"), workspace(server, "other")
    other_orch = ready_orchestration(server, other, {"main.py": IDLE})
    other_task = server.post("task/run_continuously", {
        "workspace_id": other, "orch_id": other_orch, "json": {},
    }).json()["id"]
    for name, wid in (("linked", mine), ("unlinked", other)):
        cid = server.post("connections/create", {"name": name, "type": "HTTP", "details": {"pw": name}}).json()["id"]
        server.post("connections/add_to_workspace", {"workspace_id": wid, "connection_id": cid})

    report = reported(run_to_end(server, mine, ready_orchestration(server, mine, {"main.py": PROBE}),
                                 {"other": other, "other_task": other_task, "other_orch": other_orch}))

    # The server's token is nowhere in the run's environment, nor anything the allow-list omits.
    assert report["token"] != server.token
    assert not any(server.token in value for value in report["env_values"])
    allowed = {"PATH", "HOME", "LANG", "TZ", "PYTHONUNBUFFERED", "RUN_ID", "WALLAROO_TASK_ID", "TASK_ID",
               "ORCH_ID", "ORCH_SHA", "ORCH_OWNER_ID", "JUPYTER_ORCH_URL", "JUPYTER_ORCH_TOKEN",
               "JUPYTER_ORCH_TASK_ARGS_FILE"}
    assert {n for n in report["env_names"] if not n.startswith("LC_")} <= allowed, report["env_names"]
    # Its token opens none of the server's other APIs ...
    assert (report["contents"], report["kernels"], report["terminals"], report["kernelspecs"]) == (403,) * 4
    # ... and, on jupyter-orch's, only its own workspace and the connections linked to it.
    status, listed = report["workspaces"]
    assert status == 200 and [w["id"] for w in listed["workspaces"]] == [mine]
    assert report["own_tasks"] == 200
    assert (report["other_tasks"], report["other_task"], report["kill_other"]) == (403, 403, 403)
    assert report["create_workspace"] == 403
    assert report["linked"][0] == 200 and report["linked"][1]["details"] == {"pw": "linked"}
    assert report["unlinked"] == 403
    assert (report["files"], report["zip"]) == (403, 403)  # an orchestration's files are the sidebar's
    assert [c["name"] for c in report["connections"][1]["connections"]] == ["linked"]

    # Nothing the run was refused happened, and its token died with it.
    assert server.post("task/get_by_id", {"id": other_task}).json()["status"] == "started"
    assert [w["name"] for w in server.post("workspaces/list").json()["workspaces"]] == ["mine", "other"]
    after = requests.post(server.api + "workspaces/list", json={}, timeout=10,
                          headers={"Authorization": f"Bearer {report['token']}"})
    assert after.status_code == 403 and after.json()["code"] == 403
    server.post("task/kill", {"id": other_task})


def test_a_terminal_does_not_inherit_the_server_token(server: ServerProcess) -> None:
    """Terminals inherit the server's os.environ, so the server must not put its token there."""
    name = requests.post(server.url + "api/terminals", headers=server.headers, timeout=30).json()["name"]
    socket = websocket.create_connection(
        server.url.replace("http", "ws", 1) + f"terminals/websocket/{name}",
        header=[f"Authorization: token {server.token}"], timeout=30,
    )
    try:
        socket.send(json.dumps(["stdin", 'echo "[${JUPYTER_ORCH_TOKEN:-NO}""-TOKEN]"\r']))
        seen = ""
        deadline = time.monotonic() + 30
        while "-TOKEN]" not in seen.replace('""-TOKEN]', "") and time.monotonic() < deadline:
            message = json.loads(socket.recv())
            if message[0] == "stdout":
                seen += message[1]
    finally:
        socket.close()
        requests.delete(server.url + f"api/terminals/{name}", headers=server.headers, timeout=30)
    assert "[NO-TOKEN]" in seen and server.token not in seen, seen
