"""nn: neural networks on top of autograd.

Modules (``Linear``, activations, ``Dropout``, ``Sequential``, ``MLP``; ``nn.scalar`` for
networks of Values), losses (functions, and modules such as ``CrossEntropyLoss``),
PyTorch's functional names (``nn.functional``), metrics, optimisers (``nn.optim``;
``nn.utils`` clips gradients), minibatches (``nn.data``: ``batches``, ``DataLoader``),
data sets (``nn.datasets``), training (``fit``, ``evaluate``; ``nn.callbacks``,
checkpoints in ``nn.checkpoint``), pictures (``nn.plot``), model files (``Module.save``,
``nn.load``), and the way out to PyTorch (``to_torch``, ``from_torch``) and ONNX
(``to_onnx``).
"""

import autograd as _autograd

if not getattr(_autograd, "__tracegrad__", False):
    raise ImportError(
        f"nn: `import autograd` found another package named autograd, at "
        f"{getattr(_autograd, '__file__', '?')} (HIPS autograd, from `pip install autograd`, "
        "has tracegrad's import name). Install tracegrad in a virtual environment of its "
        "own, or `pip uninstall autograd` and reinstall tracegrad."
    )

from . import callbacks, data, datasets, functional, init, optim, plot, scalar, utils
from .absent import module_getattr as _module_getattr
from .activations import ACTIVATIONS, LeakyReLU, ReLU, Sigmoid, Tanh
from .interop import from_torch, to_onnx, to_torch
from .layers import Dropout, Flatten, Linear, LogSoftmax, Sequential, Softmax
from .losses import (
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HingeLoss,
    L1Loss,
    MSELoss,
    binary_cross_entropy,
    cross_entropy,
    hinge_loss,
    l1_loss,
    mse_loss,
)
from .metrics import accuracy, confusion_matrix, r2_score, zero_one_loss
from .mlp import MLP
from .module import ModelFileError, Module, load, load_metadata
from .train import History, TrainingDivergedError, evaluate, fit, predict

__all__ = [
    "ACTIVATIONS",
    "MLP",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "Dropout",
    "Flatten",
    "HingeLoss",
    "History",
    "L1Loss",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "ModelFileError",
    "Module",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "TrainingDivergedError",
    "accuracy",
    "binary_cross_entropy",
    "callbacks",
    "confusion_matrix",
    "cross_entropy",
    "data",
    "datasets",
    "evaluate",
    "fit",
    "from_torch",
    "functional",
    "hinge_loss",
    "init",
    "l1_loss",
    "load",
    "load_metadata",
    "mse_loss",
    "optim",
    "plot",
    "predict",
    "r2_score",
    "scalar",
    "to_onnx",
    "to_torch",
    "utils",
    "zero_one_loss",
]


__getattr__ = _module_getattr("nn")
