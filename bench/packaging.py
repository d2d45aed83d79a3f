"""Upload-to-`ready` seconds for an orchestration, against a real server subprocess.

Cases: an empty requirements.txt; a requirements.txt whose environment already exists; a new
small requirement (a fresh environment each time). Baselines measured in the same run: one
authenticated API round trip, and `uv venv` + `uv pip install` of the same small requirement
done by hand (the floor for building an environment).

    .venv/bin/python bench/packaging.py [--repeat 9]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jupyter_orch.engine.orchestrations.environments import find_uv
from tests.support.server import ServerProcess, running_server
from tests.support.zips import make_zip

SIX_VERSIONS = ["1.16.0", "1.15.0", "1.14.0", "1.13.0", "1.12.0", "1.11.0", "1.10.0"]


def upload_to_ready(server: ServerProcess, workspace_id: int, data: bytes) -> float:
    start = time.perf_counter()
    response = requests.post(
        server.api + "orchestration/upload",
        headers=server.headers,
        files=[("file", ("o.zip", data, "application/zip")),
               ("metadata", ("metadata", f'{{"workspace_id": {workspace_id}}}', "application/json"))],
        timeout=60,
    )
    orch_id = response.json()["id"]
    wait = {"id": orch_id, "wait_for": "terminal", "wait_timeout": 300}
    answer = server.post("orchestration/get_by_id", wait).json()
    elapsed = time.perf_counter() - start
    assert answer["status"] == "ready", answer
    return elapsed


def manual_env_build(requirement: str) -> float:
    uv = find_uv()
    assert uv, "uv is needed for the baseline"
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, f"{tmp}/env"], check=True)
        subprocess.run([uv, "pip", "install", "-q", "--python", f"{tmp}/env/bin/python", "--compile-bytecode",
                        requirement], check=True)
        return time.perf_counter() - start


def summary(samples: list[float]) -> str:
    median = statistics.median(samples)
    return f"median {median:.3f} s  (min {min(samples):.3f}, max {max(samples):.3f}, n={len(samples)})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp)) as server:
        wid = server.post("workspaces/create", {"workspace_name": "bench"}).json()["workspace_id"]
        round_trips = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            server.post("workspaces/list")
            round_trips.append(time.perf_counter() - start)
        empty = [upload_to_ready(server, wid, make_zip({"main.py": f"print({i})", "requirements.txt": ""}))
                 for i in range(args.repeat)]
        upload_to_ready(server, wid, make_zip({"main.py": "", "requirements.txt": "six==1.17.0\n"}))
        existing = [
            upload_to_ready(server, wid, make_zip({"main.py": f"print({i})", "requirements.txt": "six==1.17.0\n"}))
            for i in range(args.repeat)
        ]
        fresh = [upload_to_ready(server, wid, make_zip({"main.py": "", "requirements.txt": f"six=={v}\n"}))
                 for v in SIX_VERSIONS[: max(3, min(len(SIX_VERSIONS), args.repeat // 2))]]
    by_hand = [manual_env_build(f"six=={v}") for v in SIX_VERSIONS[:3]]

    print("upload -> ready, real jupyter server on 127.0.0.1")
    print(f"  baseline: one API round trip          {summary(round_trips)}")
    print(f"  empty requirements.txt                {summary(empty)}   target <= 0.5 s")
    print(f"  requirements, environment exists      {summary(existing)}   target <= 0.5 s")
    print(f"  new small requirement (six==x)        {summary(fresh)}")
    print(f"  baseline: uv venv + install by hand   {summary(by_hand)}")
    print(f"  ratio new-requirement / by-hand       {statistics.median(fresh) / statistics.median(by_hand):.2f}x")


if __name__ == "__main__":
    main()
