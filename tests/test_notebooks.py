"""The notebooks run top to bottom in a fresh kernel, without error, and show what they store.

The notebooks are stored with their outputs (``make notebooks``) so that a code host shows
them. These tests run each notebook once, in a fresh kernel, and compare every stored
output with the fresh one, cell by cell:

- Numbers are parsed out of the text (stdout, stderr, a result's plain text). A number
  written without a fractional part or an exponent (a size, a shape, a count, "42%") must
  be equal. Any other must agree within one unit of its last printed digit (0.7864 against
  0.7865: what rounding alone can change), or within the cell's own ``tolerance`` where
  that is larger: cell metadata ``{"abs": a, "rel": r, "why": "..."}`` allows
  ``max(a, r·|stored|)``. The text around the numbers must be the same, up to runs of
  white space.
- Pictures: an output that stored an image (PNG, SVG, JPEG) must bring the same kinds of
  image again, and the same MIME types in all. Pixels are not compared (fonts and
  renderers differ between machines).
- Errors: none, neither stored nor fresh.

Cells whose output no rerun reproduces are tagged ``nondeterministic`` and say why in
their metadata (``{"why": "..."}``). Such a cell without a ``pattern`` is not compared at
all and must be stored without output (``make notebooks`` does so, so the stored notebook
claims no wall time): its test is skipped with the reason, so that every run lists it
(pytest -ra). With a ``pattern`` (a regular expression), only the text it matches is left
out, e.g. a memory address in a repr, and it must match something; the rest of the cell
is compared.

Tolerances. The lesson is deterministic: its outputs came out identical, to the printed
digit, with BLAS on one thread, on two, and on a random count per epoch; so the default
stays tight. The lab trains in float32 on MNIST, and ``fit`` gives BLAS as many threads
per epoch as the machine leaves idle (``nn.threads``), so the order of the sums, and the
last bits of every product, follow the machine's load; ten epochs turn those bits into a
few digits out of 10,000 in an accuracy. Seven runs of the lab (quiet, busy, one thread,
random counts) spread by up to 0.07 percentage points; its training cells allow 0.25
points, over three times that, so that an accuracy that really moves still fails.

The lab runs in its full setting here (10 epochs, ``TRACEGRAD_LAB_EPOCHS`` unset), and the
one run serves both tests. Its outputs depend on the epoch count: stored at 1 epoch, the
lab would teach less (one point per curve, no overfitting to see), and of its code cells
with an output only the picture of the first digits does not depend on the count. The
full run is cheap enough: 47 to 55 s on two quiet cores, 95 to 130 s with other jobs busy
on the machine (1 epoch: 13 s there), where ``make test`` took 7 minutes all told.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))
TAG = "nondeterministic"
IMAGES = ("image/png", "image/svg+xml", "image/jpeg")
NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
NOT_COMPARED = "⟨not compared⟩"


@cache
def stored(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def needs_data(path: Path) -> None:
    if "mnist" in path.name and not os.environ.get("TRACEGRAD_DATA"):
        reason = "the MNIST lab needs the real data: set TRACEGRAD_DATA"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], nbformat.NotebookNode]:
    """Runs a notebook (once per test module) in a fresh kernel and gives it back executed."""
    runs: dict[Path, nbformat.NotebookNode | Exception] = {}

    def run(path: Path) -> nbformat.NotebookNode:
        if path not in runs:
            notebook = nbformat.read(path, as_version=4)
            client = NotebookClient(
                notebook,
                timeout=900,
                kernel_name="python3",
                resources={"metadata": {"path": str(tmp_path_factory.mktemp(path.stem))}},
            )
            with pytest.MonkeyPatch.context() as patch:
                patch.delenv("TRACEGRAD_LAB_EPOCHS", raising=False)  # the kernel inherits it
                try:
                    client.execute()
                    runs[path] = notebook
                except Exception as error:  # kept, so that each test fails without rerunning
                    runs[path] = error
        outcome = runs[path]
        if isinstance(outcome, Exception):
            pytest.fail(f"{path.name} does not run to the end:\n{outcome}")
        return outcome

    return run


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_clean(path: Path, fresh: Callable[[Path], nbformat.NotebookNode]) -> None:
    needs_data(path)
    errors = [
        output
        for cell in fresh(path).cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors


# -- comparing a cell's stored outputs with a fresh run's --------------------------------


def where(path: Path, index: int) -> str:
    """The cell, for a message: the notebook, its index among the cells, its first line."""
    first = stored(path).cells[index].source.split("\n", 1)[0]
    return f"{path.name}, cell {index} ({first!r})"


def nondeterministic(path: Path, index: int) -> tuple[str, str | None] | None:
    """Why the cell's output is not reproducible and the part that is not (None: all)."""
    metadata = stored(path).cells[index].metadata
    tagged = TAG in metadata.get("tags", [])
    marks = metadata.get(TAG)
    if not tagged and marks is None:
        return None
    assert tagged and isinstance(marks, dict) and marks.get("why"), (
        f"{where(path, index)}: a cell tagged {TAG!r} says why in metadata[{TAG!r}]['why'], "
        f"and only a tagged cell has that metadata"
    )
    return marks["why"], marks.get("pattern")


def tolerance(path: Path, index: int) -> tuple[Decimal, Decimal]:
    """The cell's own absolute and relative tolerance (0 and 0 when it has none)."""
    own = stored(path).cells[index].metadata.get("tolerance", {})
    assert not own or (own.get("why") and set(own) <= {"abs", "rel", "why"}), (
        f"{where(path, index)}: a tolerance is {{'abs': ..., 'rel': ..., 'why': ...}}, "
        f"with a reason, got {own}"
    )
    return Decimal(str(own.get("abs", 0))), Decimal(str(own.get("rel", 0)))


@dataclass
class Shown:
    """One output as a reader sees it: its kind, its text, its MIME types."""

    kind: str  # stdout, stderr, display_data, execute_result or error
    text: str
    types: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"{self.kind} ({', '.join(self.types)})" if self.types else self.kind


def shown(outputs: list[nbformat.NotebookNode], pattern: str | None) -> list[Shown]:
    """A cell's outputs, consecutive prints to one stream joined (the kernel cuts them
    where timing happens to), and the text a ``pattern`` matches replaced."""
    result: list[Shown] = []
    for output in outputs:
        if output.output_type == "stream":
            if result and result[-1].kind == output.name:
                result[-1].text += output.text
            else:
                result.append(Shown(output.name, output.text))
        elif output.output_type == "error":
            result.append(Shown("error", f"{output.ename}: {output.evalue}"))
        else:
            data = output.get("data", {})
            result.append(
                Shown(output.output_type, data.get("text/plain", ""), tuple(sorted(data)))
            )
    if pattern is not None:
        for one in result:
            one.text = re.sub(pattern, NOT_COMPARED, one.text)
    return result


def is_integer(number: str) -> bool:
    return not any(sign in number for sign in ".eE")


def differences(
    stored_text: str, fresh_text: str, absolute: Decimal, relative: Decimal
) -> list[str]:
    """What differs between two texts, line by line: numbers out of tolerance, other text."""
    stored_lines = [" ".join(line.split()) for line in stored_text.strip().splitlines()]
    fresh_lines = [" ".join(line.split()) for line in fresh_text.strip().splitlines()]
    if len(stored_lines) != len(fresh_lines):
        return [
            f"{len(stored_lines)} lines stored, {len(fresh_lines)} in the fresh run:\n"
            f"  stored: {stored_text!r}\n  fresh:  {fresh_text!r}"
        ]
    found = []
    for number, (old, new) in enumerate(zip(stored_lines, fresh_lines), start=1):
        both = f"\n  stored: {old}\n  fresh:  {new}"
        if NUMBER.sub("#", old) != NUMBER.sub("#", new):
            found.append(f"line {number}: the text differs{both}")
            continue
        for a, b in zip(NUMBER.findall(old), NUMBER.findall(new)):
            if is_integer(a) or is_integer(b):
                if not (is_integer(a) and is_integer(b) and int(a) == int(b)):
                    found.append(
                        f"line {number}: stored {a}, fresh run {b} (integers must be equal){both}"
                    )
                continue
            x, y = Decimal(a), Decimal(b)
            last_digit = max(
                Decimal(1).scaleb(int(x.as_tuple().exponent)),
                Decimal(1).scaleb(int(y.as_tuple().exponent)),
            )
            allowed = max(last_digit, absolute, relative * abs(x))
            if abs(x - y) > allowed:
                found.append(f"line {number}: stored {a}, fresh run {b} (allowed ±{allowed}){both}")
    return found


STORED_CODE_CELLS = [
    pytest.param(path, index, id=f"{path.stem}-cell{index:02d}")
    for path in NOTEBOOKS
    for index, cell in enumerate(stored(path).cells)
    if cell.cell_type == "code"
]


@pytest.mark.slow
@pytest.mark.parametrize(("path", "index"), STORED_CODE_CELLS)
def test_stored_output_matches_a_fresh_run(
    path: Path, index: int, fresh: Callable[[Path], nbformat.NotebookNode]
) -> None:
    needs_data(path)
    cell = stored(path).cells[index]
    marked = nondeterministic(path, index)
    pattern = None
    if marked is not None:
        why, pattern = marked
        if pattern is None:
            if cell.outputs:
                pytest.fail(
                    f"{where(path, index)} is {TAG} ({why}) but stored with its output: "
                    f"store the notebook with `make notebooks`",
                    pytrace=False,
                )
            pytest.skip(f"{where(path, index)}: not compared: {why}")
    old = shown(cell.outputs, pattern)
    new = shown(fresh(path).cells[index].outputs, pattern)
    problems = [
        f"stored output {n}: an error, {one.text}"
        for n, one in enumerate(old)
        if one.kind == "error"
    ]
    if [one.kind for one in old] != [one.kind for one in new]:
        problems.append(
            f"outputs stored: {[one.describe() for one in old]}, "
            f"in the fresh run: {[one.describe() for one in new]}"
        )
    else:
        absolute, relative = tolerance(path, index)
        for n, (a, b) in enumerate(zip(old, new)):
            images = [kind for kind in a.types if kind in IMAGES and kind not in b.types]
            if images:
                problems.append(
                    f"output {n}: stored {' and '.join(images)}, the fresh run made none"
                )
            elif a.types != b.types:
                problems.append(f"output {n}: stored {a.types}, the fresh run {b.types}")
            problems += [
                f"output {n}, {d}" for d in differences(a.text, b.text, absolute, relative)
            ]
    if pattern is not None and not any(NOT_COMPARED in one.text for one in new):
        problems.append(f"the {TAG} pattern {pattern!r} matches nothing: an outdated mark?")
    if problems:
        message = f"{where(path, index)} no longer shows what is stored:\n" + "\n".join(problems)
        pytest.fail(message, pytrace=False)
