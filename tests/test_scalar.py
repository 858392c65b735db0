"""nn.scalar: Neuron, Layer and MLP over Value."""

from __future__ import annotations

import random

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


def test_one_output_is_a_value_and_several_a_list_as_in_micrograd() -> None:
    assert isinstance(Layer(2, 1, rng=0)([1.0, 2.0]), Value)
    out = Layer(2, 3, rng=0)([1.0, 2.0])
    assert isinstance(out, list) and len(out) == 3 and all(isinstance(v, Value) for v in out)
    assert isinstance(MLP(2, [3, 1], rng=0)([1.0, 2.0]), Value)
    assert len(MLP(2, [3, 2], rng=0)([1.0, 2.0])) == 2


def test_mlp_shapes_parameters_and_names() -> None:
    model = MLP(2, [16, 16, 1], rng=0)
    assert isinstance(model([0.1, 0.2]), Value)
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
    model([1.0, 2.0]).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_gradients_match_an_explicit_sum_of_products() -> None:
    model = MLP(2, [3, 1], activation="tanh", rng=0)
    model([0.3, -0.7]).backward()
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
    with pytest.raises(ValueError, match="Neuron: unknown nonlin 'swish'"):
        Neuron(2, "swish")
    with pytest.raises(ValueError, match="expected 2 inputs, got 3"):
        Neuron(2, rng=0)([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="nin must be at least 1"):
        Neuron(0)
    with pytest.raises(ValueError, match="at least one layer"):
        MLP(2, [])
    with pytest.raises(TypeError, match="rng must be"):
        MLP(2, [1], rng="seed")  # type: ignore[arg-type]


def test_reprs_are_micrographs() -> None:
    assert repr(MLP(2, [3, 1], rng=0)) == (
        "MLP of [Layer of [ReLUNeuron(2), ReLUNeuron(2), ReLUNeuron(2)], "
        "Layer of [LinearNeuron(3)]]"
    )
    assert repr(Neuron(4, "tanh", rng=0)) == "TanhNeuron(4)"
    assert repr(Value(-4.0)) == "Value(data=-4.0, grad=0.0)"


def test_nonlin_and_activation() -> None:
    assert Neuron(2, nonlin=False, rng=0).activation == "linear" and not Neuron(2, False).nonlin
    assert Neuron(2, rng=0).activation == "relu" and Neuron(2).nonlin
    assert Layer(2, 3, nonlin=False, rng=0).neurons[2].activation == "linear"
    assert Neuron(2, activation="sigmoid").activation == "sigmoid"
    assert Neuron(2, "tanh").activation == "tanh"  # a name where nonlin stands
    with pytest.raises(ValueError, match="two activations"):
        Neuron(2, "tanh", activation="relu")


def test_without_rng_the_weights_come_from_pythons_random_in_micrographs_order() -> None:
    random.seed(1337)
    model = MLP(2, [3, 1])
    random.seed(1337)
    expected = []
    for nin, nout in ((2, 3), (3, 1)):
        for _ in range(nout):
            expected += [random.uniform(-1, 1) for _ in range(nin)] + [0.0]
    assert [p.data for p in model.parameters()] == expected
    state = random.getstate()
    seeded = [p.data for p in MLP(2, [3, 1], rng=7).parameters()]
    assert random.getstate() == state  # an explicit rng leaves Python's random alone
    assert seeded == [p.data for p in MLP(2, [3, 1], rng=7).parameters()]


def test_a_sample_may_be_an_array_or_a_tensor() -> None:
    model = MLP(3, [2, 1], rng=0)
    expected = model([0.5, -1.0, 2.0]).data
    assert model(np.array([0.5, -1.0, 2.0])).data == expected
    with pytest.raises(ValueError, match="takes one sample"):
        model(np.ones((4, 3)))
