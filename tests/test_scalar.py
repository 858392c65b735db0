"""nn.scalar: Neuron, Layer and MLP over Value."""

from __future__ import annotations

import numpy as np
import pytest

from autograd import Value
from nn.scalar import MLP, Layer, Neuron


def test_neuron_computes_act_of_w_dot_x_plus_b() -> None:
    neuron = Neuron(3, "tanh", rng=0)
    x = [0.5, -1.0, 2.0]
    expected = np.tanh(sum(w.data * xi for w, xi in zip(neuron.w, x)) + neuron.b.data)
    assert neuron(x).data == pytest.approx(expected)
    assert len(neuron.parameters()) == 4


def test_linear_neuron_and_relu_neuron() -> None:
    neuron = Neuron(2, "linear", rng=1)
    assert neuron([1.0, 1.0]).data == pytest.approx(sum(w.data for w in neuron.w))
    assert Neuron(2, "relu", rng=1)([-100.0, -100.0]).data >= 0.0


def test_layer_always_returns_a_list() -> None:
    out = Layer(2, 1, rng=0)([1.0, 2.0])
    assert isinstance(out, list) and len(out) == 1 and isinstance(out[0], Value)


def test_mlp_shapes_parameters_and_names() -> None:
    model = MLP(2, [16, 16, 1], rng=0)
    assert len(model([0.1, 0.2])) == 1
    assert model.num_parameters() == 16 * 3 + 16 * 17 + 17
    names = [name for name, _ in model.named_parameters()]
    assert names[:4] == [
        "layers.0.neurons.0.w.0",
        "layers.0.neurons.0.w.1",
        "layers.0.neurons.0.b",
        "layers.0.neurons.1.w.0",
    ]
    assert model.layers[-1].neurons[0].activation == "linear"
    assert model.layers[0].neurons[0].activation == "relu"


def test_the_same_seed_gives_the_same_weights() -> None:
    first = [p.data for p in MLP(2, [4, 1], rng=3).parameters()]
    second = [p.data for p in MLP(2, [4, 1], rng=np.random.default_rng(3)).parameters()]
    assert first == second
    assert first != [p.data for p in MLP(2, [4, 1], rng=4).parameters()]


def test_zero_grad_resets_every_parameter() -> None:
    model = MLP(2, [3, 1], rng=0)
    model([1.0, 2.0])[0].backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_gradients_match_an_explicit_sum_of_products() -> None:
    model = MLP(2, [3, 1], activation="tanh", rng=0)
    model([0.3, -0.7])[0].backward()
    fused = [p.grad for p in model.parameters()]
    model.zero_grad()
    hidden = [
        Value.sum([w * x for w, x in zip(n.w, [0.3, -0.7])] + [n.b]).tanh()
        for n in model.layers[0].neurons
    ]
    out_neuron = model.layers[1].neurons[0]
    Value.sum([w * h for w, h in zip(out_neuron.w, hidden)] + [out_neuron.b]).backward()
    assert [p.grad for p in model.parameters()] == pytest.approx(fused)


def test_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        Neuron(2, "swish")
    with pytest.raises(ValueError, match="expected 2 inputs, got 3"):
        Neuron(2, rng=0)([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="nin must be at least 1"):
        Neuron(0)
    with pytest.raises(ValueError, match="at least one layer"):
        MLP(2, [])
    with pytest.raises(TypeError, match="rng must be"):
        MLP(2, [1], rng="seed")  # type: ignore[arg-type]


def test_repr_shows_the_tree() -> None:
    assert repr(MLP(2, [3, 1], rng=0)) == (
        "MLP(\n  Layer(2, 3, activation='relu')\n  Layer(3, 1, activation='linear')\n)"
    )
