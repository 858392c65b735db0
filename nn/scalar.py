"""Neurons, layers and multi-layer perceptrons over scalar ``Value`` nodes (micrograd-sized).

A neuron computes act(w·x + b) = act(Σ_i w_i x_i + b), its sum as one fused node
(``Value.linear``). Weights are drawn uniformly from
[−1, 1] and biases start at 0, as in micrograd, from an explicit numpy Generator.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from autograd import Value
from autograd.rng import Seed, as_generator

from .module import Module

Activation = Callable[[Value], Value]

#: The activations a neuron can apply, by name.
ACTIVATIONS: dict[str, Activation | None] = {
    "relu": Value.relu,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "linear": None,
}


def _activation(name: str) -> Activation | None:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]


def _count(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"a size must be a positive integer, got {value!r}")
    return value


class _ScalarModule(Module):
    #: A Value, its float and its list slot: about 150 bytes, not 4.
    bytes_per_parameter = 150


class Neuron(_ScalarModule):
    """act(Σ_i w_i x_i + b) for ``nin`` inputs; ``activation`` is a name from ``ACTIVATIONS``."""

    @classmethod
    def parameter_count(cls, config: Mapping[str, Any]) -> int:
        return _count(config["nin"]) + 1

    def __init__(self, nin: int, activation: str = "relu", *, rng: Seed = None) -> None:
        if nin < 1:
            raise ValueError(f"Neuron: nin must be at least 1, got {nin}")
        generator = as_generator(rng)
        self.w = [Value(float(x)) for x in generator.uniform(-1.0, 1.0, nin)]
        self.b = Value(0.0)
        self.activation = activation
        self._act = _activation(activation)

    def forward(self, x: Sequence[Value | float]) -> Value:
        if len(x) != len(self.w):
            raise ValueError(f"Neuron: expected {len(self.w)} inputs, got {len(x)}")
        z = Value.linear(self.w, x, self.b)
        return self._act(z) if self._act is not None else z

    def config(self) -> dict[str, Any]:
        return {"nin": len(self.w), "activation": self.activation}

    def __repr__(self) -> str:
        return f"Neuron({len(self.w)}, activation={self.activation!r})"


class Layer(_ScalarModule):
    """``nout`` neurons that see the same ``nin`` inputs; always returns a list of Values."""

    @classmethod
    def parameter_count(cls, config: Mapping[str, Any]) -> int:
        return _count(config["nout"]) * (_count(config["nin"]) + 1)

    def __init__(
        self,
        nin: int,
        nout: int,
        activation: str = "relu",
        *,
        rng: Seed = None,
    ) -> None:
        generator = as_generator(rng)
        self.neurons = [Neuron(nin, activation, rng=generator) for _ in range(nout)]

    def forward(self, x: Sequence[Value | float]) -> list[Value]:
        inputs = [xi if isinstance(xi, Value) else Value(xi, requires_grad=False) for xi in x]
        return [neuron(inputs) for neuron in self.neurons]

    def config(self) -> dict[str, Any]:
        first = self.neurons[0]
        return {"nin": len(first.w), "nout": len(self.neurons), "activation": first.activation}

    def __repr__(self) -> str:
        first = self.neurons[0]
        return f"Layer({len(first.w)}, {len(self.neurons)}, activation={first.activation!r})"


class MLP(_ScalarModule):
    """Layers of sizes ``sizes`` on ``nin`` inputs: ``activation`` between, linear output.

    ``MLP(2, [16, 16, 1])`` maps 2 numbers to a list of 1 Value through two hidden layers
    of 16 neurons.
    """

    def __init__(
        self,
        nin: int,
        sizes: Sequence[int],
        activation: str = "relu",
        *,
        rng: Seed = None,
    ) -> None:
        if not sizes:
            raise ValueError("MLP: sizes must name at least one layer")
        _activation(activation)
        generator = as_generator(rng)
        self.nin, self.sizes, self.activation = nin, list(sizes), activation
        widths = [nin, *sizes]
        self.layers = [
            Layer(
                widths[i],
                widths[i + 1],
                activation if i < len(sizes) - 1 else "linear",
                rng=generator,
            )
            for i in range(len(sizes))
        ]

    def forward(self, x: Sequence[Value | float]) -> list[Value]:
        out: Sequence[Value | float] = x
        for layer in self.layers:
            out = layer(out)
        return list(out)  # type: ignore[arg-type]

    def config(self) -> dict[str, Any]:
        return {"nin": self.nin, "sizes": self.sizes, "activation": self.activation}

    @classmethod
    def parameter_count(cls, config: Mapping[str, Any]) -> int:
        sizes = config["sizes"]
        if not isinstance(sizes, list):
            raise ValueError(f"sizes must be a list, got {type(sizes).__name__}")
        widths = [_count(config["nin"]), *[_count(size) for size in sizes]]
        return sum(a * b + b for a, b in itertools.pairwise(widths))

    def __repr__(self) -> str:
        return "MLP(\n" + "\n".join(f"  {layer!r}" for layer in self.layers) + "\n)"
