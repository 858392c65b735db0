"""The activations, declared once: each one's Tensor layer, its Value method, the weight
initialisation that suits it, and its names in ONNX, PyTorch and micrograd's reprs.

Everything that lists activations reads ``ACTIVATIONS``: ``MLP(activation=...)``, the
scalar networks' ``activation=``, the command line's ``--activation``, the ONNX export
and the PyTorch conversion. A new activation is its op in autograd, a layer class here
and one ``Activation`` line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from autograd import Tensor, Value, where

from . import checks
from .layers import TensorModule


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
        self.negative_slope = checks.real(negative_slope, "LeakyReLU", "negative_slope")

    def forward(self, x: Tensor) -> Tensor:
        return where(x.data > 0, x, x * self.negative_slope)

    def config(self) -> dict[str, Any]:
        return {"negative_slope": self.negative_slope}

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


@dataclass(frozen=True)
class Activation:
    """One activation under all its names."""

    name: str
    #: The Tensor layer that applies it.
    layer: type[TensorModule]
    #: The Value method that applies it to one scalar (None: for Tensors only).
    scalar: Callable[[Value], Value] | None
    #: "kaiming" for the ReLU-like, "xavier" for the saturating (tanh, sigmoid).
    init: str
    #: Its ONNX operator and its torch.nn class.
    onnx: str
    torch: str


ACTIVATIONS: dict[str, Activation] = {
    activation.name: activation
    for activation in (
        Activation("relu", ReLU, Value.relu, "kaiming", "Relu", "ReLU"),
        Activation("tanh", Tanh, Value.tanh, "xavier", "Tanh", "Tanh"),
        Activation("sigmoid", Sigmoid, Value.sigmoid, "xavier", "Sigmoid", "Sigmoid"),
        Activation("leaky_relu", LeakyReLU, None, "kaiming", "LeakyRelu", "LeakyReLU"),
    )
}


def activation(name: str, who: str) -> Activation:
    """The activation called ``name``; an error naming ``who`` and the choices if none is."""
    return ACTIVATIONS[checks.choice(name, ACTIVATIONS, who, "activation")]


def of_layer(module: Any) -> Activation | None:
    """The activation a layer applies, or None if it is not an activation layer."""
    for entry in ACTIVATIONS.values():
        if type(module) is entry.layer:
            return entry
    return None
