"""Minibatches and a seeded train/validation split."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from tracegrad.rng import Seed, as_generator


def _check_pair(X: Any, y: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"{what}: X has {len(X)} samples but y has {len(y)}")
    return X, y


def batches(
    X: Any, y: Any, batch_size: int, shuffle: bool = True, rng: Seed = None, drop_last: bool = False
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(X_batch, y_batch) pairs covering the data once, in a random order if ``shuffle``.

    The last batch is smaller when batch_size does not divide the data, unless
    ``drop_last``. Pass ``rng`` (a Generator or a seed) for a reproducible order.
    """
    X, y = _check_pair(X, y, "batches")
    if batch_size < 1:
        raise ValueError(f"batches: batch_size must be at least 1, got {batch_size}")
    order = as_generator(rng).permutation(len(X)) if shuffle else None
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
    if not 0.0 < validation_fraction < 1.0:
        raise ValueError(
            f"train_val_split: validation_fraction must be in (0, 1), got {validation_fraction}"
        )
    order = as_generator(rng).permutation(len(X))
    n_val = max(1, round(len(X) * validation_fraction))
    val, train = order[:n_val], order[n_val:]
    return X[train], y[train], X[val], y[val]
