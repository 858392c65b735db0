"""Check the engine's gradients against float64 central differences.

For a function f of inputs x_i, the analytic Jacobian dy_k/dx_i comes from the engine
(one vector-Jacobian product per output element) and the numeric one from

    dy_k/dx_ij ≈ (y_k(x_ij + ε) − y_k(x_ij − ε)) / (2ε),

whose error is O(ε²). They must agree to |analytic − numeric| ≤ atol + rtol·|numeric|.
``gradgradcheck`` applies the same test to the engine's gradient itself, computed with
``create_graph=True``, which checks second derivatives.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tracegrad.words import counted

from .engine import grad
from .node import Node

Function = Callable[..., Any]


class GradcheckError(AssertionError):
    """The analytic and the numeric derivative of a function disagree."""


def _as_outputs(result: Any) -> tuple[Node, ...]:
    outputs = result if isinstance(result, (tuple, list)) else (result,)
    for position, output in enumerate(outputs):
        if not isinstance(output, Node):
            raise TypeError(
                f"gradcheck: the function must return nodes, output {position} is "
                f"{type(output).__name__}"
            )
    return tuple(outputs)


def _flat(data: Any) -> np.ndarray:
    return np.array(data, dtype=np.float64).reshape(-1)


def _tolerance(value: Any, name: str, positive: bool = False) -> float:
    """A step or a tolerance of gradcheck: a finite real number, above 0 or not below."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"gradcheck: {name} must be a real number, got {value!r}")
    number = float(value)
    if not np.isfinite(number) or number < 0 or (positive and number == 0):
        wanted = "positive" if positive else "at least 0"
        raise ValueError(f"gradcheck: {name} must be {wanted} (and finite), got {value!r}")
    return number


def _checked_inputs(inputs: Sequence[Node]) -> list[Node]:
    inputs = list(inputs)
    if not inputs:
        raise ValueError("gradcheck: no inputs to check")
    for position, node in enumerate(inputs):
        if not isinstance(node, Node):
            raise TypeError(f"gradcheck: input {position} is {type(node).__name__}, not a node")
        if not node.requires_grad:
            raise ValueError(f"gradcheck: input {position} does not require grad")
        dtype = getattr(node.data, "dtype", np.dtype(np.float64))
        if dtype != np.float64:
            raise ValueError(
                f"gradcheck: input {position} is {dtype}; central differences need float64"
            )
    return inputs


def _analytic_jacobians(fn: Function, inputs: list[Node]) -> list[np.ndarray]:
    """For each input, the matrix of d(every output element)/d(every input element)."""
    outputs = _as_outputs(fn(*inputs))
    rows: list[list[np.ndarray]] = [[] for _ in inputs]
    for output in outputs:
        shape = np.shape(output.data)
        for k in range(int(np.prod(shape))):
            if not output.requires_grad:
                for position, node in enumerate(inputs):
                    rows[position].append(np.zeros(np.size(node.data)))
                continue
            one_hot = np.zeros(shape)
            one_hot.reshape(-1)[k] = 1.0
            seed = one_hot if shape else 1.0
            grads = grad([output], inputs, grad_outputs=[seed], allow_unused=True)
            for position, (node, g) in enumerate(zip(inputs, grads)):
                row = np.zeros(np.size(node.data)) if g is None else _flat(g.data)
                rows[position].append(row)
    return [np.array(r).reshape(-1, np.size(node.data)) for r, node in zip(rows, inputs)]


def _set_element(node: Node, index: int, value: float) -> None:
    if isinstance(node.data, np.ndarray):
        node.data.reshape(-1)[index] = value
    else:
        node.data = float(value)


def _numeric_jacobians(fn: Function, inputs: list[Node], eps: float) -> list[np.ndarray]:
    """Central differences, one input element at a time.

    The function runs with gradient recording as the caller has it: ``gradgradcheck``'s
    function itself calls the engine, which needs the graph.
    """

    def evaluate() -> np.ndarray:
        return np.concatenate([_flat(output.data) for output in _as_outputs(fn(*inputs))])

    jacobians = []
    for node in inputs:
        flat = _flat(node.data)
        columns = []
        for index, original in enumerate(flat):
            _set_element(node, index, original + eps)
            upper = evaluate()
            _set_element(node, index, original - eps)
            lower = evaluate()
            _set_element(node, index, original)
            columns.append((upper - lower) / (2.0 * eps))
        jacobians.append(np.array(columns).T.reshape(-1, flat.size))
    return jacobians


def _element(shape: tuple[int, ...], index: int) -> str:
    """ " at [i, j]" for an element of an array, "" for a scalar."""
    if not shape:
        return ""
    return " at [" + ", ".join(str(int(i)) for i in np.unravel_index(index, shape)) + "]"


def gradcheck(
    fn: Function,
    inputs: Sequence[Node],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> bool:
    """True if the engine's first derivatives of ``fn`` match central differences.

    ``fn(*inputs)`` returns a node or a tuple of nodes; ``inputs`` are float64 nodes that
    require grad. A mismatch raises ``GradcheckError`` naming the input, the elements,
    and the analytic and numeric values.
    """
    if not callable(fn):
        raise TypeError(f"gradcheck: fn must be a function, got {type(fn).__name__}")
    eps = _tolerance(eps, "eps", positive=True)  # eps=-1 would difference backwards
    atol, rtol = _tolerance(atol, "atol"), _tolerance(rtol, "rtol")
    inputs = _checked_inputs(inputs)
    analytic = _analytic_jacobians(fn, inputs)
    numeric = _numeric_jacobians(fn, inputs, eps)
    output_shapes = [np.shape(o.data) for o in _as_outputs(fn(*inputs))]
    output_names = [
        (number, _element(shape, k))
        for number, shape in enumerate(output_shapes)
        for k in range(int(np.prod(shape)))
    ]
    for position, (node, a, n) in enumerate(zip(inputs, analytic, numeric)):
        bad = np.abs(a - n) > atol + rtol * np.abs(n)
        if bad.any():
            row, column = np.argwhere(bad)[0]
            output_number, output_element = output_names[row]
            raise GradcheckError(
                f"gradcheck: d(output {output_number}{output_element})/d(input {position}"
                f"{_element(np.shape(node.data), column)}) disagrees: analytic "
                f"{a[row, column]:.8g}, numeric {n[row, column]:.8g} "
                f"(atol={atol}, rtol={rtol}; {int(bad.sum())} of "
                f"{counted(bad.size, 'entry')} {'differs' if bad.sum() == 1 else 'differ'})"
            )
    return True


def gradgradcheck(
    fn: Function,
    inputs: Sequence[Node],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """True if the engine's second derivatives of ``fn`` match central differences.

    It checks the function x ↦ Σ_k v_k · dy_k/dx (the gradient with ``create_graph=True``,
    for fixed random seeds v_k drawn from ``numpy.random.default_rng(seed)``) with
    ``gradcheck``: its Jacobian is the Hessian of Σ_k v_k·y_k. First it compares that
    recorded gradient itself with central differences of Σ_k v_k·y_k, since a rule whose
    recorded branch is wrong can still be consistent with its own derivative.
    """
    inputs = _checked_inputs(inputs)
    rng = np.random.default_rng(seed)
    vectors = []
    for output in _as_outputs(fn(*inputs)):
        shape = np.shape(output.data)
        vectors.append(rng.standard_normal(shape) if shape else float(rng.standard_normal()))

    def first_derivatives(*xs: Node) -> tuple[Node, ...]:
        outputs = _as_outputs(fn(*xs))
        used = [(o, v) for o, v in zip(outputs, vectors) if o.requires_grad]
        grads: tuple[Any, ...] = (None,) * len(xs)
        if used:
            grads = grad(
                [o for o, _ in used],
                list(xs),
                grad_outputs=[v for _, v in used],
                create_graph=True,
                allow_unused=True,
            )
        return tuple(
            type(x)._constant(np.zeros_like(x.data)) if g is None else g for x, g in zip(xs, grads)
        )

    _check_recorded_first_derivatives(
        fn, inputs, vectors, first_derivatives(*inputs), eps, atol, rtol
    )
    try:
        return gradcheck(first_derivatives, inputs, eps=eps, atol=atol, rtol=rtol)
    except GradcheckError as error:  # the checked function is a first derivative: say so
        message = str(error).replace(
            "gradcheck: d(output", "gradgradcheck: the second derivative d(Σ v·dy/dx, output", 1
        )
        raise GradcheckError(message) from None


def _check_recorded_first_derivatives(
    fn: Function,
    inputs: list[Node],
    vectors: list[Any],
    recorded: tuple[Node, ...],
    eps: float,
    atol: float,
    rtol: float,
) -> None:
    """The first derivatives that ``create_graph=True`` records must be right themselves.

    Differentiating them again only shows that they are consistent with their own
    derivative: a recorded rule that scaled every gradient by 0 would pass. So they are
    compared with central differences of Σ_k v_k·y_k first.
    """
    weights = np.concatenate([_flat(v) for v in vectors]) if vectors else np.zeros(0)
    numeric = _numeric_jacobians(fn, inputs, eps)
    for position, (node, jacobian, derivative) in enumerate(zip(inputs, numeric, recorded)):
        expected = weights @ jacobian
        got = _flat(derivative.data)
        bad = np.abs(got - expected) > atol + rtol * np.abs(expected)
        if bad.any():
            column = int(np.argwhere(bad)[0][0])
            raise GradcheckError(
                f"gradgradcheck: the first derivative recorded with create_graph=True, "
                f"d(Σ v·y)/d(input {position}{_element(np.shape(node.data), column)}), "
                f"disagrees: recorded {got[column]:.8g}, numeric {expected[column]:.8g} "
                f"(atol={atol}, rtol={rtol}; {int(bad.sum())} of "
                f"{counted(bad.size, 'entry')} {'differs' if bad.sum() == 1 else 'differ'})"
            )
