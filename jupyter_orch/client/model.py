"""ModelVersion: one uploaded ONNX model file, configured before it joins a pipeline."""

from __future__ import annotations

from typing import Any

from .base import Entity
from .display import local_time


class ModelVersion(Entity):
    def name(self) -> str:
        return self._data["name"]

    def version(self) -> str:
        return self._data["version"]

    def sha(self) -> str:
        return self._data["sha"]

    def file_name(self) -> str:
        return self._data["file_name"]

    def inputs(self) -> Any:
        return self._data.get("inputs")

    def outputs(self) -> Any:
        return self._data.get("outputs")

    def configure(self, runtime: str | None = None, tensor_fields: list[str] | None = None) -> ModelVersion:
        """Name the input column(s) the model reads (`tensor_fields`); returns this model.
        `runtime` is accepted for the reference's signature; ONNX is the only runtime."""
        if runtime not in (None, "onnx"):
            raise ValueError(f"only the 'onnx' runtime is supported, not {runtime!r}")
        body: dict[str, Any] = {"model_version_id": self.id()}
        if tensor_fields is not None:
            body["tensor_fields"] = list(tensor_fields)
        answer = self._client._http.post("models/configure", body)
        if isinstance(answer, dict) and "id" in answer:
            self._data = answer
        return self

    def _fields(self) -> dict[str, Any]:
        return {
            "name": self.name(),
            "version": self.version(),
            "file name": self.file_name(),
            "sha": self.sha()[:12] + "...",
            "created at": local_time(self._data.get("created_at")),
        }
