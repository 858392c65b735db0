"""Thread-local switches that change what the engine records: no_grad, enable_grad, detect_anomaly.

Each switch is a context manager and a decorator, with or without parentheses
(``@no_grad()`` and ``@no_grad``), as in PyTorch. The state lives in one
``threading.local`` object so that a thread that disables gradient recording does not
change what another thread records.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class _State(threading.local):
    """Per-thread flags; class attributes give every new thread the defaults."""

    grad_enabled: bool = True
    anomaly_enabled: bool = False


state = _State()


class _Switched:
    """How many switches are on right now, in all threads together.

    While none is, every thread has the defaults (grad on, anomaly off), so the code that
    records each node reads this plain counter and skips the thread-local state, which
    costs several times more to read.
    """

    __slots__ = ("count", "_lock")

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def add(self, change: int) -> None:
        with self._lock:
            self.count += change


switched = _Switched()


def is_grad_enabled() -> bool:
    """True when operations record the compute graph (the default)."""
    return state.grad_enabled


def is_anomaly_enabled() -> bool:
    """True inside ``detect_anomaly()``: forward and backward results are checked for NaN/inf."""
    return state.anomaly_enabled


class _Switch:
    """Sets one flag of the thread-local state for the duration of a ``with`` block or a call."""

    _flag: str = ""
    _value: bool = True

    def __new__(cls, function: Any = None) -> Any:
        """``no_grad()`` is a switch; ``@no_grad`` without parentheses decorates at once."""
        if function is None:
            return super().__new__(cls)
        if not callable(function):
            raise TypeError(f"{cls.__name__}: takes no arguments (or decorates a function)")
        return cls()(function)

    def __init__(self, function: Any = None) -> None:
        self._saved: list[bool] = []

    def __enter__(self) -> _Switch:
        self._saved.append(getattr(state, self._flag))
        switched.add(1)
        setattr(state, self._flag, self._value)
        return self

    def __exit__(self, *exc_info: object) -> None:
        setattr(state, self._flag, self._saved.pop())
        switched.add(-1)

    def __call__(self, function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with type(self)():
                return function(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(_Switch):  # noqa: N801 - named like PyTorch's, which users know
    """Record no compute graph: results of operations have no parents and do not require grad.

    Use it for evaluation and for parameter updates::

        with no_grad():
            predictions = model(x)
    """

    _flag = "grad_enabled"
    _value = False


class enable_grad(_Switch):  # noqa: N801
    """Record the compute graph again, inside a ``no_grad`` block."""

    _flag = "grad_enabled"
    _value = True


class detect_anomaly(_Switch):  # noqa: N801
    """Raise ``FloatingPointError`` naming the op whose forward or backward makes a NaN or inf.

    Checking every result costs time, so it is meant for debugging, not for training runs.
    """

    _flag = "anomaly_enabled"
    _value = True
