"""Loss functions, with PyTorch's names and ``reduction="mean" | "sum" | "none"``.

Each takes the model's output and the targets and returns a node. They work on a Tensor
of outputs and, where it makes sense (l1, mse, binary cross-entropy, hinge), on a Value
or a list of Values with numbers as targets.

- l1_loss: |ŷ − y|                      (absolute error)
- mse_loss: (ŷ − y)²                    (squared error)
- cross_entropy: −log softmax(z)[y]     (logits z, integer labels y or probabilities)
- binary_cross_entropy: log(1 + e^z) − y·z, from logits z, for y in [0, 1]

Which take logits: cross_entropy and binary_cross_entropy take the raw scores of the last
Linear layer, never probabilities: do not end the model with Softmax or Sigmoid for them.
Targets must have the output's shape exactly (a (n,) target for a (n, 1) output is an
error, not a silent reshape); a target that requires grad gets its gradient.
- hinge_loss: max(0, margin − y·s)      (scores s, labels y in {−1, +1} or {0, 1})
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

import autograd
from autograd import Tensor, Value
from tracegrad.words import counted

from . import checks
from .module import Module

REDUCTIONS = ("mean", "sum", "none")
Output = Tensor | Value | Sequence[Value]


def _check_reduction(reduction: str, loss: str) -> None:
    checks.reduction(reduction, loss, REDUCTIONS)


def _check_output(output: Any, loss: str, name: str = "output") -> None:
    """A Tensor, a Value, or a non-empty list of Values (a scalar model's outputs)."""
    if isinstance(output, (Tensor, Value)):
        return
    if isinstance(output, (list, tuple)) and output:
        for position, value in enumerate(output):
            if not isinstance(value, Value):
                checks.wrong_type(loss, f"{name}[{position}]", "a Value", value)
        return
    checks.wrong_type(loss, name, "a Tensor, a Value or a list of Values", output)


def _check_target(target: Any, loss: str) -> None:
    """Numbers, a Tensor, a Value or a list of Values and numbers."""
    if isinstance(target, (Tensor, Value)):
        return
    if isinstance(target, (list, tuple)) and any(isinstance(t, Value) for t in target):
        for position, t in enumerate(target):
            if not isinstance(t, Value):
                checks.real(t, loss, f"target[{position}]")
        return
    checks.numbers(target, loss, "target")


def _target(target: Any, like: Tensor, loss: str, name: str = "output") -> Tensor | np.ndarray:
    """The targets, of exactly the output's shape: a Tensor that requires grad stays one
    (it gets its gradient), anything else becomes an array of the output's dtype.
    ``name`` is what the caller calls the output (``input`` in ``nn.functional``)."""
    if isinstance(target, Tensor) and target.requires_grad:
        y: Tensor | np.ndarray = target
    else:
        y = checks.as_array(target.data if isinstance(target, Tensor) else target, loss, "target")
    if y.shape != like.shape:
        raise ValueError(
            f"{loss}: {name} of shape {like.shape} and target of shape {y.shape} differ; "
            f"the target must have the {name}'s shape: reshape it to {like.shape} "
            f"(or the {name} to {y.shape}) first"
        )
    if isinstance(y, np.ndarray):
        return y.astype(like.dtype, copy=False)
    return y


def _elementwise(
    output: Output,
    target: Any,
    reduction: str,
    loss: str,
    per_element: Callable[[Any, Any], Any],
    name: str = "output",
) -> Any:
    """Apply a per-element loss to a Tensor, a Value or a list of Values, then reduce.

    ``per_element(output, target)`` is written once, with operators and node methods,
    so it serves both kinds of node. ``name`` is what the caller calls the output.
    """
    _check_reduction(reduction, loss)
    _check_output(output, loss, name)
    _check_target(target, loss)
    if isinstance(output, Tensor):
        losses = per_element(output, _target(target, output, loss, name))
        if reduction == "none":
            return losses
        return losses.mean() if reduction == "mean" else losses.sum()
    values = [output] if isinstance(output, Value) else list(output)
    targets = _value_targets(target, len(values), loss, name)
    losses_v = [per_element(v, y) for v, y in zip(values, targets)]
    if reduction == "none":
        return losses_v if not isinstance(output, Value) else losses_v[0]
    total = Value.sum(losses_v)
    return total * (1.0 / len(losses_v)) if reduction == "mean" else total


def _value_targets(target: Any, count: int, loss: str, name: str) -> list[Value | float]:
    """One target per Value output: Values (which get their gradient) or numbers."""
    if isinstance(target, Value):
        targets: list[Any] = [target]
    elif isinstance(target, (list, tuple)) and any(isinstance(t, Value) for t in target):
        targets = list(target)
    else:
        array = checks.numbers(target, loss, "target", np.float64)
        if array.ndim > 1:
            raise ValueError(
                f"{loss}: {counted(count, f'Value {name}')} need {counted(count, 'target')}, "
                f"got shape {array.shape}"
            )
        targets = np.atleast_1d(array).tolist()
    if len(targets) != count:
        raise ValueError(
            f"{loss}: {counted(count, name)} and {counted(len(targets), 'target')} (target)"
        )
    return targets


def _absolute_error(o: Any, y: Any) -> Any:
    return (o - y).abs()


def _squared_error(o: Any, y: Any) -> Any:
    return (o - y) ** 2


def l1_loss(output: Output, target: Any, reduction: str = "mean") -> Any:
    """The absolute error ``|ŷ − y|``."""
    return _elementwise(output, target, reduction, "l1_loss", _absolute_error)


def mse_loss(output: Output, target: Any, reduction: str = "mean") -> Any:
    """The squared error (ŷ − y)²."""
    return _elementwise(output, target, reduction, "mse_loss", _squared_error)


def _logistic(z: Any, y: Any) -> Any:
    """log(1 + e^z) − y·z, fused; as softplus(z) − y·z when y is a node that needs a gradient."""
    if isinstance(y, (Tensor, Value)) and y.requires_grad:
        return z.binary_cross_entropy(0.0 if isinstance(z, Value) else np.zeros(())) - y * z
    return z.binary_cross_entropy(y)


def binary_cross_entropy(output: Output, target: Any, reduction: str = "mean") -> Any:
    """The logistic loss of logits z for targets y in [0, 1]: −y·log σ(z) − (1−y)·log(1−σ(z)).

    Takes logits, not probabilities: computed as log(1 + e^z) − y·z, which is stable for
    any z (PyTorch's binary_cross_entropy_with_logits).
    """
    return _elementwise(output, target, reduction, "binary_cross_entropy", _logistic)


def _signs(target: Any) -> np.ndarray:
    y = checks.numbers(target, "hinge_loss", "target", np.float64)
    if np.any(y == 0):  # labels in {0, 1}
        y = 2.0 * y - 1.0
    if not np.all(np.isin(y, (-1.0, 1.0))):
        raise ValueError("hinge_loss: targets must be in {-1, +1} or in {0, 1}")
    return y


def hinge_loss(output: Output, target: Any, margin: float = 1.0, reduction: str = "mean") -> Any:
    """The max-margin loss max(0, margin − y·s) for scores s and labels y in {−1, +1}."""
    margin = checks.real(margin, "hinge_loss", "margin")
    _check_reduction(reduction, "hinge_loss")
    _check_output(output, "hinge_loss")
    signs = _signs(target)
    return _elementwise(
        output, signs, reduction, "hinge_loss", lambda o, y: (margin - o * y).relu()
    )


def cross_entropy(
    logits: Tensor | Sequence[Sequence[Value]], target: Any, reduction: str = "mean"
) -> Any:
    """−log softmax(z_i)[y_i] for logits z of shape (n, C) (logits, not probabilities).

    ``target`` is either n integer class indices or an (n, C) array of class
    probabilities; see ``autograd.cross_entropy``, which this is for a Tensor. For rows
    of Values (a scalar network's outputs) it takes integer labels.
    """
    return _cross_entropy(logits, target, reduction, "logits")


def _cross_entropy(logits: Any, target: Any, reduction: str, name: str) -> Any:
    """``cross_entropy``, whose errors call the logits ``name`` (``input`` in
    ``nn.functional`` and the loss classes, as PyTorch calls them)."""
    _check_reduction(reduction, "cross_entropy")
    if not isinstance(target, Tensor):  # a Tensor goes to the op as it is: it watches it
        target = checks.numbers(target, "cross_entropy", "target")
    if isinstance(logits, Tensor):  # the usual case, first
        try:
            return autograd.cross_entropy(logits, target, reduction)
        except (TypeError, ValueError):
            if logits.ndim != 2:  # the mistake named as nn names it (the common case
                raise ValueError(  # pays nothing for the names)
                    f"cross_entropy: {name} must have shape (n, classes), got {logits.shape}"
                ) from None
            _check_target_of(target, logits.shape, name)
            raise
    if _is_value_rows(logits):
        return _value_cross_entropy(logits, target, reduction, name)
    checks.wrong_type("cross_entropy", name, "a Tensor or rows of Values", logits)


def _check_target_of(target: Any, shape: tuple[int, ...], name: str) -> None:
    """Raise the error that names what is wrong with ``target`` for logits of ``shape``."""
    if isinstance(target, Tensor) and target.requires_grad and target.shape != shape:
        raise ValueError(
            f"cross_entropy: target class probabilities of shape {target.shape} do not fit "
            f"{name} of shape {shape}"
        )
    if isinstance(target, (Tensor, np.ndarray)):
        _check_labels(checks.numbers(target, "cross_entropy", "target"), shape, name)


def _check_labels(target: np.ndarray, shape: tuple[int, ...], name: str) -> None:
    """Integer labels of shape (n,) in [0, C), or class probabilities of shape (n, C)."""
    n, classes = shape
    if target.dtype.kind in "iu":
        if target.shape != (n,):
            raise ValueError(
                f"cross_entropy: target labels of shape {target.shape} do not fit {name} of "
                f"shape {shape}: give {counted(n, 'label')}"
            )
        if target.size and not (target.min() >= 0 and target.max() < classes):
            raise ValueError(
                f"cross_entropy: target labels must lie in [0, {classes}), got "
                f"{target.min()}..{target.max()}"
            )
    elif target.dtype.kind == "b" or target.shape == (n,):
        raise TypeError(
            f"cross_entropy: target labels must be integer class indices, got {target.dtype} of "
            f"shape {target.shape} (use y.astype(int); for class probabilities pass shape {shape})"
        )
    elif target.shape != shape:
        raise ValueError(
            f"cross_entropy: target class probabilities of shape {target.shape} do not fit "
            f"{name} of shape {shape}; give integer labels of shape ({n},) or probabilities "
            f"of shape {shape}"
        )


def _is_value_rows(logits: Any) -> bool:
    return (
        isinstance(logits, (list, tuple))
        and bool(logits)
        and isinstance(logits[0], (list, tuple))
        and bool(logits[0])
        and isinstance(logits[0][0], Value)
    )


def _value_cross_entropy(
    rows: Sequence[Sequence[Value]], target: Any, reduction: str, name: str = "logits"
) -> Any:
    """Cross-entropy for rows of Value logits (a scalar network's outputs, one row a sample).

    loss_i = logsumexp(z_i) − z_i[y_i] = log Σ_c e^(z_ic − m_i) + m_i − z_i[y_i], with m_i the
    row's largest logit (a constant), so that nothing overflows; or −Σ_c p_c·(z_ic − lse_i)
    for class probabilities p.
    """
    labels = checks.numbers(target, "cross_entropy", "target", at_least_1d=True)
    classes = len(rows[0])
    if any(len(row) != classes for row in rows):
        raise ValueError(f"cross_entropy: every row of Value {name} must have the same length")
    if labels.shape[:1] != (len(rows),):
        raise ValueError(
            f"cross_entropy: {counted(len(rows), 'row')} of {name} and targets of shape "
            f"{labels.shape}"
        )
    losses = []
    for position, row in enumerate(rows):
        shift = max(v.data for v in row)
        log_sum = Value.sum([(v - shift).exp() for v in row]).log() + shift
        losses.append(_value_row_loss(row, log_sum, labels, position, classes))
    if reduction == "none":
        return losses
    total = Value.sum(losses)
    return total * (1.0 / len(losses)) if reduction == "mean" else total


def _value_row_loss(
    row: Sequence[Value], log_sum: Value, labels: np.ndarray, position: int, classes: int
) -> Value:
    if labels.dtype.kind in "iu" and labels.ndim == 1:
        label = int(labels[position])
        if not 0 <= label < classes:
            raise ValueError(
                f"cross_entropy: target labels must lie in [0, {classes}), got {label}"
            )
        return log_sum - row[label]
    if labels.ndim != 2 or labels.shape[1] != classes:
        raise TypeError(
            f"cross_entropy: target labels must be integer class indices or (n, {classes}) "
            f"probabilities, got {labels.dtype} of shape {labels.shape}"
        )
    return Value.sum([float(p) * (log_sum - z) for p, z in zip(labels[position], row)])


#: Every loss of the library by name: what ``fit``'s error names when it is given a
#: name where a loss function belongs, and what the tests run every loss from.
LOSSES: dict[str, Callable[..., Any]] = {
    loss.__name__: loss
    for loss in (l1_loss, mse_loss, cross_entropy, binary_cross_entropy, hinge_loss)
}


# -- the losses as modules, PyTorch's way ---------------------------------------------


class _Loss(Module):
    """A loss as a module, as PyTorch writes one: made with its settings, then called on
    (input, target), ``loss_fn(model(X), y)``; ``nn.fit(loss=loss_fn)`` takes it as it
    takes the function. It holds no parameters: it is the function and its settings.
    """

    #: The function of ``nn`` it applies.
    function: ClassVar[Callable[..., Any]]

    def __init__(self, *arguments: Any, reduction: str = "mean", **options: Any) -> None:
        #: What fit's messages call the loss, as they call a function by its name.
        self.__name__ = type(self).__name__
        _refuse_pytorchs_arguments(self.__name__, arguments, options)
        self.reduction = checks.reduction(reduction, self.__name__, REDUCTIONS)

    # What the constructor takes: reduction, by keyword (the rest is there to be refused).
    __init__.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            inspect.Parameter("reduction", inspect.Parameter.KEYWORD_ONLY, default="mean",
                              annotation="str"),
        ]
    )  # fmt: skip

    def forward(self, input: Any, target: Any, *, reduction: str | None = None) -> Any:
        """The loss of ``input`` (the model's output) against ``target``, reduced as the
        loss was made to reduce. ``reduction``, when given, overrides that for this call:
        ``nn.fit`` and ``nn.evaluate`` ask for ``"sum"`` to add up batches of any size."""
        chosen = self.reduction if reduction is None else reduction
        return type(self).function(input, target, chosen)

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


def _refuse_pytorchs_arguments(
    name: str, arguments: tuple[Any, ...], options: dict[str, Any]
) -> None:
    """A loss module's settings are its keywords: say what a PyTorch habit passed instead.

    Two positional arguments are a module called before it was made (``CrossEntropyLoss(
    output, target)``); one is PyTorch's first positional (``weight``, or the deprecated
    ``size_average``), never a reduction; a keyword of PyTorch's (``ignore_index``,
    ``label_smoothing``, ``pos_weight``) is named, as not supported."""
    if len(arguments) >= 2:
        raise TypeError(
            f"{name}: make the loss, then call it on (output, target): loss_fn = "
            f"nn.{name}(); loss = loss_fn(output, target)"
        )
    if arguments:
        raise TypeError(
            f"{name}: takes its settings by keyword (reduction='sum'), got "
            f"{checks.describe(arguments[0])} by position (PyTorch's first argument, a "
            "class weight or size_average, is not supported)"
        )
    if options:
        unknown = sorted(options)
        raise TypeError(
            f"{name}: {', '.join(unknown)}: PyTorch's, not supported here (it takes "
            "reduction=; see 'Coming from PyTorch' in the docs)"
        )


class CrossEntropyLoss(_Loss):
    """``cross_entropy`` as a module: −log softmax(z_i)[y_i] for logits z of shape (n, C),
    with integer labels y (or (n, C) class probabilities). It takes logits: the model ends
    with its last Linear layer, without Softmax. PyTorch's ``weight``, ``ignore_index``
    and ``label_smoothing`` are not there."""

    function = staticmethod(cross_entropy)


class MSELoss(_Loss):
    """``mse_loss`` as a module: the squared error (ŷ − y)², for a target of the output's
    shape."""

    function = staticmethod(mse_loss)


class L1Loss(_Loss):
    """``l1_loss`` as a module: the absolute error ``|ŷ − y|``, for a target of the
    output's shape."""

    function = staticmethod(l1_loss)


class BCEWithLogitsLoss(_Loss):
    """``binary_cross_entropy`` as a module: log(1 + e^z) − y·z for logits z and targets y
    in [0, 1], stable for any z. It takes logits, as ``nn.binary_cross_entropy`` does,
    hence PyTorch's name for it (PyTorch's ``BCELoss``, on probabilities, is not here: a
    model ending with Sigmoid loses precision where the loss matters most). PyTorch's
    ``weight`` and ``pos_weight`` are not there."""

    function = staticmethod(binary_cross_entropy)


class HingeLoss(_Loss):
    """``hinge_loss`` as a module: max(0, margin − y·s) for scores s and labels y in
    {−1, +1} (or {0, 1}), the support-vector machine's loss.

    The name is not PyTorch's: PyTorch has no module for this loss, and its
    ``HingeEmbeddingLoss`` is another one (s where y = 1, max(0, margin − s) where
    y = −1, for distances s), whose name would promise the wrong numbers.
    """

    function = staticmethod(hinge_loss)

    def __init__(self, margin: float = 1.0, *, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        self.margin = checks.real(margin, "HingeLoss", "margin")

    def forward(self, input: Any, target: Any, *, reduction: str | None = None) -> Any:
        """The loss of the scores ``input`` against the labels ``target`` (see ``_Loss``)."""
        chosen = self.reduction if reduction is None else reduction
        return hinge_loss(input, target, self.margin, chosen)

    def extra_repr(self) -> str:
        shown = [f"margin={self.margin}"] if self.margin != 1.0 else []
        return ", ".join([*shown, *filter(None, [super().extra_repr()])])
