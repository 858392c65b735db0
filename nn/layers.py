"""Layers over Tensor: Linear, Softmax, Dropout, Flatten and Sequential.

The activations are in ``activations.py``, MLP in ``mlp.py``.

Parameters are named as PyTorch names them (``weight`` of shape (out_features,
in_features), ``bias`` of shape (out_features,)), so a state dict carries over to a
PyTorch model of the same shape, and back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from autograd import Node, Tensor, fresh, linear
from tracegrad.rng import Seed

from . import checks
from .init import INITIALISERS, _any_float_dtype, initialise
from .modelfile import DTYPES, MODULE_BYTES, TENSOR_BYTES
from .module import Module, _depends_on_state, architecture_kind, build, positive_size


class TensorModule(Module):
    """A module over Tensors. Called with a numpy array (``model(X)``, as the lesson's code
    does), it takes the array as a Tensor; a Value or a list of Values is refused at the
    entrance, naming ``nn.scalar`` for networks of Values."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        _depends_on_state(self)
        if args and not isinstance(args[0], Tensor):
            args = (_as_tensor(args[0], type(self).__name__), *args[1:])
        return self.forward(*args, **kwargs)


def _as_tensor(x: Any, who: str) -> Tensor:
    if isinstance(x, np.ndarray):  # a copy, as every array that enters the graph
        return Tensor(x, dtype=x.dtype if x.dtype.kind == "f" else None)
    if isinstance(x, Node) or (isinstance(x, (list, tuple)) and x and isinstance(x[0], Node)):
        raise TypeError(
            f"{who}: expected a Tensor (or a numpy array), got {type(x).__name__} of Values; "
            "networks of Values are built with nn.scalar"
        )
    try:
        return Tensor(x)
    except TypeError:
        raise TypeError(
            f"{who}: expected a Tensor (or a numpy array), got {type(x).__name__}"
        ) from None


class Linear(TensorModule):
    """y = x·Wᵀ + b, for x of shape (..., in_features)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        init: str = "kaiming",
        rng: Seed = None,
        dtype: Any = np.float32,
    ) -> None:
        in_features = checks.positive_int(in_features, "Linear", "in_features")
        out_features = checks.positive_int(out_features, "Linear", "out_features")
        bias = checks.flag(bias, "Linear", "bias")
        init = checks.choice(init, INITIALISERS, "Linear", "init")
        kind = float_dtype(dtype, "Linear")
        generator = checks.generator(rng, "Linear")
        self.in_features, self.out_features, self.init = in_features, out_features, init
        weight = initialise(init, (out_features, in_features), generator, kind.type)
        # The fresh array becomes the parameter itself: no copy of it is made.
        self.weight = Tensor.from_numpy(weight, requires_grad=True)
        self.weight.label = "weight"
        self.bias = (
            Tensor(np.zeros(out_features, kind), requires_grad=True, dtype=kind, label="bias")
            if bias
            else None
        )

    def forward(self, x: Tensor) -> Tensor:
        if x.dtype != self.weight.dtype:  # the layer computes in its parameters' precision
            x = x.astype(self.weight.dtype)
        return linear(x, self.weight, self.bias)

    def config(self) -> dict[str, Any]:
        dtype = self.weight.dtype
        if self.bias is not None and self.bias.dtype != dtype:
            raise NotImplementedError("Linear: a weight and a bias of two dtypes")
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": self.bias is not None,
            "init": self.init,
            "dtype": dtype.name,
        }

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, bias={self.bias is not None}"

    @classmethod
    def parameter_count(cls, config: Mapping[str, Any]) -> int:
        inputs, outputs = (
            positive_size(config["in_features"]),
            positive_size(config["out_features"]),
        )
        return inputs * outputs + (outputs if config.get("bias", True) else 0)

    @classmethod
    def memory_bytes(cls, config: Mapping[str, Any]) -> int:
        itemsize = np.dtype(config.get("dtype", "float32")).itemsize
        return MODULE_BYTES + 2 * TENSOR_BYTES + cls.parameter_count(config) * itemsize


def float_dtype(dtype: Any, where: str) -> np.dtype[Any]:
    """A floating-point dtype that a model file holds (``modelfile.DTYPES``): a type such
    as np.float32 or float, an ``np.dtype``, or its name ("float32", as a file records
    it). A wider float (float128) would build and train, then fail to save."""
    chosen = _any_float_dtype(dtype, where)
    if chosen.name not in DTYPES:
        raise ValueError(
            f"{where}: dtype must be one of {', '.join(DTYPES)} (what a model file holds), "
            f"got {chosen.name}"
        )
    return chosen


class Softmax(TensorModule):
    """e^x / Σ e^x along ``axis``."""

    def __init__(self, axis: int = -1) -> None:
        self.axis = checks.integer(axis, type(self).__name__, "axis")

    def forward(self, x: Tensor) -> Tensor:
        return x.softmax(axis=self.axis)

    def config(self) -> dict[str, Any]:
        return {"axis": self.axis}


class LogSoftmax(Softmax):
    """x − logsumexp(x) along ``axis``."""

    def forward(self, x: Tensor) -> Tensor:
        return x.log_softmax(axis=self.axis)


class Flatten(TensorModule):
    """Merge the axes from ``start_axis`` on (the batch axis 0 is kept by default)."""

    def __init__(self, start_axis: int = 1) -> None:
        self.start_axis = checks.integer(start_axis, "Flatten", "start_axis")

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(self.start_axis)

    def config(self) -> dict[str, Any]:
        return {"start_axis": self.start_axis}


class Dropout(TensorModule):
    """In training mode, zero each element with probability p and scale the rest by 1/(1−p).

    In evaluation mode (``model.eval()``) it passes its input through unchanged.
    """

    def __init__(self, p: float = 0.5, *, rng: Seed = None) -> None:
        self.p = checks.real(p, "Dropout", "p", low=0.0, high=1.0, high_open=True)
        self._rng = checks.generator(rng, "Dropout")

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = fresh(self._rng.random, x.shape) >= self.p  # drawn anew by a compiled step
        return x * (keep / (1.0 - self.p)).astype(x.dtype)

    def config(self) -> dict[str, Any]:
        return {"p": self.p}

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Sequential(TensorModule):
    """Modules applied one after the other.

    The modules are attributes named "0", "1", ..., as in PyTorch, so the parameters of
    ``Sequential(Linear(4, 3), ReLU(), Linear(3, 2))`` are ``0.weight``, ``0.bias``,
    ``2.weight`` and ``2.bias``.
    """

    def __init__(self, *modules: Module) -> None:
        for position, module in enumerate(modules):
            if not isinstance(module, Module):
                hint = (
                    f" (the class itself: write {module.__name__}(...))"
                    if (isinstance(module, type) and issubclass(module, Module))
                    else ""
                )
                checks.wrong_type("Sequential", f"modules[{position}]", "a Module", module, hint)
            setattr(self, str(position), module)
        # The attributes are the one record of the layers, so that replacing one
        # (``setattr(model, "2", layer)``, a tie when loading) replaces it in the forward.
        self._names = tuple(str(position) for position in range(len(modules)))

    @property
    def layers(self) -> tuple[Module, ...]:
        """The modules, in order."""
        members = vars(self)
        return tuple(members[name] for name in self._names)

    def forward(self, x: Any) -> Any:
        members = vars(self)
        for name in self._names:
            x = members[name](x)
        return x

    def __getitem__(self, index: int) -> Module:
        return self.layers[index]

    def __len__(self) -> int:
        return len(self._names)

    def config(self) -> dict[str, Any]:
        specs = [layer.architecture() for layer in self.layers]
        if any(spec is None for spec in specs):
            raise NotImplementedError("a layer of this Sequential is not one of the library's")
        return {"layers": specs}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Sequential:
        return cls(*[build(spec) for spec in _layer_specs(config)])

    @classmethod
    def parameter_count(cls, config: Mapping[str, Any]) -> int:
        total = 0
        for spec in _layer_specs(config):
            kind, layer_config = architecture_kind(spec)
            total += kind.parameter_count(layer_config)
        return total

    @classmethod
    def memory_bytes(cls, config: Mapping[str, Any]) -> int:
        total = MODULE_BYTES
        for spec in _layer_specs(config):
            kind, layer_config = architecture_kind(spec)
            total += kind.memory_bytes(layer_config)
        return total


def _layer_specs(config: Mapping[str, Any]) -> list[Any]:
    layers = config["layers"]
    if not isinstance(layers, list):
        raise ValueError(f"layers must be a list, got {type(layers).__name__}")
    return layers
