"""Run the tests that execute the mutated lines: cosmic-ray's test command, per mutant.

    python -m mutation.tests_for_mutant PATH TEST_FILE...   (run in the scratch copy)

cosmic-ray writes one mutant into PATH and runs this. It compares PATH with the pristine
copy saved in ``.mutation/`` to find the changed statements, and runs (``-x``, quickest
first) only the tests that the coverage run saw executing them: a test that never runs a
statement cannot notice a change to it. A change to a function's header (a default, a
decorator) runs the tests that run the function's body. Any other statement run at
import time (a module constant, a class attribute), or by no test that was measured (a
subprocess, say), gets every test in TEST_FILE. With no change at all (cosmic-ray's
baseline), every test runs too. With ``MUTATION_SERVER`` set, pytest runs in a fork of
that test server.
"""

from __future__ import annotations

import ast
import difflib
import importlib.util
import json
import os
import sys
from pathlib import Path

from coverage.parser import PythonParser

from mutation.test_server import ask

#: Where run.py leaves the pristine file, the line → tests map and the durations.
STATE = Path(".mutation")


def changed_lines(pristine: list[str], mutated: list[str]) -> set[int]:
    """The 1-based numbers of the pristine lines that the mutant changed or removed."""
    lines = set()
    matcher = difflib.SequenceMatcher(a=pristine, b=mutated, autojunk=False)
    for tag, start, stop, _, _ in matcher.get_opcodes():
        if tag != "equal":
            lines.update(range(start + 1, max(stop, start + 1) + 1))
    return lines


def function_headers(source: str) -> list[tuple[range, range, str]]:
    """(header lines, body lines, name) of each function, innermost first.

    The header (decorators, ``def`` line, signature) runs at import time; a change there
    (a default, a decorator, a ``*`` that makes arguments keyword-only) shows only where
    the function is called: to the tests that run its body, and to those that call it in
    a way the header refuses, which never reach the body.
    """
    spans = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            body_start = node.body[0].lineno
            end = node.end_lineno or body_start
            spans.append((range(first, body_start), range(body_start, end + 1), node.name))
    return sorted(spans, key=lambda span: len(span[1]))


def tests_naming(name: str, test_files: list[str]) -> set[str]:
    """Node ids of the test functions in ``test_files`` whose code mentions ``name``."""
    named = set()
    for test_file in test_files:
        for node in ast.parse(Path(test_file).read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
                mentioned = {
                    getattr(part, "id", None) or getattr(part, "attr", None)
                    for part in ast.walk(node)
                }
                if name in mentioned:
                    named.add(f"{test_file}::{node.name}")
    return named


def selected_tests(path: str, everything: list[str]) -> list[str]:
    """Node ids of the tests that run the mutated statements, or ``everything``."""
    pristine_text = (STATE / "pristine.py").read_text()
    changed = changed_lines(pristine_text.splitlines(), Path(path).read_text().splitlines())
    if not changed:
        return everything
    parser = PythonParser(text=pristine_text)
    parser.parse_source()
    recorded = json.loads((STATE / "map.json").read_text())
    tests_of_line: dict[str, list[str]] = recorded["tests_of_line"]
    headers = function_headers(pristine_text)
    chosen: set[str] = set()
    for line in changed:
        function = next(((body, name) for header, body, name in headers if line in header), None)
        if function is not None:  # a default, a decorator, a signature: the calls notice it
            body, name = function
            for body_line in body:
                chosen.update(t for t in tests_of_line.get(str(body_line), []) if t)
            chosen.update(tests_naming(name, everything))
            continue
        tests = tests_of_line.get(str(parser.first_line(line)))
        if tests is None or "" in tests:  # never measured, or run at import time
            return everything
        chosen.update(tests)
    duration: dict[str, float] = recorded["durations"]
    return sorted(chosen, key=lambda test: duration.get(test, float("inf")))


def main() -> int:
    path, test_files = sys.argv[1], sys.argv[2:]
    tests = selected_tests(path, test_files)
    if not tests:  # a function that no test calls or names: nothing can notice the change
        return 0  # (pytest given no test would run the whole suite instead)
    arguments = ["-x", "-q", "-p", "no:cacheprovider", *tests]
    # A bytecode file is trusted by its source's size and modification second, which a
    # mutant may share with the version cached before it: never let one be read.
    Path(importlib.util.cache_from_source(path)).unlink(missing_ok=True)
    server = os.environ.get("MUTATION_SERVER")
    if server is None:
        import pytest

        return int(pytest.main(arguments))
    try:
        return ask(server, arguments)
    except OSError as error:  # run.py reports it: the run's figures would be wrong
        with open(STATE / "errors.log", "a") as log:
            log.write(f"{path}: {error}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
