"""The push subscription under the widgets: filtering by id, reconnecting and resynchronising
after the connection drops, and coalescing bursts of updates."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from pathlib import Path

import requests

from jupyter_orch.kernel.live import Clock, Coalescer, Event, PushChannel
from tests.support.server import ServerProcess
from tests.support.zips import make_zip


class Cuttable:
    """A loopback TCP forwarder to the server whose connections can be cut, as a dropped
    network or a restarting server would cut them."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            near, _ = self.listener.accept()
            far = socket.create_connection(("127.0.0.1", self.target_port))
            self.sockets += [near, far]
            for source, sink in ((near, far), (far, near)):
                threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()

    def cut(self) -> None:
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)


def test_channel_filters_by_id_and_resyncs_after_a_dropped_connection(tmp_path: Path) -> None:
    server = ServerProcess(root=tmp_path / "root", data_dir=tmp_path / "data").start()
    try:
        wid = server.post("workspaces/create", {"workspace_name": "live"}).json()["workspace_id"]
        orch_id = requests.post(
            server.api + "orchestration/upload", headers=server.headers, timeout=30,
            files=[("file", ("o.zip", make_zip({"main.py": "print(1)\n"}))),
                   ("metadata", ("metadata", f'{{"workspace_id": {wid}}}', "application/json"))],
        ).json()["id"]
        server.post("orchestration/get_by_id", {"id": orch_id, "wait_for": "ready"})
        watched, other = (
            server.post("task/run_scheduled", {"workspace_id": wid, "orch_id": orch_id, "schedule": "@daily",
                                               "json": {}, "name": name}).json()["id"]
            for name in ("watched", "other")
        )
        events: list[Event] = []
        killed, resynced = threading.Event(), threading.Event()

        def on_event(event: Event) -> None:
            events.append(event)
            if event.get("status") == "killed":
                killed.set()

        proxy = Cuttable(server.port)
        subscription = PushChannel(f"http://127.0.0.1:{proxy.port}/", server.token).subscribe(
            [watched], on_event, resynced.set)
        proxy.cut()
        assert resynced.wait(10)  # reconnected, and told to look again: events meanwhile are lost
        server.post("task/kill", {"id": other})
        server.post("task/kill", {"id": watched})
        assert killed.wait(10)
        assert {e["id"] for e in events if e["kind"] == "task"} == {watched}
        subscription.close()
    finally:
        server.stop()


def test_coalescer_merges_bursts_but_never_delays_a_status_change() -> None:
    flushed: list[float] = []
    coalescer = Coalescer(lambda: flushed.append(time.monotonic()), interval=0.2, clock=Clock())
    start = time.monotonic()
    for _ in range(50):
        coalescer.poke()
    assert len(flushed) == 1  # the first at once, the rest wait for one deferred flush
    coalescer.poke(urgent=True)
    assert len(flushed) == 2
    time.sleep(0.5)
    assert len(flushed) == 3 and flushed[2] - start >= 0.2
