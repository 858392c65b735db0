"""Weight initialisers; each draws from an explicit numpy Generator.

For a layer with fan_in inputs and fan_out outputs:

- Kaiming (He) uniform, for ReLU networks: U(−b, b) with b = √(6 / fan_in), which keeps
  the variance of the activations constant from layer to layer (Var w = 2 / fan_in).
- Xavier (Glorot) uniform, for tanh and sigmoid: b = √(6 / (fan_in + fan_out)).

Inside ``with unfilled():`` the initialisers draw nothing and return zeros: ``nn.load``
builds a model that way, since the file's weights replace them at once (and random
draws in float64 would take twice the memory of the float32 weights they make).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

import numpy as np

from tracegrad.rng import Seed, as_generator

INITIALISERS = ("kaiming", "xavier")


def kaiming_uniform(
    shape: tuple[int, int], rng: Seed = None, dtype: type = np.float32
) -> np.ndarray:
    """U(−√(6/fan_in), √(6/fan_in)) for a weight of shape (fan_out, fan_in)."""
    fan_in = shape[1]
    bound = np.sqrt(6.0 / fan_in)
    return as_generator(rng).uniform(-bound, bound, shape).astype(dtype)


def xavier_uniform(
    shape: tuple[int, int], rng: Seed = None, dtype: type = np.float32
) -> np.ndarray:
    """U(−√(6/(fan_in + fan_out)), +√(6/(fan_in + fan_out))) for shape (fan_out, fan_in)."""
    fan_out, fan_in = shape
    bound = np.sqrt(6.0 / (fan_in + fan_out))
    return as_generator(rng).uniform(-bound, bound, shape).astype(dtype)


_unfilled: contextvars.ContextVar[bool] = contextvars.ContextVar("unfilled", default=False)


@contextlib.contextmanager
def unfilled() -> Iterator[None]:
    """Within the block, ``initialise`` returns zeros (weights about to be overwritten)."""
    token = _unfilled.set(True)
    try:
        yield
    finally:
        _unfilled.reset(token)


def initialise(
    name: str, shape: tuple[int, int], rng: Seed = None, dtype: type = np.float32
) -> np.ndarray:
    """The initialiser called ``name`` ("kaiming" or "xavier") applied to ``shape``."""
    if name not in INITIALISERS:
        raise ValueError(f"unknown initialiser {name!r}; choose one of {INITIALISERS}")
    if _unfilled.get():
        return np.zeros(shape, dtype)
    if name == "kaiming":
        return kaiming_uniform(shape, rng, dtype)
    if name == "xavier":
        return xavier_uniform(shape, rng, dtype)
    raise ValueError(f"unknown initialiser {name!r}; choose one of {INITIALISERS}")
