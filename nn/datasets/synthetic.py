"""Synthetic data sets, made by our own seeded code.

Every generator takes ``rng`` (a numpy Generator or a seed) and returns ``(X, y)``: X of
shape (n, features) as float64, y as integer class labels (real numbers for
``regression``). Its arguments are checked as the rest of the library's are
(``nn.checks``): a size is an int, a spread a finite number not below 0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tracegrad.rng import Seed

from .. import checks


def moons(n: int = 100, noise: float = 0.1, *, rng: Seed = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles, labels 0 (upper moon) and 1 (lower moon).

    The upper moon is (cos t, sin t) and the lower (1 − cos t, 0.5 − sin t) for t in
    [0, π]; Gaussian noise of standard deviation ``noise`` is added to each coordinate.
    """
    n = checks.integer(n, "moons", "n", minimum=2)
    noise = checks.real(noise, "moons", "noise", low=0.0)
    generator = checks.generator(rng, "moons")
    n_upper = n // 2
    n_lower = n - n_upper
    t_upper = np.linspace(0.0, np.pi, n_upper)
    t_lower = np.linspace(0.0, np.pi, n_lower)
    X = np.concatenate(
        [
            np.stack([np.cos(t_upper), np.sin(t_upper)], axis=1),
            np.stack([1.0 - np.cos(t_lower), 0.5 - np.sin(t_lower)], axis=1),
        ]
    )
    y = np.concatenate([np.zeros(n_upper, dtype=np.int64), np.ones(n_lower, dtype=np.int64)])
    X = X + generator.normal(0.0, noise, size=X.shape)
    order = generator.permutation(n)
    return X[order], y[order]


def circles(
    n: int = 200, noise: float = 0.1, factor: float = 0.5, *, rng: Seed = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A circle of radius 1 (label 0) around one of radius ``factor`` (label 1), with noise."""
    n = checks.positive_int(n, "circles", "n")
    noise = checks.real(noise, "circles", "noise", low=0.0)
    factor = checks.real(
        factor, "circles", "factor", low=0.0, high=1.0, low_open=True, high_open=True
    )
    generator = checks.generator(rng, "circles")
    n_outer = n // 2
    angles = generator.uniform(0.0, 2.0 * np.pi, n)
    radius = np.where(np.arange(n) < n_outer, 1.0, factor)
    X = np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1)
    X = X + generator.normal(0.0, noise, X.shape)
    y = (np.arange(n) >= n_outer).astype(np.int64)
    order = generator.permutation(n)
    return X[order], y[order]


def spiral(
    n: int = 300, classes: int = 3, noise: float = 0.2, *, rng: Seed = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``classes`` interleaved spiral arms (CS231n's spiral set), n points in all.

    Arm k has radius r ∈ [0, 1] and angle 4r + 2πk/classes plus Gaussian noise of
    standard deviation ``noise``.
    """
    n = checks.positive_int(n, "spiral", "n")
    classes = checks.integer(classes, "spiral", "classes", minimum=2)
    noise = checks.real(noise, "spiral", "noise", low=0.0)
    generator = checks.generator(rng, "spiral")
    y = np.arange(n) % classes
    radius = generator.uniform(0.0, 1.0, n)
    angle = 4.0 * radius + 2.0 * np.pi * y / classes + generator.normal(0.0, noise, n)
    X = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)
    return X, y.astype(np.int64)


def blobs(
    n: int = 300, centers: int = 3, std: float = 0.6, *, rng: Seed = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs of standard deviation ``std`` around ``centers`` random centres."""
    n = checks.positive_int(n, "blobs", "n")
    centers = checks.positive_int(centers, "blobs", "centers")
    std = checks.real(std, "blobs", "std", low=0.0)
    generator = checks.generator(rng, "blobs")
    middles = generator.uniform(-4.0, 4.0, (centers, 2))
    y = np.arange(n) % centers
    X = middles[y] + generator.normal(0.0, std, (n, 2))
    order = generator.permutation(n)
    return X[order], y[order].astype(np.int64)


def xor(n: int = 200, noise: float = 0.1, *, rng: Seed = 0) -> tuple[np.ndarray, np.ndarray]:
    """Four clusters at the corners (±1, ±1); label 1 where the signs of x1 and x2 differ."""
    n = checks.positive_int(n, "xor", "n")
    noise = checks.real(noise, "xor", "noise", low=0.0)
    generator = checks.generator(rng, "xor")
    corners = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
    which = np.arange(n) % 4
    X = corners[which] + generator.normal(0.0, noise, (n, 2))
    y = np.array([0, 1, 1, 0])[which].astype(np.int64)
    order = generator.permutation(n)
    return X[order], y[order]


def classification(
    n: int = 200, flip: float = 0.2, separation: float = 1.5, *, rng: Seed = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The lesson's set: two features, two Gaussian classes, and label noise.

    Class 0 is centred at (−s, −s) and class 1 at (s, s) (s = ``separation``), with unit
    variance; then a fraction ``flip`` of the samples get a label drawn at random (so
    about flip/2 of all labels are wrong), as scikit-learn's ``make_classification``
    does with ``flip_y``.
    """
    n = checks.positive_int(n, "classification", "n")
    flip = checks.real(flip, "classification", "flip", low=0.0, high=1.0)
    separation = checks.real(separation, "classification", "separation")
    generator = checks.generator(rng, "classification")
    y = (np.arange(n) % 2).astype(np.int64)
    X = np.where(y[:, None] == 1, separation, -separation) + generator.normal(0.0, 1.0, (n, 2))
    noisy = generator.random(n) < flip
    y = np.where(noisy, generator.integers(0, 2, n), y).astype(np.int64)
    order = generator.permutation(n)
    return X[order], y[order]


def regression_function(x: Any) -> np.ndarray:
    """The noiseless function behind ``regression``: sin(x) + 0.3·x, of numbers ``x``."""
    x = checks.numbers(x, "regression_function", "x", np.float64)
    return np.sin(x) + 0.3 * x


def regression(n: int = 500, noise: float = 0.3, *, rng: Seed = 0) -> tuple[np.ndarray, np.ndarray]:
    """y = sin(x) + 0.3·x + ε for x uniform on [−3, 3] and ε ~ N(0, noise²).

    X and y both have shape (n, 1): one feature in, one output out, so that y has the
    shape of a model's output, as the losses require.
    """
    n = checks.positive_int(n, "regression", "n")
    noise = checks.real(noise, "regression", "noise", low=0.0)
    generator = checks.generator(rng, "regression")
    x = generator.uniform(-3.0, 3.0, n)
    y = regression_function(x) + generator.normal(0.0, noise, n)
    return x[:, None], y[:, None]


#: The synthetic sets by name, as the command line knows them.
SYNTHETIC: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "moons": moons,
    "circles": circles,
    "spiral": spiral,
    "blobs": blobs,
    "xor": xor,
    "classification": classification,
    "regression": regression,
}
