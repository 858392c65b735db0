"""Layers over Tensor: Linear, activations, Dropout, Flatten, Sequential and MLP.

Parameters are named as PyTorch names them (``weight`` of shape (out_features,
in_features), ``bias`` of shape (out_features,)), so a state dict carries over to a
PyTorch model of the same shape, and back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from autograd import Node, Tensor, linear, where
from autograd.rng import Seed, as_generator

from .init import initialise
from .module import (
    Module,
    architecture_kind,
    build,
    perceptron_parameter_count,
    positive_size,
)


class TensorModule(Module):
    """A module over Tensors. Called with a numpy array (``model(X)``, as the lesson's code
    does), it takes the array as a Tensor; a Value or a list of Values is refused at the
    entrance, naming ``nn.scalar`` for networks of Values."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if args and not isinstance(args[0], Tensor):
            args = (_as_tensor(args[0], type(self).__name__), *args[1:])
        return self.forward(*args, **kwargs)


def _as_tensor(x: Any, who: str) -> Tensor:
    if isinstance(x, np.ndarray):
        return Tensor.from_numpy(x) if x.dtype.kind == "f" else Tensor(x)
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
        dtype: type = np.float32,
    ) -> None:
        if in_features < 1 or out_features < 1:
            raise ValueError(
                f"Linear: in_features and out_features must be positive, got "
                f"{in_features} and {out_features}"
            )
        self.in_features, self.out_features, self.init = in_features, out_features, init
        weight = initialise(init, (out_features, in_features), as_generator(rng), dtype)
        self.weight = Tensor(weight, requires_grad=True, dtype=dtype, label="weight")
        self.bias = (
            Tensor(np.zeros(out_features, dtype), requires_grad=True, dtype=dtype, label="bias")
            if bias
            else None
        )

    def forward(self, x: Tensor) -> Tensor:
        if x.dtype != self.weight.dtype:  # the layer computes in its parameters' precision
            x = x.astype(self.weight.dtype)
        return linear(x, self.weight, self.bias)

    def config(self) -> dict[str, Any]:
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": self.bias is not None,
            "init": self.init,
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


class _Stateless(TensorModule):
    """A layer with no parameters and no constructor arguments."""

    def config(self) -> dict[str, Any]:
        return {}


class ReLU(_Stateless):
    """max(x, 0)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.relu()


class Tanh(_Stateless):
    """tanh x."""

    def forward(self, x: Tensor) -> Tensor:
        return x.tanh()


class Sigmoid(_Stateless):
    """σ(x) = 1 / (1 + e^−x)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.sigmoid()


class LeakyReLU(TensorModule):
    """x where x > 0, else negative_slope·x."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        self.negative_slope = float(negative_slope)

    def forward(self, x: Tensor) -> Tensor:
        return where(x.data > 0, x, x * self.negative_slope)

    def config(self) -> dict[str, Any]:
        return {"negative_slope": self.negative_slope}

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Softmax(TensorModule):
    """e^x / Σ e^x along ``axis``."""

    def __init__(self, axis: int = -1) -> None:
        self.axis = axis

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
        self.start_axis = start_axis

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(self.start_axis)

    def config(self) -> dict[str, Any]:
        return {"start_axis": self.start_axis}


class Dropout(TensorModule):
    """In training mode, zero each element with probability p and scale the rest by 1/(1−p).

    In evaluation mode (``model.eval()``) it passes its input through unchanged.
    """

    def __init__(self, p: float = 0.5, *, rng: Seed = None) -> None:
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p = float(p)
        self._rng = as_generator(rng)

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = self._rng.random(x.shape) >= self.p
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
                raise TypeError(
                    f"Sequential: item {position} is {type(module).__name__}, not a Module"
                )
            setattr(self, str(position), module)
        self._layers = tuple(modules)

    @property
    def layers(self) -> tuple[Module, ...]:
        """The modules, in order."""
        return self._layers

    def forward(self, x: Any) -> Any:
        for layer in self._layers:
            x = layer(x)
        return x

    def __getitem__(self, index: int) -> Module:
        return self._layers[index]

    def __len__(self) -> int:
        return len(self._layers)

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


def _layer_specs(config: Mapping[str, Any]) -> list[Any]:
    layers = config["layers"]
    if not isinstance(layers, list):
        raise ValueError(f"layers must be a list, got {type(layers).__name__}")
    return layers


ACTIVATIONS: dict[str, type[Module]] = {
    "relu": ReLU,
    "tanh": Tanh,
    "sigmoid": Sigmoid,
    "leaky_relu": LeakyReLU,
}


class MLP(Sequential):
    """Linear layers of ``sizes`` on ``nin`` inputs, ``activation`` between, linear output.

    ``MLP(784, [128, 10])`` is Linear(784, 128), ReLU, Linear(128, 10). With ``dropout``
    > 0 a Dropout follows each hidden activation. Weights use Kaiming initialisation for
    ReLU-like activations and Xavier for tanh and sigmoid.
    """

    def __init__(
        self,
        nin: int,
        sizes: Sequence[int],
        activation: str = "relu",
        dropout: float = 0.0,
        *,
        rng: Seed = None,
    ) -> None:
        if not sizes:
            raise ValueError("MLP: sizes must name at least one layer")
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"MLP: unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}"
            )
        generator = as_generator(rng)
        init = "xavier" if activation in ("tanh", "sigmoid") else "kaiming"
        widths = [nin, *sizes]
        layers: list[Module] = []
        for i in range(len(sizes)):
            layers.append(Linear(widths[i], widths[i + 1], init=init, rng=generator))
            if i < len(sizes) - 1:
                layers.append(ACTIVATIONS[activation]())
                if dropout > 0.0:
                    layers.append(Dropout(dropout, rng=generator))
        super().__init__(*layers)
        self.nin, self.sizes = nin, list(sizes)
        self.activation, self.dropout = activation, float(dropout)

    def config(self) -> dict[str, Any]:
        return {
            "nin": self.nin,
            "sizes": self.sizes,
            "activation": self.activation,
            "dropout": self.dropout,
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MLP:
        return cls(**config)

    @classmethod
    def parameter_count(cls, config: Mapping[str, Any]) -> int:
        return perceptron_parameter_count(config)
