"""nn.optim under PyTorch's names, against PyTorch: param_groups, state_dict and
load_state_dict (both ways), a scheduler's get_last_lr and state, ReduceLROnPlateau, and
nn.utils.clip_grad_norm_."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from autograd import Tensor, Value
from nn.optim import SGD, Adam, CosineAnnealingLR, ReduceLROnPlateau, StepLR
from nn.utils import clip_grad_norm_

SHAPES = [(3, 2), (2,), ()]


def _pair(seed: int = 0) -> tuple[list[Tensor], list[torch.nn.Parameter]]:
    """Parameters of several shapes (0-d too), ours and PyTorch's, equal, float64."""
    rng = np.random.default_rng(seed)
    starts = [rng.normal(size=shape) for shape in SHAPES]
    ours = [Tensor(start.copy(), requires_grad=True, dtype=np.float64) for start in starts]
    theirs = [torch.nn.Parameter(torch.tensor(start)) for start in starts]
    return ours, theirs


def _step(ours: Any, theirs: Any, p: list[Tensor], q: list[Any], rng: np.random.Generator) -> None:
    for mine, other in zip(p, q):
        grad = rng.normal(size=mine.shape)
        mine.grad = grad.copy()
        other.grad = torch.tensor(grad)
    ours.step()
    theirs.step()


def _same(p: list[Tensor], q: list[Any]) -> None:
    for mine, other in zip(p, q):
        np.testing.assert_allclose(mine.data, other.detach().numpy(), rtol=1e-12, atol=1e-14)


OPTIMISERS = [
    (SGD, {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01}),
    (SGD, {"lr": 0.1, "momentum": 0.8, "nesterov": True}),
    (SGD, {"lr": 0.1}),
    (Adam, {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.01}),
]
IDS = ["sgd-momentum", "sgd-nesterov", "sgd-plain", "adam"]


# -- param_groups ------------------------------------------------------------------------


@pytest.mark.parametrize(("cls", "chosen"), OPTIMISERS, ids=IDS)
def test_param_groups_hold_pytorchs_settings(cls: type, chosen: dict[str, Any]) -> None:
    p, q = _pair()
    ours, theirs = cls(p, **chosen), getattr(torch.optim, cls.__name__)(q, **chosen)
    (group,) = ours.param_groups
    (their_group,) = theirs.param_groups
    assert group["params"] == p
    for key in group:
        if key != "params":
            assert group[key] == their_group[key], key
    assert set(group) <= set(their_group)


@pytest.mark.parametrize(("cls", "chosen"), OPTIMISERS, ids=IDS)
def test_setting_the_rate_through_param_groups_steps_as_pytorch(
    cls: type, chosen: dict[str, Any]
) -> None:
    p, q = _pair()
    ours, theirs = cls(p, **chosen), getattr(torch.optim, cls.__name__)(q, **chosen)
    rng = np.random.default_rng(1)
    for step in range(6):
        if step == 3:  # a schedule written by hand, PyTorch's way
            for group in (*ours.param_groups, *theirs.param_groups):
                group["lr"] = group["lr"] * 0.5
        _step(ours, theirs, p, q, rng)
        _same(p, q)
    assert ours.lr == chosen["lr"] * 0.5


def test_param_groups_are_checked_as_the_constructor_checks() -> None:
    adam = Adam([Tensor(np.ones(2), requires_grad=True)])
    with pytest.raises(ValueError, match=r"Adam.param_groups\[0\]: lr must be"):
        adam.param_groups[0]["lr"] = -1.0
    with pytest.raises(TypeError, match=r"Adam.param_groups\[0\]: lr must be a real number"):
        adam.param_groups[0]["lr"] = "0.1"
    with pytest.raises(ValueError, match=r"betas\[1\] must be in \[0, 1\)"):
        adam.param_groups[0]["betas"] = (0.9, 1.0)
    with pytest.raises(KeyError, match="Adam has no setting 'momentum'"):
        adam.param_groups[0]["momentum"] = 0.9
    with pytest.raises(TypeError, match="params cannot be replaced"):
        adam.param_groups[0]["params"] = []
    assert adam.lr == 1e-3 and (adam.beta1, adam.beta2) == (0.9, 0.999)
    adam.param_groups[0]["betas"] = (0.5, 0.6)
    assert (adam.beta1, adam.beta2) == (0.5, 0.6)
    sgd = SGD([Tensor(np.ones(2), requires_grad=True)], momentum=0.9, nesterov=True)
    with pytest.raises(ValueError, match=r"nesterov=True .* needs momentum > 0"):
        sgd.param_groups[0]["momentum"] = 0.0


# -- state_dict and load_state_dict ------------------------------------------------------


def _as_numpy(state: Any) -> Any:
    if isinstance(state, torch.Tensor):
        return state.numpy()
    if isinstance(state, dict):
        return {key: _as_numpy(value) for key, value in state.items()}
    if isinstance(state, list):
        return [_as_numpy(value) for value in state]
    return state


@pytest.mark.parametrize(("cls", "chosen"), OPTIMISERS, ids=IDS)
def test_the_state_dict_is_pytorchs(cls: type, chosen: dict[str, Any]) -> None:
    p, q = _pair()
    ours, theirs = cls(p, **chosen), getattr(torch.optim, cls.__name__)(q, **chosen)
    assert ours.state_dict()["state"] == {}
    rng = np.random.default_rng(2)
    for _ in range(3):
        _step(ours, theirs, p, q, rng)
    mine, other = ours.state_dict(), _as_numpy(theirs.state_dict())
    assert mine["param_groups"][0]["params"] == other["param_groups"][0]["params"]
    assert set(mine["state"]) == {i for i, s in other["state"].items() if s}
    for i, state in mine["state"].items():
        assert set(state) == {k for k, v in other["state"][i].items() if v is not None}
        for key, value in state.items():
            np.testing.assert_allclose(value, other["state"][i][key], rtol=1e-12, atol=1e-15)
            assert np.shape(value) == np.shape(other["state"][i][key]), (i, key)


@pytest.mark.parametrize(("cls", "chosen"), OPTIMISERS, ids=IDS)
@pytest.mark.parametrize("direction", ["torch-to-ours", "ours-to-torch", "ours-to-ours"])
def test_a_loaded_state_goes_on_as_the_run_it_came_from(
    cls: type, chosen: dict[str, Any], direction: str
) -> None:
    """Three steps, the state moved into a fresh optimiser, three more: the same weights
    as an optimiser that was never replaced (Adam's moments and step counts, SGD's
    momentum buffers)."""
    p, q = _pair()
    ours, theirs = cls(p, **chosen), getattr(torch.optim, cls.__name__)(q, **chosen)
    rng = np.random.default_rng(3)
    for _ in range(3):
        _step(ours, theirs, p, q, rng)
    fresh_settings = {**chosen, "lr": 0.5}  # the state brings the rate back
    if direction == "torch-to-ours":
        ours = cls(p, **fresh_settings)
        ours.load_state_dict(theirs.state_dict())
    elif direction == "ours-to-torch":
        theirs = getattr(torch.optim, cls.__name__)(q, **fresh_settings)
        theirs.load_state_dict(
            {
                "state": {
                    i: {
                        k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in s.items()
                    }
                    for i, s in ours.state_dict()["state"].items()
                },
                "param_groups": ours.state_dict()["param_groups"],
            }
        )
    else:
        state = ours.state_dict()
        ours = cls(p, **fresh_settings)
        ours.load_state_dict(state)
    assert ours.lr == chosen["lr"]
    for _ in range(3):
        _step(ours, theirs, p, q, rng)
        _same(p, q)


def test_a_state_dict_is_a_copy() -> None:
    p = Tensor(np.ones(2), requires_grad=True, dtype=np.float64)
    adam = Adam([p])
    p.grad = np.ones(2)
    adam.step()
    state = adam.state_dict()
    state["state"][0]["exp_avg"][...] = 99.0
    assert adam.state[0]["exp_avg"][0] != 99.0


def test_a_values_state_has_the_values_shape() -> None:
    v = Value(1.0)
    adam = Adam([v], lr=0.1)
    v.grad = 0.5
    adam.step()
    state = adam.state_dict()["state"][0]
    assert state["exp_avg"].shape == () and state["step"] == 1
    again = Adam([w := Value(1.0)], lr=0.3)
    again.load_state_dict(adam.state_dict())
    w.grad = 0.5
    v.grad = 0.5
    adam.step()
    again.step()
    assert w.data != 1.0 and adam.state[0]["step"] == again.state[0]["step"] == 2


def _trained_adam() -> tuple[Adam, list[Tensor]]:
    p = [Tensor(np.ones((2, 2)), requires_grad=True), Tensor(np.ones(3), requires_grad=True)]
    adam = Adam(p, lr=0.01)
    for one in p:
        one.grad = np.ones(one.shape, np.float32)
    adam.step()
    return adam, p


def _broken(change: Any) -> dict[str, Any]:
    adam, _ = _trained_adam()
    state = adam.state_dict()
    change(state)
    return state


@pytest.mark.parametrize(
    ("change", "kind", "message"),
    [
        (lambda s: s.pop("state"), TypeError, "state_dict must be a dict with the keys"),
        (lambda s: s["param_groups"].append({}), TypeError, "a list of one group"),
        (lambda s: s["param_groups"][0].update(params=[0]), ValueError, "the positions 0 to 1"),
        (lambda s: s["param_groups"][0].update(lr=-1.0), ValueError, "lr must be"),
        (lambda s: s["param_groups"][0].update(amsgrad=True), ValueError, "amsgrad=True"),
        (lambda s: s["param_groups"][0].pop("eps"), ValueError, r"lacks \['eps'\]"),
        (lambda s: s["state"].update({2: {}}), ValueError, "names parameter 2"),
        (lambda s: s["state"][0].update(exp_avg=np.ones(3)), ValueError, "has shape"),
        (lambda s: s["state"][0].update(exp_avg=np.full((2, 2), np.nan)), ValueError, "NaN"),
        (lambda s: s["state"][0].update(step=0), ValueError, "step.* at least 1"),
        (lambda s: s["state"][0].update(step=1.5), TypeError, "whole number of steps"),
        (lambda s: s["state"][0].update(momentum_buffer=np.ones((2, 2))), ValueError,
         "keeps no 'momentum_buffer'"),
        (lambda s: s["state"][0].pop("exp_avg_sq"), ValueError, "all of .* or none"),
        (lambda s: s["state"][0].update(exp_avg=np.array([["a", "b"]] * 2)), TypeError,
         "array of numbers"),
    ],
)  # fmt: skip
def test_a_state_that_does_not_fit_is_refused_and_changes_nothing(
    change: Any, kind: type, message: str
) -> None:
    adam, _ = _trained_adam()
    before = adam.state_dict()
    with pytest.raises(kind, match=message):
        adam.load_state_dict(_broken(change))
    after = adam.state_dict()
    assert after["param_groups"] == before["param_groups"]
    for i, state in before["state"].items():
        for key, value in state.items():
            np.testing.assert_array_equal(after["state"][i][key], value)


def test_a_state_is_stored_in_the_parameters_dtype() -> None:
    adam, _ = _trained_adam()
    state = adam.state_dict()
    state["state"][0]["exp_avg"] = state["state"][0]["exp_avg"].astype(np.float64)
    adam.load_state_dict(state)
    assert adam.state[0]["exp_avg"].dtype == np.float32


# -- schedulers --------------------------------------------------------------------------

SCHEDULES = [
    (StepLR, {"step_size": 2, "gamma": 0.5}),
    (CosineAnnealingLR, {"T_max": 4, "eta_min": 0.01}),
    (ReduceLROnPlateau, {"factor": 0.5, "patience": 1, "cooldown": 1}),
]
FIGURES = [1.0, 0.9, 0.95, 0.95, 0.97, 0.8, 0.81, 0.82, 0.83, 0.84, 0.7, 0.7]


def _stepped(schedule: Any, figure: float) -> None:
    if isinstance(schedule, (ReduceLROnPlateau, torch.optim.lr_scheduler.ReduceLROnPlateau)):
        schedule.step(figure)
    else:
        schedule.step()


@pytest.mark.parametrize(("cls", "chosen"), SCHEDULES, ids=lambda c: getattr(c, "__name__", ""))
@pytest.mark.parametrize("direction", ["torch-to-ours", "ours-to-ours"])
def test_a_schedules_state_goes_on_as_the_run_it_came_from(
    cls: type, chosen: dict[str, Any], direction: str
) -> None:
    their_optimiser = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.5)
    theirs = getattr(torch.optim.lr_scheduler, cls.__name__)(their_optimiser, **chosen)
    optimiser = SGD([Tensor(np.zeros(1), requires_grad=True)], lr=0.5)
    ours = cls(optimiser, **chosen)
    assert ours.get_last_lr() == theirs.get_last_lr() == [0.5]
    for epoch, figure in enumerate(FIGURES, start=1):
        if epoch == 6:  # a new optimiser and scheduler, given the old ones' state
            source_optimiser = (
                their_optimiser.state_dict()
                if direction == "torch-to-ours"
                else optimiser.state_dict()
            )
            source = theirs.state_dict() if direction == "torch-to-ours" else ours.state_dict()
            optimiser = SGD([Tensor(np.zeros(1), requires_grad=True)], lr=0.1)
            ours = cls(optimiser, **{key: value for key, value in chosen.items()})
            optimiser.load_state_dict(source_optimiser)
            ours.load_state_dict(source)
        their_optimiser.step()
        _stepped(theirs, figure)
        _stepped(ours, figure)
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12), epoch
        assert optimiser.lr == pytest.approx(their_optimiser.param_groups[0]["lr"], rel=1e-12)
    assert ours.epoch == theirs.last_epoch


def test_a_schedules_state_is_checked() -> None:
    optimiser = SGD([Tensor(np.zeros(1), requires_grad=True)], lr=0.5)
    step = StepLR(optimiser, step_size=2)
    with pytest.raises(ValueError, match=r"StepLR.load_state_dict: step_size must be at least 1"):
        step.load_state_dict({**step.state_dict(), "step_size": 0})
    with pytest.raises(ValueError, match=r"unknown \['T_max'\]"):
        step.load_state_dict({**step.state_dict(), "T_max": 3})
    with pytest.raises(ValueError, match="last_epoch must be at least 0"):
        step.load_state_dict({**step.state_dict(), "last_epoch": -1})
    plateau = ReduceLROnPlateau(optimiser)
    with pytest.raises(TypeError, match="best must be a number"):
        plateau.load_state_dict({**plateau.state_dict(), "best": "x"})
    assert step.step_size == 2 and plateau.best == math.inf


def test_reduce_lr_on_plateau_checks_its_settings_and_its_figure() -> None:
    optimiser = SGD([Tensor(np.zeros(1), requires_grad=True)], lr=0.5)
    with pytest.raises(ValueError, match=r"ReduceLROnPlateau: factor must be in \[0, 1\)"):
        ReduceLROnPlateau(optimiser, factor=1.0)
    with pytest.raises(ValueError, match="ReduceLROnPlateau: unknown mode 'low'"):
        ReduceLROnPlateau(optimiser, mode="low")
    with pytest.raises(TypeError, match=r"ReduceLROnPlateau.step: metric must be a real"):
        ReduceLROnPlateau(optimiser).step("0.5")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"ReduceLROnPlateau.step: metric must be one number"):
        ReduceLROnPlateau(optimiser).step(Tensor(np.ones(3)))  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(
    figures=st.lists(
        st.one_of(
            st.sampled_from([math.nan, math.inf, -math.inf, 1.0, 0.5]),
            st.floats(-2.0, 2.0, allow_nan=False),
        ),
        min_size=1,
        max_size=12,
    ),
    mode=st.sampled_from(["min", "max"]),
    threshold_mode=st.sampled_from(["rel", "abs"]),
    patience=st.integers(0, 2),
    cooldown=st.integers(0, 2),
    as_node=st.booleans(),
)
def test_reduce_lr_on_plateau_takes_any_figure_as_pytorchs(
    figures: list[float],
    mode: str,
    threshold_mode: str,
    patience: int,
    cooldown: int,
    as_node: bool,
) -> None:
    """NaN and the infinities included (NaN improves on nothing: a bad epoch), and a
    figure held by a node (a validation loss as a 0-d Tensor), step for step."""
    settings_ = dict(mode=mode, threshold_mode=threshold_mode, patience=patience,
                     cooldown=cooldown, factor=0.5, threshold=0.1)  # fmt: skip
    ours = ReduceLROnPlateau(SGD([Tensor(np.zeros(1), requires_grad=True)], lr=1.0), **settings_)
    parameter = torch.zeros(1, requires_grad=True)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(
        torch.optim.SGD([parameter], lr=1.0), **settings_
    )
    for figure in figures:
        ours.step(Tensor(np.float32(figure)) if as_node else figure)
        theirs.step(np.float32(figure) if as_node else figure)
        assert ours.get_last_lr() == theirs.get_last_lr()
        assert ours.num_bad_epochs == theirs.num_bad_epochs


# -- clip_grad_norm_ ---------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    norm_type=st.sampled_from([2.0, 1.0, 3.0, 0.5, math.inf, "inf"]),
    max_norm=st.floats(0.0, 5.0),
    dtype=st.sampled_from([np.float64, np.float32]),
)
def test_clip_grad_norm_is_pytorchs(
    data: st.DataObject, norm_type: Any, max_norm: float, dtype: Any
) -> None:
    shapes = data.draw(
        st.lists(st.sampled_from([(3, 2), (4,), (), (1, 1)]), min_size=1, max_size=4)
    )
    scale = data.draw(st.sampled_from([1e-3, 1.0, 10.0]))
    rng = np.random.default_rng(data.draw(st.integers(0, 100)))
    grads = [np.asarray(rng.normal(size=shape) * scale, dtype=dtype) for shape in shapes]
    ours = [Tensor(np.zeros(shape, dtype), requires_grad=True) for shape in shapes]
    theirs = [torch.nn.Parameter(torch.zeros(shape, dtype=torch.from_numpy(g).dtype))
              for shape, g in zip(shapes, grads)]  # fmt: skip
    for mine, other, grad in zip(ours, theirs, grads):
        mine.grad = grad.copy()
        other.grad = torch.from_numpy(grad.copy())
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    assert total == pytest.approx(float(expected), rel=tolerance, abs=1e-30)
    for mine, other in zip(ours, theirs):
        assert mine.grad.dtype == dtype
        np.testing.assert_allclose(mine.grad, other.grad.numpy(), rtol=tolerance * 10, atol=1e-30)


def test_clip_grad_norm_takes_values_and_skips_missing_gradients() -> None:
    a, b, c = Value(1.0), Value(2.0), Value(3.0)
    a.grad, b.grad, c.grad = 3.0, 4.0, None
    assert clip_grad_norm_([a, b, c], 1.0) == 5.0
    assert a.grad == pytest.approx(0.6, rel=1e-6) and b.grad == pytest.approx(0.8, rel=1e-6)
    one = Tensor(np.array([3.0, 4.0]), requires_grad=True)
    one.grad = np.array([3.0, 4.0])
    assert clip_grad_norm_(one, 10.0) == 5.0 and one.grad.tolist() == [3.0, 4.0]


def test_clip_grad_norm_refuses_what_pytorch_refuses() -> None:
    p = Tensor(np.ones(2), requires_grad=True)
    p.grad = np.array([np.inf, 1.0])
    with pytest.raises(FloatingPointError, match="clip_grad_norm_: the gradients' norm"):
        clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    with pytest.raises(ValueError, match="clip_grad_norm_: max_norm must be"):
        clip_grad_norm_([p], -1.0)
    with pytest.raises(ValueError, match="clip_grad_norm_: norm_type must be positive"):
        clip_grad_norm_([p], 1.0, norm_type=0)


def test_fit_clips_each_step_as_the_loop_by_hand() -> None:
    X, y = nn.datasets.moons(48, rng=0)

    def trained(by_hand: bool) -> list[np.ndarray]:
        model = nn.MLP(2, [8, 2], rng=0)
        optimizer = SGD(model.parameters(), lr=0.5)
        if by_hand:
            for start in range(0, len(X), 16):
                loss = nn.cross_entropy(model(X[start : start + 16]), y[start : start + 16])
                optimizer.zero_grad()
                loss.backward()
                clip_grad_norm_(model.parameters(), 0.1)
                optimizer.step()
        else:
            nn.fit(model, X, y, loss=nn.cross_entropy, optimizer=optimizer, epochs=1,
                   batch_size=16, shuffle=False, progress=False, max_grad_norm=0.1)  # fmt: skip
        return [np.array(p.data) for p in model.parameters()]

    for a, b in zip(trained(False), trained(True)):
        np.testing.assert_array_equal(a, b)
