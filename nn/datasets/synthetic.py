"""Synthetic data sets, made by our own seeded code.

Every generator takes ``rng`` (a numpy Generator or a seed) and returns ``(X, y)``: X of
shape (n, features) as float64, y as integer class labels (real numbers for
``regression``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tracegrad.rng import Seed, as_generator


def moons(n: int = 100, noise: float = 0.1, *, rng: Seed = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles, labels 0 (upper moon) and 1 (lower moon).

    The upper moon is (cos t, sin t) and the lower (1 − cos t, 0.5 − sin t) for t in
    [0, π]; Gaussian noise of standard deviation ``noise`` is added to each coordinate.
    """
    if n < 2:
        raise ValueError(f"moons: n must be at least 2, got {n}")
    generator = as_generator(rng)
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
    if not 0.0 < factor < 1.0:
        raise ValueError(f"circles: factor must be in (0, 1), got {factor}")
    generator = as_generator(rng)
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
    if classes < 2:
        raise ValueError(f"spiral: classes must be at least 2, got {classes}")
    generator = as_generator(rng)
    y = np.arange(n) % classes
    radius = generator.uniform(0.0, 1.0, n)
    angle = 4.0 * radius + 2.0 * np.pi * y / classes + generator.normal(0.0, noise, n)
    X = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)
    return X, y.astype(np.int64)


def blobs(
    n: int = 300, centers: int = 3, std: float = 0.6, *, rng: Seed = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs of standard deviation ``std`` around ``centers`` random centres."""
    if centers < 1:
        raise ValueError(f"blobs: centers must be at least 1, got {centers}")
    generator = as_generator(rng)
    middles = generator.uniform(-4.0, 4.0, (centers, 2))
    y = np.arange(n) % centers
    X = middles[y] + generator.normal(0.0, std, (n, 2))
    order = generator.permutation(n)
    return X[order], y[order].astype(np.int64)


def xor(n: int = 200, noise: float = 0.1, *, rng: Seed = 0) -> tuple[np.ndarray, np.ndarray]:
    """Four clusters at the corners (±1, ±1); label 1 where the signs of x1 and x2 differ."""
    generator = as_generator(rng)
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
    if not 0.0 <= flip <= 1.0:
        raise ValueError(f"classification: flip must be in [0, 1], got {flip}")
    generator = as_generator(rng)
    y = (np.arange(n) % 2).astype(np.int64)
    X = np.where(y[:, None] == 1, separation, -separation) + generator.normal(0.0, 1.0, (n, 2))
    noisy = generator.random(n) < flip
    y = np.where(noisy, generator.integers(0, 2, n), y).astype(np.int64)
    order = generator.permutation(n)
    return X[order], y[order]


def regression_function(x: np.ndarray) -> np.ndarray:
    """The noiseless function behind ``regression``: sin(x) + 0.3·x."""
    return np.sin(x) + 0.3 * x


def regression(n: int = 500, noise: float = 0.3, *, rng: Seed = 0) -> tuple[np.ndarray, np.ndarray]:
    """y = sin(x) + 0.3·x + ε for x uniform on [−3, 3] and ε ~ N(0, noise²).

    X and y both have shape (n, 1): one feature in, one output out, so that y has the
    shape of a model's output, as the losses require.
    """
    generator = as_generator(rng)
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
