"""Minibatches and a seeded train/validation split."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from tracegrad.rng import Seed
from tracegrad.words import counted

from . import checks


def _check_pair(X: Any, y: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    X = checks.numbers(X, what, "X", at_least_1d=True)
    y = checks.numbers(y, what, "y", at_least_1d=True)
    checks.same_length(X, y, what)
    return X, y


def batches(
    X: Any, y: Any, batch_size: int, shuffle: bool = True, rng: Seed = None, drop_last: bool = False
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(X_batch, y_batch) pairs covering the data once, in a random order if ``shuffle``.

    The last batch is smaller when batch_size does not divide the data, unless
    ``drop_last``. Pass ``rng`` (a Generator or a seed) for a reproducible order. The
    arguments are checked when it is called, not when the first batch is asked for.
    """
    X, y = _check_pair(X, y, "batches")
    batch_size = checks.positive_int(batch_size, "batches", "batch_size")
    shuffle = checks.flag(shuffle, "batches", "shuffle")
    generator = checks.generator(rng, "batches")
    drop_last = checks.flag(drop_last, "batches", "drop_last")
    order = generator.permutation(len(X)) if shuffle else None
    return _batches(X, y, batch_size, order, drop_last)


def _batches(
    X: np.ndarray, y: np.ndarray, batch_size: int, order: np.ndarray | None, drop_last: bool
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    stop = len(X) - len(X) % batch_size if drop_last else len(X)
    for start in range(0, stop, batch_size):
        if order is None:
            yield X[start : start + batch_size], y[start : start + batch_size]
        else:
            picked = order[start : start + batch_size]
            yield X[picked], y[picked]


def train_val_split(
    X: Any, y: Any, validation_fraction: float = 0.2, rng: Seed = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, y_train, X_val, y_val): a seeded random split."""
    X, y = _check_pair(X, y, "train_val_split")
    fraction = checks.real(
        validation_fraction, "train_val_split", "validation_fraction",
        low=0.0, high=1.0, low_open=True, high_open=True,
    )  # fmt: skip
    if len(X) < 2:
        raise ValueError(
            f"train_val_split: X has {counted(len(X), 'sample')}; a split needs at least 2 (one "
            "each side)"
        )
    order = checks.generator(rng, "train_val_split").permutation(len(X))
    n_val = min(max(1, round(len(X) * fraction)), len(X) - 1)
    val, train = order[:n_val], order[n_val:]
    return X[train], y[train], X[val], y[val]
