"""The way out of tracegrad: a model as a PyTorch module (and back) or as an ONNX file.

PyTorch and ONNX are optional extras, imported only when these functions run.
"""

from .onnx_export import to_onnx
from .pytorch import from_torch, to_torch

__all__ = ["from_torch", "to_onnx", "to_torch"]
