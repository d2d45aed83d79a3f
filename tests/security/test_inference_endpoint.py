"""The inference endpoint (a port of its own, outside jupyter_server): it answers like
`pipelines/infer/<name>`, logs every row, and takes only keys from `pipelines/inference_url`,
each for one pipeline, until it expires or the run that asked for it ends."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
import requests

from jupyter_orch import Client
from jupyter_orch.engine.pipelines.frames import ARROW_FILE, RECORDS
from jupyter_orch.samples import sample_paths
from jupyter_orch.server.inference_endpoint import INLINE_MAX_BYTES
from tests.security.helpers import ready_orchestration, reported, run_to_end, workspace
from tests.support.server import ServerProcess, running_server

SAMPLES = sample_paths()
SMOKE = SAMPLES["smoke_test.df.json"].read_bytes()
SMOKE_ARROW = SAMPLES["smoke_test.arrow"].read_bytes()
BATCH_ARROW = SAMPLES["batch_1k.arrow"].read_bytes()
KEY_SECONDS = 3


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    base = tmp_path_factory.mktemp("endpoint")
    with running_server(base, extra_args=[f"--OrchApp.inference_key_seconds={KEY_SECONDS}"]) as proc:
        yield proc


def deploy(server: ServerProcess, wid: int, name: str) -> None:
    metadata = json.dumps({"name": f"{name}-model", "workspace_id": wid})
    model = requests.post(server.api + "models/upload", headers=server.headers, timeout=60, files=[
        ("file", ("rf_model.onnx", SAMPLES["model"].read_bytes(), "application/octet-stream")),
        ("metadata", ("metadata", metadata, "application/json")),
    ]).json()
    server.post("pipelines/create", {"pipeline_id": name, "workspace_id": wid}).raise_for_status()
    server.post("pipelines/add_model_step", {"pipeline_id": name, "model_version_id": model["id"]}).raise_for_status()
    assert server.post("pipelines/deploy", {"pipeline_id": name}).json()["status"] == "Running"


def endpoint_of(server: ServerProcess, name: str, headers: dict[str, str] | None = None) -> dict[str, str]:
    response = requests.post(server.api + "pipelines/inference_url", json={"pipeline_id": name},
                             headers=headers or server.headers, timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())


def logged(server: ServerProcess, name: str) -> int:
    answer = server.post("pipelines/get_logs", {"pipeline_name": name, "page_size": 1, "count": True})
    return int(answer.headers["x-total-count"])


def post(url: str, key: str | None, body: bytes, content_type: str = RECORDS, **kwargs: object) -> requests.Response:
    headers = {"Content-Type": content_type, **({"Authorization": f"Bearer {key}"} if key else {})}
    return requests.post(url, data=body, headers=headers, timeout=30, **kwargs)  # type: ignore[arg-type]


def test_the_endpoint_answers_like_the_route_and_logs_every_row(server: ServerProcess) -> None:
    deploy(server, workspace(server, "same"), "same")
    endpoint = endpoint_of(server, "same")
    assert endpoint["url"].endswith("/v1/api/pipelines/infer/same") and endpoint["url"] != server.api
    route = requests.post(server.api + "pipelines/infer/same", data=SMOKE, timeout=30,
                          headers={**server.headers, "Content-Type": RECORDS}).json()
    direct = post(endpoint["url"], endpoint["token"], SMOKE)
    assert direct.status_code == 200 and direct.headers["Content-Type"] == RECORDS
    assert [r["out.variable"] for r in direct.json()] == [r["out.variable"] for r in route]

    arrow = post(endpoint["url"], endpoint["token"], SMOKE_ARROW, ARROW_FILE)
    assert arrow.headers["Content-Type"] == ARROW_FILE
    assert pa.ipc.open_file(arrow.content).read_all().column("out.variable").to_pylist() == [route[0]["out.variable"]]

    # A batch too large to infer in the endpoint's own thread goes through the server's loop.
    assert len(BATCH_ARROW) > INLINE_MAX_BYTES
    batch = post(endpoint["url"], endpoint["token"], BATCH_ARROW, ARROW_FILE)
    assert pa.ipc.open_file(batch.content).read_all().num_rows == 1000

    # chunked (a body of unknown length), as a streaming client sends it
    chunked = post(endpoint["url"], endpoint["token"], iter([SMOKE[:10], SMOKE[10:]]))  # type: ignore[arg-type]
    assert chunked.status_code == 200 and len(chunked.json()) == 1
    assert logged(server, "same") == 1 + 1 + 1 + 1000 + 1


def test_curl_s_expect_continue_and_pipelined_requests_are_answered_in_order(server: ServerProcess) -> None:
    deploy(server, workspace(server, "raw"), "raw")
    endpoint = endpoint_of(server, "raw")
    host, port = "127.0.0.1", int(endpoint["url"].split(":")[2].split("/")[0])
    head = (f"POST /v1/api/pipelines/infer/raw HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {endpoint['token']}"
            f"\r\nContent-Type: {RECORDS}\r\nContent-Length: {len(SMOKE)}\r\n").encode()
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(head + b"Expect: 100-continue\r\n\r\n")
        assert sock.recv(1024) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(SMOKE)
        assert read_answers(sock, 1)[0].startswith(b"HTTP/1.1 200 OK")
        bad = head.replace(f"Content-Length: {len(SMOKE)}".encode(), b"Content-Length: 2") + b"\r\n{}"
        sock.sendall(head + b"\r\n" + SMOKE + bad + head + b"\r\n" + SMOKE)
        first, second, third = read_answers(sock, 3)
    assert [answer[:12] for answer in (first, second, third)] == [b"HTTP/1.1 200", b"HTTP/1.1 400", b"HTTP/1.1 200"]
    assert b'"code": 400' in second and b"pandas records" in second


def test_a_caller_holding_its_inputs_gets_them_left_out_and_large_bodies_keep_the_connection(
    server: ServerProcess,
) -> None:
    deploy(server, workspace(server, "minimal"), "minimal")
    endpoint = endpoint_of(server, "minimal")
    table = pa.ipc.open_file(BATCH_ARROW).read_all()
    large = pa.concat_tables([table] * 20)  # over a MiB: read straight into place
    body = pa.ipc.new_file(sink := pa.BufferOutputStream(), large.schema)
    body.write_table(large)
    body.close()
    data = sink.getvalue().to_pybytes()
    assert len(data) > 1024 * 1024
    with requests.Session() as session:
        headers = {"Authorization": f"Bearer {endpoint['token']}", "Content-Type": ARROW_FILE}
        full = session.post(endpoint["url"], data=data, headers=headers, timeout=60)
        minimal = session.post(endpoint["url"], data=data, headers={**headers, "Prefer": "return=minimal"}, timeout=60)
        after = session.post(endpoint["url"], data=SMOKE_ARROW, headers=headers, timeout=60)  # the same connection
    whole, lean = pa.ipc.open_file(full.content).read_all(), pa.ipc.open_file(minimal.content).read_all()
    assert whole.num_rows == lean.num_rows == 20_000 and after.status_code == 200
    assert "in.tensor" in whole.column_names and "in.tensor" not in lean.column_names
    assert minimal.headers["Preference-Applied"] == "return=minimal" and "Preference-Applied" not in full.headers
    assert lean.column("out.variable").equals(whole.column("out.variable"))
    route = requests.post(server.api + "pipelines/infer/minimal", data=SMOKE_ARROW, timeout=30, headers={
        **server.headers, "Content-Type": ARROW_FILE, "Prefer": "return=minimal"})
    assert route.headers["Preference-Applied"] == "return=minimal"
    assert "in.tensor" not in pa.ipc.open_file(route.content).read_all().column_names
    logs = server.post("pipelines/get_logs", {"pipeline_name": "minimal", "page_size": 1}).json()
    assert logs[0]["in.tensor"]  # the log holds the inputs either way
    assert logged(server, "minimal") == 20_000 * 2 + 2


def read_answers(sock: socket.socket, count: int) -> list[bytes]:
    """`count` answers with a Content-Length each, as they came."""
    data, answers = b"", []
    while len(answers) < count:
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
        head, data = data.split(b"\r\n\r\n", 1)
        length = int(next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[1])
        while len(data) < length:
            data += sock.recv(65536)
        answers.append(head + b"\r\n\r\n" + data[:length])
        data = data[length:]
    return answers


def test_the_endpoint_takes_only_a_key_for_the_pipeline_and_refusals_change_nothing(server: ServerProcess) -> None:
    wid = workspace(server, "keys")
    deploy(server, wid, "keyed")
    deploy(server, wid, "other")
    endpoint, other = endpoint_of(server, "keyed"), endpoint_of(server, "other")
    url = endpoint["url"]
    refusals = {
        "no key": (post(url, None, SMOKE), 401),
        "a wrong key": (post(url, "not-a-key", SMOKE), 401),
        "the server's own token": (post(url, server.token, SMOKE), 401),
        "another pipeline's key": (post(url, other["token"], SMOKE), 403),
        "another workspace": (post(url + f"?workspace_id={wid + 1000}", endpoint["token"], SMOKE), 403),
        "a GET": (requests.get(url, headers={"Authorization": f"Bearer {endpoint['token']}"}, timeout=30), 405),
        "another path": (post(url.replace("/infer/keyed", "/list"), endpoint["token"], b"{}"), 404),
        "a bad body": (post(url, endpoint["token"], b"not json"), 400),
        "a wrong shape": (post(url, endpoint["token"], b'[{"tensor": [1.0, 2.0]}]'), 400),
    }
    for what, (response, status) in refusals.items():
        assert response.status_code == status, what
        assert response.json()["code"] == status and response.json()["msg"], what
    assert refusals["no key"][0].headers["WWW-Authenticate"] == "Bearer"
    assert "pipelines/inference_url" in refusals["no key"][0].json()["msg"]
    assert "for pipeline 'other'" in refusals["another pipeline's key"][0].json()["msg"]
    assert logged(server, "keyed") == 0

    port = int(url.split(":")[2].split("/")[0])
    for garbage, status in ((b"NOT HTTP AT ALL\r\n\r\n", b"400"), (b"POST / HTTP/1.1\r\nX: " + b"a" * 70_000, b"431")):
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(garbage)
            answer = sock.recv(65536)
            assert answer.startswith(b"HTTP/1.1 " + status) and sock.recv(65536) == b""  # and the connection closes
    assert requests.post(server.api + "pipelines/inference_url", json={"pipeline_id": "keyed"},
                         timeout=30).status_code == 403  # the route itself needs the server's authentication
    assert server.post("pipelines/inference_url", {"pipeline_id": "absent"}).status_code == 404


def test_a_key_expires_and_the_client_asks_for_another(server: ServerProcess) -> None:
    wid = workspace(server, "expiry")
    deploy(server, wid, "expiring")
    client = Client(url=server.url, token=server.token)
    client.set_current_workspace(client.get_workspace("expiry"))
    pipeline = client.get_pipeline("expiring")
    frame = pa.ipc.open_file(SMOKE_ARROW).read_all()
    assert pipeline.infer(frame).num_rows == 1
    first_key = client._inference._keys[pipeline.id()]
    time.sleep(KEY_SECONDS + 0.5)
    assert post(endpoint_of(server, "expiring")["url"], first_key, SMOKE).status_code == 401
    assert pipeline.infer(frame).num_rows == 1
    assert client._inference._keys[pipeline.id()] != first_key and client._inference._lane is not None
    assert logged(server, "expiring") == 2


INFER_IN_A_RUN = '''
import json, os, urllib.request
import pyarrow as pa
from jupyter_orch import Client
from jupyter_orch.samples import sample_paths

wl = Client()
pipeline = wl.get_pipeline("run-pipe")
answer = pipeline.infer(pa.ipc.open_file(sample_paths()["smoke_test.arrow"].read_bytes()).read_all())
other = json.load(open(os.environ["JUPYTER_ORCH_TASK_ARGS_FILE"]))["other"]
request = urllib.request.Request(
    os.environ["JUPYTER_ORCH_URL"] + "v1/api/pipelines/inference_url", method="POST",
    data=json.dumps({"pipeline_id": "elsewhere", "workspace_id": other}).encode(),
    headers={"Authorization": "Bearer " + os.environ["JUPYTER_ORCH_TOKEN"]})
try:
    urllib.request.urlopen(request, timeout=30)
    elsewhere = 200
except urllib.error.HTTPError as e:
    elsewhere = e.code
print("REPORT " + json.dumps({"rows": answer.num_rows, "through_endpoint": wl._inference._lane is not None,
                              "key": wl._inference._keys[pipeline.id()], "elsewhere": elsewhere}))
'''


def test_a_run_s_key_is_for_its_workspace_and_ends_with_the_run(server: ServerProcess) -> None:
    mine, other = workspace(server, "run-ws"), workspace(server, "run-other")
    deploy(server, mine, "run-pipe")
    deploy(server, other, "elsewhere")
    report = reported(run_to_end(server, mine, ready_orchestration(server, mine, {"main.py": INFER_IN_A_RUN}),
                                 {"other": other}))
    assert report["rows"] == 1 and report["through_endpoint"] is True
    assert report["elsewhere"] in (403, 404)  # a run may not ask for another workspace's pipeline
    refused = post(endpoint_of(server, "run-pipe")["url"], report["key"], SMOKE)
    assert refused.status_code == 401  # the run ended: its key with it
    assert logged(server, "run-pipe") == 1


def test_the_client_follows_a_restarted_server_to_its_new_endpoint(tmp_path: Path) -> None:
    first = ServerProcess(root=tmp_path / "root", data_dir=tmp_path / "data")
    first.start()
    try:
        deploy(first, workspace(first, "restart"), "restarted")
        client = Client(url=first.url, token=first.token)
        client.set_current_workspace(client.get_workspace("restart"))
        pipeline = client.get_pipeline("restarted")
        frame = pa.ipc.open_file(SMOKE_ARROW).read_all()
        assert pipeline.infer(frame).num_rows == 1
        old_port = client._inference._lane.port if client._inference._lane else None
    finally:
        first.stop()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", old_port or 0)) != 0  # the stopped server left no endpoint
    again = ServerProcess(root=first.root, data_dir=first.data_dir, port=first.port, token=first.token)
    again.start()
    try:
        assert pipeline.infer(frame).num_rows == 1  # a deployed pipeline is redeployed on start
        assert client._inference._lane is not None and client._inference._lane.port != old_port
    finally:
        again.stop()


def test_without_an_endpoint_the_client_infers_through_the_server(tmp_path: Path) -> None:
    with running_server(tmp_path, extra_args=["--OrchApp.inference_port=-1"]) as off:
        deploy(off, workspace(off, "off"), "no-endpoint")
        assert endpoint_of(off, "no-endpoint")["url"] is None
        client = Client(url=off.url, token=off.token)
        client.set_current_workspace(client.get_workspace("off"))
        assert client.get_pipeline("no-endpoint").infer(pa.ipc.open_file(SMOKE_ARROW).read_all()).num_rows == 1
        assert client._inference._lane is None and logged(off, "no-endpoint") == 1
