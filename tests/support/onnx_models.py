"""Tiny ONNX models built with onnx.helper, to chain after (or beside) the sample model."""

from __future__ import annotations

import onnx
from onnx import TensorProto, helper


def _model(graph: onnx.GraphProto) -> bytes:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def scale_model(factor: float, width: int = 1, input_name: str = "x", output_name: str = "scaled") -> bytes:
    """output = input * factor, float32 [None, width]."""
    graph = helper.make_graph(
        [helper.make_node("Mul", [input_name, "factor"], [output_name])],
        "scale",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [None, width])],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, [None, width])],
        [helper.make_tensor("factor", TensorProto.FLOAT, [1], [factor])],
    )
    return _model(graph)


def add_model(width: int = 2) -> bytes:
    """Two inputs `a` and `b`, float32 [None, width]; output `total` = a + b."""
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["total"])],
        "add",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [None, width]) for n in ("a", "b")],
        [helper.make_tensor_value_info("total", TensorProto.FLOAT, [None, width])],
    )
    return _model(graph)
