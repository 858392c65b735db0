"""Optimisers that follow PyTorch's update formulas exactly, and learning-rate schedules.

For a parameter p with gradient g at step t (weight decay λ adds λ·p to g first):

SGD, momentum μ, dampening τ:   b ← g (t = 1),  b ← μ·b + (1 − τ)·g (t > 1)
                                d = g + μ·b (Nesterov) or d = b;   p ← p − lr·d
Adam, β1, β2, ε:                m ← β1·m + (1 − β1)·g,   v ← β2·v + (1 − β2)·g²
                                p ← p − lr·(m / (1 − β1^t)) / (√(v / (1 − β2^t)) + ε)

Each optimiser owns its per-parameter state. Parameters are Tensors or Values; one that
is frozen (``requires_grad=False``) or whose ``grad`` is None (no gradient reached it) is
skipped, as in PyTorch.

PyTorch's names for the state around the update are here too, so that code and checkpoints
written for ``torch.optim`` carry over: ``optimizer.param_groups`` (one group, a live view:
``param_groups[0]["lr"] = 0.01`` sets the rate), ``optimizer.state_dict()`` and
``load_state_dict()`` (Adam's moments and step count, SGD's momentum buffers, by the
parameters' positions), and a scheduler's ``get_last_lr()``, ``state_dict()`` and
``load_state_dict()``. ``ReduceLROnPlateau`` lowers the rate when a measured figure stops
improving.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from typing import Any, ClassVar

import numpy as np

from autograd import Node

from . import checks
from .absent import module_getattr as _module_getattr


def _check_lr(value: Any, where: str) -> float:
    return checks.real(value, where, "lr", low=0.0)


class Optimizer:
    """Holds the parameters and their state; ``step()`` updates, ``zero_grad()`` forgets.

    ``state[i]`` is the state of the i-th parameter (a dict, empty until its first
    update). The settings are attributes (``lr``, ...) and, under PyTorch's names, the
    entries of ``param_groups[0]``.
    """

    #: Each setting's name as PyTorch's param_groups say it, and its check: (value, the
    #: caller's name) -> the value as stored. A subclass adds its own.
    SETTINGS: ClassVar[dict[str, Callable[[Any, str], Any]]] = {"lr": _check_lr}
    #: The keys of a parameter's state, as PyTorch's ``state_dict()`` names them, and
    #: whether each is an array of the parameter's shape (else a count of steps).
    STATE_KEYS: ClassVar[dict[str, bool]] = {}
    #: The state arrays that are never negative (means of squares).
    NONNEGATIVE: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, parameters: Iterable[Node], lr: float) -> None:
        name = type(self).__name__
        self.parameters = checks.parameters(parameters, name)
        self.lr = checks.real(lr, name, "lr", low=0.0)
        self.state: list[dict[str, Any]] = [{} for _ in self.parameters]

    # -- PyTorch's names: the settings as a param group, the state as a dict -----------

    @property
    def param_groups(self) -> list[ParamGroup]:
        """PyTorch's view of the settings: one group, holding every parameter.

        ``param_groups[0]["lr"]`` reads the learning rate and writing it sets it (checked
        as the constructor checks it), as code written for PyTorch does by hand or in a
        schedule. One group only: per-parameter settings are not supported.
        """
        return [ParamGroup(self)]

    def add_param_group(self, param_group: Any) -> None:
        """PyTorch's: not here, an optimiser has one group (see ``param_groups``)."""
        raise TypeError(
            f"{type(self).__name__}.add_param_group: an optimiser here has one param group; "
            "for parameters with other settings make a second optimiser and step both"
        )

    def get_setting(self, name: str) -> Any:
        """A setting by PyTorch's name (``betas`` is Adam's pair ``(beta1, beta2)``)."""
        return getattr(self, name)

    def set_setting(self, name: str, value: Any, where: str | None = None) -> None:
        """Set a setting by PyTorch's name, checked as the constructor checks it."""
        where = where or f"{type(self).__name__}.param_groups[0]"
        if name not in self.SETTINGS:
            raise KeyError(
                f"{where}: {type(self).__name__} has no setting {name!r}; it has "
                f"{sorted(self.SETTINGS)}"
            )
        self._store_setting(name, self.SETTINGS[name](value, where))
        self._check_settings(where)

    def _store_setting(self, name: str, value: Any) -> None:
        setattr(self, name, value)

    def _check_settings(self, where: str) -> None:
        """Refuse settings that do not go together (SGD's Nesterov without momentum)."""

    def settings(self) -> dict[str, Any]:
        """Every setting by PyTorch's name (what ``param_groups[0]`` holds besides params)."""
        return {name: self.get_setting(name) for name in self.SETTINGS}

    def state_dict(self) -> dict[str, Any]:
        """The optimiser's state and settings, as PyTorch's ``state_dict()`` has them.

        ``{"state": {i: {...}}, "param_groups": [{"lr": ..., ..., "params": [0, 1, ...]}]}``:
        the state of the i-th parameter (only those updated so far), each array a copy of
        the parameter's shape; parameters are named by their position, as in PyTorch, so
        the optimiser it is loaded into must hold the same parameters in the same order.
        """
        state: dict[int, dict[str, Any]] = {}
        for position, (p, own) in enumerate(zip(self.parameters, self.state)):
            if own:
                shape = np.shape(p.data)
                state[position] = {
                    key: value.reshape(shape).copy() if isinstance(value, np.ndarray) else value
                    for key, value in own.items()
                }
        group = {**self.settings(), "params": list(range(len(self.parameters)))}
        return {"state": state, "param_groups": [group]}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Take the state and settings that ``state_dict()`` gave (or PyTorch's, for the
        same parameters in the same order).

        Everything is checked before anything is changed, so a state that does not fit
        leaves the optimiser as it was: one group, holding as many parameters as this
        optimiser; the settings in their ranges; each state entry one this optimiser
        keeps, its arrays of its parameter's shape and of finite real numbers (stored in
        the parameter's dtype), its step count a whole number ≥ 1.
        """
        where = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, Mapping) or set(state_dict) != {"state", "param_groups"}:
            checks.wrong_type(
                where, "state_dict", "a dict with the keys 'state' and 'param_groups'", state_dict
            )
        settings = self._checked_group(state_dict["param_groups"], where)
        states = self._checked_states(state_dict["state"], where)
        before = self.settings()
        try:
            for name, value in settings.items():
                self._store_setting(name, value)
            self._check_settings(where)
        except (TypeError, ValueError):
            for name, value in before.items():
                self._store_setting(name, value)
            raise
        self.state = states

    def _checked_group(self, groups: Any, where: str) -> dict[str, Any]:
        if not isinstance(groups, (list, tuple)) or len(groups) != 1:
            checks.wrong_type(where, "param_groups", "a list of one group (a dict)", groups)
        group = groups[0]
        if not isinstance(group, Mapping):
            checks.wrong_type(where, "param_groups[0]", "a dict", group)
        count = len(self.parameters)
        params = group.get("params")
        if not isinstance(params, (list, tuple)) or list(params) != list(range(count)):
            raise ValueError(
                f"{where}: param_groups[0]['params'] must be the positions 0 to {count - 1} "
                f"of this optimiser's {count} parameters, got {checks.describe(params)}"
            )
        settings: dict[str, Any] = {}
        for name, value in group.items():
            if name == "params":
                continue
            if name in self.SETTINGS:
                settings[name] = self.SETTINGS[name](value, f"{where}: param_groups[0]")
            elif _TORCH_DEFAULTS.get(name, _MISSING) != value and name not in _TORCH_IGNORED:
                raise ValueError(
                    f"{where}: param_groups[0] holds {name}={value!r}, which "
                    f"{type(self).__name__} does not do (it has {sorted(self.SETTINGS)})"
                )
        missing = set(self.SETTINGS) - set(settings)
        if missing:
            raise ValueError(f"{where}: param_groups[0] lacks {sorted(missing)}")
        return settings

    def _checked_states(self, states: Any, where: str) -> list[dict[str, Any]]:
        if not isinstance(states, Mapping):
            checks.wrong_type(where, "state", "a dict from positions to states", states)
        result: list[dict[str, Any]] = [{} for _ in self.parameters]
        named: dict[int, Any] = {}
        for key, own in states.items():
            # a position written by JSON (json.dump, a checkpoint's metadata) is a string
            digits = isinstance(key, str) and key.isdigit() and len(key) < 10
            position = int(key) if digits else key
            if not checks.is_integer(position) or not 0 <= position < len(self.parameters):
                raise ValueError(
                    f"{where}: state names parameter {position!r}, but this optimiser holds "
                    f"parameters 0 to {len(self.parameters) - 1}"
                )
            if position in named:  # 0 and "0", "1" and "01": one would silently win
                raise ValueError(
                    f"{where}: state names parameter {position} twice (as {named[position]!r} "
                    f"and as {key!r})"
                )
            named[position] = key
            if not isinstance(own, Mapping):
                checks.wrong_type(where, f"state[{position}]", "a dict", own)
            p = self.parameters[position]
            result[position] = {
                key: self._checked_entry(p, key, value, f"state[{position}][{key!r}]", where)
                for key, value in own.items()
                if value is not None  # PyTorch's SGD keeps momentum_buffer=None without momentum
            }
            if result[position] and set(result[position]) != set(self.STATE_KEYS):
                raise ValueError(
                    f"{where}: state[{position}] holds {sorted(result[position])}; "
                    f"{type(self).__name__} keeps all of {sorted(self.STATE_KEYS)} or none"
                )
        return result

    def _checked_entry(self, p: Node, key: str, value: Any, name: str, where: str) -> Any:
        if key not in self.STATE_KEYS:
            raise ValueError(
                f"{where}: {name}: {type(self).__name__} keeps no {key!r} (it keeps "
                f"{sorted(self.STATE_KEYS)})"
            )
        if not self.STATE_KEYS[key]:  # a count of steps
            count = np.asarray(value) if not checks.is_integer(value) else value
            if isinstance(count, np.ndarray):
                if count.shape != () or count.dtype.kind not in "iuf" or count != int(count):
                    checks.wrong_type(where, name, "a whole number of steps", value)
                count = int(count)
            # at most 2**53, a count a float holds exactly (an update raises β to it)
            return checks.integer(count, where, name, minimum=1, maximum=2**53)
        array = checks.numbers(value, where, name)
        shape = np.shape(p.data)
        if array.shape != shape:
            raise ValueError(f"{where}: {name} has shape {array.shape}, its parameter {shape}")
        if not np.isfinite(array).all():
            raise ValueError(f"{where}: {name} holds NaN or infinite values")
        if key in self.NONNEGATIVE and (array < 0).any():  # a mean of squares: √ of it next
            raise ValueError(
                f"{where}: {name} holds negative values; it is a running mean of squared "
                "gradients, never below 0"
            )
        dtype = p.data.dtype if isinstance(p.data, np.ndarray) else np.dtype(np.float64)
        return np.array(array, dtype=dtype).reshape(shape or (1,))  # see step: never 0-d

    def __repr__(self) -> str:
        settings = ", ".join(
            f"{key}={value!r}"
            for key, value in vars(self).items()
            if key not in ("parameters", "state") and not key.startswith("_")
        )
        return f"{type(self).__name__}({settings}, parameters={len(self.parameters)})"

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient (``set_to_none=False``: zeros instead of
        None, PyTorch's argument; a step skips a None gradient, not a zero one)."""
        set_to_none = checks.flag(set_to_none, f"{type(self).__name__}.zero_grad", "set_to_none")
        for p in self.parameters:
            p.zero_grad(set_to_none)

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
            # a 0-d .grad would broadcast to all (the arrays' own shape: np.shape goes
            # through numpy's dispatch, a cost per parameter and step)
            grad_shape = grad.shape if isinstance(grad, np.ndarray) else np.shape(grad)
            data_shape = data.shape if isinstance(data, np.ndarray) else ()
            if grad_shape != data_shape:
                raise ValueError(
                    f"{type(self).__name__}.step: a parameter of shape {data_shape} has a "
                    f"gradient of shape {grad_shape}; a gradient has its parameter's shape"
                )
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


#: Settings of PyTorch's param groups that tracegrad's optimisers do not have, at the
#: values that mean what tracegrad does: a group that holds them so loads; any other
#: value is refused (``amsgrad=True`` is another algorithm).
_TORCH_DEFAULTS: dict[str, Any] = {
    "amsgrad": False,
    "maximize": False,
    "capturable": False,
    "differentiable": False,
    "decoupled_weight_decay": False,
}
#: PyTorch's group entries about how, not what, it computes (or a scheduler's record of
#: the first rate): they change no number, and are ignored.
_TORCH_IGNORED = frozenset({"foreach", "fused", "initial_lr"})
_MISSING = object()


class ParamGroup(MutableMapping[str, Any]):
    """PyTorch's param group of an optimiser, as a live view of its settings.

    Reading ``group["lr"]`` reads ``optimizer.lr``; writing it sets it, checked; the
    parameters are under ``"params"``. A view and not a copy, so that code which changes
    a rate through ``param_groups`` (a hand-written schedule, PyTorch's habit) changes
    the rate the optimiser steps with.
    """

    def __init__(self, optimizer: Optimizer) -> None:
        self.optimizer = checks.instance(optimizer, Optimizer, "ParamGroup", "optimizer")

    def __getitem__(self, key: str) -> Any:
        if key == "params":
            return self.optimizer.parameters
        if key not in self.optimizer.SETTINGS:
            raise KeyError(key)
        return self.optimizer.get_setting(key)

    def __setitem__(self, key: str, value: Any) -> None:
        if key == "params":
            raise TypeError(
                f"{type(self.optimizer).__name__}.param_groups[0]: params cannot be replaced; "
                "make a new optimiser for other parameters"
            )
        self.optimizer.set_setting(key, value)

    def __delitem__(self, key: str) -> None:
        raise TypeError(
            f"{type(self.optimizer).__name__}.param_groups[0]: a setting cannot be removed"
        )

    def __iter__(self) -> Iterator[str]:
        return iter(["params", *self.optimizer.SETTINGS])

    def __len__(self) -> int:
        return 1 + len(self.optimizer.SETTINGS)

    def __repr__(self) -> str:
        return repr({**self.optimizer.settings(), "params": f"<{len(self.optimizer.parameters)}>"})


def _read_only(array: Any) -> np.ndarray:
    """A read-only view of ``array``."""
    view = np.asarray(array).view()
    view.setflags(write=False)
    return view


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _not_negative(name: str) -> Callable[[Any, str], float]:
    return lambda value, where: checks.real(value, where, name, low=0.0)


def _flag(name: str) -> Callable[[Any, str], bool]:
    return lambda value, where: checks.flag(value, where, name)


def _check_betas(betas: Any, where: str) -> tuple[float, float]:
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        checks.wrong_type(where, "betas", "a pair (beta1, beta2) such as (0.9, 0.999)", betas)
    beta1, beta2 = (
        checks.real(beta, where, f"betas[{i}]", low=0.0, high=1.0, high_open=True)
        for i, beta in enumerate(betas)
    )
    return beta1, beta2


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, Nesterov momentum and weight decay."""

    SETTINGS: ClassVar[dict[str, Callable[[Any, str], Any]]] = {
        "lr": _check_lr,
        "momentum": _not_negative("momentum"),
        "dampening": lambda value, where: checks.real(value, where, "dampening"),
        "nesterov": _flag("nesterov"),
        "weight_decay": _not_negative("weight_decay"),
    }
    STATE_KEYS: ClassVar[dict[str, bool]] = {"momentum_buffer": True}

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
        self._check_settings("SGD")

    def _check_settings(self, where: str) -> None:
        _check(
            not self.nesterov or (self.momentum > 0.0 and self.dampening == 0.0),
            f"{where}: nesterov=True (Nesterov momentum) needs momentum > 0 and dampening = 0, "
            f"got momentum={self.momentum!r} and dampening={self.dampening!r}",
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
    """Adam with bias correction and (L2, not decoupled) weight decay, as PyTorch's.

    Its state per parameter is PyTorch's: ``step`` (t), ``exp_avg`` (m), ``exp_avg_sq`` (v).
    """

    SETTINGS: ClassVar[dict[str, Callable[[Any, str], Any]]] = {
        "lr": _check_lr,
        "betas": _check_betas,
        "eps": _not_negative("eps"),
        "weight_decay": _not_negative("weight_decay"),
    }
    STATE_KEYS: ClassVar[dict[str, bool]] = {"step": False, "exp_avg": True, "exp_avg_sq": True}
    NONNEGATIVE: ClassVar[frozenset[str]] = frozenset({"exp_avg_sq"})

    def __init__(
        self,
        parameters: Iterable[Node],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(parameters, lr)
        self.beta1, self.beta2 = _check_betas(betas, "Adam")
        self.eps = checks.real(eps, "Adam", "eps", low=0.0)
        self.weight_decay = checks.real(weight_decay, "Adam", "weight_decay", low=0.0)

    def get_setting(self, name: str) -> Any:
        return (self.beta1, self.beta2) if name == "betas" else super().get_setting(name)

    def _store_setting(self, name: str, value: Any) -> None:
        if name == "betas":
            self.beta1, self.beta2 = value
        else:
            super()._store_setting(name, value)

    def update(self, data: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> np.ndarray:
        if self.weight_decay:
            grad = grad + self.weight_decay * data
        t = state["step"] = state.get("step", 0) + 1
        step_size = self.lr / (1.0 - self.beta1**t)
        correction = math.sqrt(1.0 - self.beta2**t)
        if "exp_avg" not in state:
            state["exp_avg"], state["exp_avg_sq"] = np.zeros_like(data), np.zeros_like(data)
        m, v = state["exp_avg"], state["exp_avg_sq"]  # the moments are updated in place
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

    ``get_last_lr()`` is the rate the last step set (PyTorch's name; a list, one rate
    per param group). ``state_dict()`` holds the epoch count, the starting rate and the
    settings, under PyTorch's names, so that a checkpoint resumes the schedule where it
    stopped (the rate itself is the optimiser's, in its own state).
    """

    #: Each setting's name and its check: (value, the caller's name) -> the value stored.
    SETTINGS: ClassVar[dict[str, Callable[[Any, str], Any]]] = {}

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
        self._last_lr = optimizer.lr

    def step(self) -> None:
        """Advance one epoch and set the new learning rate."""
        self.epoch += 1
        self.optimizer.lr = self._last_lr = self.next_learning_rate(self.optimizer.lr, self.epoch)

    def next_learning_rate(self, lr: float, epoch: int) -> float:
        """The learning rate for ``epoch``, given the rate ``lr`` in force before it."""
        raise NotImplementedError

    def get_last_lr(self) -> list[float]:
        """The rate the last ``step()`` set (at first, the optimiser's): one per group."""
        return [self._last_lr]

    def state_dict(self) -> dict[str, Any]:
        """The schedule's state, PyTorch's keys: ``last_epoch``, ``base_lrs``, ``_last_lr``
        and each setting (plain numbers: JSON holds them, as a checkpoint does)."""
        return {
            "last_epoch": self.epoch,
            "base_lrs": [self.base_lr],
            "_last_lr": [self._last_lr],
            **{name: getattr(self, name) for name in self.SETTINGS},
            **self._progress(),
        }

    def _progress(self) -> dict[str, Any]:
        """State beyond the epoch count that a subclass keeps (ReduceLROnPlateau's best)."""
        return {}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Take the state ``state_dict()`` gave (or a PyTorch scheduler's of the same kind):
        every entry is checked before any is set, as the constructor checks it."""
        where = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, Mapping):
            checks.wrong_type(where, "state_dict", "a dict", state_dict)
        known = {"last_epoch", "base_lrs", "_last_lr", *self.SETTINGS, *self._progress()}
        unknown = set(state_dict) - known - _TORCH_SCHEDULER_IGNORED
        missing = {"last_epoch", *self.SETTINGS, *self._progress()} - set(state_dict)
        if unknown or missing:
            problem = f"unknown {sorted(unknown)}" if unknown else f"missing {sorted(missing)}"
            raise ValueError(f"{where}: state_dict does not fit {type(self).__name__}: {problem}")
        epoch = checks.integer(state_dict["last_epoch"], where, "last_epoch", minimum=0)
        rates = {}
        for key in ("base_lrs", "_last_lr"):
            value = state_dict.get(key, [self.base_lr if key == "base_lrs" else self._last_lr])
            if not isinstance(value, (list, tuple)) or len(value) != 1:
                checks.wrong_type(where, key, "a list of one learning rate", value)
            rates[key] = checks.real(value[0], where, f"{key}[0]", low=0.0)
        settings = {name: check(state_dict[name], where) for name, check in self.SETTINGS.items()}
        progress = self._checked_progress(state_dict, where)
        for name, value in settings.items():
            setattr(self, name, value)
        for name, value in progress.items():
            setattr(self, name, value)
        self.epoch, self.base_lr, self._last_lr = epoch, rates["base_lrs"], rates["_last_lr"]

    def _checked_progress(self, state_dict: Mapping[str, Any], where: str) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(epoch={self.epoch}, lr={self.optimizer.lr:g})"


#: A PyTorch scheduler's bookkeeping: which call stepped it, whether it printed; no
#: number of the schedule. Ignored when its state is loaded.
_TORCH_SCHEDULER_IGNORED = frozenset(
    {"_step_count", "verbose", "_get_lr_called_within_step", "_is_initial", "mode_worse",
     "default_min_lr", "min_lrs"}
)  # fmt: skip


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs.

    Without hand-set rates: lr = base_lr · gamma^⌊epoch / step_size⌋.
    """

    SETTINGS: ClassVar[dict[str, Callable[[Any, str], Any]]] = {
        "step_size": lambda value, where: checks.positive_int(value, where, "step_size"),
        "gamma": lambda value, where: checks.real(value, where, "gamma", low=0.0, low_open=True),
    }

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

    SETTINGS: ClassVar[dict[str, Callable[[Any, str], Any]]] = {
        "T_max": lambda value, where: checks.positive_int(value, where, "T_max"),
        "eta_min": lambda value, where: checks.real(value, where, "eta_min", low=0.0),
    }

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


def _figure(value: Any, where: str, name: str) -> float:
    """A measured figure: a real number (NaN and ±inf too) or a node holding one."""
    if isinstance(value, Node):
        if np.size(value.data) != 1:
            checks.wrong_type(where, name, "one number (a loss, an accuracy)", value)
        value = np.asarray(value.data).reshape(()).item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        checks.wrong_type(where, name, "a real number", value)
    return float(value)


def _choice(name: str, choices: tuple[str, ...]) -> Callable[[Any, str], str]:
    return lambda value, where: checks.choice(value, choices, where, name)


def _count(name: str) -> Callable[[Any, str], int]:
    return lambda value, where: checks.integer(value, where, name, minimum=0)


class ReduceLROnPlateau(LRScheduler):
    """Lower the learning rate when a figure (a validation loss, say) stops improving.

    ``step(metric)`` takes the epoch's figure. With mode "min" a figure a improves on the
    best so far when a < best·(1 − threshold) ("rel") or a < best − threshold ("abs");
    mode "max" mirrors it. After more than ``patience`` epochs in a row without
    improvement, lr ← max(lr·factor, min_lr) (a change smaller than ``eps`` is skipped),
    and the next ``cooldown`` epochs count no bad epochs. PyTorch's rule, step for step:
    a rate that plateaus is a sign the steps are too large to settle into the minimum,
    and a smaller one lets the loss go on falling where a fixed schedule would have to
    guess when.

    ``nn.fit`` steps it with each epoch's ``val_loss`` (``loss`` without validation data).
    """

    SETTINGS: ClassVar[dict[str, Callable[[Any, str], Any]]] = {
        "mode": _choice("mode", ("min", "max")),
        "factor": lambda value, where: checks.real(
            value, where, "factor", low=0.0, high=1.0, high_open=True
        ),
        "patience": _count("patience"),
        "threshold": _not_negative("threshold"),
        "threshold_mode": _choice("threshold_mode", ("rel", "abs")),
        "cooldown": _count("cooldown"),
        "min_lr": _not_negative("min_lr"),
        "eps": _not_negative("eps"),
    }

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float = 0.0,
        eps: float = 1e-8,
    ) -> None:
        super().__init__(optimizer)
        check, where = self.SETTINGS, "ReduceLROnPlateau"
        self.mode: str = check["mode"](mode, where)
        self.factor: float = check["factor"](factor, where)
        self.patience: int = check["patience"](patience, where)
        self.threshold: float = check["threshold"](threshold, where)
        self.threshold_mode: str = check["threshold_mode"](threshold_mode, where)
        self.cooldown: int = check["cooldown"](cooldown, where)
        self.min_lr: float = check["min_lr"](min_lr, where)
        self.eps: float = check["eps"](eps, where)
        self.best = math.inf if self.mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0

    def step(self, metric: float) -> None:  # type: ignore[override]
        """Count one epoch whose figure is ``metric``; lower the rate if it has plateaued.

        ``metric`` is a number, or a node holding one (a validation loss as a Tensor, as
        PyTorch's habit passes it). NaN improves on nothing and counts as a bad epoch, as
        in PyTorch: a figure gone NaN is the plateau at its worst, not a mistake of the
        caller's."""
        current = _figure(metric, "ReduceLROnPlateau.step", "metric")
        self.epoch += 1
        if self._is_better(current):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in the cooldown do not count
        if self.num_bad_epochs > self.patience:
            old = self.optimizer.lr
            new = max(old * self.factor, self.min_lr)
            if old - new > self.eps:
                self.optimizer.lr = new
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = self.optimizer.lr

    def _is_better(self, current: float) -> bool:
        best, threshold = self.best, self.threshold
        if self.mode == "min":
            if self.threshold_mode == "rel":
                return current < best * (1.0 - threshold)
            return current < best - threshold
        if self.threshold_mode == "rel":
            return current > best * (threshold + 1.0)
        return current > best + threshold

    def _progress(self) -> dict[str, Any]:
        return {
            "best": self.best,
            "num_bad_epochs": self.num_bad_epochs,
            "cooldown_counter": self.cooldown_counter,
        }

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        if isinstance(state_dict, Mapping) and "min_lr" not in state_dict:
            rates = state_dict.get("min_lrs")  # PyTorch's: one per group
            if isinstance(rates, (list, tuple)) and len(rates) == 1:
                state_dict = {**state_dict, "min_lr": rates[0]}
        super().load_state_dict(state_dict)

    def _checked_progress(self, state_dict: Mapping[str, Any], where: str) -> dict[str, Any]:
        best = state_dict["best"]
        if (
            isinstance(best, (bool, np.bool_))
            or not isinstance(best, (int, float, np.integer, np.floating))
            or math.isnan(best)
        ):  # ±inf: no figure yet
            checks.wrong_type(where, "best", "a number (±inf before the first step)", best)
        return {
            "best": float(best),
            "num_bad_epochs": checks.integer(
                state_dict["num_bad_epochs"], where, "num_bad_epochs", minimum=0
            ),
            "cooldown_counter": checks.integer(
                state_dict["cooldown_counter"], where, "cooldown_counter", minimum=0
            ),
        }

    def __repr__(self) -> str:
        return (
            f"ReduceLROnPlateau(epoch={self.epoch}, lr={self.optimizer.lr:g}, best={self.best:g}, "
            f"num_bad_epochs={self.num_bad_epochs})"
        )


__getattr__ = _module_getattr("nn.optim")
