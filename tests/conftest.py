"""Shared test set-up: hypothesis profiles.

``ci`` (the default): no deadline (this machine's timing is noisy) and derandomised, so
every run draws the same examples and CI never flakes. ``explore``: many more random
examples, for a local hunt: ``HYPOTHESIS_PROFILE=explore make test``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    max_examples=200,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile(
    "explore",
    deadline=None,
    max_examples=2000,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
