"""The checks every public function of ``nn`` makes of its caller's arguments.

A mistake in a call is refused at the entrance, before any work, as a ``TypeError`` (a
value of the wrong kind) or a ``ValueError`` (the right kind, out of range) whose message
names the function, the argument and what it got. Without the check the same mistake
surfaces later, deep inside, as a raw Python error (``'<' not supported between
instances of 'str' and 'int'``, ``'NoneType' object has no attribute 'zero_grad'``)
that says neither what was wrong nor where; or worse, it is not an error at all
(``fit(epochs=True)`` runs one epoch, ``batches(rng=-1)`` fails only at the first
batch). One small set of checks, used by every entry point, keeps the messages alike
and the rules the same everywhere: a flag is a bool, a size a positive int (never a
bool, a float or a string), a rate a finite real number, an array one of real numbers.

Each check takes the value, the function's name (``where``) and the argument's name,
and returns the value as the function will use it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NoReturn

import numpy as np

from autograd import Node, Tensor, Value, is_traced
from tracegrad.words import article, counted

#: Types whose repr is short and says what the value is.
_PLAIN = (bool, int, float, str, bytes, type(None), np.generic)


def describe(value: Any) -> str:
    """A short description of ``value`` for an error message."""
    if isinstance(value, Value):
        return f"a Value ({value.data!r})"
    if isinstance(value, Tensor):
        return f"a Tensor of shape {value.shape}"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, _PLAIN):
        text = repr(value.item() if isinstance(value, np.generic) else value)
        if isinstance(value, str) and not value:
            return "an empty string"
        text = text if len(text) <= 60 else text[:57] + "..."
        return f"the string {text}" if isinstance(value, str) else text
    if isinstance(value, (list, tuple)):
        if len(value) <= 6 and all(isinstance(item, _PLAIN) for item in value):
            text = repr(value)
            if len(text) <= 60:
                return f"the {type(value).__name__} {text}"
        return f"a {type(value).__name__} of {counted(len(value), 'item')}"
    from .module import Module  # here: module.py need not load before this file

    if isinstance(value, Module):
        return f"the module {type(value).__name__}"
    if isinstance(value, type):
        return f"the class {value.__name__}"
    if callable(value):
        return f"the function {getattr(value, '__name__', type(value).__name__)}"
    return article(type(value).__name__)


def wrong_type(where: str, name: str, expected: str, value: Any, hint: str = "") -> NoReturn:
    """Raise the TypeError for an argument of the wrong kind."""
    raise TypeError(f"{where}: {name} must be {expected}, got {describe(value)}{hint}")


def is_integer(value: Any) -> bool:
    """An int or a numpy integer, and not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


_is_integer = is_integer


def integer(
    value: Any, where: str, name: str, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """An int (a numpy integer too; a bool, a float or a string is refused) in
    [``minimum``, ``maximum``]."""
    if not _is_integer(value):
        wrong_type(where, name, "an integer", value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{where}: {name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{where}: {name} must be at most {maximum}, got {value}")
    return int(value)


def positive_int(value: Any, where: str, name: str) -> int:
    """A size or a count: an int ≥ 1."""
    return integer(value, where, name, minimum=1)


def optional_positive_int(value: Any, where: str, name: str) -> int | None:
    """None, or an int ≥ 1."""
    return None if value is None else positive_int(value, where, name)


def real(
    value: Any,
    where: str,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """A finite real number (an int or a numpy number too; a bool is refused) in the range.

    The range is [low, high], each end open if said; a missing end is unbounded. NaN
    and the infinities are refused: no setting of the library means anything at them.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        wrong_type(where, name, "a real number", value)
    number = float(value)
    below = low is not None and (number <= low if low_open else number < low)
    above = high is not None and (number >= high if high_open else number > high)
    if not math.isfinite(number) or below or above:
        raise ValueError(
            f"{where}: {name} must be {_range(low, high, low_open, high_open)}, got {value!r}"
        )
    return number


def _range(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if low is None and high is None:
        return "a finite number"
    if high is None:
        if low == 0.0:
            return "positive (and finite)" if low_open else "a finite number, not negative"
        return f"a finite number {'above' if low_open else 'at least'} {low:g}"
    if low is None:
        return f"a number {'below' if high_open else 'at most'} {high:g}"
    return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"


def flag(value: Any, where: str, name: str) -> bool:
    """True or False (a string such as "no" would be true: refused, as is any other kind)."""
    if not isinstance(value, (bool, np.bool_)):
        wrong_type(where, name, "True or False", value)
    return bool(value)


def choice(value: Any, choices: Iterable[str], where: str, name: str) -> str:
    """One of the names ``choices``."""
    known = sorted(choices)
    if not isinstance(value, str):
        wrong_type(where, name, f"one of the names {known}", value)
    if value not in known:
        raise ValueError(f"{where}: unknown {name} {value!r}; choose one of {known}")
    return value


def function(value: Any, where: str, name: str, expected: str, hint: str = "") -> Any:
    """Something to call: a loss, a metric, a callback. A class whose instances are
    called (``nn.CrossEntropyLoss``) is refused with a hint to make one."""
    if not callable(value) or isinstance(value, type):
        if (
            isinstance(value, type)
            and not hint
            and any("__call__" in vars(k) for k in value.__mro__)
        ):
            prefix = "nn." if value.__module__.split(".")[0] == "nn" else ""
            hint = f": write {prefix}{value.__name__}()"
        wrong_type(where, name, expected, value, hint)
    return value


def instance(value: Any, kind: type, where: str, name: str, hint: str = "") -> Any:
    """An instance of ``kind``; ``hint`` says how to make one."""
    if not isinstance(value, kind):
        article = "an" if kind.__name__[0] in "AEIOU" else "a"
        wrong_type(where, name, f"{article} {kind.__name__}", value, hint)
    return value


def parameters(value: Any, where: str) -> list[Node]:
    """The parameters an optimiser is given: an iterable of leaf nodes, at least one;
    each once, in the order first given.

    The usual mistakes are named: the model itself (``Adam(model)``), one parameter
    without a list, a generator already used up. A parameter given twice is kept once:
    ``enc.parameters() + dec.parameters()`` lists a weight the two share (tied) twice,
    and what its user means is one parameter, stepped once per ``step()`` (stepping it
    twice would double its learning rate; Adam would count two steps for one) and
    counted once in a gradient norm. PyTorch warns and steps it twice; here the
    optimiser, its ``param_groups`` and its ``state_dict`` hold it once.
    """
    from .module import Module

    if isinstance(value, Module):
        raise TypeError(
            f"{where}: parameters must be the model's parameters, got {describe(value)} "
            f"itself: write {where}(model.parameters(), ...)"
        )
    if isinstance(value, Node):
        raise TypeError(
            f"{where}: parameters must be an iterable of parameters, got {describe(value)}: "
            f"write {where}([p], ...) for a single one"
        )
    if isinstance(value, (str, bytes, np.ndarray, dict)) or not isinstance(value, Iterable):
        wrong_type(where, "parameters", "an iterable of parameters (model.parameters())", value)
    found = list(value)
    if not found:
        raise ValueError(
            f"{where}: parameters is empty: got no parameters to optimise (a generator "
            "used up already? model.parameters() gives a fresh list each call)"
        )
    for position, p in enumerate(found):
        if isinstance(p, Mapping) and "params" in p:
            raise TypeError(
                f"{where}: parameters: item {position} is a param group (a dict with "
                "'params'): an optimiser here has one group; for two learning rates make two "
                "optimisers and step both"
            )
        if not isinstance(p, Node) or not p.is_leaf:
            what = describe(p) if not isinstance(p, Node) else f"{describe(p)}, not a leaf"
            raise TypeError(
                f"{where}: parameters: item {position} is not a leaf node (got {what}); "
                "pass model.parameters()"
            )
    return list({id(p): p for p in found}.values())  # each once, where first given


def sizes(value: Any, where: str, name: str) -> list[int]:
    """Layer sizes: a list or tuple of positive ints, at least one."""
    if _is_integer(value):
        raise TypeError(
            f"{where}: {name} must be a list of layer sizes such as [{value}, 10], got the "
            f"single number {value} (the sizes go in one list: {where}(nin, [hidden, ..., out]))"
        )
    if not isinstance(value, (list, tuple)):
        wrong_type(where, name, "a list of layer sizes such as [128, 10]", value)
    if not value:
        raise ValueError(f"{where}: {name} must name at least one layer, got {describe(value)}")
    return [positive_int(size, where, f"{name}[{i}]") for i, size in enumerate(value)]


def numbers(
    value: Any, where: str, name: str, dtype: Any = None, *, at_least_1d: bool = False
) -> np.ndarray:
    """An array of real numbers (bools and ints too): no objects, strings or complex.

    A Tensor gives its data. ``at_least_1d`` refuses a single number where samples along
    the first axis are meant.
    """
    if isinstance(value, Tensor):
        value = value.data
    array = as_array(value, where, name)
    if array.dtype.kind not in "biuf":
        wrong_type(where, name, "an array of numbers", value)
    if at_least_1d and array.ndim == 0:
        raise ValueError(f"{where}: {name} must hold samples along its first axis, got {value!r}")
    if dtype is not None and array.dtype != dtype:
        array = array.astype(dtype)
    return array


def as_array(value: Any, where: str, name: str) -> np.ndarray:
    """``value`` as an array, as ``np.asarray`` makes it; the data of a function being
    compiled (``autograd.compile``) stays as it is: it has a shape and a dtype, no numbers."""
    if is_traced(value):
        return value
    try:
        return np.asarray(value)
    except (TypeError, ValueError):  # ragged nesting, objects numpy cannot take
        wrong_type(where, name, "an array of numbers", value)


def samples(value: Any, where: str, name: str, dtype: Any = None) -> np.ndarray:
    """Data with at least one sample along its first axis (a mean over none is no figure)."""
    array = numbers(value, where, name, dtype, at_least_1d=True)
    if len(array) == 0:
        raise ValueError(f"{where}: {name} holds no samples (shape {array.shape})")
    return array


def same_length(X: np.ndarray, y: np.ndarray, where: str, names: str = "X y") -> None:
    """X and y hold the same number of samples."""
    x_name, y_name = names.split()
    if len(X) != len(y):
        raise ValueError(
            f"{where}: {x_name} has {counted(len(X), 'sample')} but {y_name} has {len(y)}"
        )


def generator(value: Any, where: str, name: str = "rng") -> np.random.Generator:
    """A numpy Generator from a Generator (as it is), a seed ≥ 0 or None (fresh entropy)."""
    if isinstance(value, np.random.Generator):
        return value
    if value is None:
        return np.random.default_rng()
    seed = integer(value, where, name, minimum=0)
    return np.random.default_rng(seed)


def path(value: Any, where: str, name: str = "path") -> str | os.PathLike[str]:
    """A file's path: a string or an ``os.PathLike`` (a ``pathlib.Path``), not empty."""
    if not isinstance(value, (str, os.PathLike)):
        wrong_type(where, name, "a path (a string or a pathlib.Path)", value)
    if not os.fspath(value):
        raise ValueError(f"{where}: {name} is empty")
    if "\0" in os.fspath(value):
        raise ValueError(f"{where}: {name} holds a NUL character, which no file's name can")
    return value


def shape(value: Any, where: str, name: str) -> tuple[int, ...]:
    """One sample's shape: a sequence of positive ints."""
    if not isinstance(value, (tuple, list)):
        wrong_type(where, name, "a shape, a tuple of sizes such as (28, 28)", value)
    return tuple(positive_int(size, where, f"{name}[{i}]") for i, size in enumerate(value))


def reduction(value: Any, where: str, choices: Sequence[str]) -> str:
    """How a loss reduces: one of ``choices``."""
    if not isinstance(value, str):
        wrong_type(where, "reduction", f"one of {tuple(choices)}", value)
    if value not in choices:
        raise ValueError(f"{where}: reduction must be one of {tuple(choices)}, not {value!r}")
    return value


def callback(value: Any, where: str, name: str) -> Callable[..., Any] | None:
    """None, or a function."""
    return None if value is None else function(value, where, name, "a function or None")
