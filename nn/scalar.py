"""Neurons, layers and multi-layer perceptrons over scalar ``Value`` nodes: micrograd's nn.

A neuron computes act(w·x + b) = act(Σ_i w_i x_i + b), its sum as one fused node
(``Value.linear``). Weights are drawn uniformly from [−1, 1] and biases start at 0, as in
micrograd. The names and behaviour are micrograd's, so code written for micrograd 0.1.0
runs with only its imports changed (``from nn.scalar import Neuron, Layer, MLP``):

- ``Neuron(nin, nonlin=True)`` is ReLU(w·x + b), or w·x + b with ``nonlin=False``;
  ``activation=`` names any of ``ACTIVATIONS`` instead;
- a ``Layer`` or ``MLP`` with one output returns a ``Value``, with several a list;
- without ``rng`` the weights come from Python's ``random`` module, in micrograd's order,
  so ``random.seed(1337)`` gives micrograd's weights; with ``rng`` (a numpy Generator or
  a seed) they come from numpy, reproducibly, whatever ``random`` is doing;
- the reprs are micrograd's (``ReLUNeuron(2)``, ``Layer of [...]``, ``MLP of [...]``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from autograd import Tensor, Value
from tracegrad.rng import Seed
from tracegrad.words import counted

from . import checks
from .activations import ACTIVATIONS as SHARED_ACTIVATIONS
from .modelfile import MODULE_BYTES, VALUE_BYTES
from .module import Module, perceptron_parameter_count, positive_size

Activation = Callable[[Value], Value]

#: The activations a neuron can apply, by name: those of ``nn.activations`` that Values
#: have, and "linear" for none.
ACTIVATIONS: dict[str, Activation | None] = {
    name: entry.scalar for name, entry in SHARED_ACTIVATIONS.items() if entry.scalar is not None
} | {"linear": None}


def _activation(name: str, where: str) -> Activation | None:
    return ACTIVATIONS[checks.choice(name, ACTIVATIONS, where, "activation")]


def _shown(name: str) -> str:
    """How a neuron of this activation is shown: micrograd's ReLUNeuron, LinearNeuron..."""
    return "Linear" if name == "linear" else SHARED_ACTIVATIONS[name].layer.__name__


def _chosen(nonlin: bool | str, activation: str | None, where: str) -> str:
    """The activation's name: ``activation`` if given, else micrograd's ReLU or linear.

    A name where ``nonlin`` stands (``Neuron(3, "tanh")``) is taken as the activation.
    """
    if activation is not None:
        checks.choice(activation, ACTIVATIONS, where, "activation")
    if isinstance(nonlin, str):
        checks.choice(nonlin, ACTIVATIONS, where, "nonlin")
        if activation is not None and activation != nonlin:
            raise ValueError(
                f"{where}: two activations given: nonlin={nonlin!r} and activation={activation!r}"
            )
        return nonlin
    if not isinstance(nonlin, (bool, np.bool_)):
        checks.wrong_type(where, "nonlin", "True, False or an activation's name", nonlin)
    if activation is not None:
        return activation
    return "relu" if nonlin else "linear"


def _uniform_weights(nin: int, rng: np.random.Generator | None) -> list[float]:
    """nin weights uniform on [−1, 1]: from Python's ``random`` (micrograd's) when rng is
    None, else from the numpy Generator."""
    if rng is None:
        return [random.uniform(-1, 1) for _ in range(nin)]
    return rng.uniform(-1.0, 1.0, nin).tolist()


def _generator(rng: Seed | np.random.Generator, where: str) -> np.random.Generator | None:
    """None stays None (Python's ``random``, micrograd's); a seed or Generator, checked."""
    return None if rng is None else checks.generator(rng, where)


def _as_inputs(x: Any, what: str) -> list[Value | float]:
    """One sample's inputs as a list of Values and numbers (a Tensor or array is unpacked)."""
    if isinstance(x, Tensor):
        x = x.data
    if isinstance(x, np.ndarray):
        if x.ndim != 1:
            raise ValueError(
                f"{what}: takes one sample, a sequence of numbers; got an array of shape "
                f"{x.shape} (for a batch, call it on each row, or use nn.predict)"
            )
        return x.tolist()
    if isinstance(x, (int, float, Value)):
        return [x]
    return list(x)


class _ScalarModule(Module):
    _type_prefix = "scalar."
    #: A Value, its float and its list slot: far more than 4 bytes.
    bytes_per_parameter = VALUE_BYTES

    @classmethod
    def memory_bytes(cls, config: Mapping[str, Any]) -> int:
        # A module object per neuron, per layer and for the whole, and the Values.
        widths = [config["nin"], *config.get("sizes", [config.get("nout", 1)])]
        neurons = sum(widths[1:])
        modules = 1 + neurons + len(widths) - 1
        return modules * MODULE_BYTES + cls.parameter_count(config) * VALUE_BYTES


class Neuron(_ScalarModule):
    """act(Σ_i w_i x_i + b) for ``nin`` inputs: ReLU when ``nonlin`` (micrograd's default),
    linear without; ``activation`` picks any name from ``ACTIVATIONS`` instead."""

    def __init__(
        self,
        nin: int,
        nonlin: bool | str = True,
        *,
        activation: str | None = None,
        rng: Seed | np.random.Generator = None,
    ) -> None:
        nin = checks.positive_int(nin, "Neuron", "nin")
        self.activation = _chosen(nonlin, activation, "Neuron")
        self._act = _activation(self.activation, "Neuron")
        self.w = [Value(x) for x in _uniform_weights(nin, _generator(rng, "Neuron"))]
        self.b = Value(0.0)

    @property
    def nonlin(self) -> bool:
        """Whether an activation follows the sum (micrograd's name)."""
        return self.activation != "linear"

    def forward(self, x: Any) -> Value:
        inputs = _as_inputs(x, "Neuron")
        if len(inputs) != len(self.w):
            raise ValueError(f"Neuron: expected {counted(len(self.w), 'input')}, got {len(inputs)}")
        z = Value.linear(self.w, inputs, self.b)
        return self._act(z) if self._act is not None else z

    def config(self) -> dict[str, Any]:
        return {"nin": len(self.w), "activation": self.activation}

    @classmethod
    def parameter_count(cls, config: Mapping[str, Any]) -> int:
        return positive_size(config["nin"]) + 1

    def __repr__(self) -> str:
        return f"{_shown(self.activation)}Neuron({len(self.w)})"


class Layer(_ScalarModule):
    """``nout`` neurons that see the same ``nin`` inputs: a Value for one output, else a list."""

    def __init__(
        self,
        nin: int,
        nout: int,
        nonlin: bool | str = True,
        *,
        activation: str | None = None,
        rng: Seed | np.random.Generator = None,
    ) -> None:
        checks.positive_int(nin, "Layer", "nin")
        nout = checks.positive_int(nout, "Layer", "nout")
        name = _chosen(nonlin, activation, "Layer")
        generator = _generator(rng, "Layer")
        self.neurons = [Neuron(nin, activation=name, rng=generator) for _ in range(nout)]

    def forward(self, x: Any) -> Value | list[Value]:
        inputs = [
            xi if isinstance(xi, Value) else Value(xi, False) for xi in _as_inputs(x, "Layer")
        ]
        out = [neuron(inputs) for neuron in self.neurons]
        return out[0] if len(out) == 1 else out

    def config(self) -> dict[str, Any]:
        first = self.neurons[0]
        return {"nin": len(first.w), "nout": len(self.neurons), "activation": first.activation}

    @classmethod
    def parameter_count(cls, config: Mapping[str, Any]) -> int:
        return positive_size(config["nout"]) * (positive_size(config["nin"]) + 1)

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(neuron) for neuron in self.neurons)}]"


class MLP(_ScalarModule):
    """Layers of sizes ``sizes`` on ``nin`` inputs: ``activation`` between, linear output.

    ``MLP(2, [16, 16, 1])`` maps 2 numbers to one Value through two hidden layers of 16
    ReLU neurons, as micrograd's ``MLP(nin, nouts)``.
    """

    def __init__(
        self,
        nin: int,
        sizes: Sequence[int],
        activation: str = "relu",
        *,
        rng: Seed | np.random.Generator = None,
    ) -> None:
        nin = checks.positive_int(nin, "MLP", "nin")
        sizes = checks.sizes(sizes, "MLP", "sizes")
        _activation(activation, "MLP")
        generator = _generator(rng, "MLP")
        self.nin, self.sizes, self.activation = nin, list(sizes), activation
        widths = [nin, *sizes]
        self.layers = [
            Layer(
                widths[i],
                widths[i + 1],
                activation=activation if i < len(sizes) - 1 else "linear",
                rng=generator,
            )
            for i in range(len(sizes))
        ]

    def forward(self, x: Any) -> Value | list[Value]:
        out: Any = x
        for layer in self.layers:
            out = layer(out)
        return out

    def config(self) -> dict[str, Any]:
        return {"nin": self.nin, "sizes": self.sizes, "activation": self.activation}

    @classmethod
    def parameter_count(cls, config: Mapping[str, Any]) -> int:
        return perceptron_parameter_count(config)

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
