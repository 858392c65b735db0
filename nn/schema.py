"""A small schema language for JSON read from files: each field says what it accepts.

A file is untrusted input, so every value read from one goes through a ``Field`` that
states its type and its range; ``check(value, path)`` returns the value (with the
defaults of absent keys filled in) or raises ``SchemaError`` naming the field's path
(``architecture.config.layers.2.config.p``), what it expects and what it got. Nothing
of a file is used before it has passed its field, so a value that no field allows is
refused when the file is read, not when the model first runs.

The fields are deliberately few: an integer or a number in a closed range, a flag, a
choice among names, a constant, a list, an object of named fields, any JSON value (for a
user's own metadata), and ``None`` or another field. Booleans are never integers here
(``True`` is not a size), numbers are finite, and nothing nests deeper than
``MAX_DEPTH``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: How deep lists and objects may nest in any value a schema checks.
MAX_DEPTH = 64


class SchemaError(ValueError):
    """A value that its field does not allow; ``path`` names the field."""

    def __init__(self, path: str, problem: str) -> None:
        shown_path = path if len(path) <= 120 else f"{path[:40]} ... {path[-70:]}"
        super().__init__(f"{shown_path or 'the header'}: {problem}")
        self.path = path
        self.problem = problem


def shown(value: Any) -> str:
    """``repr(value)``, cut to 80 characters (a file may hold anything, at any length)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def join(path: str, key: object) -> str:
    """The path of ``key`` inside the value at ``path``."""
    return f"{path}.{key}" if path else str(key)


class Field:
    """What one value may be. ``check`` returns it, checked (and with defaults filled)."""

    def check(self, value: Any, path: str = "", depth: int = 0) -> Any:
        raise NotImplementedError

    def describe(self) -> str:
        """What the field accepts, in words (for error messages)."""
        raise NotImplementedError

    def refuse(self, value: Any, path: str) -> SchemaError:
        return SchemaError(path, f"expected {self.describe()}, got {shown(value)}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Integer(Field):
    """An integer in [low, high] (never a bool, never a float such as 3.0)."""

    low: int
    high: int

    def check(self, value: Any, path: str = "", depth: int = 0) -> int:
        if not _is_int(value) or not self.low <= value <= self.high:
            raise self.refuse(value, path)
        return int(value)

    def describe(self) -> str:
        return f"an integer in [{self.low}, {self.high}]"


@dataclass(frozen=True)
class Number(Field):
    """A finite number in [low, high]; ``low_open`` and ``high_open`` leave an end out.

    Integers count as numbers (JSON writes 2.0 as 2.0, but a hand-written file may say 2).
    """

    low: float
    high: float
    low_open: bool = False
    high_open: bool = False

    def check(self, value: Any, path: str = "", depth: int = 0) -> float:
        if not (_is_int(value) or isinstance(value, float)):
            raise self.refuse(value, path)
        try:
            number = float(value)
        except OverflowError:  # an int too large for a float
            raise self.refuse(value, path) from None
        if not math.isfinite(number) or number < self.low or (self.low_open and number == self.low):
            raise self.refuse(value, path)
        if number > self.high or (self.high_open and number == self.high):
            raise self.refuse(value, path)
        return number

    def describe(self) -> str:
        opening, closing = "(" if self.low_open else "[", ")" if self.high_open else "]"
        return f"a number in {opening}{self.low}, {self.high}{closing}"


@dataclass(frozen=True)
class Flag(Field):
    """true or false."""

    def check(self, value: Any, path: str = "", depth: int = 0) -> bool:
        if not isinstance(value, bool):
            raise self.refuse(value, path)
        return value

    def describe(self) -> str:
        return "true or false"


@dataclass(frozen=True)
class Choice(Field):
    """One of a set of names; ``names`` is called when first needed (it may import)."""

    names: Callable[[], Iterable[str]]

    def check(self, value: Any, path: str = "", depth: int = 0) -> str:
        if not isinstance(value, str) or value not in set(self.names()):
            raise self.refuse(value, path)
        return value

    def describe(self) -> str:
        return f"one of {sorted(self.names())}"


@dataclass(frozen=True)
class Text(Field):
    """Any string of at most ``max_length`` characters."""

    max_length: int

    def check(self, value: Any, path: str = "", depth: int = 0) -> str:
        if not isinstance(value, str) or len(value) > self.max_length:
            raise self.refuse(value, path)
        return value

    def describe(self) -> str:
        return f"a string of at most {self.max_length} characters"


@dataclass(frozen=True)
class Constant(Field):
    """Exactly ``value`` (of its exact type: 1 is not True, nor 1.0)."""

    value: Any

    def check(self, value: Any, path: str = "", depth: int = 0) -> Any:
        if type(value) is not type(self.value) or value != self.value:
            raise self.refuse(value, path)
        return value

    def describe(self) -> str:
        return repr(self.value)


@dataclass(frozen=True)
class Nullable(Field):
    """null, or what ``inner`` accepts."""

    inner: Field

    def check(self, value: Any, path: str = "", depth: int = 0) -> Any:
        if value is None:
            return None
        try:
            return self.inner.check(value, path, depth)
        except SchemaError as error:
            if error.path == path:  # the value itself, not one inside it: say null is fine
                raise self.refuse(value, path) from None
            raise

    def describe(self) -> str:
        return f"null or {self.inner.describe()}"


def _deeper(path: str, depth: int) -> int:
    if depth >= MAX_DEPTH:
        raise SchemaError(path, f"nested more than {MAX_DEPTH} deep")
    return depth + 1


@dataclass(frozen=True)
class ListOf(Field):
    """A list of ``low`` to ``high`` items, each of which ``item`` accepts."""

    item: Field
    low: int
    high: int

    def check(self, value: Any, path: str = "", depth: int = 0) -> list[Any]:
        if not isinstance(value, list) or not self.low <= len(value) <= self.high:
            raise self.refuse(value, path)
        inner = _deeper(path, depth)
        return [self.item.check(element, join(path, i), inner) for i, element in enumerate(value)]

    def describe(self) -> str:
        return f"a list of {self.low} to {self.high} items"


@dataclass(frozen=True)
class Object(Field):
    """A JSON object with the named ``fields``.

    Every field is required unless it has a default in ``defaults`` (filled in when
    absent) or is named in ``optional`` (left absent). A key that no field names is
    refused, unless ``extra`` is given: then such keys may hold what ``extra`` accepts.
    """

    fields: Mapping[str, Field]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    optional: frozenset[str] = frozenset()
    extra: Field | None = None

    def check(self, value: Any, path: str = "", depth: int = 0) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.refuse(value, path)
        inner = _deeper(path, depth)
        checked: dict[str, Any] = {}
        for key, element in value.items():
            if not isinstance(key, str):  # JSON keys are strings; a Python caller's may not be
                raise SchemaError(join(path, key), "a key that is not a string")
            known = self.fields.get(key)
            if known is None and self.extra is None:
                raise SchemaError(
                    join(path, key), f"an unknown field (known: {sorted(self.fields)})"
                )
            checked[key] = (known or self.extra).check(element, join(path, key), inner)  # type: ignore[union-attr]
        for key in self.fields:
            if key in checked or key in self.optional:
                continue
            if key not in self.defaults:
                raise SchemaError(join(path, key), f"missing ({self.fields[key].describe()})")
            checked[key] = self.defaults[key]
        return checked

    def describe(self) -> str:
        return f"an object with the fields {sorted(self.fields)}"


@dataclass(frozen=True)
class AnyJSON(Field):
    """Any JSON value (null, true/false, a finite number, a string, a list, an object)."""

    def check(self, value: Any, path: str = "", depth: int = 0) -> Any:
        if value is None or isinstance(value, (bool, int, str)):
            return value
        if isinstance(value, float):
            if not math.isfinite(value):
                raise self.refuse(value, path)
            return value
        if isinstance(value, list):
            inner = _deeper(path, depth)
            return [self.check(element, join(path, i), inner) for i, element in enumerate(value)]
        if isinstance(value, dict):
            inner = _deeper(path, depth)
            if not all(isinstance(key, str) for key in value):
                raise SchemaError(path, "an object with a key that is not a string")
            return {
                key: self.check(element, join(path, key), inner) for key, element in value.items()
            }
        raise self.refuse(value, path)

    def describe(self) -> str:
        return "a JSON value with finite numbers"


@dataclass(frozen=True)
class Tagged(Field):
    """``{"type": name, "config": {...}}`` whose config is checked by the name's schema.

    ``schemas`` maps each accepted name to its config's ``Object``; ``aliases`` maps
    older names to current ones (the checked value carries the current name).
    """

    schemas: Callable[[], Mapping[str, Field]]
    aliases: Callable[[], Mapping[str, str]] = dict

    def check(self, value: Any, path: str = "", depth: int = 0) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.refuse(value, path)
        unknown = set(value) - {"type", "config"}
        if unknown:
            raise SchemaError(
                join(path, sorted(unknown)[0]), "an unknown field (known: config, type)"
            )
        if "type" not in value or "config" not in value:
            missing = "type" if "type" not in value else "config"
            raise SchemaError(join(path, missing), "missing")
        name = value["type"]
        schemas = self.schemas()
        if isinstance(name, str):
            name = self.aliases().get(name, name)
        if not isinstance(name, str) or name not in schemas:
            raise SchemaError(
                join(path, "type"),
                f"unknown module type {shown(value['type'])} (a file may name {sorted(schemas)})",
            )
        inner = _deeper(path, depth)
        config = schemas[name].check(value["config"], join(path, "config"), inner)
        return {"type": name, "config": config}

    def describe(self) -> str:
        return 'an object {"type": a module type, "config": its arguments}'
