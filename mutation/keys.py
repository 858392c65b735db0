"""What a mutant is, as a key that survives edits elsewhere in its file.

A mutant's key names the file, the function it is in, the text of its line, the
operator and the change, not the line number, so that moving code (a function added
above, functions reordered) keeps every key, and a review in ``equivalent.txt`` stays
valid until the mutated line itself changes::

    nn/mlp.py MLP.__init__ `if dropout > 0.0:` core/ReplaceComparisonOperator_Gt_NotEq (> → !=)
    autograd/rules.py matmul `if a.ndim == 1:` core/ReplaceComparisonOperator_Eq_LtE (== → <=) #2

- the path, as in ``run.py``'s ``CORE``;
- the enclosing function, qualified by its classes and functions (``Tensor.sum``), or
  its class for a class attribute, or ``<module>``; a decorator or a default belongs to
  its function;
- the line on which the change starts, stripped, between backticks;
- cosmic-ray's operator name and the change ``(old → new)``, the tokens it replaced;
- `` #n`` when the function has several mutants of that operator and change on lines of
  that same text (two such changes on one line, or two equal lines): the n-th of them,
  in the order of the file.

This module needs neither cosmic-ray nor coverage: ``run.py`` gives it the mutants that
cosmic-ray made as ``Made``, and the tests give it mutants of their own.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

#: A key as ``key`` writes it (see the module docstring).
KEY = r"\S+ \S+ `.*?` core/\S+ \(.*?\)(?: #\d+)?"
#: A line of ``equivalent.txt``: a key, `` — `` and the reason.
ENTRY = re.compile(rf"(?P<key>{KEY}) — (?P<reason>\S.*)")


@dataclass(frozen=True)
class Made:
    """One mutant as cosmic-ray reports it: its operator, where it starts, its change."""

    operator: str  # cosmic-ray's name, e.g. core/NumberReplacer
    line: int  # 1-based, as cosmic-ray's start_pos
    column: int
    change: str  # (old → new), from ``change_in``


#: Tokens for ``change_in``: numbers, names, two-character operators, other characters.
TOKEN = re.compile(r"\d+\.?\d*(?:e-?\d+)?|\w+|==|!=|<=|>=|\*\*|//|\S")


def change_in(diff: str) -> str:
    """The tokens a mutant replaced, as ``(old → new)``: one operator's mutants at one
    place (``0`` to ``1`` and to ``-1``, say) differ only there.

    Comment lines are left out: a removed decorator takes the comments above it along,
    and they are not what changed.
    """
    changed: dict[str, list[str]] = {"-": [], "+": []}
    for line in diff.splitlines():
        sign, text = line[:1], line[1:]
        if sign in changed and line[:3] not in ("---", "+++") and text.lstrip()[:1] != "#":
            changed[sign].append(text)
    old, new = TOKEN.findall(" ".join(changed["-"])), TOKEN.findall(" ".join(changed["+"]))
    start = 0
    while start < min(len(old), len(new)) and old[start] == new[start]:
        start += 1
    end = 0
    while end < min(len(old), len(new)) - start and old[-1 - end] == new[-1 - end]:
        end += 1
    return f"({' '.join(old[start : len(old) - end])} → {' '.join(new[start : len(new) - end])})"


def functions(source: str) -> dict[int, str]:
    """The qualified name of the innermost function or class around each line of
    ``source`` (from its first decorator to its last line); lines outside any are absent.
    """
    names: dict[int, str] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = prefix + child.name
                first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                for line in range(first, (child.end_lineno or child.lineno) + 1):
                    names[line] = name  # the inner ones, visited next, overwrite
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return names


def keys(path: str, source: str, made: Sequence[Made]) -> list[str]:
    """The key of each mutant of ``path`` (whose text is ``source``), in ``made``'s order."""
    lines = source.split("\n")
    function = functions(source)
    what = [
        (function.get(m.line, "<module>"), lines[m.line - 1].strip(), m.operator, m.change)
        for m in made
    ]
    several = Counter(what)
    seen: Counter[tuple[str, str, str, str]] = Counter()
    occurrence = [0] * len(made)
    for index in sorted(range(len(made)), key=lambda i: (made[i].line, made[i].column)):
        seen[what[index]] += 1
        occurrence[index] = seen[what[index]]
    return [
        f"{path} {name} `{text}` {operator} {change}"
        + (f" #{n}" if several[name, text, operator, change] > 1 else "")
        for (name, text, operator, change), n in zip(what, occurrence)
    ]


def read_equivalent(text: str) -> dict[str, str]:
    """The reason for each key listed in ``text`` (``equivalent.txt``'s format).

    Blank lines and lines starting with ``#`` are skipped; any other line that is not a
    key, `` — `` and a reason is an error, so that a mistyped entry is not lost.
    """
    reasons: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        entry = ENTRY.fullmatch(line)
        if entry is None:
            raise ValueError(f"line {number} is not `key — reason`: {line}")
        if entry["key"] in reasons:
            raise ValueError(f"line {number} lists a mutant a second time: {entry['key']}")
        reasons[entry["key"]] = entry["reason"]
    return reasons


def unmatched(listed: Iterable[str], made: set[str], paths: set[str]) -> list[str]:
    """The keys in ``listed`` of a file in ``paths`` that match no mutant in ``made``:
    their line, change or function changed, so they must be reviewed again."""
    return sorted(key for key in listed if key.split(" ")[0] in paths and key not in made)
