"""nn.layers: shapes, PyTorch's names and layout, modes, initialisation."""

from __future__ import annotations

import numpy as np
import pytest

import nn
from autograd import Tensor, Value, gradcheck
from nn.layers import TensorModule


def test_linear_computes_x_wt_plus_b_with_pytorch_names() -> None:
    layer = nn.Linear(4, 3, rng=0)
    assert layer.weight.shape == (3, 4) and layer.bias.shape == (3,)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    x = Tensor.randn(5, 4, rng=1)
    np.testing.assert_allclose(
        layer(x).data, x.data @ layer.weight.data.T + layer.bias.data, rtol=1e-6
    )
    assert nn.Linear(4, 3, bias=False, rng=0).num_parameters() == 12


def test_initialisers_have_the_documented_bounds() -> None:
    kaiming = nn.Linear(600, 300, rng=0).weight.data
    xavier = nn.Linear(600, 300, init="xavier", rng=0).weight.data
    assert np.abs(kaiming).max() <= np.sqrt(6 / 600) and np.abs(kaiming).max() > 0.09
    assert np.abs(xavier).max() <= np.sqrt(6 / 900)
    assert np.var(kaiming) == pytest.approx(2 / 600, rel=0.05)
    with pytest.raises(ValueError, match="Linear: unknown init 'normal'"):
        nn.Linear(2, 2, init="normal")


def test_activations() -> None:
    x = Tensor([[-2.0, 0.5]])
    assert nn.ReLU()(x).tolist() == [[0.0, 0.5]]
    np.testing.assert_allclose(nn.LeakyReLU(0.1)(x).data, [[-0.2, 0.5]])
    np.testing.assert_allclose(nn.Tanh()(x).data, np.tanh(x.data))
    np.testing.assert_allclose(nn.Sigmoid()(x).data, 1 / (1 + np.exp(-x.data)), rtol=1e-6)
    np.testing.assert_allclose(nn.Softmax()(x).data.sum(), 1.0, rtol=1e-6)
    np.testing.assert_allclose(nn.LogSoftmax()(x).data, np.log(nn.Softmax()(x).data), rtol=1e-5)
    assert nn.Flatten()(Tensor.zeros(2, 3, 4)).shape == (2, 12)


def test_leaky_relu_gradient() -> None:
    x = Tensor([[-2.0, 0.5, 1.5]], requires_grad=True, dtype=np.float64)
    assert gradcheck(lambda t: nn.LeakyReLU(0.1)(t), [x])


def test_dropout_only_in_training_mode_and_scaled() -> None:
    layer = nn.Dropout(0.5, rng=0)
    x = Tensor.ones(1000, 100)
    out = layer(x).data
    assert 0.45 < (out == 0).mean() < 0.55
    assert set(np.unique(out)) == {0.0, 2.0}
    layer.eval()
    assert layer(x) is x
    with pytest.raises(ValueError, match="p must be in"):
        nn.Dropout(1.0)


def test_mlp_is_a_sequential_with_pytorch_names() -> None:
    model = nn.MLP(784, [128, 10], rng=0)
    assert [name for name, _ in model.named_parameters()] == [
        "0.weight",
        "0.bias",
        "2.weight",
        "2.bias",
    ]
    assert model(Tensor.zeros(7, 784)).shape == (7, 10)
    assert model.num_parameters() == 784 * 128 + 128 + 128 * 10 + 10
    assert repr(model).splitlines()[1] == "  (0): Linear(784, 128, bias=True)"
    with_dropout = nn.MLP(4, [8, 8, 2], dropout=0.2, rng=0)
    assert [type(layer).__name__ for layer in with_dropout.layers] == [
        "Linear",
        "ReLU",
        "Dropout",
        "Linear",
        "ReLU",
        "Dropout",
        "Linear",
    ]


def test_sequential_composes_and_indexes() -> None:
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.Tanh(), nn.Linear(4, 2, rng=1))
    assert len(model) == 3 and isinstance(model[1], nn.Tanh)
    assert model(Tensor.zeros(5, 3)).shape == (5, 2)
    with pytest.raises(TypeError, match=r"Sequential: modules\[1\] must be a Module, got 3"):
        nn.Sequential(nn.ReLU(), 3)  # type: ignore[arg-type]


def test_the_same_seed_gives_the_same_model() -> None:
    a, b = nn.MLP(3, [5, 2], rng=7), nn.MLP(3, [5, 2], rng=np.random.default_rng(7))
    for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        nn.MLP(2, [3, 1], activation="swish")
    with pytest.raises(ValueError, match="Linear: in_features must be at least 1, got 0"):
        nn.Linear(0, 3)
    with pytest.raises(ValueError, match=r"linear: input of shape \(2, 5\) does not fit"):
        nn.Linear(4, 3)(Tensor.zeros(2, 5))


# -- found by mutation testing: each case below once let a wrong line pass -----------------


class _Scaled(TensorModule):
    def forward(self, x: Tensor, scale: float) -> Tensor:
        return x * scale


def test_what_a_tensor_module_takes_at_its_entrance() -> None:
    layer = nn.Linear(2, 3, rng=0)
    assert layer(np.ones((1, 2))).dtype == np.float32  # float64 data, float32 layer
    assert layer([[1.0, 2.0]]).shape == (1, 3)  # a list is data too
    np.testing.assert_array_equal(_Scaled()(np.ones(2), 3.0).data, [3.0, 3.0])  # more arguments
    assert nn.Softmax()(np.array([[1, 2]])).dtype == np.float32  # integers are data
    for values in (Value(1.0), [Value(1.0)], [Value(1.0), Value(2.0)]):
        with pytest.raises(TypeError, match=r"networks of Values are built with nn\.scalar"):
            layer(values)
    with pytest.raises(
        TypeError, match="Linear: expected a Tensor \\(or a numpy array\\), got dict"
    ):
        layer({"a": 1.0})


def test_linear_defaults_and_parameter_counts() -> None:
    layer = nn.Linear(3, 4)
    assert layer.bias is not None and layer.bias.requires_grad and layer.weight.requires_grad
    config = {"in_features": 3, "out_features": 4}
    assert nn.Linear.parameter_count({**config, "bias": False}) == 12
    assert nn.Linear.parameter_count(config) == 16


def test_softmax_layers_default_to_the_last_axis() -> None:
    x = Tensor(np.arange(24.0).reshape(2, 3, 4) / 10)
    np.testing.assert_allclose(nn.Softmax()(x).data, x.softmax(axis=-1).data)
    np.testing.assert_allclose(nn.LogSoftmax()(x).data, x.log_softmax(axis=-1).data)


def test_dropout_by_hand() -> None:
    assert nn.Dropout().p == 0.5
    for p in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match="Dropout: p must be in \\[0, 1\\)"):
            nn.Dropout(p)
    x = Tensor(np.ones(1000))
    assert nn.Dropout(0.0)(x) is x
    out = nn.Dropout(0.25, rng=0)(x).data
    assert set(np.unique(out)) <= {0.0, np.float32(1 / 0.75)}  # kept ones scaled by 1/(1−p)
    assert 0.2 < (out == 0).mean() < 0.3


def test_dropout_keeps_exactly_the_draws_at_or_above_p() -> None:
    """Each element is kept when its uniform draw u (on [0, 1)) is ≥ p, so P(keep) = 1 − p
    exactly: with p set to one of the generator's own draws, that element is kept."""
    draws = np.random.default_rng(3).random(6)
    for k, p in enumerate(draws):
        out = nn.Dropout(float(p), rng=3)(Tensor(np.ones(6), dtype=np.float64)).numpy()
        assert out[k] == 1.0 / (1.0 - p)
        assert [bool(v) for v in out != 0.0] == [bool(d >= p) for d in draws]


def test_extra_arguments_with_a_tensor_zero_sizes_and_sequential_counts() -> None:
    np.testing.assert_array_equal(_Scaled()(Tensor(np.ones(2)), 3.0).data, [3.0, 3.0])
    for sizes in ((0, 3), (3, 0)):
        with pytest.raises(ValueError, match="_features must be at least 1, got 0"):
            nn.Linear(*sizes)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2, bias=False))
    assert nn.Sequential.parameter_count(model.config()) == 16 + 8


def test_leaky_relu_at_zero_and_its_default_slope() -> None:
    x = Tensor(np.array([-2.0, 0.0, 3.0]), dtype=np.float64, requires_grad=True)
    out = nn.LeakyReLU()(x)
    np.testing.assert_allclose(out.data, [-0.02, 0.0, 3.0])
    out.sum().backward()
    np.testing.assert_allclose(x.grad, [0.01, 0.01, 1.0])  # at 0 the slope, as PyTorch's


def test_activations_are_fixed_records() -> None:
    import dataclasses

    from nn.activations import activation

    with pytest.raises(dataclasses.FrozenInstanceError):
        activation("relu", "test").init = "xavier"  # type: ignore[misc]


def test_initialisers_reach_their_bounds_and_unknown_names_are_refused() -> None:
    from nn.init import initialise

    weights = initialise("xavier", (100, 300), rng=0, dtype=np.float64)
    bound = np.sqrt(6.0 / (300 + 100))
    assert weights.max() <= bound and weights.max() > 0.99 * bound
    assert weights.min() >= -bound and weights.min() < -0.99 * bound
    for name in ("he", "zeros"):  # sorting before "kaiming" and after "xavier"
        with pytest.raises(ValueError, match=f"initialise: unknown name '{name}'"):
            initialise(name, (2, 2))


def test_mlp_refuses_a_dropout_outside_zero_to_one() -> None:
    for dropout in (-0.1, 1.0):
        with pytest.raises(ValueError, match="MLP: dropout must be in \\[0, 1\\)"):
            nn.MLP(2, [3, 1], dropout=dropout)
    assert not any(isinstance(m, nn.Dropout) for m in nn.MLP(2, [3, 1]).layers)


def test_boolean_arrays_are_data_of_the_default_dtype() -> None:
    assert nn.Softmax()(np.array([[True, False]])).dtype == np.float32


def test_mlp_refuses_a_dropout_above_one() -> None:
    with pytest.raises(ValueError, match="MLP: dropout must be in"):
        nn.MLP(2, [3, 1], dropout=1.5)
