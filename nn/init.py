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
from typing import Any

import numpy as np

from tracegrad.rng import Seed

from . import checks

INITIALISERS = ("kaiming", "xavier")


def kaiming_uniform(
    shape: tuple[int, int], rng: Seed = None, dtype: Any = np.float32
) -> np.ndarray:
    """U(−√(6/fan_in), √(6/fan_in)) for a weight of shape (fan_out, fan_in)."""
    fan_out, fan_in = _weight_shape(shape, "kaiming_uniform")
    bound = np.sqrt(6.0 / fan_in)
    generator = checks.generator(rng, "kaiming_uniform")
    return generator.uniform(-bound, bound, (fan_out, fan_in)).astype(
        _any_float_dtype(dtype, "kaiming_uniform")
    )


def xavier_uniform(shape: tuple[int, int], rng: Seed = None, dtype: Any = np.float32) -> np.ndarray:
    """U(−√(6/(fan_in + fan_out)), +√(6/(fan_in + fan_out))) for shape (fan_out, fan_in)."""
    fan_out, fan_in = _weight_shape(shape, "xavier_uniform")
    bound = np.sqrt(6.0 / (fan_in + fan_out))
    generator = checks.generator(rng, "xavier_uniform")
    return generator.uniform(-bound, bound, (fan_out, fan_in)).astype(
        _any_float_dtype(dtype, "xavier_uniform")
    )


def _weight_shape(shape: object, where: str) -> tuple[int, int]:
    """A weight's shape: (fan_out, fan_in), two positive sizes (a fan of 0 divides by 0)."""
    if not isinstance(shape, (tuple, list)) or len(shape) != 2:
        checks.wrong_type(where, "shape", "a weight's shape (fan_out, fan_in)", shape)
    sizes = checks.shape(shape, where, "shape")
    return sizes[0], sizes[1]


def _any_float_dtype(dtype: object, where: str) -> np.dtype[Any]:
    """A floating-point dtype to draw weights in."""
    chosen = None
    if isinstance(dtype, (type, np.dtype, str)):
        try:
            chosen = np.dtype(dtype)
        except TypeError:
            chosen = None
    if chosen is None or chosen.kind != "f":
        checks.wrong_type(where, "dtype", "a float dtype such as np.float32", dtype)
    return chosen


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
    name: str, shape: tuple[int, int], rng: Seed = None, dtype: Any = np.float32
) -> np.ndarray:
    """The initialiser called ``name`` ("kaiming" or "xavier") applied to ``shape``."""
    checks.choice(name, INITIALISERS, "initialise", "name")
    shape = _weight_shape(shape, "initialise")
    dtype = _any_float_dtype(dtype, "initialise")
    rng = checks.generator(rng, "initialise")
    if _unfilled.get():
        return np.zeros(shape, dtype)
    if name == "kaiming":
        return kaiming_uniform(shape, rng, dtype)
    if name == "xavier":
        return xavier_uniform(shape, rng, dtype)
    raise ValueError(f"unknown initialiser {name!r}; choose one of {INITIALISERS}")
