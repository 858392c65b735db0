"""A pytest plugin for ``make mutation``'s coverage run: which test runs which line.

Loaded with ``-p mutation.record_contexts`` under ``coverage run``: each test runs in a
coverage context named by its node id (setup, call and teardown alike), so that
``CoverageData.contexts_by_lineno`` says which tests execute each line. Lines run while
no test is (imports, collection) get the empty context. Each test's duration is written
to the JSON file named by ``MUTATION_DURATIONS``, so that mutants run the quick tests
first.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator

import coverage
import pytest

_durations: dict[str, float] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    measuring = coverage.Coverage.current()
    if measuring is not None:
        measuring.switch_context(item.nodeid)
    start = time.perf_counter()
    yield
    _durations[item.nodeid] = time.perf_counter() - start
    if measuring is not None:
        measuring.switch_context("")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    target = os.environ.get("MUTATION_DURATIONS")
    if target:
        with open(target, "w") as file:
            json.dump(_durations, file)
