"""A deployed pipeline: one onnxruntime session per model step, run in sequence.

`Deployment.infer` maps a frame (an Arrow table) to the first step's inputs, runs the steps
(each step's outputs feed the next by name, else by position) and answers the result frame:
`time`, `in.<column>`, `out.<output>`, `anomaly.count`. Large batches are cut into row chunks
run side by side (sessions are single-threaded: on these machines that beats onnxruntime's own
intra-op threads at every batch size). Everything stays in Arrow / numpy buffers.
"""

from __future__ import annotations

import itertools
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import Invalid
from .onnx_models import ModelVersion
from .tensors import column_tensor, is_number, numpy_type, stacked_tensor, tensor_column

TIME_TYPE = pa.timestamp("ms", tz="UTC")
DEFAULT_TENSOR_FIELD = "tensor"


@dataclass
class Step:
    model: ModelVersion
    session: Any  # onnxruntime.InferenceSession


def build_session(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def check_chain(models: list[ModelVersion]) -> None:
    """Each step after the first must be fed by the previous one's outputs (by name or position)."""
    for before, after in itertools.pairwise(models):
        names = {o.name for o in before.outputs}
        for position, spec in enumerate(after.inputs):
            if spec.name not in names and position >= len(before.outputs):
                raise Invalid(
                    f"model '{after.name}' input '{spec.name}' cannot be fed by model "
                    f"'{before.name}', whose outputs are {[o.name for o in before.outputs]}"
                )


class Deployment:
    def __init__(
        self,
        pipeline_name: str,
        version: str,
        steps: list[Step],
        compute: Executor | None,
        chunk_rows: int,
        workers: int,
    ):
        self.pipeline_name = pipeline_name
        self.version = version
        self.steps = steps
        self.compute = compute
        self.chunk_rows = chunk_rows
        self.workers = workers

    @property
    def last_model(self) -> ModelVersion:
        return self.steps[-1].model

    def infer(self, frame: pa.Table, at: datetime) -> pa.Table:
        """The result frame of `frame`: time, in.*, out.*, anomaly.count."""
        if frame.num_rows == 0:
            raise Invalid("the input has no rows")
        outputs = self.run(self.feeds(frame))
        rows = frame.num_rows
        ms = int(at.timestamp() * 1000)
        # epoch milliseconds viewed as the time type: converting datetime64 values costs 3x as much
        columns: dict[str, Any] = {"time": pa.array(np.full(rows, ms, dtype=np.int64)).view(TIME_TYPE)}
        for name in frame.column_names:
            columns[f"in.{name}"] = frame.column(name)
        for name, values in outputs.items():
            columns[f"out.{name}"] = tensor_column(values)
        columns["anomaly.count"] = pa.array(np.zeros(rows, dtype=np.int32))
        return pa.table(columns)

    def feeds(self, frame: pa.Table) -> dict[str, np.ndarray]:
        """The first model's inputs from the frame's columns (see the module doc)."""
        model = self.steps[0].model
        inputs = model.inputs
        fields = model.tensor_fields
        if fields is None:
            if len(inputs) == 1:
                column = _single_input_column(frame, model)
                if column is None:  # scalar feature columns, stacked
                    return {inputs[0].name: stacked_tensor(frame, inputs[0])}
                fields = [column]
            elif all(spec.name in frame.column_names for spec in inputs):
                fields = [spec.name for spec in inputs]
            else:
                raise Invalid(
                    f"model '{model.name}' has inputs {[s.name for s in inputs]}: send a column named "
                    f"after each, or configure the model's tensor_fields; got columns {frame.column_names}"
                )
        missing = [f for f in fields if f not in frame.column_names]
        if missing:
            raise Invalid(
                f"pipeline '{self.pipeline_name}' expects column(s) {fields} for model "
                f"'{model.name}'; missing {missing}, got {frame.column_names}"
            )
        return {spec.name: column_tensor(frame.column(f), f, spec) for spec, f in zip(inputs, fields, strict=True)}

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, Any]:
        rows = len(next(iter(feeds.values())))
        parts = min(self.workers, rows // self.chunk_rows)
        if parts < 2 or self.compute is None:
            return self._chain(feeds)
        bounds = np.linspace(0, rows, parts + 1, dtype=int)
        chunks = [{k: v[a:b] for k, v in feeds.items()} for a, b in itertools.pairwise(bounds)]
        pending = [self.compute.submit(self._chain, chunk) for chunk in chunks[1:]]
        results = [self._chain(chunks[0])] + [f.result() for f in pending]
        return {name: _concat([r[name] for r in results]) for name in results[0]}

    def _chain(self, feeds: dict[str, np.ndarray]) -> dict[str, Any]:
        outputs: dict[str, Any] = {}
        for index, step in enumerate(self.steps):
            if index:
                feeds = _next_feeds(step.model, outputs)
            try:
                values = step.session.run(None, feeds)
            except Exception as e:  # onnxruntime's errors: bad shapes or values for this model
                message = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
                raise Invalid(f"model '{step.model.name}' (step {index + 1}) refused the input: {message}") from None
            outputs = {spec.name: v for spec, v in zip(step.model.outputs, values, strict=True)}
        return outputs


def _single_input_column(frame: pa.Table, model: ModelVersion) -> str | None:
    """The column feeding a one-input model: `tensor`, else the input's name, else None (stack)."""
    spec = model.inputs[0]
    for name in (DEFAULT_TENSOR_FIELD, spec.name):
        if name in frame.column_names:
            return name
    width = spec.shape[1] if len(spec.shape) == 2 else None
    scalars = all(is_number(t) for t in frame.schema.types)
    if scalars and width is not None and frame.num_columns == width:
        return None
    expected = f"a '{DEFAULT_TENSOR_FIELD}' column of lists (input '{spec.name}', shape {spec.shape})"
    if width is not None:
        expected += f" or {width} numeric feature columns"
    raise Invalid(f"model '{model.name}' expects {expected}; got columns {frame.column_names}")


def _next_feeds(model: ModelVersion, outputs: dict[str, Any]) -> dict[str, np.ndarray]:
    previous = list(outputs.values())
    feeds = {}
    for position, spec in enumerate(model.inputs):
        value = outputs[spec.name] if spec.name in outputs else previous[position]
        feeds[spec.name] = np.asarray(value).astype(numpy_type(spec), copy=False)
    return feeds


def _concat(parts: list[Any]) -> Any:
    if isinstance(parts[0], np.ndarray):
        return np.concatenate(parts)
    return [item for part in parts for item in part]
