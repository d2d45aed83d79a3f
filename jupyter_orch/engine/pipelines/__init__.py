"""Pipelines: ONNX models, pipelines of model steps, inference and the inference log."""
