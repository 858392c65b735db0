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
from .trace import Sym, apply, made

Backward = Callable[..., tuple[Any, ...]]


class Rule:
    """A primitive op: its name, the symbol drawn in pictures, and its derivative rule.

    A ``{}`` in the symbol is filled with the op's constant (``× {}`` is drawn ``× 2``).
    ``reads_inputs`` and ``reads_output`` say which data the rule reads: the engine checks
    that data was not changed since the forward (see ``versions.py``).
    """

    __slots__ = ("name", "symbol", "backward", "reads_inputs", "reads_output")

    def __init__(self, name: str, symbol: str, backward: Backward, reads: str = "") -> None:
        if reads not in ("", "inputs", "output", "both"):
            raise ValueError(f"rule {name!r}: reads must be '', inputs, output or both")
        self.name = name
        self.symbol = symbol
        self.backward = backward
        self.reads_inputs = reads in ("inputs", "both")
        self.reads_output = reads in ("output", "both")

    def __repr__(self) -> str:
        return f"Rule({self.name!r})"


#: Every primitive op by name.
RULES: dict[str, Rule] = {}


def rule(name: str, symbol: str | None = None, *, reads: str = "") -> Callable[[Backward], Rule]:
    """Register ``backward`` as the derivative rule of the primitive ``name``.

    The library's own table; an op of your own is declared with ``autograd.rule``.

    ``reads`` names the data the rule reads besides the incoming gradient: "inputs",
    "output", "both" or "" (none).
    """

    def register(backward: Backward) -> Rule:
        if name in RULES:
            raise ValueError(f"the rule for {name!r} is declared twice")
        RULES[name] = Rule(name, symbol or name, backward, reads)
        return RULES[name]

    return register


# -- helpers that work on floats, numpy arrays and nodes alike -------------------------


def _exp(x: Any) -> Any:
    if isinstance(x, Node):
        return x.exp()
    if type(x) is Sym:  # a compiled step calls this very helper (trace.py)
        return apply(_exp, x)
    return math.exp(x) if isinstance(x, float) else np.exp(x)


def _log(x: Any) -> Any:
    if isinstance(x, Node):
        return x.log()
    if type(x) is Sym:
        return apply(_log, x)
    if isinstance(x, float):
        return math.log(x) if x > 0 else math.nan
    return np.log(x)


def _float(x: Any) -> Any:
    """float(x); of traced data (trace.py), the conversion is written into the compiled step."""
    return apply(float, x) if type(x) is Sym else float(x)


def _data(x: Any) -> Any:
    """The raw data of a node, or ``x`` itself: for masks, which are constants."""
    return x._data if isinstance(x, Node) else x


def stable_sigmoid(x: Any) -> Any:
    """σ(x) = 1/(1 + e^−x) on a float or an array, from e^−|x| so that nothing overflows.

    The one place this numerics lives: Value.sigmoid, Tensor.sigmoid and the logistic
    loss's rule all call it.
    """
    if type(x) is Sym:
        return apply(stable_sigmoid, x)
    if isinstance(x, float):
        z = math.exp(-abs(x))
        return 1.0 / (1.0 + z) if x >= 0 else z / (1.0 + z)
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z)).astype(x.dtype, copy=False)


def _sign(x: Any) -> Any:
    """sign(x) in {-1, 0, 1} as a constant: it has no gradient of its own."""
    if isinstance(x, Node):
        return type(x)._constant(_sign(x._data))
    if type(x) is Sym:
        return apply(_sign, x)
    if isinstance(x, float):
        return math.copysign(1.0, x) if x != 0.0 else 0.0
    return np.sign(x)


# -- elementwise rules, shared by Value and Tensor -------------------------------------


@rule("add", "+")
def add(ctx: None, g: Any, out: Any, a: Any, b: Any) -> tuple[Any, Any]:
    """d(a + b)/da = 1, d(a + b)/db = 1."""
    return g, g


@rule("add_constant", "+ {}")
def add_constant(c: Any, g: Any, out: Any, a: Any) -> tuple[Any]:
    """d(a + c)/da = 1 for a constant c (a number or an array, saved in ctx)."""
    return (g,)


@rule("add_n", "Σ")
def add_n(ctx: None, g: Any, out: Any, *terms: Any) -> tuple[Any, ...]:
    """d(x1 + ... + xn)/dxi = 1 for every term."""
    return (g,) * len(terms)


@rule("weighted_sum", "w·x + b", reads="inputs")
def weighted_sum(n: int, g: Any, out: Any, *inputs: Any) -> tuple[Any, ...]:
    """A neuron's pre-activation Σ_i w_i·x_i + b, fused; inputs are w_1..w_n, x_1..x_n, b.

    d/dw_i = x_i, d/dx_i = w_i, d/db = 1 (n, the number of weights, is saved in ctx).
    """
    weights, xs = inputs[:n], inputs[n : 2 * n]
    return (*[g * x for x in xs], *[g * w for w in weights], g)


@rule("mul", "×", reads="inputs")
def mul(ctx: None, g: Any, out: Any, a: Any, b: Any) -> tuple[Any, Any]:
    """d(a·b)/da = b, d(a·b)/db = a."""
    return g * b, g * a


@rule("sub", "−")
def sub(ctx: None, g: Any, out: Any, a: Any, b: Any) -> tuple[Any, Any]:
    """d(a − b)/da = 1, d(a − b)/db = −1."""
    return g, -g


@rule("div", "÷", reads="both")
def div(ctx: None, g: Any, out: Any, a: Any, b: Any) -> tuple[Any, Any]:
    """d(a/b)/da = 1/b, d(a/b)/db = −a/b² = −out/b."""
    return g / b, -g * out / b


@rule("mul_constant", "× {}")
def mul_constant(c: Any, g: Any, out: Any, a: Any) -> tuple[Any]:
    """d(c·a)/da = c for a constant c (a number or an array, saved in ctx)."""
    return (g * c,)


@rule("neg", "−")
def neg(ctx: None, g: Any, out: Any, a: Any) -> tuple[Any]:
    """d(−a)/da = −1."""
    return (-g,)


@rule("pow_const", "^{}", reads="inputs")
def pow_const(exponent: Any, g: Any, out: Any, a: Any) -> tuple[Any]:
    """d(a^p)/da = p·a^(p−1) for a constant exponent p (saved in ctx).

    Where p = 0 the derivative is 0, even at a = 0 (a^0 = 1 is constant), as in PyTorch.
    """
    if np.ndim(exponent) == 0:
        if exponent == 0:
            return (g * 0.0,)
        if exponent == 2.0:
            return (g * 2.0 * a,)
        return (g * exponent * a ** (exponent - 1),)
    zero = exponent == 0
    if zero.any():  # a^(p−1) would be 0^−1 there: take the base as 1, the term is 0 anyway
        a = a + zero * (1 - _data(a))
    return (g * exponent * a ** (exponent - 1),)


@rule("pow", "^", reads="both")
def pow_(ctx: None, g: Any, out: Any, a: Any, b: Any) -> tuple[Any, Any]:
    """d(a^b)/da = b·a^(b−1), d(a^b)/db = a^b·ln a.

    As in PyTorch at a = 0: d/da = 0 where b = 0 too (0^0 = 1, constant), and d/db = 0
    where b ≥ 0 (a^b is 0 or 1 there, whatever ln 0 says). Elsewhere the formulas hold
    as they are, so second derivatives stay right.
    """
    a_data, b_data = _data(a), _data(b)
    zero_exponent = (a_data == 0) & (b_data == 0)
    zero_base = (a_data == 0) & (b_data >= 0)
    if isinstance(a_data, float):  # Values: decide on the data
        grad_a = g * 0.0 if zero_exponent else g * b * a ** (b - 1)
        grad_b = g * 0.0 if zero_base else g * out * _log(a)
        return grad_a, grad_b
    with np.errstate(divide="ignore", invalid="ignore"):  # inf and nan as PyTorch gives them
        # Where a term is 0 by the rules above, its base is taken as 1 so that no 0·inf
        # appears; the term's own factor (b = 0, or ln 1 = 0) makes it 0.
        base_a = a + zero_exponent * (1 - a_data) if zero_exponent.any() else a
        base_b = a + zero_base * (1 - a_data) if zero_base.any() else a
        return g * b * base_a ** (b - 1), g * out * _log(base_b)


@rule("exp", reads="output")
def exp(ctx: None, g: Any, out: Any, a: Any) -> tuple[Any]:
    """d(e^a)/da = e^a, which is the output itself."""
    return (g * out,)


@rule("log", "ln", reads="inputs")
def log(ctx: None, g: Any, out: Any, a: Any) -> tuple[Any]:
    """d(ln a)/da = 1/a."""
    return (g / a,)


@rule("sqrt", "√", reads="output")
def sqrt(ctx: None, g: Any, out: Any, a: Any) -> tuple[Any]:
    """d(√a)/da = 1/(2√a) = 0.5/out."""
    return (g * 0.5 / out,)


@rule("tanh", reads="output")
def tanh(ctx: None, g: Any, out: Any, a: Any) -> tuple[Any]:
    """d(tanh a)/da = 1 − tanh²a = 1 − out²."""
    return (g * (1.0 - out * out),)


@rule("sigmoid", "σ", reads="output")
def sigmoid(ctx: None, g: Any, out: Any, a: Any) -> tuple[Any]:
    """d(σ(a))/da = σ(a)·(1 − σ(a)) = out·(1 − out)."""
    return (g * out * (1.0 - out),)


@rule("relu", "ReLU", reads="output")
def relu(ctx: None, g: Any, out: Any, a: Any) -> tuple[Any]:
    """d(max(a, 0))/da = 1 where a > 0, else 0 (the subgradient 0 is taken at a = 0)."""
    return (g * (out > 0),)


@rule("abs", "|·|", reads="inputs")
def abs_(ctx: None, g: Any, out: Any, a: Any) -> tuple[Any]:
    """d|a|/da = sign(a) (the subgradient 0 is taken at a = 0)."""
    return (g * _sign(a),)


# -- rules for tensors -------------------------------------------------------------------
#
# Masks (where an input was the maximum, inside a clip range, ...) are computed from raw
# data in both modes: they are piecewise constant, so their own derivative is zero.


def _broadcast_to(x: Any, shape: tuple[int, ...]) -> Any:
    if isinstance(x, Node):
        return x.broadcast_to(shape)
    return np.broadcast_to(x, shape)


def _is_basic_index(index: Any) -> bool:
    """True for indices made of ints, slices, None and Ellipsis: they pick each element once."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(
        isinstance(part, (int, np.integer, slice)) or part is None or part is Ellipsis
        for part in parts
    )


def add_at(shape: tuple[int, ...], index: Any, g: Any) -> Any:
    """zeros(shape) with g added at ``index`` (repeated indices add up)."""
    if isinstance(g, Node):
        return g._scatter_add(index, shape)
    result = made(np.zeros, shape, dtype=g.dtype, like=g)
    if _is_basic_index(index) or (isinstance(index, np.ndarray) and index.dtype == bool):
        result[index] = g
    else:
        np.add.at(result, index, g)
    return result


@rule("sum", "Σ")
def sum_(ctx: tuple[tuple[int, ...], tuple[int, ...]], g: Any, out: Any, a: Any) -> tuple[Any]:
    """d(Σ_axes a)/da = 1 for every summed element: g is copied back along the summed axes."""
    kept_shape, input_shape = ctx
    return (_broadcast_to(g.reshape(kept_shape), input_shape),)


@rule("max", reads="both")
def max_(ctx: tuple[tuple[int, ...], tuple[int, ...]], g: Any, out: Any, a: Any) -> tuple[Any]:
    """d(max a)/da = 1 where a is the maximum (shared equally among ties), else 0."""
    kept_shape, _ = ctx
    return (_extremum_gradient(g, out, a, kept_shape),)


@rule("min", reads="both")
def min_(ctx: tuple[tuple[int, ...], tuple[int, ...]], g: Any, out: Any, a: Any) -> tuple[Any]:
    """d(min a)/da = 1 where a is the minimum (shared equally among ties), else 0."""
    kept_shape, _ = ctx
    return (_extremum_gradient(g, out, a, kept_shape),)


def _extremum_gradient(g: Any, out: Any, a: Any, kept_shape: tuple[int, ...]) -> Any:
    hits = _data(a) == _data(out).reshape(kept_shape)
    axes = tuple(
        axis for axis, size in enumerate(kept_shape) if size == 1 and hits.shape[axis] != 1
    )
    weights = hits.astype(_data(g).dtype)
    weights /= weights.sum(axis=axes, keepdims=True)
    return g.reshape(kept_shape) * weights


@rule("maximum", reads="inputs")
def maximum(ctx: None, g: Any, out: Any, a: Any, b: Any) -> tuple[Any, Any]:
    """d max(a, b)/da = 1 where a > b, ½ where a = b, 0 elsewhere; b likewise."""
    share_a = _tie_shares(_data(a), _data(b), _data(g).dtype)
    return g * share_a, g * (1.0 - share_a)


@rule("minimum", reads="inputs")
def minimum(ctx: None, g: Any, out: Any, a: Any, b: Any) -> tuple[Any, Any]:
    """d min(a, b)/da = 1 where a < b, ½ where a = b, 0 elsewhere; b likewise."""
    share_a = _tie_shares(_data(b), _data(a), _data(g).dtype)
    return g * share_a, g * (1.0 - share_a)


def _tie_shares(larger: Any, smaller: Any, dtype: Any) -> np.ndarray:
    """1 where ``larger`` > ``smaller``, ½ where they are equal, 0 elsewhere."""
    return np.where(larger > smaller, 1.0, np.where(larger == smaller, 0.5, 0.0)).astype(dtype)


@rule("clip", reads="inputs")
def clip(ctx: tuple[float | None, float | None], g: Any, out: Any, a: Any) -> tuple[Any]:
    """d clip(a, lo, hi)/da = 1 where lo ≤ a ≤ hi, else 0."""
    low, high = ctx
    inside = made(np.ones, np.shape(_data(a)), dtype=bool, like=_data(a))
    if low is not None:
        inside &= _data(a) >= low
    if high is not None:
        inside &= _data(a) <= high
    return (g * inside,)


@rule("where")
def where(condition: np.ndarray, g: Any, out: Any, a: Any, b: Any) -> tuple[Any, Any]:
    """d where(c, a, b)/da = 1 where c holds, d/db = 1 where it does not (c saved in ctx)."""
    return g * condition, g * ~condition


@rule("matmul", "@", reads="inputs")
def matmul(needs: tuple[bool, bool], g: Any, out: Any, a: Any, b: Any) -> tuple[Any, Any]:
    """d(a @ b)/da = g @ bᵀ, d(a @ b)/db = aᵀ @ g, with numpy's rules for 1-D operands.

    A 1-D a is a row (1, k) and a 1-D b a column (k, 1) while the products are formed;
    the engine sums the batch axes that broadcasting added. ``needs`` says which inputs
    required grad at the forward, so no product is formed for a constant.
    """
    a_matrix = a if a.ndim > 1 else a.reshape((1, a.shape[0]))
    b_matrix = b if b.ndim > 1 else b.reshape((b.shape[0], 1))
    g_shape = list(g.shape)
    if a.ndim == 1:
        g_shape.insert(len(g_shape) - (1 if b.ndim > 1 else 0), 1)
    if b.ndim == 1:
        g_shape.append(1)
    g_matrix = g.reshape(tuple(g_shape))
    grad_a = grad_b = None
    # An operand read transposed (``x @ w.T``, ``w.T @ x``) gets its gradient formed in its
    # own layout, so that it reaches w contiguous, as w's data is.
    if needs[0]:
        if _is_transposed_matrix(a_matrix) and b_matrix.ndim == 2:
            grad_a = (b_matrix @ g_matrix.T).T
        else:
            grad_a = g_matrix @ b_matrix.swapaxes(-1, -2)
        if a.ndim == 1:
            grad_a = grad_a.reshape((*grad_a.shape[:-2], a.shape[0]))
    if needs[1]:
        if _is_transposed_matrix(b_matrix) and a_matrix.ndim == 2:
            grad_b = (g_matrix.T @ a_matrix).T
        else:
            grad_b = a_matrix.swapaxes(-1, -2) @ g_matrix
        if b.ndim == 1:
            grad_b = grad_b.reshape(grad_b.shape[:-1])
    return grad_a, grad_b


def _is_transposed_matrix(x: Any) -> bool:
    """True for a 2-D array laid out column by column (the transpose of a row-major one)."""
    return (
        isinstance(x, np.ndarray)
        and x.ndim == 2
        and x.flags.f_contiguous
        and not x.flags.c_contiguous
    )


@rule("linear", "x·Wᵀ + b", reads="inputs")
def linear(
    needs: tuple[bool, ...], g: Any, out: Any, x: Any, weight: Any, *bias: Any
) -> tuple[Any, ...]:
    """A layer's x·Wᵀ + b, fused: d/dx = g·W, d/dW = gᵀ·x, d/db = Σ_rows g.

    Rows of every leading axis of x are summed into the weight's and bias's gradients.
    """
    rows = g if g.ndim == 2 else g.reshape((-1, g.shape[-1]))
    grad_x = g @ weight if needs[0] else None
    grad_weight = None
    if needs[1]:
        grad_weight = rows.T @ (x if x.ndim == 2 else x.reshape((-1, x.shape[-1])))
    if not bias:
        return grad_x, grad_weight
    return grad_x, grad_weight, rows.sum(axis=0) if needs[2] else None


@rule("reshape")
def reshape(input_shape: tuple[int, ...], g: Any, out: Any, a: Any) -> tuple[Any]:
    """Reshaping moves no value: the gradient takes the input's shape back."""
    return (g.reshape(input_shape),)


@rule("transpose", "ᵀ")
def transpose(axes: tuple[int, ...], g: Any, out: Any, a: Any) -> tuple[Any]:
    """The gradient is permuted back with the inverse permutation."""
    return (g.transpose(tuple(np.argsort(axes))),)


@rule("cast")
def cast(input_dtype: np.dtype[Any], g: Any, out: Any, a: Any) -> tuple[Any]:
    """A change of precision moves no value: the gradient is cast back to the input's dtype."""
    return (g.astype(input_dtype),)


@rule("broadcast_to")
def broadcast_to(ctx: None, g: Any, out: Any, a: Any) -> tuple[Any]:
    """Each input element was copied; the engine sums the copies' gradients back."""
    return (g,)


@rule("getitem", "[ ]")
def getitem(ctx: tuple[Any, tuple[int, ...]], g: Any, out: Any, a: Any) -> tuple[Any]:
    """Each picked element gets its gradient back; one picked twice gets the sum."""
    index, input_shape = ctx
    return (add_at(input_shape, index, g),)


@rule("scatter_add")
def scatter_add(ctx: tuple[Any, tuple[int, ...]], g: Any, out: Any, a: Any) -> tuple[Any]:
    """zeros with ``a`` added at an index: the inverse of getitem, whose gradient it is."""
    index, _ = ctx
    return (g[index],)


@rule("concatenate", "concat")
def concatenate(
    ctx: tuple[int, tuple[int, ...]], g: Any, out: Any, *inputs: Any
) -> tuple[Any, ...]:
    """Each input gets the slice of the gradient where it was placed."""
    axis, sizes = ctx
    before = (slice(None),) * axis
    grads, start = [], 0
    for size in sizes:
        grads.append(g[(*before, slice(start, start + size))])
        start += size
    return tuple(grads)


@rule("stack")
def stack(axis: int, g: Any, out: Any, *inputs: Any) -> tuple[Any, ...]:
    """Input i gets the gradient's i-th entry along the new axis."""
    before = (slice(None),) * axis
    return tuple(g[(*before, i)] for i in range(len(inputs)))


@rule("logsumexp", "logΣexp", reads="both")
def logsumexp(ctx: tuple[int, tuple[int, ...]], g: Any, out: Any, a: Any) -> tuple[Any]:
    """d log Σ_j e^(a_j) / da_i = e^(a_i − out) = softmax(a)_i."""
    _, kept_shape = ctx
    return (g.reshape(kept_shape) * _exp(a - out.reshape(kept_shape)),)


@rule("log_softmax", reads="output")
def log_softmax(axis: int, g: Any, out: Any, a: Any) -> tuple[Any]:
    """out = a − logsumexp(a): d/da = g − softmax(a)·Σ_j g_j, with softmax = e^out."""
    return (g - _exp(out) * g.sum(axis=axis, keepdims=True),)


@rule("softmax", reads="output")
def softmax(axis: int, g: Any, out: Any, a: Any) -> tuple[Any]:
    """out = e^a / Σ e^a: d/da = out·(g − Σ_j g_j·out_j)."""
    return (out * (g - (g * out).sum(axis=axis, keepdims=True)),)


@rule("cross_entropy", "cross-entropy", reads="inputs")
def cross_entropy(
    ctx: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str], g: Any, out: Any, logits: Any
) -> tuple[Any]:
    """loss_i = logsumexp(z_i) − z_i[y_i]: d loss_i / dz_i = softmax(z_i) − onehot(y_i).

    The forward saved the row numbers, the labels, e^(z − max) and its row sums (and the
    reduction), so the fast path forms softmax(z) only
    when a backward asks for it (an evaluation under no_grad never pays for it); when the
    engine records a graph, the probabilities are recomputed from the logits node, so
    second derivatives are right.
    """
    rows, labels, exps, sums, reduction = ctx
    if isinstance(logits, Node):  # recorded: the probabilities must depend on the logits
        one_hot = np.zeros(logits.shape, dtype=logits._data.dtype)
        one_hot[rows, labels] = 1.0
        delta = logits.softmax(axis=-1) - one_hot
        if reduction == "none":
            return (delta * g.reshape((-1, 1)),)
        if reduction == "mean":
            return (delta * (g * (1.0 / max(len(labels), 1))),)
        return (delta * g,)
    if reduction == "none":
        delta = exps * (g.reshape((-1, 1)) / sums)
        delta[rows, labels] -= g
        return (delta,)
    if not len(labels):  # an empty batch: an empty gradient
        return (np.zeros_like(exps),)
    scale = _float(g) / len(labels) if reduction == "mean" else _float(g)  # the loss is a scalar
    delta = exps * (scale / sums)  # softmax(z)·scale, formed only when a backward needs it
    delta[rows, labels] -= scale
    return (delta,)


@rule("binary_cross_entropy", "BCE", reads="inputs")
def binary_cross_entropy(target: Any, g: Any, out: Any, z: Any) -> tuple[Any]:
    """loss = log(1 + e^z) − y·z for a logit z and a target y in [0, 1]: d/dz = σ(z) − y."""
    probability = z.sigmoid() if isinstance(z, Node) else stable_sigmoid(z)
    return (g * (probability - target),)
