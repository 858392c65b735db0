"""nn.data and nn.datasets: batches cover the data once; sets are seeded and well formed."""

from __future__ import annotations

import numpy as np
import pytest

import nn
from nn.data import batches, train_val_split


def test_batches_cover_every_sample_once_in_a_seeded_order() -> None:
    X, y = np.arange(10)[:, None], np.arange(10)
    seen = [yb for _, yb in batches(X, y, 3, rng=0)]
    assert [len(b) for b in seen] == [3, 3, 3, 1]
    assert sorted(np.concatenate(seen).tolist()) == list(range(10))
    again = [yb for _, yb in batches(X, y, 3, rng=0)]
    assert all(np.array_equal(a, b) for a, b in zip(seen, again))
    for xb, yb in batches(X, y, 3, rng=1):
        assert np.array_equal(xb[:, 0], yb)


def test_batches_without_shuffle_and_with_drop_last() -> None:
    X, y = np.arange(7)[:, None], np.arange(7)
    assert [b.tolist() for _, b in batches(X, y, 3, shuffle=False)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert len(list(batches(X, y, 3, drop_last=True))) == 2
    with pytest.raises(ValueError, match="X has 7 samples but y has 6"):
        list(batches(X, y[:6], 3))


def test_train_val_split_is_seeded_and_disjoint() -> None:
    X, y = np.arange(100)[:, None], np.arange(100)
    _, y_train, _, y_val = train_val_split(X, y, 0.25, rng=3)
    assert len(y_val) == 25 and len(y_train) == 75
    assert set(y_train.tolist()).isdisjoint(y_val.tolist())
    assert np.array_equal(train_val_split(X, y, 0.25, rng=3)[3], y_val)


@pytest.mark.parametrize("name", sorted(nn.datasets.SYNTHETIC))
def test_synthetic_sets_are_seeded_and_well_formed(name: str) -> None:
    make = nn.datasets.SYNTHETIC[name]
    X, y = make(120, rng=5)
    X2, y2 = make(120, rng=5)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    assert X.shape[0] == y.shape[0] == 120 and np.all(np.isfinite(X))
    assert not np.array_equal(make(120, rng=6)[0], X)
    if name != "regression":
        assert y.dtype == np.int64 and len(np.unique(y)) >= 2


def test_spiral_classes_and_regression_noise() -> None:
    _, y = nn.datasets.spiral(300, classes=4)
    assert sorted(np.unique(y).tolist()) == [0, 1, 2, 3]
    X, y = nn.datasets.regression(5000, noise=0.3, rng=0)
    assert X.shape == y.shape == (5000, 1)  # y has the shape of a one-output model
    residual = y[:, 0] - nn.datasets.regression_function(X[:, 0])
    assert residual.std() == pytest.approx(0.3, rel=0.05)
