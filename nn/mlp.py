"""MLP: the multi-layer perceptron over Tensors, Linear layers with an activation between."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tracegrad.rng import Seed

from . import checks
from .activations import activation as find_activation
from .layers import Dropout, Linear, Sequential
from .module import Module, perceptron_parameter_count


class MLP(Sequential):
    """Linear layers of ``sizes`` on ``nin`` inputs, ``activation`` between, linear output.

    ``MLP(784, [128, 10])`` is Linear(784, 128), ReLU, Linear(128, 10). With ``dropout``
    > 0 a Dropout follows each hidden activation. Weights use Kaiming initialisation for
    ReLU-like activations and Xavier for tanh and sigmoid (see ``activations.py``).
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
        nin = checks.positive_int(nin, "MLP", "nin")
        sizes = checks.sizes(sizes, "MLP", "sizes")
        chosen = find_activation(activation, "MLP")
        dropout = checks.real(dropout, "MLP", "dropout", low=0.0, high=1.0, high_open=True)
        generator = checks.generator(rng, "MLP")
        widths = [nin, *sizes]
        layers: list[Module] = []
        for i in range(len(sizes)):
            layers.append(Linear(widths[i], widths[i + 1], init=chosen.init, rng=generator))
            if i < len(sizes) - 1:
                layers.append(chosen.layer())
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
