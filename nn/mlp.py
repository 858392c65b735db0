"""MLP: the multi-layer perceptron over Tensors, Linear layers with an activation between."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tracegrad.rng import Seed

from . import checks
from .activations import activation as find_activation
from .layers import Dropout, Linear, Sequential, float_dtype
from .modelfile import MODULE_BYTES, TENSOR_BYTES
from .module import Module, perceptron_parameter_count


class MLP(Sequential):
    """Linear layers of ``sizes`` on ``nin`` inputs, ``activation`` between, linear output.

    ``MLP(784, [128, 10])`` is Linear(784, 128), ReLU, Linear(128, 10). With ``dropout``
    > 0 a Dropout follows each hidden activation. Weights use Kaiming initialisation for
    ReLU-like activations and Xavier for tanh and sigmoid (see ``activations.py``), in
    ``dtype`` (float32 by default).
    """

    def __init__(
        self,
        nin: int,
        sizes: Sequence[int],
        activation: str = "relu",
        dropout: float = 0.0,
        *,
        rng: Seed = None,
        dtype: Any = np.float32,
    ) -> None:
        nin = checks.positive_int(nin, "MLP", "nin")
        sizes = checks.sizes(sizes, "MLP", "sizes")
        chosen = find_activation(activation, "MLP")
        dropout = checks.real(dropout, "MLP", "dropout", low=0.0, high=1.0, high_open=True)
        generator = checks.generator(rng, "MLP")
        dtype = float_dtype(dtype, "MLP")
        widths = [nin, *sizes]
        layers: list[Module] = []
        for i in range(len(sizes)):
            layers.append(
                Linear(widths[i], widths[i + 1], init=chosen.init, rng=generator, dtype=dtype)
            )
            if i < len(sizes) - 1:
                layers.append(chosen.layer())
                if dropout > 0.0:
                    layers.append(Dropout(dropout, rng=generator))
        super().__init__(*layers)
        self.nin, self.sizes = nin, list(sizes)
        self.activation, self.dropout = activation, float(dropout)

    def config(self) -> dict[str, Any]:
        dtypes = {layer.config()["dtype"] for layer in self.layers if isinstance(layer, Linear)}
        if len(dtypes) != 1:
            raise NotImplementedError(f"MLP: layers of several dtypes ({sorted(dtypes)})")
        return {
            "nin": self.nin,
            "sizes": self.sizes,
            "activation": self.activation,
            "dropout": self.dropout,
            "dtype": dtypes.pop(),
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MLP:
        return cls(**config)

    @classmethod
    def parameter_count(cls, config: Mapping[str, Any]) -> int:
        return perceptron_parameter_count(config)

    @classmethod
    def memory_bytes(cls, config: Mapping[str, Any]) -> int:
        layers = len(config["sizes"])
        # Linear layers, the activations between them and their dropouts: 3 per layer.
        modules = 1 + 3 * layers
        itemsize = np.dtype(config.get("dtype", "float32")).itemsize
        return (
            modules * MODULE_BYTES
            + 2 * layers * TENSOR_BYTES
            + cls.parameter_count(config) * itemsize
        )
