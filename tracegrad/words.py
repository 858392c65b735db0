"""Counts in messages, in the grammar a reader expects: "1 feature", "2 features".

A message such as "the model takes 1 features" reads as a bug in the program, and makes
the reader doubt the rest of the line; every count that can be 1 goes through
``counted``.
"""

from __future__ import annotations

#: Plurals that adding "s" or "es" gets wrong.
_IRREGULAR = {"axis": "axes", "entry": "entries", "class": "classes", "batch": "batches"}


def plural(noun: str) -> str:
    """The plural of ``noun``: the table's, else "es" after s and x, else "s"."""
    if noun in _IRREGULAR:
        return _IRREGULAR[noun]
    if noun.endswith(("s", "x")):
        return noun + "es"
    return noun + "s"


def article(noun: str) -> str:
    """``noun`` after "a" or "an", by its first letter: "a set", "an object"."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def counted(number: int, noun: str, *, grouped: bool = False) -> str:
    """``number`` followed by ``noun``, singular for exactly one and plural otherwise (as
    English has it for 0 too); ``grouped`` writes thousands with commas (10,000)."""
    text = f"{number:,}" if grouped else str(number)
    return f"{text} {noun if number == 1 else plural(noun)}"
