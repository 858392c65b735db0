"""Optimisers that follow PyTorch's update formulas exactly, and learning-rate schedules.

For a parameter p with gradient g at step t (weight decay λ adds λ·p to g first):

SGD, momentum μ, dampening τ:   b ← g (t = 1),  b ← μ·b + (1 − τ)·g (t > 1)
                                d = g + μ·b (Nesterov) or d = b;   p ← p − lr·d
Adam, β1, β2, ε:                m ← β1·m + (1 − β1)·g,   v ← β2·v + (1 − β2)·g²
                                p ← p − lr·(m / (1 − β1^t)) / (√(v / (1 − β2^t)) + ε)

Each optimiser owns its per-parameter state. Parameters are Tensors or Values; one that
is frozen (``requires_grad=False``) or whose ``grad`` is None (no gradient reached it) is
skipped, as in PyTorch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from autograd import Node

from . import checks


class Optimizer:
    """Holds the parameters and their state; ``step()`` updates, ``zero_grad()`` forgets."""

    def __init__(self, parameters: Iterable[Node], lr: float) -> None:
        name = type(self).__name__
        self.parameters = checks.parameters(parameters, name)
        self.lr = checks.real(lr, name, "lr", low=0.0)
        self.state: list[dict[str, Any]] = [{} for _ in self.parameters]

    def __repr__(self) -> str:
        settings = ", ".join(
            f"{key}={value!r}"
            for key, value in vars(self).items()
            if key not in ("parameters", "state") and not key.startswith("_")
        )
        return f"{type(self).__name__}({settings}, parameters={len(self.parameters)})"

    def zero_grad(self) -> None:
        """Forget every parameter's gradient."""
        for p in self.parameters:
            p.zero_grad()

    def step(self) -> None:
        """Update every parameter that has a gradient.

        Each update sees the parameter's data and gradient as read-only arrays of at
        least one dimension (a Value or a 0-d Tensor as one element), and a 0-d result
        is reshaped back. Why never 0-d: arithmetic on a 0-d array gives a numpy scalar,
        not an array, so an update written with numpy's in-place arithmetic (``m *= β``,
        ``out=``) would break on exactly those parameters; with one shape rule for every
        parameter, each formula runs the same on Values and on Tensors of any shape. Why
        read-only: the gradient and the data belong to the parameter, and an update that
        kept one of them as its own state (a momentum buffer that is the gradient itself)
        and changed it in place would corrupt ``.grad`` silently; numpy refuses the
        write instead, loudly.
        """
        for p, state in zip(self.parameters, self.state):
            grad = p.grad
            if grad is None or not p.requires_grad:  # no gradient reached it, or frozen
                continue
            if isinstance(grad, Node):
                grad = grad.data
            data = p.data
            if not isinstance(data, np.ndarray):  # a Value: data and gradient side by side
                pair = np.array((data, grad), dtype=np.float64)
            elif data.ndim:  # a Tensor, the usual case: the arrays as they are, read-only
                # (a Tensor's data is read-only already: np.asarray takes a plain view)
                p.subtract_data_(self.update(np.asarray(data), _read_only(grad), state))
                continue
            else:  # a 0-d Tensor, in its own dtype
                pair = np.array((data, grad), dtype=data.dtype)
            pair.setflags(write=False)
            p.subtract_data_(self.update(pair[:1], pair[1:], state)[0])

    def update(self, data: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> np.ndarray:
        """The amount to subtract from a parameter, given its data, gradient and state.

        ``data`` and ``grad`` have the parameter's shape (one element, 1-D, for a Value
        or a 0-d Tensor) and are read-only (see ``step``): state that an update keeps
        and changes is an array of its own. The result has their shape.
        """
        raise NotImplementedError


def _read_only(array: Any) -> np.ndarray:
    """A read-only view of ``array``."""
    view = np.asarray(array).view()
    view.setflags(write=False)
    return view


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, Nesterov momentum and weight decay."""

    def __init__(
        self,
        parameters: Iterable[Node],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(parameters, lr)
        self.momentum = checks.real(momentum, "SGD", "momentum", low=0.0)
        self.dampening = checks.real(dampening, "SGD", "dampening")
        self.nesterov = checks.flag(nesterov, "SGD", "nesterov")
        self.weight_decay = checks.real(weight_decay, "SGD", "weight_decay", low=0.0)
        _check(
            not self.nesterov or (self.momentum > 0.0 and self.dampening == 0.0),
            "SGD: nesterov=True (Nesterov momentum) needs momentum > 0 and dampening = 0, "
            f"got momentum={momentum!r} and dampening={dampening!r}",
        )

    def update(self, data: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> np.ndarray:
        if self.weight_decay:
            grad = grad + self.weight_decay * data
        if self.momentum:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = grad.copy()  # ours to update in place
            else:
                buffer *= self.momentum
                buffer += (1.0 - self.dampening) * grad
            grad = grad + self.momentum * buffer if self.nesterov else buffer
        return self.lr * grad


class Adam(Optimizer):
    """Adam with bias correction and (L2, not decoupled) weight decay, as PyTorch's."""

    def __init__(
        self,
        parameters: Iterable[Node],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(parameters, lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            checks.wrong_type("Adam", "betas", "a pair (beta1, beta2) such as (0.9, 0.999)", betas)
        self.beta1, self.beta2 = (
            checks.real(beta, "Adam", f"betas[{i}]", low=0.0, high=1.0, high_open=True)
            for i, beta in enumerate(betas)
        )
        self.eps = checks.real(eps, "Adam", "eps", low=0.0)
        self.weight_decay = checks.real(weight_decay, "Adam", "weight_decay", low=0.0)

    def update(self, data: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> np.ndarray:
        if self.weight_decay:
            grad = grad + self.weight_decay * data
        t = state["step"] = state.get("step", 0) + 1
        step_size = self.lr / (1.0 - self.beta1**t)
        correction = math.sqrt(1.0 - self.beta2**t)
        if "m" not in state:
            state["m"], state["v"] = np.zeros_like(data), np.zeros_like(data)
        m, v = state["m"], state["v"]  # the moments are updated in place
        m *= self.beta1
        m += (1.0 - self.beta1) * grad
        v *= self.beta2
        v += (1.0 - self.beta2) * (grad * grad)
        delta = np.sqrt(v, out=np.empty_like(v))  # an array even for a Value's 0-d moments
        delta /= correction
        delta += self.eps
        np.divide(m, delta, out=delta)
        delta *= step_size
        return delta


class LRScheduler:
    """Sets the optimiser's learning rate at each ``step()`` (one step per epoch).

    As PyTorch's schedulers do, each step computes the new rate from the current one
    (``optimizer.lr``), so a rate the user sets by hand between steps is carried on from,
    and the sequence equals ``torch.optim.lr_scheduler``'s step for step.
    """

    def __init__(self, optimizer: Optimizer) -> None:
        self.optimizer = checks.instance(
            optimizer,
            Optimizer,
            type(self).__name__,
            "optimizer",
            ": it sets the learning rate of an optimiser, such as nn.optim.SGD(...)",
        )
        self.base_lr = optimizer.lr
        self.epoch = 0

    def step(self) -> None:
        """Advance one epoch and set the new learning rate."""
        self.epoch += 1
        self.optimizer.lr = self.next_learning_rate(self.optimizer.lr, self.epoch)

    def next_learning_rate(self, lr: float, epoch: int) -> float:
        """The learning rate for ``epoch``, given the rate ``lr`` in force before it."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(epoch={self.epoch}, lr={self.optimizer.lr:g})"


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs.

    Without hand-set rates: lr = base_lr · gamma^⌊epoch / step_size⌋.
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        self.step_size = checks.positive_int(step_size, "StepLR", "step_size")
        self.gamma = checks.real(gamma, "StepLR", "gamma", low=0.0, low_open=True)

    def next_learning_rate(self, lr: float, epoch: int) -> float:
        return lr * self.gamma if epoch % self.step_size == 0 else lr


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing, PyTorch's recursive form, periodic with period 2·T_max.

    Without hand-set rates: lr = eta_min + (base_lr − eta_min)·(1 + cos(π·epoch / T_max)) / 2,
    which falls to eta_min at T_max and rises back to base_lr at 2·T_max. Each step is
    lr_t = eta_min + (lr_{t−1} − eta_min)·(1 + cos(π·t / T_max)) / (1 + cos(π·(t−1) / T_max)),
    with the step out of the minimum taken additively (the ratio is 0/0 there).
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        super().__init__(optimizer)
        self.T_max = checks.positive_int(T_max, "CosineAnnealingLR", "T_max")
        self.eta_min = checks.real(eta_min, "CosineAnnealingLR", "eta_min", low=0.0)

    def next_learning_rate(self, lr: float, epoch: int) -> float:
        T, low = self.T_max, self.eta_min
        if (epoch - 1 - T) % (2 * T) == 0:  # leaving the minimum
            return lr + (self.base_lr - low) * (1 - math.cos(math.pi / T)) / 2
        return (1 + math.cos(math.pi * epoch / T)) / (1 + math.cos(math.pi * (epoch - 1) / T)) * (
            lr - low
        ) + low
