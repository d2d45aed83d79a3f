"""Models: uploaded ONNX files, stored by sha256, one version (UUID) per upload.

The inputs and outputs (names, types, shapes) are read from the file by onnxruntime at upload;
a file onnxruntime cannot load is refused and nothing is stored. A model version's `config`
holds `tensor_fields`: the frame columns that feed its inputs, in input order.
"""

from __future__ import annotations

import asyncio
import builtins
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Row, insert, select, update

from ..errors import Invalid, NotFound
from ..orchestrations.blobs import BlobStore
from ..store import schema as t
from ..store.database import Store
from ..timeutil import utcnow
from ..uploads import Upload, spool_bytes
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
    created_at: datetime
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def tensor_fields(self) -> list[str] | None:
        return self.config.get("tensor_fields")


def read_signature(data: bytes | Path) -> tuple[list[TensorSpec], list[TensorSpec]]:
    """Load the model with onnxruntime and return its (inputs, outputs); Invalid if it cannot."""
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(data if isinstance(data, bytes) else str(data),
                                       providers=["CPUExecutionProvider"])
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

    async def upload(self, workspace_id: int, name: str, data: bytes | Upload, file_name: str | None) -> ModelVersion:
        """Store an ONNX file (bytes, or an upload spooled to disk, which this takes over)."""
        upload = data if isinstance(data, Upload) else await asyncio.to_thread(spool_bytes, self.blobs.incoming, data)
        try:
            workspace = await self.workspaces.get(workspace_id)
            if not upload.size:
                raise Invalid("the model file is empty")
            inputs, outputs = await asyncio.to_thread(read_signature, upload.path)
            row = dict(
                workspace_id=workspace.id, name=name, version=str(uuid.uuid4()), sha=upload.sha,
                file_name=file_name or f"{name}.onnx", inputs=_specs_json(inputs), outputs=_specs_json(outputs),
                config={}, created_at=utcnow(),
            )
            async with self.blobs.lock:
                await asyncio.to_thread(self.blobs.adopt, upload)
                return await self.store.call(self._insert, row)
        finally:
            upload.discard()  # gone already once adopted

    async def list(self, workspace_id: int) -> list[ModelVersion]:
        workspace = await self.workspaces.get(workspace_id)
        query = select(t.models).where(t.models.c.workspace_id == workspace.id).order_by(t.models.c.id)
        return await self.store.call(self._all, query)

    async def get(self, ref: int | str) -> ModelVersion:
        return await self.store.call(self.get_now, ref)

    def get_now(self, ref: int | str) -> ModelVersion:
        """A model version by integer id or by its version UUID, for code already in the pool."""
        where = t.models.c.version == ref if isinstance(ref, str) else t.models.c.id == ref
        found = self._all(select(t.models).where(where))
        if not found:
            raise NotFound(f"model version {ref!r} does not exist")
        return found[0]

    async def latest(self, name: str, workspace_id: int | None = None) -> ModelVersion:
        return await self.store.call(self.latest_now, name, workspace_id)

    def latest_now(self, name: str, workspace_id: int | None = None) -> ModelVersion:
        """The newest version of the model called `name` (in one workspace, if given)."""
        query = select(t.models).where(t.models.c.name == name).order_by(t.models.c.id.desc()).limit(1)
        if workspace_id is not None:
            query = query.where(t.models.c.workspace_id == workspace_id)
        found = self._all(query)
        if not found:
            raise NotFound(f"model '{name}' does not exist")
        return found[0]

    async def configure(self, ref: int | str, tensor_fields: builtins.list[str] | None) -> ModelVersion:
        model = await self.get(ref)
        config = dict(model.config)
        if tensor_fields is None:
            config.pop("tensor_fields", None)
        else:
            if not tensor_fields:
                raise Invalid("'tensor_fields' must be a non-empty list of column names")
            if len(tensor_fields) != len(model.inputs):
                raise Invalid(
                    f"model '{model.name}' has {len(model.inputs)} input(s) "
                    f"({', '.join(i.name for i in model.inputs)}), so 'tensor_fields' must name "
                    f"{len(model.inputs)} column(s), got {len(tensor_fields)}"
                )
            config["tensor_fields"] = tensor_fields
        await self.store.call(self._set_config, model.id, config)
        return await self.get(model.id)

    def _insert(self, row: dict[str, Any]) -> ModelVersion:
        with self.store.write() as db:
            new_id = db.execute(insert(t.models).values(**row)).inserted_primary_key[0]  # type: ignore[index]
        return self.get_now(new_id)

    def _set_config(self, model_id: int, config: dict[str, Any]) -> None:
        with self.store.write() as db:
            db.execute(update(t.models).where(t.models.c.id == model_id).values(config=config))

    def _all(self, query: Any) -> builtins.list[ModelVersion]:
        with self.store.read() as db:
            return [_hydrate(r) for r in db.execute(query)]


def _specs_json(specs: list[TensorSpec]) -> list[dict[str, Any]]:
    return [{"name": s.name, "type": s.type, "shape": s.shape} for s in specs]


def _hydrate(row: Row[Any]) -> ModelVersion:
    return ModelVersion(
        id=row.id,
        name=row.name,
        version=row.version,
        sha=row.sha,
        file_name=row.file_name,
        workspace_id=row.workspace_id,
        inputs=[TensorSpec(**s) for s in row.inputs],
        outputs=[TensorSpec(**s) for s in row.outputs],
        created_at=row.created_at,
        config=row.config,
    )
