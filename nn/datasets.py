"""Data sets: synthetic ones made by our own seeded code.

Every generator takes ``rng`` (a numpy Generator or a seed) and returns ``(X, y)``:
X of shape (n, features) as float64, y as integer class labels.
"""

from __future__ import annotations

import numpy as np

from autograd.rng import Seed, as_generator


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
