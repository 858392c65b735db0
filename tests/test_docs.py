"""The documentation: it builds without a warning, its API pages cover every public name,
the README stays short, and no figure is stated in two source files.

The Python blocks of the pages run in tests/test_examples.py.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
SKIP = {"_build", "notebooks"}  # docs/ folders that are no source: the build, the notebooks


def _sources() -> list[Path]:
    """The README and the pages of the documentation: where figures may be stated."""
    pages = [path for path in DOCS.rglob("*.md") if path.relative_to(DOCS).parts[0] not in SKIP]
    return [README, *sorted(pages)]


# --- the build ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built as `make docs` builds it (warnings are errors), into a fresh folder."""
    out = tmp_path_factory.mktemp("docs") / "html"
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", DOCS, out],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, f"the docs build failed:\n{result.stderr}"
    return out


@pytest.mark.slow
def test_the_docs_build_without_a_warning(built_site: Path) -> None:
    assert (built_site / "index.html").is_file()
    for page in ["tour", "training", "design", "guarantees", "micrograd", "pytorch", "cli"]:
        assert (built_site / f"{page}.html").is_file(), page
    for page in ["benchmarks", "mutation", "notebooks", "api/index"]:
        assert (built_site / f"{page}.html").is_file(), page
    for notebook in ["01_own_framework", "02_mnist_lab"]:
        assert (built_site / "notebooks" / f"{notebook}.html").is_file(), notebook


#: The modules whose public names the API pages must cover: the two packages' ``__all__``
#: and the data sets' (a package of its own); the other public sub-modules must have a
#: page (their members are documented from their docstrings).
COVERED = ["autograd", "nn", "nn.datasets"]
SUB_MODULES = [
    "autograd.testing",
    "nn.callbacks",
    "nn.checkpoint",
    "nn.data",
    "nn.datasets",
    "nn.functional",
    "nn.init",
    "nn.optim",
    "nn.plot",
    "nn.scalar",
    "nn.utils",
]


def _documented(site: Path) -> dict[str, set[str]]:
    """Every Python object in the site's inventory, by kind (py:class, py:module, ...)."""
    from sphinx.util.inventory import InventoryFile

    with open(site / "objects.inv", "rb") as stream:
        inventory = InventoryFile.load(stream, "", lambda base, uri: uri)
    found: dict[str, set[str]] = defaultdict(set)
    data = getattr(inventory, "data", inventory)  # Sphinx ≥ 8.2 wraps the dict
    for kind, entries in data.items():
        if kind.startswith("py:"):
            found[kind] |= set(entries)
    return found


@pytest.mark.slow
def test_the_api_pages_cover_every_public_name(built_site: Path) -> None:
    documented = _documented(built_site)
    everything = set().union(*documented.values())
    missing = [
        f"{module}.{name}"
        for module in COVERED
        for name in importlib.import_module(module).__all__
        if f"{module}.{name}" not in everything
    ]
    missing += [module for module in SUB_MODULES if module not in documented["py:module"]]
    assert not missing, f"no API entry for {missing}: add them to docs/api/"


# --- the README -----------------------------------------------------------------------


def test_the_readme_is_short() -> None:
    """Five minutes of reading: the rest belongs in docs/."""
    assert len(README.read_text("utf-8").splitlines()) <= 200


# --- figures, stated once -------------------------------------------------------------

#: A figure: a number with a unit (a share, a ratio, a duration, a size, a count of
#: tests, files or mutants), or a bare number with a decimal point or a thousands
#: separator and at least three significant digits (a table's seconds, a loss, a count
#: of samples). A bare integer is a setting (a size, a seed, a batch), not a figure. A
#: comparison sign in front makes a target (``≤ 1.2×``), a different figure from a
#: measurement of 1.2×. Versions (``0.1.0``: two dots) are never figures.
FIGURE = re.compile(
    r"(?<![\w.,/·-])(?P<sign>[≤≥<>~±]\s?)?"
    r"(?P<number>\d+(?:,\d{3})*(?:\.\d+)*(?:e[-−+]?\d+)?)(?![\w]|[.,]\d|-\d)"
    r"(?P<unit>\s?(?:%|×|ms\b|s\b|seconds?\b|min\b|minutes?\b|hours?\b|MB\b|MiB\b|GiB\b"
    r"|bytes\b|tests\b|files\b|mutants\b|survivors\b))?"
)

#: Numbers that look like figures and are not, or that are the same number for two facts;
#: each with its reason.
NOT_A_FIGURE = {
    ("≥", "3.1", ""): "Python's version (3.10)",
    ("", "100", "%"): "the whole: a mutation score, a training accuracy that reaches it",
    ("", "98.4", "%"): (
        "two measurements that agree: `tracegrad train`'s test accuracy end to end (README)"
        " and an epoch of the MNIST benchmark (benchmarks page)"
    ),
}

_UNITS = {"seconds": "s", "second": "s", "minutes": "min", "minute": "min", "hour": "hours"}
_FENCE = re.compile(r"^(`{3,})(.*?)\n(.*?)^\1[ \t]*$", flags=re.S | re.M)


def _prose(text: str) -> str:
    """The text where figures are stated: prose, tables, and the comments of code blocks.

    Code itself (blocks and inline spans) holds settings, not figures; MyST directives
    ({include}, {toctree}) state nothing; link targets and HTML comments neither.
    """

    def comments(block: re.Match[str]) -> str:
        if block.group(2).strip().startswith("{"):
            return ""
        lines = block.group(3).splitlines()
        return "\n".join(line.split("#", 1)[1] for line in lines if "#" in line)

    text = _FENCE.sub(comments, text)
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    return re.sub(r"\]\([^)]*\)", "]", text)


def _significant(digits: str) -> int:
    """How many significant digits a number is written with (``0.0296``: 3; ``2.10``: 3)."""
    return len(re.sub(r"\D", "", re.sub(r"e.*", "", digits).lstrip("0.")))


def figures(text: str) -> set[tuple[str, str, str]]:
    """The figures stated in a Markdown text, each as (sign, number, unit), normalised."""
    found = set()
    for match in FIGURE.finditer(_prose(text)):
        sign, number = (match["sign"] or "").strip(), match["number"]
        unit = (match["unit"] or "").strip()
        if number.count(".") > 1:
            continue  # a version
        digits = number.replace(",", "").replace("−", "-")
        bare_integer = "." not in number and "," not in number
        if not unit and (bare_integer or _significant(digits) < 3):
            continue  # a bare integer or a short number: a setting, a size, an index
        value = format(Decimal(digits).normalize(), "f")
        found.add((sign, value, _UNITS.get(unit, unit)))
    return found


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def figures_in_two_files(sources: list[Path]) -> dict[tuple[str, str, str], list[str]]:
    where: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for path in sources:
        for figure in figures(path.read_text("utf-8")):
            where[figure].append(_shown(path))
    return {
        figure: files
        for figure, files in where.items()
        if len(files) > 1 and figure not in NOT_A_FIGURE
    }


def test_no_figure_is_stated_in_two_files() -> None:
    """A benchmark number, a count, a duration or an accuracy has one home; the others
    link to it or include it (MyST's {include}), so that a new measurement is one edit."""
    twice = figures_in_two_files(_sources())
    assert not twice, "stated in more than one file: " + "; ".join(
        f"{''.join(figure)} in {', '.join(files)}" for figure, files in sorted(twice.items())
    )


def test_the_figure_finder_sees_what_it_should(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(
        "An epoch takes 2.43 s, 1.08× numpy; target ≤ 1.2×; 898 tests; 98.40 % accurate.\n"
        "| engine | s |\n|---|---:|\n| tracegrad | 245.6 |\n"
        "```python\nnn.MLP(784, [128, 10], lr=0.001)   # reaches 97.51 %\n```\n"
        "Python ≥ 3.10, micrograd 0.1.0, shapes 784-128-10, `x * 2.5`, seed 1337, batch 128.\n",
        encoding="utf-8",
    )
    found = figures((tmp_path / "a.md").read_text("utf-8"))
    assert found == {
        ("", "2.43", "s"),
        ("", "1.08", "×"),
        ("≤", "1.2", "×"),
        ("", "898", "tests"),
        ("", "98.4", "%"),
        ("", "245.6", ""),
        ("", "97.51", "%"),
        ("≥", "3.1", ""),
    }
    (tmp_path / "b.md").write_text("Measured again: 1.08× numpy; target 1.2×.\n", "utf-8")
    twice = figures_in_two_files([tmp_path / "a.md", tmp_path / "b.md"])
    assert twice == {("", "1.08", "×"): [str(tmp_path / "a.md"), str(tmp_path / "b.md")]}
