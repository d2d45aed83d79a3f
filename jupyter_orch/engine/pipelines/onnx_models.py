"""Models: uploaded ONNX files, stored by sha256, one version (UUID) per upload.

The inputs and outputs (names, types, shapes) are read from the file by onnxruntime at upload;
a file onnxruntime cannot load is refused and nothing is stored. A model version's `config`
holds `tensor_fields`: the frame columns that feed its inputs, in input order.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from dataclasses import dataclass, field
from typing import Any

from ..errors import Invalid, NotFound
from ..orchestrations.blobs import BlobStore
from ..store.database import Store
from ..timeutil import now_iso
from ..validation import require_dns_name, require_int, require_str
from ..workspaces.workspaces import Workspaces


@dataclass
class TensorSpec:
    name: str
    type: str  # onnxruntime's type string, e.g. "tensor(float)"
    shape: list[int | None]  # None for a dynamic (batch or symbolic) dimension


@dataclass
class ModelVersion:
    id: int
    name: str
    version: str
    sha: str
    file_name: str
    workspace_id: int
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    created_at: str
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def tensor_fields(self) -> list[str] | None:
        return self.config.get("tensor_fields")


def read_signature(data: bytes) -> tuple[list[TensorSpec], list[TensorSpec]]:
    """Load the model with onnxruntime and return its (inputs, outputs); Invalid if it cannot."""
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own exception types for every bad file
        first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise Invalid(f"the file is not a valid ONNX model: {first_line[:300]}") from None

    def specs(args: list[Any]) -> list[TensorSpec]:
        return [
            TensorSpec(a.name, a.type, [d if isinstance(d, int) else None for d in a.shape])
            for a in args
        ]

    return specs(session.get_inputs()), specs(session.get_outputs())


class Models:
    def __init__(self, store: Store, blobs: BlobStore, workspaces: Workspaces):
        self.store = store
        self.blobs = blobs
        self.workspaces = workspaces

    async def upload(
        self, workspace_id: object, name: object, data: bytes, file_name: str | None
    ) -> ModelVersion:
        workspace = self.workspaces.get(workspace_id)
        name = require_dns_name(name, "name")
        if not data:
            raise Invalid("the model file is empty")
        inputs, outputs = await asyncio.to_thread(read_signature, data)
        sha = await asyncio.to_thread(self.blobs.put, data)
        cur = self.store.execute(
            "INSERT INTO models (workspace_id, name, version, sha, file_name, inputs, outputs,"
            " config, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, '{}', ?)",
            (
                workspace.id, name, str(uuid.uuid4()), sha, file_name or f"{name}.onnx",
                _specs_json(inputs), _specs_json(outputs), now_iso(),
            ),
        )
        return self.get(cur.lastrowid)

    def list(self, workspace_id: object) -> list[ModelVersion]:
        workspace = self.workspaces.get(workspace_id)
        rows = self.store.all("SELECT * FROM models WHERE workspace_id = ? ORDER BY id", (workspace.id,))
        return [_hydrate(r) for r in rows]

    def get(self, ref: object) -> ModelVersion:
        """A model version by integer id or by its version UUID."""
        if isinstance(ref, str) and not ref.strip().isdigit():
            row = self.store.one("SELECT * FROM models WHERE version = ?", (ref,))
        else:
            row = self.store.one("SELECT * FROM models WHERE id = ?", (require_int(ref, "model_version_id"),))
        if row is None:
            raise NotFound(f"model version {ref!r} does not exist")
        return _hydrate(row)

    def latest(self, name: object, workspace_id: object = None) -> ModelVersion:
        """The newest version of the model called `name` (in one workspace, if given)."""
        name = require_str(name, "name")
        sql, params = "SELECT * FROM models WHERE name = ?", [name]
        if workspace_id is not None:
            sql += " AND workspace_id = ?"
            params.append(require_int(workspace_id, "workspace_id"))
        row = self.store.one(sql + " ORDER BY id DESC LIMIT 1", params)
        if row is None:
            raise NotFound(f"model '{name}' does not exist")
        return _hydrate(row)

    def configure(self, ref: object, tensor_fields: object) -> ModelVersion:
        model = self.get(ref)
        config = dict(model.config)
        if tensor_fields is None:
            config.pop("tensor_fields", None)
        else:
            if not (
                isinstance(tensor_fields, list)
                and tensor_fields
                and all(isinstance(f, str) and f for f in tensor_fields)
            ):
                raise Invalid("'tensor_fields' must be a non-empty list of column names")
            if len(tensor_fields) != len(model.inputs):
                raise Invalid(
                    f"model '{model.name}' has {len(model.inputs)} input(s) "
                    f"({', '.join(i.name for i in model.inputs)}), so 'tensor_fields' must name "
                    f"{len(model.inputs)} column(s), got {len(tensor_fields)}"
                )
            config["tensor_fields"] = tensor_fields
        self.store.execute("UPDATE models SET config = ? WHERE id = ?", (json.dumps(config), model.id))
        return self.get(model.id)


def _specs_json(specs: list[TensorSpec]) -> str:
    return json.dumps([{"name": s.name, "type": s.type, "shape": s.shape} for s in specs])


def _hydrate(row: sqlite3.Row) -> ModelVersion:
    return ModelVersion(
        id=row["id"],
        name=row["name"],
        version=row["version"],
        sha=row["sha"],
        file_name=row["file_name"],
        workspace_id=row["workspace_id"],
        inputs=[TensorSpec(**s) for s in json.loads(row["inputs"])],
        outputs=[TensorSpec(**s) for s in json.loads(row["outputs"])],
        created_at=row["created_at"],
        config=json.loads(row["config"]),
    )
