"""Random generators are passed explicitly: there is no global random state."""

from __future__ import annotations

import numpy as np

Seed = np.random.Generator | int | None


def as_generator(rng: Seed) -> np.random.Generator:
    """A numpy Generator from a Generator (used as it is), a seed, or None (a fresh one).

    Pass a Generator or a seed for reproducible results; None draws fresh entropy.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be a numpy Generator, a seed or None, got {type(rng).__name__}")
