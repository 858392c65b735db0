"""The derivative rule of every primitive op, each declared once, as data.

A rule is a function ``backward(ctx, g, out, *inputs) -> tuple`` that returns exactly one
gradient per input (or None where an input gets none):

- ``g`` is d(root)/d(out), the gradient arriving at the op's output;
- ``out`` is the op's output and ``inputs`` are its inputs, in argument order;
- ``ctx`` holds plain constants the forward saved (an exponent, an axis, a shape).

The same rule serves both node kinds and both modes of the engine. Normally ``g``,
``out`` and ``inputs`` are raw data (Python floats for ``Value``, numpy arrays for
``Tensor``) and the rule is plain arithmetic. When the engine is asked for
``create_graph=True`` they are nodes instead, so the very same arithmetic records a new
graph, and the gradient can be differentiated again. Rules therefore use operators and
the helpers below, which pick the node method or the numpy/math function.

The engine sums a broadcast gradient back to its input's shape, so rules never do.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .node import Node

Backward = Callable[..., tuple[Any, ...]]


class Rule:
    """A primitive op: its name, the symbol drawn in pictures, and its derivative rule.

    A ``{}`` in the symbol is filled with the op's constant (``× {}`` is drawn ``× 2``).
    """

    __slots__ = ("name", "symbol", "backward")

    def __init__(self, name: str, symbol: str, backward: Backward) -> None:
        self.name = name
        self.symbol = symbol
        self.backward = backward

    def __repr__(self) -> str:
        return f"Rule({self.name!r})"


#: Every primitive op by name.
RULES: dict[str, Rule] = {}


def rule(name: str, symbol: str | None = None) -> Callable[[Backward], Rule]:
    """Register ``backward`` as the derivative rule of the primitive ``name``."""

    def register(backward: Backward) -> Rule:
        if name in RULES:
            raise ValueError(f"the rule for {name!r} is declared twice")
        RULES[name] = Rule(name, symbol or name, backward)
        return RULES[name]

    return register


# -- helpers that work on floats, numpy arrays and nodes alike -------------------------


def _exp(x: Any) -> Any:
    if isinstance(x, Node):
        return x.exp()  # type: ignore[attr-defined]
    return math.exp(x) if isinstance(x, float) else np.exp(x)


def _log(x: Any) -> Any:
    if isinstance(x, Node):
        return x.log()  # type: ignore[attr-defined]
    if isinstance(x, float):
        return math.log(x) if x > 0 else math.nan
    return np.log(x)


def _sign(x: Any) -> Any:
    """sign(x) in {-1, 0, 1} as a constant: it has no gradient of its own."""
    if isinstance(x, Node):
        return type(x)._constant(_sign(x.data))
    if isinstance(x, float):
        return math.copysign(1.0, x) if x != 0.0 else 0.0
    return np.sign(x)


# -- elementwise rules, shared by Value and Tensor -------------------------------------


@rule("add", "+")
def add(ctx: None, g: Any, out: Any, a: Any, b: Any) -> tuple[Any, Any]:
    """d(a + b)/da = 1, d(a + b)/db = 1."""
    return g, g


@rule("add_scalar", "+ {}")
def add_scalar(c: float, g: Any, out: Any, a: Any) -> tuple[Any]:
    """d(a + c)/da = 1 for a constant number c (saved in ctx)."""
    return (g,)


@rule("add_n", "Σ")
def add_n(ctx: None, g: Any, out: Any, *terms: Any) -> tuple[Any, ...]:
    """d(x1 + ... + xn)/dxi = 1 for every term."""
    return (g,) * len(terms)


@rule("linear", "w·x + b")
def linear(n: int, g: Any, out: Any, *inputs: Any) -> tuple[Any, ...]:
    """A neuron's pre-activation Σ_i w_i·x_i + b, fused; inputs are w_1..w_n, x_1..x_n, b.

    d/dw_i = x_i, d/dx_i = w_i, d/db = 1 (n, the number of weights, is saved in ctx).
    """
    weights, xs = inputs[:n], inputs[n : 2 * n]
    return (*[g * x for x in xs], *[g * w for w in weights], g)


@rule("mul", "×")
def mul(ctx: None, g: Any, out: Any, a: Any, b: Any) -> tuple[Any, Any]:
    """d(a·b)/da = b, d(a·b)/db = a."""
    return g * b, g * a


@rule("mul_scalar", "× {}")
def mul_scalar(c: float, g: Any, out: Any, a: Any) -> tuple[Any]:
    """d(c·a)/da = c for a constant number c (saved in ctx)."""
    return (g * c,)


@rule("neg", "−")
def neg(ctx: None, g: Any, out: Any, a: Any) -> tuple[Any]:
    """d(−a)/da = −1."""
    return (-g,)


@rule("pow_const", "^{}")
def pow_const(exponent: float, g: Any, out: Any, a: Any) -> tuple[Any]:
    """d(a^p)/da = p·a^(p−1) for a constant exponent p (saved in ctx)."""
    if exponent == 2:
        return (g * 2.0 * a,)
    return (g * exponent * a ** (exponent - 1),)


@rule("pow", "^")
def pow_(ctx: None, g: Any, out: Any, a: Any, b: Any) -> tuple[Any, Any]:
    """d(a^b)/da = b·a^(b−1), d(a^b)/db = a^b·ln a (defined for a > 0)."""
    return g * b * a ** (b - 1), g * out * _log(a)


@rule("exp")
def exp(ctx: None, g: Any, out: Any, a: Any) -> tuple[Any]:
    """d(e^a)/da = e^a, which is the output itself."""
    return (g * out,)


@rule("log", "ln")
def log(ctx: None, g: Any, out: Any, a: Any) -> tuple[Any]:
    """d(ln a)/da = 1/a."""
    return (g / a,)


@rule("sqrt", "√")
def sqrt(ctx: None, g: Any, out: Any, a: Any) -> tuple[Any]:
    """d(√a)/da = 1/(2√a) = 0.5/out."""
    return (g * 0.5 / out,)


@rule("tanh")
def tanh(ctx: None, g: Any, out: Any, a: Any) -> tuple[Any]:
    """d(tanh a)/da = 1 − tanh²a = 1 − out²."""
    return (g * (1.0 - out * out),)


@rule("sigmoid", "σ")
def sigmoid(ctx: None, g: Any, out: Any, a: Any) -> tuple[Any]:
    """d(σ(a))/da = σ(a)·(1 − σ(a)) = out·(1 − out)."""
    return (g * out * (1.0 - out),)


@rule("relu", "ReLU")
def relu(ctx: None, g: Any, out: Any, a: Any) -> tuple[Any]:
    """d(max(a, 0))/da = 1 where a > 0, else 0 (the subgradient 0 is taken at a = 0)."""
    return (g * (out > 0),)


@rule("abs", "|·|")
def abs_(ctx: None, g: Any, out: Any, a: Any) -> tuple[Any]:
    """d|a|/da = sign(a) (the subgradient 0 is taken at a = 0)."""
    return (g * _sign(a),)
