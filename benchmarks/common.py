"""What the benchmark scripts share: the same MLP as a PyTorch model, when PyTorch is there."""

from __future__ import annotations

from typing import Any

import numpy as np

Weights = list[tuple[np.ndarray, np.ndarray]]


def torch_mlp(initial: Weights) -> Any | None:
    """Linear layers holding ``initial``'s (weight, bias) pairs, ReLU between; None without
    PyTorch (it is installed in the benchmarks' environment only)."""
    try:
        import torch
    except ImportError:
        return None
    layers: list[Any] = []
    for i, (w, b) in enumerate(initial):
        linear = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w))
            linear.bias.copy_(torch.from_numpy(b))
        layers.append(linear)
        if i < len(initial) - 1:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)
