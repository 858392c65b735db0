"""Shared test set-up: hypothesis profiles.

``ci`` (the default): no deadline (this machine's timing is noisy) and derandomised, so
every run draws the same examples and CI never flakes. ``explore``: many more random
examples, for a local hunt: ``HYPOTHESIS_PROFILE=explore make test``. ``mutation``: few
derandomised examples, for ``make mutation``, which runs the tests once per mutant.
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
settings.register_profile(
    "mutation",  # make mutation: each mutant runs its tests, so fewer examples each
    deadline=None,
    derandomize=True,
    max_examples=25,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
