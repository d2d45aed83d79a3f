"""`wallaroo.framework`: model frameworks. ONNX is the one jupyter-orch serves."""

from enum import StrEnum


class Framework(StrEnum):
    ONNX = "onnx"
