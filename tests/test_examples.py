"""Every Python block of the README and of the documentation's pages runs as it stands,
each on its own, in a fresh folder."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

#: The Markdown sources: the README and the pages of the documentation (not its build
#: output, nor the notebooks, which tests/test_notebooks.py runs).
PAGES = [
    ROOT / "README.md",
    *sorted(
        p for p in DOCS.rglob("*.md") if p.relative_to(DOCS).parts[0] not in {"_build", "notebooks"}
    ),
]

FENCE = re.compile(r"^(`{3,})(.*?)\n(.*?)^\1[ \t]*$", flags=re.S | re.M)

#: Fenced blocks that are not run: shell commands, text, and MyST directives ({include},
#: {toctree}, {eval-rst}, ...). Anything else must be ```python, or it would go unrun.
NOT_RUN = re.compile(r"^(sh|text|)$|^\{")


def _blocks(path: Path) -> list[tuple[str, str]]:
    """(language, source) of every fenced block of a page, in order."""
    return [(m.group(2).strip(), m.group(3)) for m in FENCE.finditer(path.read_text("utf-8"))]


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


BLOCKS = [
    (path, number, source)
    for path in PAGES
    for number, source in enumerate(
        [source for language, source in _blocks(path) if language == "python"], start=1
    )
]


def test_the_readme_and_the_tour_have_their_examples() -> None:
    counts = {_name(path): 0 for path in PAGES}
    for path, _, _ in BLOCKS:
        counts[_name(path)] += 1
    assert counts["README.md"] >= 2
    assert counts["docs/tour.md"] >= 5


@pytest.mark.parametrize("path", PAGES, ids=_name)
def test_every_code_block_is_python_shell_or_a_directive(path: Path) -> None:
    """A block marked ```py or ```python3 would be shown but never run: not allowed."""
    odd = [language for language, _ in _blocks(path) if language != "python"]
    assert not [language for language in odd if not NOT_RUN.match(language)]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("path", "number", "source"),
    BLOCKS,
    ids=[f"{_name(path)}-block{number}" for path, number, _ in BLOCKS],
)
def test_a_block_runs_as_it_stands(
    path: Path, number: int, source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if re.search(r"\b(fashion_)?mnist\(", source) and not os.environ.get("TRACEGRAD_DATA"):
        reason = f"{_name(path)} block {number} reads MNIST: set TRACEGRAD_DATA"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    monkeypatch.chdir(tmp_path)  # blocks that save files save them here
    namespace: dict[str, object] = {"__name__": f"docs_block_{number}"}
    exec(compile(source, f"{_name(path)} block {number}", "exec"), namespace)
    for name, value in list(namespace.items()):
        if name.startswith("test_") and callable(value):
            value()  # a property-based test the block defines: run it
