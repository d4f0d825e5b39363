"""Exporting models for inference elsewhere: ONNX (`Model.export(path, format="onnx")`).

The `onnx` package is imported only when a model is exported (pip install "eigennet[onnx]").
"""

from eigennet.export.onnx_export import export_model

__all__ = ["export_model"]
