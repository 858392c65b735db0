"""nn.losses: values against their definitions, reductions, Value outputs, errors."""

from __future__ import annotations

import re

import numpy as np
import pytest

import nn
from autograd import Tensor, Value, gradcheck

rng = np.random.default_rng(0)


def _t(*shape: int) -> Tensor:
    return Tensor(rng.standard_normal(shape), requires_grad=True, dtype=np.float64)


def test_l1_and_mse_match_their_definitions_with_every_reduction() -> None:
    out, target = _t(4, 3), rng.standard_normal((4, 3))
    diff = out.data - target
    assert nn.l1_loss(out, target).item() == pytest.approx(np.abs(diff).mean())
    assert nn.mse_loss(out, target, "sum").item() == pytest.approx((diff**2).sum())
    np.testing.assert_allclose(nn.mse_loss(out, target, "none").data, diff**2)


@pytest.mark.parametrize("loss", [nn.mse_loss, nn.l1_loss, nn.binary_cross_entropy])
@pytest.mark.parametrize(
    ("output_shape", "target_shape"), [((5, 1), (5,)), ((2, 3), (3, 2)), ((4,), (1, 4)), ((3,), ())]
)
def test_a_target_of_another_shape_is_refused_never_reshaped(
    loss: object, output_shape: tuple[int, ...], target_shape: tuple[int, ...]
) -> None:
    out = Tensor(np.zeros(output_shape), requires_grad=True)
    name = loss.__name__  # type: ignore[attr-defined]
    message = (
        rf"{name}: output of shape {re.escape(str(output_shape))} and target of shape "
        rf"{re.escape(str(target_shape))} differ; .*reshape it to {re.escape(str(output_shape))}"
    )
    with pytest.raises(ValueError, match=message):
        loss(out, np.zeros(target_shape))  # type: ignore[operator]


def test_the_same_size_in_another_shape_would_have_hidden_a_wrong_loss() -> None:
    # (2, 3) against (3, 2) holds the same six numbers: reshaped, this loss would be 0.
    out = Tensor(np.arange(6.0).reshape(2, 3))
    with pytest.raises(ValueError, match="differ"):
        nn.mse_loss(out, np.arange(6.0).reshape(3, 2).T.copy().T)


@pytest.mark.parametrize("loss", [nn.mse_loss, nn.l1_loss, nn.binary_cross_entropy])
def test_a_target_that_requires_grad_gets_its_gradient(loss: object) -> None:
    out, target = (
        _t(3, 2),
        Tensor(rng.uniform(0.1, 0.9, (3, 2)), requires_grad=True, dtype=np.float64),
    )
    assert gradcheck(lambda o, y: loss(o, y), [out, target])  # type: ignore[operator]
    loss(out, target).backward()  # type: ignore[operator]
    assert target.grad is not None and np.any(target.grad != 0)


def test_binary_cross_entropy_target_gradient_is_minus_the_logit() -> None:
    z = Tensor([0.5, -2.0], dtype=np.float64)
    y = Tensor([0.2, 0.7], requires_grad=True, dtype=np.float64)
    nn.binary_cross_entropy(z, y, reduction="sum").backward()
    np.testing.assert_allclose(y.grad, [-0.5, 2.0])  # d/dy [log(1 + e^z) − y·z] = −z


def test_value_targets_that_require_grad_get_their_gradient() -> None:
    out, target = Value(0.5), Value(2.0)
    nn.mse_loss(out, target).backward()
    assert out.grad == pytest.approx(-3.0) and target.grad == pytest.approx(3.0)
    z, y = Value(0.5), Value(0.3)
    nn.binary_cross_entropy(z, y).backward()
    assert y.grad == pytest.approx(-0.5)
    assert z.grad == pytest.approx(1 / (1 + np.exp(-0.5)) - 0.3)


def test_cross_entropy_probability_targets_get_their_gradient() -> None:
    logits = _t(4, 3)
    p = Tensor(np.full((4, 3), 1 / 3), requires_grad=True, dtype=np.float64)
    assert gradcheck(lambda z, q: nn.cross_entropy(z, q), [logits, p])


@pytest.mark.parametrize("labels", [np.array([0.0, 1.0, 2.0]), np.array([True, False, True])])
def test_float_or_bool_labels_are_named_as_labels(labels: np.ndarray) -> None:
    with pytest.raises(TypeError, match="labels must be integer class indices"):
        nn.cross_entropy(_t(3, 3), labels)


def test_probabilities_of_the_wrong_shape_are_refused() -> None:
    with pytest.raises(ValueError, match=r"probabilities of shape \(3, 2\) do not fit logits"):
        nn.cross_entropy(_t(2, 3), np.full((3, 2), 0.5))


def test_cross_entropy_with_labels_and_with_probabilities() -> None:
    logits, labels = _t(6, 4), np.array([0, 1, 2, 3, 3, 0])
    log_p = logits.data - np.log(np.exp(logits.data).sum(1, keepdims=True))
    assert nn.cross_entropy(logits, labels).item() == pytest.approx(-log_p[range(6), labels].mean())
    one_hot = np.eye(4)[labels]
    assert nn.cross_entropy(logits, one_hot).item() == pytest.approx(
        nn.cross_entropy(logits, labels).item()
    )
    soft = np.full((6, 4), 0.25)
    assert gradcheck(lambda z: nn.cross_entropy(z, soft), [logits])


def test_binary_cross_entropy_is_the_logistic_loss_and_is_stable() -> None:
    logits = Tensor([-1000.0, -1.0, 0.0, 2.0, 1000.0], requires_grad=True, dtype=np.float64)
    target = np.array([0.0, 1.0, 0.5, 0.0, 1.0])
    losses = nn.binary_cross_entropy(logits, target, "none").data
    sigmoid = 1 / (1 + np.exp(-logits.data[1:4]))
    expected = -(target[1:4] * np.log(sigmoid) + (1 - target[1:4]) * np.log(1 - sigmoid))
    np.testing.assert_allclose(losses[1:4], expected)
    assert losses[0] == pytest.approx(0.0) and losses[4] == pytest.approx(0.0)
    nn.binary_cross_entropy(logits, target).backward()
    assert np.all(np.isfinite(logits.grad))
    assert logits.grad[2] == pytest.approx(0.0)  # σ(0) − 0.5 = 0, exactly at the kink-free 0


def test_hinge_loss_takes_signs_or_zero_one_labels() -> None:
    scores = Tensor([2.0, 0.5, -0.5, -3.0])
    assert nn.hinge_loss(scores, [1, 1, -1, 1]).item() == pytest.approx((0 + 0.5 + 0.5 + 4) / 4)
    assert nn.hinge_loss(scores, [1, 1, 0, 1]).item() == pytest.approx((0 + 0.5 + 0.5 + 4) / 4)
    with pytest.raises(ValueError, match="targets must be in"):
        nn.hinge_loss(scores, [2, 1, 1, 1])


def test_losses_work_for_values() -> None:
    outputs = [Value(0.5), Value(-1.0)]
    assert nn.mse_loss(outputs, [1.0, 1.0]).data == pytest.approx((0.25 + 4.0) / 2)
    assert nn.l1_loss(Value(0.5), 2.0).data == pytest.approx(1.5)
    loss = nn.hinge_loss(outputs, [1.0, -1.0], reduction="sum")
    assert loss.data == pytest.approx(0.5)
    loss.backward()
    assert outputs[0].grad == -1.0 and outputs[1].grad == 0.0
    bce = nn.binary_cross_entropy(Value(0.0), 1.0)
    assert bce.data == pytest.approx(np.log(2))


def test_bad_reduction_and_bad_logits() -> None:
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.mse_loss(_t(2), np.zeros(2), reduction="avg")
    with pytest.raises(TypeError, match="logits must be a Tensor"):
        nn.cross_entropy([Value(1.0)], [0])  # type: ignore[arg-type]


@pytest.mark.parametrize("label", [-1, 3, 5])
def test_value_cross_entropy_refuses_labels_outside_the_classes(label: int) -> None:
    rows = [[Value(0.1), Value(0.2), Value(0.3)]]
    with pytest.raises(ValueError, match=re.escape(f"labels must lie in [0, 3), got {label}")):
        nn.cross_entropy(rows, np.array([label]))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("kind", ["labels", "probabilities"])
def test_value_rows_give_the_tensor_cross_entropy_and_its_gradient(
    reduction: str, kind: str
) -> None:
    # Two implementations that share no code: rows of Values and the fused Tensor op.
    logits = np.array([[1.0, 0.0, -2.0], [0.5, 3.0, 0.25]])
    target = (
        np.array([2, 1]) if kind == "labels" else np.array([[0.25, 0.75, 0.0], [0.1, 0.2, 0.7]])
    )
    rows = [[Value(float(z)) for z in row] for row in logits]
    tensor = Tensor(logits, dtype=np.float64, requires_grad=True)
    ours = nn.cross_entropy(rows, target, reduction=reduction)
    fused = nn.cross_entropy(tensor, target, reduction=reduction)
    if reduction == "none":
        assert [v.data for v in ours] == pytest.approx(fused.data.tolist(), rel=1e-12)
        ours, fused = Value.sum(ours), fused.sum()
    assert ours.data == pytest.approx(fused.item(), rel=1e-12)
    ours.backward()
    fused.backward()
    got = [[v.grad for v in row] for row in rows]
    np.testing.assert_allclose(got, tensor.grad, rtol=1e-12, atol=1e-15)


def test_one_row_of_values_and_targets_of_the_wrong_kind() -> None:
    row = [[Value(1.0), Value(2.0), Value(0.0)]]
    assert nn.cross_entropy(row, np.array([1])).data == pytest.approx(
        np.log(np.exp([1.0, 2.0, 0.0]).sum()) - 2.0
    )
    for bad in (np.array([0.5]), np.full((1, 2), 0.5)):
        with pytest.raises(TypeError, match=r"labels must be integer class indices or \(n, 3\)"):
            nn.cross_entropy(row, bad)


def test_an_elementwise_loss_of_values() -> None:
    single = nn.mse_loss(Value(3.0), 1.0, reduction="none")
    assert isinstance(single, Value) and single.data == 4.0
    with pytest.raises(TypeError, match=r"mse_loss: output\[1\] must be a Value, got 2.0"):
        nn.mse_loss([Value(1.0), 2.0], [0.0, 0.0])  # type: ignore[list-item]


def test_value_targets_must_match_the_outputs() -> None:
    outputs = [Value(1.0), Value(2.0)]
    with pytest.raises(
        ValueError, match=r"mse_loss: 2 Value outputs need 2 targets, got shape \(2, 1\)"
    ):
        nn.mse_loss(outputs, np.zeros((2, 1)))
    for count, targets in ((1, "1 target"), (3, "3 targets")):  # a count's noun agrees with it
        with pytest.raises(ValueError, match=f"mse_loss: 2 outputs and {targets} "):
            nn.mse_loss(outputs, np.zeros(count))


def test_value_rows_must_agree_with_each_other_and_with_the_targets() -> None:
    a, b, c = Value(0.1), Value(0.2), Value(0.3)
    for rows in ([[a, b], [a, b, c]], [[a, b, c], [a, b]]):
        with pytest.raises(ValueError, match="every row of Value logits must have the same length"):
            nn.cross_entropy(rows, np.array([0, 1]))
    for labels in (np.array([0, 1, 1]), np.array([0])):
        with pytest.raises(
            ValueError, match=rf"2 rows of logits and targets of shape \({len(labels)},\)"
        ):
            nn.cross_entropy([[a, b], [b, a]], labels)
    for probabilities in (np.full((2, 3), 0.5), np.full((2, 2, 1), 0.5)):  # too many columns, 3-D
        with pytest.raises(TypeError, match=r"labels must be integer class indices or \(n, 2\)"):
            nn.cross_entropy([[a, b], [b, a]], probabilities)
    assert nn.cross_entropy([[a, b]], np.array([0])).data == pytest.approx(
        np.log(np.exp(0.1) + np.exp(0.2)) - 0.1  # label 0 is a class
    )


def test_targets_given_as_lists_and_one_hot_integers() -> None:
    out = Tensor(np.array([1.0, 2.0]), dtype=np.float64)
    assert nn.mse_loss(out, [0.0, 0.0]).item() == pytest.approx(2.5)
    rows = [[Value(0.1), Value(0.2)], [Value(0.3), Value(-0.1)]]
    by_labels = nn.cross_entropy(rows, [1, 0]).data
    one_hot = nn.cross_entropy(rows, np.array([[0, 1], [1, 0]])).data  # integer probabilities
    assert by_labels == pytest.approx(one_hot)
    assert nn.cross_entropy([[Value(0.7)], [Value(-2.0)]], [0, 0]).data == 0.0  # one class
