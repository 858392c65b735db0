"""PyTorch's functional names: ``import nn.functional as F``.

Thin names over what the library has, under PyTorch's names and argument order: the
Tensor's own methods (``F.relu(x)`` is ``x.relu()``), autograd's fused ``linear``, the
dropout of ``nn.Dropout``, and the losses of ``nn.losses``. The arguments are PyTorch's:
``input`` first, ``dim`` for an axis, and a loss's ``reduction`` by keyword only (where
PyTorch's third argument is a class ``weight`` that these losses do not take, so a
weight passed by position is an error, not a reduction). Each function checks its
arguments and names itself in its errors.

Not here, on purpose: ``binary_cross_entropy`` on probabilities (take the logits to
``binary_cross_entropy_with_logits``: the loss of a probability rounded to 1 is
infinite, that of its logit is not); ``inplace=`` (every op makes a new tensor, which is
what the engine differentiates); ``softmax`` without ``dim`` (PyTorch's guess of the
axis is deprecated there).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from autograd import Tensor, Value, fresh, where
from autograd import linear as _linear
from tracegrad.rng import Seed
from tracegrad.words import counted

from . import checks
from .absent import module_getattr as _module_getattr
from .losses import _absolute_error, _cross_entropy, _elementwise, _logistic, _squared_error

__all__ = [
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "dropout",
    "l1_loss",
    "leaky_relu",
    "linear",
    "log_softmax",
    "mse_loss",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
]

#: What a loss takes as its input: a Tensor, or a scalar network's Value outputs.
Output = Tensor | Value | Sequence[Value]


def _tensor(value: Any, where: str, name: str = "input") -> Tensor:
    """A Tensor, as PyTorch's functions take only tensors (an array is refused, named)."""
    if not isinstance(value, Tensor):
        hint = ": wrap it as Tensor(x)" if isinstance(value, np.ndarray) else ""
        checks.wrong_type(where, name, "a Tensor", value, hint)
    return value


def _dim(dim: Any, input: Tensor, where: str) -> int:
    """An axis of ``input``, negative ones counting from the end (another is a ValueError,
    as every out-of-range argument of ``nn``)."""
    dim = checks.integer(dim, where, "dim")
    ndim = input.ndim
    if not -ndim <= dim < ndim:
        raise ValueError(
            f"{where}: dim {dim} is out of range for an input of {counted(ndim, 'dimension')}"
        )
    return dim


# -- activations --------------------------------------------------------------------------


def relu(input: Tensor) -> Tensor:
    """max(x, 0), elementwise: ``x.relu()``."""
    return _tensor(input, "relu").relu()


def leaky_relu(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x where x > 0, else negative_slope·x: what ``nn.LeakyReLU`` computes."""
    x = _tensor(input, "leaky_relu")
    slope = checks.real(negative_slope, "leaky_relu", "negative_slope")
    return where(x.data > 0, x, x * slope)


def tanh(input: Tensor) -> Tensor:
    """tanh x, elementwise: ``x.tanh()``."""
    return _tensor(input, "tanh").tanh()


def sigmoid(input: Tensor) -> Tensor:
    """σ(x) = 1/(1 + e^−x), elementwise and computed without overflow: ``x.sigmoid()``."""
    return _tensor(input, "sigmoid").sigmoid()


def softmax(input: Tensor, dim: int) -> Tensor:
    """e^x / Σ e^x along ``dim``, computed from x − max so that nothing overflows.

    ``dim`` is required: PyTorch's guess of an axis when it is left out is deprecated,
    and guesses the batch axis for a 3-D input.
    """
    x = _tensor(input, "softmax")
    return x.softmax(axis=_dim(dim, x, "softmax"))


def log_softmax(input: Tensor, dim: int) -> Tensor:
    """x − logsumexp(x) along ``dim``: finite where log(softmax(x)) would underflow to −inf."""
    x = _tensor(input, "log_softmax")
    return x.log_softmax(axis=_dim(dim, x, "log_softmax"))


# -- layers -------------------------------------------------------------------------------


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x·Wᵀ + b for x of shape (..., in), W of (out, in) and b of (out,), as one op.

    As ``nn.Linear`` does, it computes in the weight's dtype: an input of another dtype
    is cast to it, in the graph (PyTorch refuses the pair instead).
    """
    x = _tensor(input, "linear")
    w = _tensor(weight, "linear", "weight")
    if bias is not None:
        _tensor(bias, "linear", "bias")
        if bias.dtype != w.dtype:
            raise TypeError(
                f"linear: bias is {bias.dtype} but weight is {w.dtype}: give both one dtype"
            )
    if x.dtype != w.dtype:
        x = x.astype(w.dtype)
    return _linear(x, w, bias)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, *, rng: Seed = None) -> Tensor:
    """With ``training``, each element zeroed with probability p and the rest scaled by
    1/(1−p), so that the expected output is the input; without, the input itself.

    As in PyTorch, ``training`` is True unless told: in a module's forward, pass
    ``training=self.training`` (or use ``nn.Dropout``, which does). The zeros are drawn
    from ``rng`` (a seed or a numpy Generator; None draws fresh entropy), there being no
    global random state. p is in [0, 1): at 1 nothing would be kept to scale.
    """
    x = _tensor(input, "dropout")
    p = checks.real(p, "dropout", "p", low=0.0, high=1.0, high_open=True)
    training = checks.flag(training, "dropout", "training")
    generator = checks.generator(rng, "dropout")
    if not training or p == 0.0:
        return x
    keep = fresh(generator.random, x.shape) >= p  # drawn anew by a compiled step
    return x * (keep / (1.0 - p)).astype(x.dtype)


# -- losses -------------------------------------------------------------------------------


def cross_entropy(
    input: Tensor | Sequence[Sequence[Value]], target: Any, *, reduction: str = "mean"
) -> Any:
    """−log softmax(z_i)[y_i] for logits z of shape (n, C) and integer labels y (or (n, C)
    class probabilities): ``nn.cross_entropy``. It takes logits, not probabilities."""
    return _cross_entropy(input, target, reduction, "input")


def mse_loss(input: Output, target: Any, *, reduction: str = "mean") -> Any:
    """The squared error (ŷ − y)², for a target of the input's shape: ``nn.mse_loss``."""
    return _elementwise(input, target, reduction, "mse_loss", _squared_error, "input")


def l1_loss(input: Output, target: Any, *, reduction: str = "mean") -> Any:
    """The absolute error ``|ŷ − y|``, for a target of the input's shape: ``nn.l1_loss``."""
    return _elementwise(input, target, reduction, "l1_loss", _absolute_error, "input")


def binary_cross_entropy_with_logits(input: Output, target: Any, *, reduction: str = "mean") -> Any:
    """log(1 + e^z) − y·z for logits z and targets y in [0, 1], computed as
    max(z, 0) − y·z + log(1 + e^−|z|), which never overflows: ``nn.binary_cross_entropy``."""
    name = "binary_cross_entropy_with_logits"
    return _elementwise(input, target, reduction, name, _logistic, "input")


__getattr__ = _module_getattr("nn.functional")
