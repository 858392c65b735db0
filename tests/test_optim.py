"""nn.optim: each update checked by hand against the formulas, schedules, bad arguments."""

from __future__ import annotations

import copy
import inspect
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from autograd import Tensor, Value, testing
from nn.optim import SGD, Adam, CosineAnnealingLR, LRScheduler, Optimizer, StepLR


def _steps(optimizer: object, p: Tensor, grads: list[float]) -> list[float]:
    seen = []
    for g in grads:
        p.grad = np.array([g], dtype=np.float64)
        optimizer.step()  # type: ignore[attr-defined]
        seen.append(float(p.data[0]))
    return seen


def _param(x: float = 1.0) -> Tensor:
    return Tensor([x], requires_grad=True, dtype=np.float64)


def test_plain_sgd() -> None:
    p = _param()
    assert _steps(SGD([p], lr=0.1), p, [1.0, 2.0]) == pytest.approx([0.9, 0.7])


def test_sgd_momentum_by_hand() -> None:
    # b1 = 1, b2 = 0.9·1 + 1 = 1.9, b3 = 0.9·1.9 + 1 = 2.71
    p = _param()
    assert _steps(SGD([p], lr=0.1, momentum=0.9), p, [1, 1, 1]) == pytest.approx([0.9, 0.71, 0.439])


def test_sgd_dampening_applies_from_the_second_step() -> None:
    # b1 = g = 1; b2 = 0.9·1 + (1 − 0.5)·1 = 1.4
    p = _param()
    assert _steps(SGD([p], lr=0.1, momentum=0.9, dampening=0.5), p, [1, 1]) == pytest.approx(
        [0.9, 0.76]
    )
    # gradients other than 1, so that (1 − τ)·g and (1 − τ)/g differ:
    # b1 = 2, p = 1 − 0.2 = 0.8; b2 = 0.9·2 + 0.5·4 = 3.8, p = 0.8 − 0.38 = 0.42
    q = _param()
    assert _steps(SGD([q], lr=0.1, momentum=0.9, dampening=0.5), q, [2, 4]) == pytest.approx(
        [0.8, 0.42], abs=1e-12
    )


def test_sgd_nesterov_by_hand() -> None:
    # d1 = g + μ·b1 = 1 + 0.9 = 1.9; b2 = 1.9, d2 = 1 + 0.9·1.9 = 2.71
    p = _param()
    assert _steps(SGD([p], lr=0.1, momentum=0.9, nesterov=True), p, [1, 1]) == pytest.approx(
        [0.81, 0.539]
    )


def test_sgd_weight_decay_adds_to_the_gradient() -> None:
    # g' = g + λ·p = 1 + 0.5·2 = 2
    p = _param(2.0)
    assert _steps(SGD([p], lr=0.1, weight_decay=0.5), p, [1]) == pytest.approx([1.8])
    # g' = 3 + 0.5·4 = 5 → 4 − 0.5 = 3.5; g' = −1 + 0.5·3.5 = 0.75 → 3.5 − 0.075 = 3.425
    q = _param(4.0)
    assert _steps(SGD([q], lr=0.1, weight_decay=0.5), q, [3, -1]) == pytest.approx(
        [3.5, 3.425], abs=1e-12
    )


def test_adam_by_hand() -> None:
    g1, g2, lr, b1, b2, eps = 0.5, -1.0, 0.1, 0.9, 0.999, 1e-8
    m1, v1 = (1 - b1) * g1, (1 - b2) * g1**2
    p1 = 1.0 - lr * (m1 / (1 - b1)) / (math.sqrt(v1 / (1 - b2)) + eps)
    m2, v2 = b1 * m1 + (1 - b1) * g2, b2 * v1 + (1 - b2) * g2**2
    p2 = p1 - lr * (m2 / (1 - b1**2)) / (math.sqrt(v2 / (1 - b2**2)) + eps)
    p = _param()
    assert _steps(Adam([p], lr=lr), p, [g1, g2]) == pytest.approx([p1, p2], rel=1e-12)


def test_adam_steps_a_value_as_it_steps_a_tensor() -> None:
    """A Value's moments are 0-d arrays, whose square root numpy returns as a scalar: the
    update must still be computed (it once failed on the first step)."""
    from autograd import Value

    value, tensor = Value(1.0), _param()
    adams = Adam([value], lr=0.1), Adam([tensor], lr=0.1)
    for g in (0.5, -1.0, 2.0):
        value.grad = g
        tensor.grad = np.array([g])
        for adam in adams:
            adam.step()
        assert value.data == float(tensor.data[0])


def test_adam_weight_decay() -> None:
    p = _param(2.0)
    # g' = 0 + 0.1·2 = 0.2 > 0: the first step moves by lr·sign(g') = 0.01
    assert _steps(Adam([p], lr=0.01, weight_decay=0.1), p, [0.0]) == pytest.approx([1.99])


def test_adam_weight_decay_over_two_steps_by_hand() -> None:
    # The first step moves by lr whatever g' is; the second shows g' = g + λ·p itself.
    lr, b1, b2, decay = 0.1, 0.9, 0.999, 0.5
    p0, g1, g2 = 2.0, 3.0, -1.0
    d1 = g1 + decay * p0  # 4
    m1, v1 = (1 - b1) * d1, (1 - b2) * d1**2
    p1 = p0 - lr * (m1 / (1 - b1)) / math.sqrt(v1 / (1 - b2))
    d2 = g2 + decay * p1
    m2, v2 = b1 * m1 + (1 - b1) * d2, b2 * v1 + (1 - b2) * d2**2
    p2 = p1 - lr * (m2 / (1 - b1**2)) / math.sqrt(v2 / (1 - b2**2))
    p = _param(p0)
    adam = Adam([p], lr=lr, eps=0.0, weight_decay=decay)
    assert _steps(adam, p, [g1, g2]) == pytest.approx([p1, p2], rel=1e-12)


def test_optimisers_update_values_too_and_skip_missing_grads() -> None:
    v = Value(1.0)
    v.grad = 2.0
    SGD([v], lr=0.1).step()
    assert v.data == pytest.approx(0.8)
    t = _param()
    SGD([t], lr=0.1).step()  # grad is None: skipped
    assert t.data[0] == 1.0


def test_zero_grad_forgets() -> None:
    t = _param()
    t.grad = np.ones(1)
    optimizer = SGD([t], lr=0.1)
    optimizer.zero_grad()
    assert t.grad is None


def test_a_float32_parameter_stays_float32() -> None:
    t = Tensor([1.0], requires_grad=True)
    t.grad = np.ones(1, dtype=np.float32)
    Adam([t]).step()
    assert t.data.dtype == np.float32


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: SGD(p, lr=-1), "lr must be .* not negative"),
        (lambda p: SGD(p, lr=0.1, momentum=-0.5), "momentum must be .* not negative"),
        (lambda p: SGD(p, lr=0.1, nesterov=True), "Nesterov momentum. needs momentum"),
        (lambda p: SGD(p, lr=0.1, weight_decay=-1), "weight_decay must be .* not negative"),
        (lambda p: Adam(p, betas=(0.9, 1.0)), r"betas\[[01]\] must be in \[0, 1\)"),
        (lambda p: Adam(p, eps=-1.0), "eps must be .* not negative"),
        (lambda p: SGD([], lr=0.1), "got no parameters"),
    ],
)
def test_invalid_hyperparameters(make: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make([_param()])  # type: ignore[operator]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: SGD(p, momentum=0.9, nesterov=True, dampening=0.1), "Nesterov"),
        (lambda p: SGD(p, momentum=0.9, nesterov=True, dampening=-0.1), "Nesterov"),
        (lambda p: Adam(p, betas=(1.5, 0.9)), r"betas\[[01]\] must be in \[0, 1\)"),
        (lambda p: Adam(p, betas=(0.9, 1.5)), r"betas\[[01]\] must be in \[0, 1\)"),
        (lambda p: Adam(p, weight_decay=-0.5), "weight_decay must be .* not negative"),
        (lambda p: StepLR(SGD(p), step_size=1, gamma=0.0), "gamma must be positive"),
        (lambda p: StepLR(SGD(p), step_size=1, gamma=-0.5), "gamma must be positive"),
        (lambda p: CosineAnnealingLR(SGD(p), T_max=0), "T_max must be at least 1"),
    ],
)
def test_hyperparameters_just_outside_their_range(make: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make([_param()])  # type: ignore[operator]


def test_zero_learning_rate_and_zero_eps_are_allowed() -> None:
    # PyTorch takes lr = 0 (a frozen run) and eps = 0 (no smoothing): so do we.
    p = _param(2.0)
    assert _steps(SGD([p], lr=0.0), p, [5.0]) == [2.0]
    q = _param(2.0)
    assert _steps(Adam([q], lr=0.5, eps=0.0), q, [3.0]) == pytest.approx([1.5])


def test_defaults_are_pytorchs() -> None:
    import inspect

    import torch  # the oracle: its signatures hold the defaults users know

    def defaults(function: object) -> dict[str, object]:
        parameters = inspect.signature(function).parameters.values()  # type: ignore[arg-type]
        return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}

    p = _param()
    sgd, adam = SGD([p]), Adam([p])
    torch_sgd = defaults(torch.optim.SGD.__init__)
    torch_adam = defaults(torch.optim.Adam.__init__)
    for name in ("lr", "momentum", "dampening", "nesterov", "weight_decay"):
        assert getattr(sgd, name) == torch_sgd[name], name
    assert (adam.lr, adam.eps, adam.weight_decay) == (
        torch_adam["lr"],
        torch_adam["eps"],
        torch_adam["weight_decay"],
    )
    assert (adam.beta1, adam.beta2) == torch_adam["betas"]
    gamma = defaults(torch.optim.lr_scheduler.StepLR.__init__)["gamma"]
    step = StepLR(SGD([p], lr=1.0), step_size=1)
    step.step()
    assert step.optimizer.lr == pytest.approx(gamma)
    eta_min = defaults(torch.optim.lr_scheduler.CosineAnnealingLR.__init__)["eta_min"]
    cosine = CosineAnnealingLR(SGD([p], lr=1.0), T_max=2)
    cosine.step()
    cosine.step()
    assert cosine.optimizer.lr == pytest.approx(eta_min, abs=1e-15)


def test_repr_names_every_setting() -> None:
    sgd = SGD([_param(), _param()], lr=0.5, momentum=0.9)
    assert repr(sgd) == (
        "SGD(lr=0.5, momentum=0.9, dampening=0.0, nesterov=False, weight_decay=0.0, parameters=2)"
    )
    assert repr(StepLR(sgd, step_size=2)) == "StepLR(epoch=0, lr=0.5)"


@pytest.mark.parametrize("bad", [1.0, np.ones(2)])
def test_parameters_must_be_nodes(bad: object) -> None:
    with pytest.raises(TypeError, match="parameters: item 1 is not a leaf node"):
        SGD([_param(), bad])  # type: ignore[list-item]


def test_parameters_must_be_leaves() -> None:
    p = _param()
    with pytest.raises(TypeError, match=r"parameters: item 0 is not a leaf node \(got a Tensor"):
        SGD([p * 2])


def test_a_frozen_or_gradless_parameter_does_not_stop_the_others() -> None:
    frozen, missing, trained = _param(), _param(), _param()
    frozen.requires_grad = False
    frozen.grad = np.ones(1)
    SGD([frozen, missing, trained], lr=0.1)
    trained.grad = np.ones(1)
    SGD([frozen, missing, trained], lr=0.1).step()
    assert (frozen.data[0], missing.data[0], trained.data[0]) == (1.0, 1.0, pytest.approx(0.9))


def test_step_and_cosine_schedules_by_hand() -> None:
    optimizer = SGD([_param()], lr=1.0)
    schedule = StepLR(optimizer, step_size=2, gamma=0.5)
    rates = []
    for _ in range(5):
        schedule.step()
        rates.append(optimizer.lr)
    assert rates == [1.0, 0.5, 0.5, 0.25, 0.25]
    optimizer = SGD([_param()], lr=1.0)
    cosine = CosineAnnealingLR(optimizer, T_max=4, eta_min=0.1)
    rates = []
    for _ in range(8):
        cosine.step()
        rates.append(optimizer.lr)
    closed = [0.1 + 0.9 * (1 + math.cos(math.pi * k / 4)) / 2 for k in range(1, 9)]
    assert rates == pytest.approx(closed)  # down to eta_min at T_max, back up at 2·T_max
    with pytest.raises(ValueError, match="step_size must be at least 1"):
        StepLR(optimizer, step_size=0)


def _torch_rates(kind: str, settings: dict[str, float], hand_set: dict[int, float]) -> list[float]:
    import torch  # the dev extra installs it: PyTorch is the oracle here

    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=0.5)
    schedule = getattr(torch.optim.lr_scheduler, kind)(optimizer, **settings)
    rates = []
    for epoch in range(1, 3 * 2 * 5 + 1):
        if epoch in hand_set:
            optimizer.param_groups[0]["lr"] = hand_set[epoch]
        optimizer.step()
        schedule.step()
        rates.append(optimizer.param_groups[0]["lr"])
    return rates


def _our_rates(kind: str, settings: dict[str, float], hand_set: dict[int, float]) -> list[float]:
    optimizer = SGD([_param()], lr=0.5)
    schedule = {"StepLR": StepLR, "CosineAnnealingLR": CosineAnnealingLR}[kind](
        optimizer, **settings
    )
    rates = []
    for epoch in range(1, 3 * 2 * 5 + 1):
        if epoch in hand_set:
            optimizer.lr = hand_set[epoch]
        schedule.step()
        rates.append(optimizer.lr)
    return rates


@pytest.mark.parametrize(
    ("kind", "settings"),
    [
        ("StepLR", {"step_size": 3, "gamma": 0.5}),
        ("StepLR", {"step_size": 1, "gamma": 0.9}),
        ("CosineAnnealingLR", {"T_max": 5, "eta_min": 0.01}),
        ("CosineAnnealingLR", {"T_max": 5}),
        ("CosineAnnealingLR", {"T_max": 1, "eta_min": 0.1}),
    ],
)
@pytest.mark.parametrize("hand_set", [{}, {4: 0.3}, {7: 0.05, 12: 0.2}])
def test_schedules_follow_pytorch_step_for_step_over_three_periods(
    kind: str, settings: dict[str, float], hand_set: dict[int, float]
) -> None:
    expected = _torch_rates(kind, settings, hand_set)
    assert _our_rates(kind, settings, hand_set) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def _value_steps(optimizer: SGD, p: Value, grads: list[float]) -> list[float]:
    seen = []
    for g in grads:
        p.grad = g
        optimizer.step()
        seen.append(p.data)
    return seen


def test_sgd_momentum_dampening_and_nesterov_on_a_value_by_hand() -> None:
    p = Value(1.0)
    sgd = SGD([p], lr=0.1, momentum=0.9, dampening=0.1)
    # buffer 0.5 → p = 1 − 0.05; buffer 0.9·0.5 + 0.9·(−1) = −0.45 → p = 0.95 + 0.045;
    # buffer 0.9·(−0.45) + 0.9·2 = 1.395 → p = 0.995 − 0.1395
    assert _value_steps(sgd, p, [0.5, -1.0, 2.0]) == pytest.approx([0.95, 0.995, 0.8555], abs=1e-12)
    q = Value(1.0)
    nesterov = SGD([q], lr=0.1, momentum=0.9, nesterov=True)
    # step 1: buffer 0.5, step 0.5 + 0.9·0.5 = 0.95; step 2: buffer 0.45 − 1 = −0.55,
    # step −1 + 0.9·(−0.55) = −1.495
    assert _value_steps(nesterov, q, [0.5, -1.0]) == pytest.approx([0.905, 1.0545], abs=1e-12)


@pytest.mark.parametrize("betas", [(0.0, 0.0), (0.999999, 0.5), (0.5, 0.999999)])
def test_adam_takes_betas_in_zero_to_one(betas: tuple[float, float]) -> None:
    Adam([Value(1.0)], betas=betas)


@pytest.mark.parametrize("betas", [(1.0, 0.9), (0.9, 1.0), (-0.1, 0.9), (0.9, -0.1)])
def test_adam_refuses_betas_outside_zero_to_one(betas: tuple[float, float]) -> None:
    with pytest.raises(ValueError, match=r"betas\[[01]\] must be in \[0, 1\)"):
        Adam([Value(1.0)], betas=betas)


# -- every optimiser and schedule the library has, against PyTorch ----------------------


def _subclasses(base: type) -> list[type]:
    """The library's subclasses of ``base`` (a test's own subclasses left out), deepest too."""
    found: list[type] = []
    for sub in base.__subclasses__():
        if sub.__module__ == base.__module__:
            found += [sub, *_subclasses(sub)]
    return found


OPTIMISERS = _subclasses(Optimizer)
SCHEDULERS = _subclasses(LRScheduler)

#: What each hyperparameter of an optimiser may be, drawn; a new one needs a line here.
HYPERPARAMETERS: dict[str, st.SearchStrategy[Any]] = {
    "lr": st.floats(0.0, 1.0),
    "momentum": st.just(0.0) | st.floats(0.0, 0.99),
    "dampening": st.just(0.0) | st.floats(0.0, 1.0),
    "nesterov": st.booleans(),
    "weight_decay": st.just(0.0) | st.floats(0.0, 0.5),
    "betas": st.tuples(st.floats(0.0, 0.999), st.floats(0.0, 0.9999)),
    "eps": st.floats(1e-8, 1e-2),
}

#: What each setting of a schedule may be, drawn; a new one needs a line here.
SCHEDULE_SETTINGS: dict[str, st.SearchStrategy[Any]] = {
    "step_size": st.integers(1, 5),
    "gamma": st.floats(0.05, 1.0),
    "T_max": st.integers(1, 6),
    "eta_min": st.just(0.0) | st.floats(0.0, 0.05),
    # ReduceLROnPlateau's
    "mode": st.sampled_from(["min", "max"]),
    "factor": st.floats(0.05, 0.95),
    "patience": st.integers(0, 3),
    "threshold": st.just(0.0) | st.floats(0.0, 0.1),
    "threshold_mode": st.sampled_from(["rel", "abs"]),
    "cooldown": st.integers(0, 2),
    "min_lr": st.just(0.0) | st.floats(0.0, 0.05),
    "eps": st.just(1e-8) | st.floats(0.0, 1e-3),
}

#: The figures a ReduceLROnPlateau is stepped with: few distinct values, so that ties
#: and plateaus (the cases its thresholds decide) come up often.
PLATEAU_METRICS = st.lists(
    st.sampled_from([0.5, 0.9, 1.0, 1.0001, 1.05, 2.0]) | st.floats(0.0, 3.0),
    min_size=15,
    max_size=15,
)


def _settings(cls: type, skip: str) -> list[str]:
    return [name for name in inspect.signature(cls.__init__).parameters if name not in skip]


def test_the_library_has_the_optimisers_and_schedules_it_documents() -> None:
    assert {cls.__name__ for cls in OPTIMISERS} >= {"SGD", "Adam"}
    assert {cls.__name__ for cls in SCHEDULERS} >= {"StepLR", "CosineAnnealingLR"}


@pytest.mark.parametrize("cls", OPTIMISERS + SCHEDULERS, ids=lambda cls: cls.__name__)
def test_every_setting_of_every_optimiser_and_schedule_is_drawn_below(cls: type) -> None:
    import torch

    table = HYPERPARAMETERS if issubclass(cls, Optimizer) else SCHEDULE_SETTINGS
    missing = [n for n in _settings(cls, "self parameters optimizer") if n not in table]
    assert not missing, f"{cls.__name__}: add strategies for {missing} to the tables above"
    oracle = torch.optim if issubclass(cls, Optimizer) else torch.optim.lr_scheduler
    assert hasattr(oracle, cls.__name__), f"PyTorch has no {cls.__name__} to compare with"


def _gradients(shape: tuple[int, ...]) -> st.SearchStrategy[Any]:
    """A step's gradient, or None: keep the last one (a ``.grad`` that lives on, as when
    the user steps twice, must come through unchanged)."""
    return st.none() | testing.arrays(shape, testing.floats(-10.0, 10.0))


@settings(max_examples=60)
@given(data=st.data())
@pytest.mark.parametrize("cls", OPTIMISERS, ids=lambda cls: cls.__name__)
def test_every_optimiser_follows_pytorch_on_every_shape_and_on_values(
    cls: type[Optimizer], data: st.DataObject
) -> None:
    """Any settings, any shape (0-d too), any gradients: our step is PyTorch's; a Value
    steps exactly as a 0-d Tensor does; ``.grad`` is never written; the parameter stays
    the same object, of its dtype."""
    import torch

    settings_ = {name: data.draw(HYPERPARAMETERS[name], label=name)
                 for name in _settings(cls, "self parameters")}  # fmt: skip
    shape = data.draw(testing.shapes(min_dims=0, max_dims=3, max_side=3), label="shape")
    start = data.draw(testing.arrays(shape, testing.floats(-3.0, 3.0)), label="start")
    steps = data.draw(st.lists(_gradients(shape), min_size=1, max_size=4), label="gradients")
    if steps[0] is None:
        steps[0] = np.ones(shape)
    oracle = torch.nn.Parameter(torch.tensor(start, dtype=torch.float64))
    try:
        torch_optimiser = getattr(torch.optim, cls.__name__)([oracle], **settings_)
    except ValueError:  # settings PyTorch refuses: we refuse them too
        with pytest.raises(ValueError, match=cls.__name__):
            cls([Tensor(start, requires_grad=True)], **settings_)
        return
    p = Tensor(start.copy(), requires_grad=True, dtype=np.float64)
    ours = cls([p], **settings_)
    value = Value(float(start)) if shape == () else None
    by_value = cls([value], **settings_) if value is not None else None
    for step, gradient in enumerate(steps):
        if gradient is not None:
            oracle.grad = torch.tensor(gradient)
            p.grad = gradient.copy()
            if value is not None:
                value.grad = float(gradient)
        kept = p.grad.copy()
        torch_optimiser.step()
        ours.step()
        np.testing.assert_allclose(
            p.data, oracle.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=f"step {step}"
        )
        assert np.array_equal(p.grad, kept), f"step {step} wrote into .grad"
        assert p.data.dtype == np.float64 and p.data.shape == shape
        if by_value is not None:
            by_value.step()
            assert isinstance(value.data, float) and value.data == float(p.data), step
            assert value.grad == float(kept)


@settings(max_examples=40)
@given(data=st.data())
@pytest.mark.parametrize("cls", OPTIMISERS, ids=lambda cls: cls.__name__)
def test_a_parameter_listed_twice_is_one_parameter_stepped_once(
    cls: type[Optimizer], data: st.DataObject
) -> None:
    """Any list of parameters with repeats (``enc.parameters() + dec.parameters()`` with
    a tied weight), any settings: the optimiser is the one made from each parameter once,
    in the order first given: the same steps to the last bit, the same param_groups and
    state_dict, each loading into the other; and clip_grad_norm_ counts it once."""
    from nn.utils import clip_grad_norm_

    settings_ = {name: data.draw(HYPERPARAMETERS[name], label=name)
                 for name in _settings(cls, "self parameters")}  # fmt: skip
    if settings_.get("nesterov"):
        settings_["momentum"], settings_["dampening"] = 0.9, 0.0
    order = data.draw(st.lists(st.integers(0, 3), min_size=1, max_size=9), label="order")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    starts = [rng.normal(size=shape) for shape in [(2, 3), (3,), (), (1, 1)]]
    firsts = list(dict.fromkeys(order))
    twice = [Tensor(start, requires_grad=True, dtype=np.float64) for start in starts]
    once = [Tensor(start, requires_grad=True, dtype=np.float64) for start in starts]
    repeated = cls([twice[i] for i in order], **settings_)
    plain = cls([once[i] for i in firsts], **settings_)
    assert len(repeated.param_groups[0]["params"]) == len(firsts)
    for _ in range(3):
        for i in firsts:
            gradient = rng.normal(size=starts[i].shape) * 10.0
            twice[i].grad, once[i].grad = gradient.copy(), gradient.copy()
        norm = clip_grad_norm_([twice[i] for i in order], 1.0)
        assert norm == clip_grad_norm_([once[i] for i in firsts], 1.0)
        repeated.step()
        plain.step()
        for i in firsts:
            assert np.array_equal(twice[i].data, once[i].data)
            assert np.array_equal(twice[i].grad, once[i].grad)
    state, expected = repeated.state_dict(), plain.state_dict()
    assert state["param_groups"] == expected["param_groups"]
    assert state["state"].keys() == expected["state"].keys()
    for position, own in state["state"].items():
        for key, value in own.items():
            assert np.array_equal(value, expected["state"][position][key])
    repeated.load_state_dict(expected)
    plain.load_state_dict(state)


def test_two_momentum_steps_on_one_gradient_leave_it_alone() -> None:
    # A momentum buffer that is the gradient itself would be scaled in place at the
    # second step: the gradient and the update both go wrong.
    p = _param()
    p.grad = np.array([1.0])
    sgd = SGD([p], lr=0.1, momentum=0.9)
    sgd.step()
    sgd.step()
    assert p.grad[0] == 1.0
    assert p.data[0] == pytest.approx(1.0 - 0.1 - 0.1 * 1.9)


def test_an_update_that_writes_into_the_gradient_or_the_data_is_refused() -> None:
    class Careless(Optimizer):
        def update(self, data: Any, grad: Any, state: dict[str, Any]) -> Any:
            grad *= self.lr  # in place: the parameter's own gradient
            return grad

    class Reckless(Optimizer):
        def update(self, data: Any, grad: Any, state: dict[str, Any]) -> Any:
            data -= self.lr * grad  # past subtract_data_: no write recorded
            return np.zeros_like(data)

    for kind in (Careless, Reckless):
        p = _param()
        p.grad = np.array([2.0])
        with pytest.raises(ValueError, match="read-only"):
            kind([p], lr=0.5).step()
        assert (p.data[0], p.grad[0]) == (1.0, 2.0)


@pytest.mark.parametrize("cls", OPTIMISERS, ids=lambda cls: cls.__name__)
def test_every_optimiser_steps_a_scalar_mlp(cls: type[Optimizer]) -> None:
    # The case: Adam crashed on every Value (numpy made its 0-d moments scalars).
    model = nn.scalar.MLP(2, [3, 1], rng=0)
    before = [p.data for p in model.parameters()]
    optimiser = cls(model.parameters(), lr=0.1)
    model([1.0, 2.0]).backward()
    optimiser.step()
    after = [p.data for p in model.parameters()]
    assert all(isinstance(x, float) for x in after) and after != before


@settings(max_examples=40)
@given(data=st.data())
@pytest.mark.parametrize("cls", SCHEDULERS, ids=lambda cls: cls.__name__)
def test_every_schedule_follows_pytorch(cls: type[LRScheduler], data: st.DataObject) -> None:
    import torch

    settings_ = {name: data.draw(SCHEDULE_SETTINGS[name], label=name)
                 for name in _settings(cls, "self optimizer")}  # fmt: skip
    lr = data.draw(st.floats(0.01, 1.0), label="lr")
    oracle = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    torch_schedule = getattr(torch.optim.lr_scheduler, cls.__name__)(oracle, **settings_)
    optimiser = SGD([_param()], lr=lr)
    schedule = cls(optimiser, **settings_)
    plateau = isinstance(schedule, nn.optim.ReduceLROnPlateau)
    figures = data.draw(PLATEAU_METRICS, label="metrics") if plateau else [None] * 15
    for epoch, figure in enumerate(figures, start=1):
        oracle.step()
        if plateau:
            torch_schedule.step(figure)
            schedule.step(figure)  # type: ignore[call-arg]
        else:
            torch_schedule.step()
            schedule.step()
        expected = oracle.param_groups[0]["lr"]
        assert optimiser.lr == pytest.approx(expected, rel=1e-12, abs=1e-15), epoch
        assert schedule.get_last_lr() == pytest.approx(torch_schedule.get_last_lr(), rel=1e-12)


def test_a_gradient_of_another_shape_than_its_parameter_is_refused() -> None:
    """A 0-d ``.grad`` set by hand on a (2, 3) parameter would broadcast: every weight
    stepped by one number."""
    p = Tensor(np.ones((2, 3)), requires_grad=True)
    p.grad = np.float32(1.0)
    for optimizer in (nn.optim.SGD([p], lr=0.1), nn.optim.Adam([p])):
        with pytest.raises(
            ValueError, match=r"step: a parameter of shape \(2, 3\) has a gradient of shape \(\)"
        ):
            optimizer.step()
    np.testing.assert_array_equal(p.data, np.ones((2, 3)))


# -- a state that would poison the next steps is refused when loaded -----------------------


def _adam_with_state() -> tuple[nn.optim.Adam, Any]:
    from autograd import Tensor

    p = Tensor(np.array([1.0, -2.0], np.float32), requires_grad=True)
    optimizer = nn.optim.Adam([p], lr=0.1)
    p.grad = np.array([0.5, 0.5], np.float32)
    optimizer.step()
    return optimizer, p


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s["state"][0].__setitem__("exp_avg_sq", -np.ones(2, np.float32)),
         r"state\[0\]\['exp_avg_sq'\] holds negative values"),
        (lambda s: s["state"][0].__setitem__("step", 10**400),
         r"state\[0\]\['step'\] must be .*at most 9007199254740992"),
        (lambda s: s["state"].__setitem__("0", dict(s["state"][0])),
         r"state names parameter 0 twice \(as 0 and as '0'\)"),
        (lambda s: s["state"].update({"00": dict(s["state"][0])}),
         r"state names parameter 0 twice"),
    ],
)  # fmt: skip
def test_adam_refuses_a_state_that_would_poison_its_next_steps(change: Any, message: str) -> None:
    """A negative mean of squares makes the next update's square root NaN; a step count
    past what a float holds makes β**t raise; a position named twice lets one entry win
    without a word. Each is refused at load, and the optimiser keeps its state."""
    optimizer, p = _adam_with_state()
    state = optimizer.state_dict()
    kept = copy.deepcopy(optimizer.state)
    change(state)
    with pytest.raises(ValueError, match=message):
        optimizer.load_state_dict(state)
    for now, was in zip(optimizer.state, kept):
        assert now.keys() == was.keys()
        for key in now:
            np.testing.assert_array_equal(now[key], was[key])
    p.grad = np.array([0.5, 0.5], np.float32)
    optimizer.step()
    assert np.isfinite(p.data).all()
