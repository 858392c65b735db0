"""nn: neural networks on top of autograd.

Modules (``Linear``, activations, ``Dropout``, ``Sequential``, ``MLP``; ``nn.scalar`` for
networks of Values), losses, metrics, optimisers (``nn.optim``), minibatches
(``nn.data``), data sets (``nn.datasets``), training (``fit``, ``evaluate``), pictures
(``nn.plot``) and model files (``Module.save``, ``nn.load``).
"""

from . import data, datasets, init, optim, plot, scalar
from .layers import (
    MLP,
    Dropout,
    Flatten,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)
from .losses import binary_cross_entropy, cross_entropy, hinge_loss, l1_loss, mse_loss
from .metrics import accuracy, confusion_matrix, r2_score, zero_one_loss
from .module import ModelFileError, Module, load, load_metadata
from .train import History, TrainingDivergedError, evaluate, fit, predict

__all__ = [
    "MLP",
    "Dropout",
    "Flatten",
    "History",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
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
    "confusion_matrix",
    "cross_entropy",
    "data",
    "datasets",
    "evaluate",
    "fit",
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
    "zero_one_loss",
]
