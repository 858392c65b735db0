"""The keys of ``mutation/equivalent.txt``: moving code keeps a review, editing its line
reopens it, and an entry that matches no mutant is reported.

The mutants here are synthetic (``made``, in the shape cosmic-ray reports them), so these
tests need neither cosmic-ray nor a mutation run.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest

from mutation.keys import KEY, Made, change_in, functions, keys, read_equivalent, unmatched

ROOT = Path(__file__).resolve().parent.parent

BEFORE = """\
LIMIT = 10


class Box:
    size = 3

    @staticmethod
    def scale(x, factor=2):
        if x == 0:
            return 0
        return x * factor

    def same(self, a, b):
        if a == b:
            return 1
        if a == b:
            return 1
        return 0


def helper(n):
    if n == 0:
        return 0
    return n == 1 or n == 1
"""

#: BEFORE with lines inserted at the top and inside the class, ``helper`` moved above the
#: class and the two methods swapped.
AFTER = '''\
"""A module that grew."""

import math

LIMIT = 10


def helper(n):
    if n == 0:
        return 0
    return n == 1 or n == 1


def added(n):
    return math.sqrt(n) + 1


class Box:
    size = 3

    def same(self, a, b):
        if a == b:
            return 1
        if a == b:
            return 1
        return 0

    def added(self):
        return 5

    @staticmethod
    def scale(x, factor=2):
        if x == 0:
            return 0
        return x * factor
'''


def made(source: str) -> list[Made]:
    """A mutant at each ``==`` (to ``<=``) and each number (to one more), as cosmic-ray
    reports them: operator, line, column and change."""
    mutants = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.string == "==":
            operator, change = "core/ReplaceComparisonOperator_Eq_LtE", "(== → <=)"
        elif token.type == tokenize.NUMBER:
            operator, change = "core/NumberReplacer", f"({token.string} → {int(token.string) + 1})"
        else:
            continue
        mutants.append(Made(operator, *token.start, change))
    return mutants


def keys_of(source: str) -> list[str]:
    return keys("pkg/box.py", source, made(source))


def test_each_mutant_has_its_own_key() -> None:
    found = keys_of(BEFORE)
    assert len(set(found)) == len(found) == 18
    assert all(re.fullmatch(KEY, key) for key in found)  # as run.py reads them back
    eq = "core/ReplaceComparisonOperator_Eq_LtE (== → <=)"
    assert "pkg/box.py <module> `LIMIT = 10` core/NumberReplacer (10 → 11)" in found
    assert "pkg/box.py Box `size = 3` core/NumberReplacer (3 → 4)" in found
    # a decorator and a default belong to their function
    assert "pkg/box.py Box.scale `def scale(x, factor=2):` core/NumberReplacer (2 → 3)" in found
    # two identical lines in one function, and one mutation twice on one line
    assert f"pkg/box.py Box.same `if a == b:` {eq} #1" in found
    assert f"pkg/box.py Box.same `if a == b:` {eq} #2" in found
    assert f"pkg/box.py helper `return n == 1 or n == 1` {eq} #2" in found
    assert "pkg/box.py helper `return n == 1 or n == 1` core/NumberReplacer (1 → 2) #2" in found
    # the same line in another function is another mutant, not a second occurrence
    assert f"pkg/box.py helper `if n == 0:` {eq}" in found
    assert f"pkg/box.py Box.scale `if x == 0:` {eq}" in found


def test_keys_stay_when_lines_are_inserted_above_or_functions_move() -> None:
    before, after = keys_of(BEFORE), keys_of(AFTER)
    assert set(before) <= set(after)
    assert sorted(set(after) - set(before)) == [
        "pkg/box.py Box.added `return 5` core/NumberReplacer (5 → 6)",
        "pkg/box.py added `return math.sqrt(n) + 1` core/NumberReplacer (1 → 2)",
    ]
    listed = "\n".join(f"{key} — reviewed" for key in before)
    assert unmatched(read_equivalent(listed), set(after), {"pkg/box.py"}) == []


def test_a_changed_line_reopens_its_review() -> None:
    edited = BEFORE.replace("if x == 0:", "if x == 0 and factor:")
    key = "pkg/box.py Box.scale `if x == 0:` core/ReplaceComparisonOperator_Eq_LtE (== → <=)"
    assert key in keys_of(BEFORE)
    assert key not in keys_of(edited)
    listed = read_equivalent(f"{key} — x is never negative")
    assert unmatched(listed, set(keys_of(edited)), {"pkg/box.py"}) == [key]


def test_a_key_that_matches_nothing_is_reported() -> None:
    made_keys = set(keys_of(BEFORE))
    gone = "pkg/box.py Box.resize `if x == 0:` core/NumberReplacer (0 → 1)"  # renamed since
    elsewhere = "pkg/other.py f `return 0` core/NumberReplacer (0 → 1)"
    listed = read_equivalent(
        "# reviewed by hand\n\n"
        "pkg/box.py <module> `LIMIT = 10` core/NumberReplacer (10 → 11) — any limit\n"
        f"{gone} — reviewed before the rename\n"
        f"{elsewhere} — a file this run left out\n"
    )
    assert unmatched(listed, made_keys, {"pkg/box.py"}) == [gone]
    assert unmatched(listed, made_keys, {"pkg/box.py", "pkg/other.py"}) == [gone, elsewhere]


def test_an_entry_is_read_as_key_and_reason() -> None:
    key = "a.py f `x = 1  # one — or `one`` core/NumberReplacer (1 → 2) #2"
    assert read_equivalent(f"  {key} — the reason — with a dash\n") == {
        key: "the reason — with a dash"
    }
    with pytest.raises(ValueError, match="line 2 is not"):
        read_equivalent("# comment\na.py:12:4 core/NumberReplacer (1 → 2) — old format\n")
    with pytest.raises(ValueError, match="line 1 is not"):
        read_equivalent(f"{key}\n")  # no reason
    with pytest.raises(ValueError, match="line 2 lists a mutant a second time"):
        read_equivalent(f"{key} — once\n{key} — twice\n")


def test_functions_are_qualified_and_cover_their_decorators() -> None:
    source = (
        "x = 1\n\n\nclass A:\n    @property\n    def f(self):\n"
        "        def g():\n            return 2\n        return g\n"
    )
    assert functions(source) == {4: "A", 5: "A.f", 6: "A.f", 7: "A.f.g", 8: "A.f.g", 9: "A.f"}


def test_the_change_is_the_replaced_tokens_without_comments() -> None:
    diff = "--- a/m.py\n+++ b/m.py\n@@ -3,3 +3,3 @@\n-    return x[0]\n+    return x[-1]\n"
    assert change_in(diff) == "(0 → - 1)"
    removed_decorator = (
        "--- mutation diff ---\n--- a/m.py\n+++ b/m.py\n@@ -7,8 +7,3 @@\n"
        "     return 1\n-\n-    # -- a section --------\n-    #\n-    @property\n"
        "     def f(self):\n"
    )
    assert change_in(removed_decorator) == "(@ property → )"


def test_the_list_reads() -> None:
    listed = read_equivalent((ROOT / "mutation" / "equivalent.txt").read_text())
    assert listed
    assert all((ROOT / key.split(" ")[0]).is_file() for key in listed)
