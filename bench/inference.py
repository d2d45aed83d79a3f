"""Inference through the REST API against onnxruntime itself, and inference-log queries.

One run measures, against a real server subprocess on 127.0.0.1 with the sample house-price
model deployed:
1. a 100,000-row Arrow batch through the client (`pipeline.infer(table)`: encode, HTTP to the
   inference endpoint, decode, inference, logging, encode) against `InferenceSession.run` on
   the same matrix in this process (default session options, and the best single-thread
   options), as a ratio; the server's REST route with `requests` beside it;
2. one row through the Python client (`pipeline.infer(df)` as pandas-records JSON and
   `pipeline.infer(table)` as Arrow), median latency over many calls, with where the time goes:
   the client's encoding and decoding, the round trip to the inference endpoint, and inside it
   what the server does (the inference in process: decode, onnxruntime, log append, encode);
   the baselines are the same body through jupyter_server's route (the client's own fast lane,
   and a plain `requests.Session`), and the per-request floors (the endpoint refusing a key,
   jupyter_server's own `GET api`, a trivial jupyter-orch route);
3. a time-range query for 1% of a 10-million-row log (100 hours x 100,000 rows written with
   the engine's inference-log writer), in process and through `pipelines/get_logs` (Arrow).

Targets: (1) within 1.1x of onnxruntime, (2) 1 ms median through the client, (3) under 0.3 s.

    .venv/bin/python bench/inference.py [--rows 100000] [--repeat 15] [--calls 500] [--log-hours 100]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pandas as pd
import pyarrow as pa
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jupyter_orch import Client
from jupyter_orch.client.datasets import choose
from jupyter_orch.client.inference import encode
from jupyter_orch.client.pipeline import infer_answer
from jupyter_orch.engine.pipelines.frames import ARROW_FILE, RECORDS, Codec, codec_for, encode_arrow
from jupyter_orch.engine.pipelines.inference_log import InferenceLog, make_query
from jupyter_orch.samples import sample_paths
from tests.support.server import ServerProcess, running_server

PIPELINE = "bench-pipeline"
LOG_SETTLE_S = 3.0
FEATURES = 18


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1e3:8.2f} ms"


def matrix(rows: int, seed: int = 7) -> np.ndarray:
    base = pa.ipc.open_file(sample_paths()["batch_1k.arrow"].read_bytes()).read_all()
    values = base.column("tensor").combine_chunks().flatten().to_numpy().reshape(-1, FEATURES)
    tiled = np.resize(values, (rows, FEATURES))
    jitter = np.random.default_rng(seed).uniform(0.97, 1.03, tiled.shape).astype(np.float32)
    return np.ascontiguousarray(tiled * jitter, dtype=np.float32)


def tensor_table(x: np.ndarray) -> pa.Table:
    return pa.table({"tensor": pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), x.shape[1])})


def deploy(server: ServerProcess) -> int:
    workspace_id = server.post("workspaces/create", {"workspace_name": "bench"}).json()["workspace_id"]
    metadata = json.dumps({"name": "housing", "workspace_id": workspace_id})
    model = requests.post(
        server.api + "models/upload",
        headers=server.headers,
        files=[
            ("file", ("rf_model.onnx", sample_paths()["model"].read_bytes(), "application/octet-stream")),
            ("metadata", ("metadata", metadata, "application/json")),
        ],
        timeout=60,
    ).json()
    pipeline = server.post("pipelines/create", {"pipeline_id": PIPELINE, "workspace_id": workspace_id}).json()
    server.post("pipelines/add_model_step", {"pipeline_id": PIPELINE, "model_version_id": model["id"]})
    assert server.post("pipelines/deploy", {"pipeline_id": PIPELINE}).json()["status"] == "Running"
    return pipeline["id"]


def bench_batch(server: ServerProcess, session: requests.Session, rows: int, repeat: int) -> None:
    x = matrix(rows)
    table = tensor_table(x)
    body = encode_arrow(table)
    url = f"{server.api}pipelines/infer/{PIPELINE}"
    headers = {**server.headers, "Content-Type": ARROW_FILE}
    pipeline = bench_client(server).get_pipeline(PIPELINE)

    def client() -> None:
        assert pipeline.infer(table).num_rows == rows

    def route() -> None:
        response = session.post(url, data=body, headers=headers, timeout=120)
        response.raise_for_status()
        assert pa.ipc.open_file(response.content).read_all().num_rows == rows

    model = str(sample_paths()["model"])
    default = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    single = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    client()  # warm up
    route()
    client_s = timed(client, repeat)
    time.sleep(LOG_SETTLE_S)  # the server writes what it logged: not while the baselines run
    route_s = timed(route, repeat)
    time.sleep(LOG_SETTLE_S)
    default_s = timed(lambda: default.run(None, {"float_input": x}), repeat)
    single_s = timed(lambda: single.run(None, {"float_input": x}), repeat)
    best = min(statistics.median(default_s), statistics.median(single_s))
    ratio = statistics.median(client_s) / best
    print(f"\n1. {rows:,}-row Arrow batch (median of {repeat}; Arrow body {len(body) / 1e6:.1f} MB)")
    print(f"   pipeline.infer(table), logged   {median_ms(client_s)}   (the inference endpoint)")
    print(f"   REST route, requests, logged    {median_ms(route_s)}   (through jupyter_server, inputs echoed)")
    print(f"   InferenceSession.run, default   {median_ms(default_s)}")
    print(f"   InferenceSession.run, 1 thread  {median_ms(single_s)}")
    print(f"   ratio client / best onnxruntime {ratio:8.2f} x   (target <= 1.1)")


def bench_client(server: ServerProcess) -> Client:
    client = Client(url=server.url, token=server.token)
    client.set_current_workspace(client.get_workspace("bench"))
    return client


def bench_one_row(server: ServerProcess, session: requests.Session, calls: int) -> None:
    client = bench_client(server)
    pipeline = client.get_pipeline(PIPELINE)
    http = client._http
    route = f"pipelines/infer/{PIPELINE}"
    query = {"workspace_id": pipeline.workspace_id()}
    endpoint = client._inference
    frames = {
        "pandas-records JSON": pd.read_json(sample_paths()["smoke_test.df.json"], orient="records"),
        "Arrow IPC": pa.ipc.open_file(sample_paths()["smoke_test.arrow"].read_bytes()).read_all(),
    }
    deployment = in_process_deployment()
    log = InferenceLog(server.data_dir / "bench-one-row-log", flush_rows=10**12, flush_seconds=10**9)
    wanted = choose()
    pipeline.infer(frames["Arrow IPC"])  # the client asks for the endpoint's key
    lane, key = endpoint._lane, endpoint._keys[pipeline.id()]
    assert lane is not None, "the server runs no inference endpoint"
    print(f"\n2. one row through the client ({calls} calls; medians)")
    for label, frame in frames.items():
        body, headers = encode(frame)
        keyed = {**headers, "Authorization": f"Bearer {key}"}
        _, content, content_type = lane.post(route, query, body, keyed, 30)
        codec = codec_for(headers["Content-Type"])
        rows = {
            "pipeline.infer(...)": lambda frame=frame: pipeline.infer(frame),
            "  client: encode": lambda frame=frame: encode(frame),
            "  endpoint round trip": lambda b=body, h=keyed: lane.post(route, query, b, h, 30),
            "  client: decode, columns": lambda c=content, t=content_type, f=frame: infer_answer(c, t, f, wanted, None),
            "  in it, server: infer in process": lambda b=body, c=codec: deployment(b, c, None),
            "  in it, server: + log append": lambda b=body, c=codec: deployment(b, c, log),
            "baseline: jupyter_server's route": lambda b=body, h=headers: http.post_bytes(route, b, h, query),
            "baseline: requests.Session post": lambda b=body, h=headers: session.post(
                server.api + route, params=query, data=b, headers={**server.headers, **h}, timeout=30),
        }
        print(f"   {label}")
        for name, fn in rows.items():
            timed(fn, 50)  # warm up
            samples = timed(fn, calls)
            target = "   (target <= 1 ms)" if name == "pipeline.infer(...)" else ""
            print(f"   {name:36s} {median_ms(samples)}{target}")
    refused = {"Authorization": "Bearer no-key", "Content-Type": RECORDS}
    floor = {
        "the endpoint, refusing a bad key": lambda: lane.post(route, query, b"[]", refused, 30),
        "jupyter_server's own GET api": lambda: session.get(server.url + "api", headers=server.headers, timeout=30),
        "a trivial route: workspaces/list": lambda: session.post(
            server.api + "workspaces/list", json={}, headers=server.headers, timeout=30),
    }
    print("   per-request floor")
    for name, fn in floor.items():
        timed(fn, 50)
        print(f"   {'  ' + name:36s} {median_ms(timed(fn, calls))}")
    http.close()
    endpoint.close()


def in_process_deployment() -> Callable[[bytes, Codec, InferenceLog | None], bytes]:
    """What the infer handler runs in the server's pool: decode, onnxruntime, log, encode."""
    session = ort.InferenceSession(str(sample_paths()["model"]), providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name

    def infer(body: bytes, codec: Codec, log: InferenceLog | None) -> bytes:
        frame = codec.decode(body)
        x = frame.column("tensor").combine_chunks().flatten().to_numpy().reshape(-1, FEATURES).astype(np.float32)
        (out,) = session.run(None, {input_name: x})
        result = frame.append_column("out.variable", pa.array(out.reshape(-1).tolist()))
        if log is not None:
            ms = np.full(frame.num_rows, int(time.time() * 1000), dtype="datetime64[ms]")
            log.append(1, result.append_column("time", pa.array(ms, pa.timestamp("ms", tz="UTC"))), "v", "sha")
        return codec.encode(result)

    return infer


def write_log(root: Path, pipeline_id: int, hours: int, rows_per_hour: int, first: datetime) -> float:
    writer = InferenceLog(root, flush_rows=10**12, flush_seconds=10**9)
    rng = np.random.default_rng(1)
    x = matrix(rows_per_hour)
    start = time.perf_counter()
    for hour in range(hours):
        base_ms = int((first + timedelta(hours=hour)).timestamp() * 1000)
        offsets = np.sort(rng.integers(0, 3_600_000, rows_per_hour))
        table = pa.table({
            "time": pa.array((base_ms + offsets).astype("datetime64[ms]"), pa.timestamp("ms", tz="UTC")),
            "in.tensor": tensor_table(x).column("tensor"),
            "out.variable": pa.FixedSizeListArray.from_arrays(pa.array(x[:, 2] * 240), 1),
            "anomaly.count": pa.array(np.zeros(rows_per_hour, dtype=np.int32)),
        })
        writer.append(pipeline_id, table, "bench-version", "bench-sha")
        writer.flush()
    return time.perf_counter() - start


def bench_log_query(server: ServerProcess, session: requests.Session, pipeline_id: int, hours: int) -> None:
    rows_per_hour = 100_000
    first = datetime(2026, 1, 1, tzinfo=UTC)
    root = server.data_dir / "inference_logs"
    seconds = write_log(root, pipeline_id, hours, rows_per_hour, first)
    total = hours * rows_per_hour
    print(f"\n3. time-range query: 1 hour of {total:,} logged rows over {hours} hours")
    print(f"   writing the log (Parquet, hourly partitions)  {seconds:.1f} s  ({total / seconds / 1e6:.2f} M rows/s)")
    start_t = first + timedelta(hours=hours // 2)
    end_t = start_t + timedelta(hours=1)
    reader = InferenceLog(root)
    query = make_query(start_t, end_t, "asc", 1_000_000, None)

    def in_process() -> None:
        assert reader.query(pipeline_id, query).table.num_rows == rows_per_hour

    def rest() -> None:
        response = session.post(
            server.api + "pipelines/get_logs",
            json={"pipeline_name": PIPELINE, "start_time": start_t.isoformat(), "end_time": end_t.isoformat(),
                  "order": "asc", "page_size": 1_000_000},
            headers={**server.headers, "Accept": ARROW_FILE},
            timeout=60,
        )
        response.raise_for_status()
        assert pa.ipc.open_file(response.content).read_all().num_rows == rows_per_hour

    in_process()
    print(f"   engine query ({rows_per_hour:,} rows)        {median_ms(timed(in_process, 7))}   (target < 300 ms)")
    rest()
    print(f"   REST get_logs, Arrow ({rows_per_hour:,} rows) {median_ms(timed(rest, 7))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--log-hours", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp)) as server:
        pipeline_id = deploy(server)
        with requests.Session() as session:
            bench_batch(server, session, args.rows, args.repeat)
            bench_one_row(server, session, args.calls)
            bench_log_query(server, session, pipeline_id, args.log_hours)


if __name__ == "__main__":
    main()
