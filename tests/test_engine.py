"""The engine: topological order, accumulation, backward() semantics, grad(), memory."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import numpy as np
import pytest

from autograd import (
    Tensor,
    Value,
    concatenate,
    detect_anomaly,
    engine,
    grad,
    no_grad,
    rules,
    topological_order,
)
from autograd.engine import RuleError, gradients
from autograd.node import Node, record_all
from autograd.rules import Rule


def test_order_puts_parents_first() -> None:
    a, b = Value(1.0), Value(2.0)
    c = a * b
    d = c + a
    e = d * c
    order = topological_order([e])
    position = {node: i for i, node in enumerate(order)}
    for node in order:
        for parent in node.parents:
            assert position[parent] < position[node]
    assert order[-1] is e
    assert set(order) == {a, b, c, d, e}


def test_order_is_deterministic_and_follows_argument_order() -> None:
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    out = a * b + b
    assert [n.label for n in topological_order([out]) if n.label] == ["a", "b"]


def test_constants_are_left_out_of_the_order() -> None:
    a = Value(1.0)
    c = Value(2.0, requires_grad=False)
    assert c not in topological_order([a * c])


def test_a_node_used_twice_gets_the_sum() -> None:
    x = Value(3.0)
    (x + x).backward()
    assert x.grad == 2.0


def test_a_node_reused_many_times_gets_the_summed_gradient() -> None:
    x = Value(0.5)
    y = Value.sum([x * float(k) for k in range(1000)])
    y.backward()
    assert x.grad == pytest.approx(sum(range(1000)))


def test_a_chain_of_a_million_operations_backpropagates() -> None:
    """Iterative, not recursive: micrograd fails here with RecursionError."""
    x0 = Value(1.0)
    x = x0
    for _ in range(500_000):
        x = x * 1.0001 + 0.0001  # two ops per turn: a million in all
    assert len(topological_order([x])) == 1_000_001
    x.backward()
    assert x0.grad == pytest.approx(1.0001**500_000, rel=1e-9)


def test_backward_twice_accumulates_on_leaves_and_overwrites_interior_nodes() -> None:
    a, b = Value(2.0), Value(-3.0)
    hidden = a * b
    out = (hidden + b**2).tanh()
    out.backward()
    first_a, first_hidden = a.grad, hidden.grad
    out.backward()
    assert a.grad == pytest.approx(2 * first_a)
    assert hidden.grad == pytest.approx(first_hidden)
    a.zero_grad()
    out.backward()
    assert a.grad == pytest.approx(first_a)


def test_backward_with_an_explicit_gradient() -> None:
    x = Value(2.0)
    (x * x).backward(3.0)
    assert x.grad == 12.0


def test_backward_from_a_node_that_needs_no_grad_is_an_error() -> None:
    with pytest.raises(ValueError, match="does not require grad"):
        Value(1.0, requires_grad=False).exp().backward()


def test_grad_returns_nodes_and_stores_nothing() -> None:
    x, y = Value(2.0), Value(5.0)
    gx, gy = grad(x * y, [x, y])
    assert isinstance(gx, Value) and isinstance(gy, Value)
    assert (gx.data, gy.data) == (5.0, 2.0)
    assert x.grad == 0.0 and y.grad == 0.0
    assert not gx.requires_grad


def test_grad_of_several_outputs_with_seeds() -> None:
    x = Value(2.0)
    (g,) = grad([x * x, x * 3.0], x, grad_outputs=[1.0, 10.0])
    assert g.data == 2 * 2.0 + 10.0 * 3.0


def test_grad_for_an_interior_node() -> None:
    x = Value(2.0)
    h = x * x
    (gh,) = grad(h.exp(), [h])
    assert gh.data == pytest.approx(h.exp().data)


def test_grad_with_the_same_input_twice() -> None:
    x = Value(2.0)
    g1, g2 = grad(x * x, [x, x])
    assert g1.data == g2.data == 4.0


def test_grad_refuses_unused_inputs_unless_allowed() -> None:
    x, unused = Value(1.0), Value(2.0)
    with pytest.raises(ValueError, match="input 1 is not used"):
        grad(x * 2.0, [x, unused])
    gx, gu = grad(x * 2.0, [x, unused], allow_unused=True)
    assert gx.data == 2.0 and gu is None


def test_grad_errors_name_the_argument() -> None:
    x = Value(1.0)
    with pytest.raises(ValueError, match="input 0 does not require grad"):
        grad(x * 2.0, [Value(1.0, requires_grad=False)])
    with pytest.raises(ValueError, match="output 0 does not require grad"):
        grad(Value(1.0, requires_grad=False) * 2.0, [x])
    with pytest.raises(ValueError, match=r"2 grad_outputs for 1 output$"):
        grad(x * 2.0, [x], grad_outputs=[1.0, 2.0])
    with pytest.raises(TypeError, match="expected Value nodes, got float"):
        grad(x * 2.0, [1.0])  # type: ignore[list-item]


def test_create_graph_gives_gradients_that_depend_on_the_inputs() -> None:
    x = Value(0.3)
    (g,) = grad(x.tanh(), [x], create_graph=True)
    assert g.requires_grad
    (h,) = grad(g, [x])
    t = x.tanh().data
    assert h.data == pytest.approx(-2 * t * (1 - t * t))


def test_backward_with_create_graph_stores_differentiable_gradients() -> None:
    x = Value(2.0)
    (x**3).backward(create_graph=True)
    assert isinstance(x.grad, Value)
    (second,) = grad(x.grad, [x])
    assert second.data == 12.0


def test_a_python_arithmetic_error_in_a_rule_names_the_rule() -> None:
    x = Value(0.0)
    with pytest.raises(ZeroDivisionError, match="the backward of 'pow_const' failed"):
        (x**0.5).backward()


def _all_nodes(root: Node) -> list[weakref.ref[Node]]:
    seen, stack, refs = set(), [root], []
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        refs.append(weakref.ref(node))
        stack.extend(node.parents)
    return refs


def test_a_graph_is_freed_by_reference_counting_alone() -> None:
    """No reference cycle per node: without the garbage collector, nothing is left."""
    gc.collect()
    gc.disable()
    try:
        x = Value(0.5)
        out = x
        for _ in range(100):
            out = (out * x + 1.0).tanh()
        out.backward()
        refs = _all_nodes(out)
        assert len(refs) > 300
        del out
        assert [r() for r in refs if r() is not None] == [x]
    finally:
        gc.enable()


def test_a_higher_order_graph_is_freed_by_reference_counting_alone() -> None:
    gc.collect()
    gc.disable()
    try:
        x = Value(0.5)
        (g,) = grad((x * x).exp(), [x], create_graph=True)
        refs = _all_nodes(g)
        del g
        assert [r() for r in refs if r() is not None] == [x]
    finally:
        gc.enable()


def test_no_grad_records_nothing() -> None:
    x = Value(1.0)
    with no_grad():
        y = (x * 2.0).exp()
    assert not y.requires_grad
    assert y.is_leaf and y.parents == ()


def _gives(count: int) -> Any:
    """A derivative rule that returns ``count`` gradients, whatever its inputs."""

    def backward(ctx: None, g: Any, out: Any, *inputs: Any) -> tuple[Any, ...]:
        return (g,) * count

    return backward


@pytest.mark.parametrize(("inputs", "returned"), [(1, 2), (1, 0), (2, 1), (2, 3), (3, 2), (3, 4)])
@pytest.mark.parametrize("kind", ["Value", "Tensor", "Value, create_graph", "Value, anomaly"])
def test_a_rule_that_returns_the_wrong_number_of_gradients_is_a_rule_error(
    kind: str, inputs: int, returned: int
) -> None:
    if kind.startswith("Value"):
        parents = tuple(Value(float(k)) for k in range(inputs))
        node = record_all(Value, 3.0, Rule("bad", "?", _gives(returned)), parents)
    else:
        parents = tuple(Tensor(np.ones(2), requires_grad=True) for _ in range(inputs))
        node = record_all(Tensor, np.ones(2), Rule("bad", "?", _gives(returned)), parents).sum()
    gradients = f"{returned} gradient" + ("" if returned == 1 else "s")
    message = rf"the backward of 'bad' returned {gradients} for {inputs} input" + (
        "" if inputs == 1 else "s"
    )
    with pytest.raises(RuleError, match=message):
        if kind.endswith("create_graph"):
            node.backward(create_graph=True)
        elif kind.endswith("anomaly"):
            with detect_anomaly():
                node.backward()
        else:
            node.backward()


def test_an_input_used_twice_by_an_op_with_more_than_two_inputs_gets_both_shares() -> None:
    x, y = Value(2.0), Value(5.0)
    Value.sum([x, x, y]).backward()
    assert (x.grad, y.grad) == (2.0, 1.0)
    a, b = Tensor([1.0, 2.0], requires_grad=True), Tensor([3.0], requires_grad=True)
    concatenate([a, b, a]).sum().backward()
    assert a.grad.tolist() == [2.0, 2.0] and b.grad.tolist() == [1.0]


@pytest.mark.parametrize("position", [0, 1, 2, 3])
def test_a_node_requires_grad_when_any_of_its_inputs_does(position: int) -> None:
    # record() looks at the first two inputs first: the third and fourth must count too.
    terms = [Value(float(k), requires_grad=k == position) for k in range(4)]
    total = Value.sum(terms)
    assert total.requires_grad and not total.is_leaf
    total.backward()
    assert [term.grad for term in terms] == [1.0 if k == position else 0.0 for k in range(4)]
    parts = [Tensor([float(k)], requires_grad=k == position) for k in range(4)]
    joined = concatenate(parts)
    assert joined.requires_grad
    (joined * Tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    assert parts[position].grad.tolist() == [position + 1.0]


def test_a_node_of_one_or_two_inputs_keeps_them_without_a_tuple() -> None:
    # One object per node: a tuple of parents would be a second one for the collector.
    a, b = Value(2.0), Value(3.0)
    x, y = Tensor([1.0], requires_grad=True), Tensor([2.0], requires_grad=True)
    made = [(a * b, [a, b]), (a + b, [a, b]), (a.relu(), [a]), (a * 2.0, [a])]
    made += [(x + y, [x, y]), (x @ y, [x, y]), (x.exp(), [x])]
    for node, inputs in made:
        tuples = [r for r in gc.get_referents(node) if isinstance(r, tuple)]
        assert not [t for t in tuples if any(isinstance(item, Node) for item in t)]
        assert [id(parent) for parent in node.parents] == [id(i) for i in inputs]
    three = Value.sum([a, b, a])
    assert [id(parent) for parent in three.parents] == [id(a), id(b), id(a)]
    tuples = [r for r in gc.get_referents(three) if isinstance(r, tuple) and r]
    assert len(tuples) == 1 and [id(parent) for parent in tuples[0]] == [id(a), id(b), id(a)]


def test_a_node_of_constants_only_is_a_constant_leaf() -> None:
    constants = [Value(float(k), requires_grad=False) for k in range(4)]
    for node in (Value.sum(constants), constants[0] * constants[1], constants[2].tanh()):
        assert not node.requires_grad and node.is_leaf
    parts = [Tensor([1.0]) for _ in range(3)]
    assert concatenate(parts).is_leaf and not concatenate(parts).requires_grad


def test_the_engine_sums_back_broadcast_shares_of_an_op_with_more_than_two_inputs() -> None:
    add4 = Rule("add4", "+", lambda ctx, g, out, a, b, c, d: (g, g, g, None))  # none for d
    a = Tensor(np.ones((2, 3)), requires_grad=True)
    b = Tensor(np.ones(3), requires_grad=True)  # broadcast along the rows
    c = Tensor(np.ones((2, 1)), requires_grad=True)  # broadcast along the columns
    d = Tensor(np.ones((2, 3)), requires_grad=True)
    out = record_all(Tensor, a.data + b.data + c.data + d.data, add4, (a, b, c, d))
    (out * Tensor(np.arange(6.0).reshape(2, 3))).sum().backward()
    assert a.grad.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert b.grad.tolist() == [3.0, 5.0, 7.0]  # summed over the rows it was repeated along
    assert c.grad.tolist() == [[3.0], [12.0]]  # and over the columns
    assert d.grad is None  # the rule gave it nothing


# -- found by mutation testing: each case below once let a wrong line pass -----------------


def test_an_output_given_twice_gets_the_sum_of_its_seeds() -> None:
    x = Value(3.0)
    y = x * x
    (g,) = grad([y, y], [x], grad_outputs=[2.0, 5.0])
    assert g.data == 42.0  # (2 + 5)·2x


def test_a_frozen_input_gets_no_gradient() -> None:
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    frozen = Tensor(np.array([3.0, 4.0]))
    (x * frozen).sum().backward()
    assert frozen.grad is None
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


def test_data_written_before_the_forward_is_no_change() -> None:
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    x.data[0] = 5.0  # before the graph is built: the graph reads the new value
    loss = (x * x).sum()
    Tensor(np.zeros(2)).data[0] = 1.0  # a later write elsewhere makes the walk look
    loss.backward()
    np.testing.assert_array_equal(x.grad, [10.0, 4.0])


def test_a_gradient_given_to_backward_is_not_aliased() -> None:
    x = Tensor(np.ones(4), dtype=np.float64, requires_grad=True)
    given = np.ones((2, 2))
    x.reshape((2, 2)).backward(given)  # reshape hands back a view of the given array
    given[0, 0] = 5.0
    np.testing.assert_array_equal(x.grad, [1.0, 1.0, 1.0, 1.0])


def test_a_leafs_gradient_takes_its_dtype_and_layout() -> None:
    scalar = Tensor(np.float32(1.5), requires_grad=True)  # 0-d: strides say nothing
    (scalar * Tensor(np.float64(2.0), dtype=np.float64)).backward()
    assert scalar.grad.dtype == np.float32 and float(scalar.grad) == 2.0
    f = Tensor(np.asfortranarray(np.ones((3, 4))), dtype=np.float64, requires_grad=True)
    c = Tensor(np.arange(12.0).reshape(3, 4), dtype=np.float64)  # row-major
    (f * c).sum().backward()  # f's gradient is formed row-major, as c is
    assert f.grad.flags.f_contiguous and not f.grad.flags.c_contiguous
    np.testing.assert_array_equal(f.grad, c.data)
    r = Tensor(np.ones((3, 4)), dtype=np.float64, requires_grad=True)  # row-major
    k = Tensor(np.asfortranarray(c.data), dtype=np.float64)
    (r * k).sum().backward()  # r's gradient is formed column-major, as k is
    assert r.grad.flags.c_contiguous and not r.grad.flags.f_contiguous


def test_a_stored_gradient_shares_no_memory_with_another() -> None:
    x = Tensor(np.arange(4.0), dtype=np.float64, requires_grad=True)
    y = x.reshape((2, 2))
    y.retain_grad()
    (y * Tensor(np.full((2, 2), 3.0), dtype=np.float64)).sum().backward()
    assert not np.may_share_memory(x.grad, y.grad)  # x's is a reshape of y's, copied
    np.testing.assert_array_equal(x.grad, [3.0] * 4)


def test_every_value_keeps_its_gradient_and_a_tensor_only_when_asked() -> None:
    x = Value(3.0)
    y = x * x
    assert x.retains_grad and y.retains_grad
    (y * 2.0).backward()
    (y * 2.0).backward()
    assert y.grad == 2.0  # an interior node's gradient is overwritten by each backward
    assert x.grad == 24.0  # a leaf's accumulates: 2 · 2·2x
    t = Tensor([3.0], requires_grad=True)
    u, w = t * t, t * 2.0
    assert not u.retains_grad and not w.retains_grad
    w.retain_grad()
    (u + w).sum().backward()
    assert u.grad is None and w.retains_grad and w.grad.tolist() == [1.0]


def test_create_graph_records_even_inside_no_grad() -> None:
    x = Value(2.0)
    y = x**3
    with no_grad():
        (slope,) = grad(y, [x], create_graph=True)
    assert slope.data == 12.0 and slope.requires_grad
    (curvature,) = grad(slope, [x])
    assert curvature.data == 12.0  # 6x


def test_a_seed_given_as_a_node_is_differentiable_with_create_graph() -> None:
    x, v = Value(2.0), Value(5.0)
    (g,) = grad(x**3, [x], grad_outputs=[v], create_graph=True)
    assert g.data == 60.0  # v·3x²
    (dv,) = grad(g, [v])
    assert dv.data == 12.0  # 3x²


def test_inputs_given_as_a_string_are_refused() -> None:
    x = Value(1.0)
    with pytest.raises(TypeError, match="grad: inputs must be a node or a sequence of nodes"):
        grad(x * 2.0, "x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="grad: outputs must be a node or a sequence of nodes"):
        grad(b"y", [x])  # type: ignore[arg-type]


def test_backward_takes_create_graph_by_keyword_only() -> None:
    y = Value(2.0) * 3.0
    with pytest.raises(TypeError):
        engine.backward(y, None, True)  # type: ignore[misc]


def test_two_leaves_never_share_one_gradient_array() -> None:
    x, y = (Tensor(np.zeros(3), dtype=np.float64, requires_grad=True) for _ in range(2))
    (x + y).backward(np.ones(3))  # add hands the same array to both
    assert not np.may_share_memory(x.grad, y.grad)
    x.grad += 1.0
    np.testing.assert_array_equal(y.grad, [1.0, 1.0, 1.0])


def test_a_retained_gradient_is_an_array_of_its_own() -> None:
    x = Tensor(np.ones((2, 3)), dtype=np.float64, requires_grad=True)
    y = x * 2.0
    y.retain_grad()
    y.sum().backward()  # sum's rule hands back a read-only broadcast view
    assert y.grad.flags.writeable and y.grad.strides == y.data.strides
    y.grad += 1.0
    np.testing.assert_array_equal(x.grad, np.full((2, 3), 2.0))


def test_a_rule_that_returns_the_wrong_shape_is_named() -> None:

    rule = rules.RULES["exp"]
    original = rule.backward
    rule.backward = lambda ctx, g, out, a: ((g * out)[..., :1],)  # (3, 1) for (3, 2)
    try:
        x = Tensor(np.zeros((3, 2)), requires_grad=True)
        with pytest.raises(
            RuleError,
            match=r"the backward of 'exp': a gradient of shape \(3, 1\) does not fit an input "
            r"of shape \(3, 2\)",
        ):
            x.exp().sum().backward()
    finally:
        rule.backward = original


def test_grad_needs_outputs_and_inputs() -> None:
    x = Value(1.0)
    with pytest.raises(ValueError, match="grad: outputs and inputs must not be empty"):
        grad(x * 2.0, [])
    with pytest.raises(ValueError, match="grad: outputs and inputs must not be empty"):
        grad([], [x])


def test_engine_backward_records_no_graph_unless_asked() -> None:
    x = Tensor(np.ones(2), dtype=np.float64, requires_grad=True)
    engine.backward((x * x).sum())
    assert type(x.grad) is np.ndarray


def test_grad_outputs_must_match_the_outputs_in_number_and_may_be_one_number() -> None:
    x = Value(2.0)
    with pytest.raises(ValueError, match="grad: got 1 grad_outputs for 2 outputs"):
        grad([x * 2.0, x * 3.0], [x], grad_outputs=[1.0])
    (g,) = grad(x * x, [x], grad_outputs=3.0)  # one output, its seed given bare
    assert g.data == 12.0


def test_the_engines_walk_yields_raw_gradients_unless_asked() -> None:
    x = Value(2.0)
    y = x * x  # the rule multiplies by an input: a node, were the graph recorded
    assert {type(g) for _, g in gradients([y], [1.0])} == {float}


@pytest.mark.parametrize("constant_first", [True, False])
def test_a_node_that_gets_no_gradient_does_not_stop_the_walk(constant_first: bool) -> None:
    x = Value(2.0)
    constant = Value(3.0, requires_grad=False) * 4.0  # an interior node that needs no grad
    y = constant * x if constant_first else x * constant
    y.backward()
    assert x.grad == 12.0


@pytest.mark.parametrize("late_first", [True, False])
def test_an_input_that_asked_for_grad_after_the_forward_does_not_stop_the_walk(
    late_first: bool,
) -> None:
    late = Tensor(np.ones((2, 2)), dtype=np.float64)  # needs no grad when the product is made
    w = Tensor(np.full((2, 2), 3.0), dtype=np.float64, requires_grad=True)
    y = late @ w if late_first else w @ late
    late.requires_grad = True  # the rule gives it nothing (it needed none at the forward)
    y.sum().backward()
    np.testing.assert_array_equal(w.grad, np.full((2, 2), 2.0))


def test_backward_underscore_walked_by_hand_gives_the_engines_gradients_on_tensors() -> None:
    """micrograd's walk, each node's rule applied once in reverse topological order, on a
    graph that broadcasts (b) and uses a node twice (h): the gradients of backward()."""
    rng = np.random.default_rng(3)
    w = Tensor(rng.normal(size=(3, 2)), requires_grad=True, dtype=np.float64)
    b = Tensor(rng.normal(size=(2,)), requires_grad=True, dtype=np.float64)
    x = Tensor(rng.normal(size=(4, 3)), dtype=np.float64)

    def loss() -> Tensor:
        h = x @ w + b
        return (h.tanh() * h).sum()

    out = loss()
    out.grad = np.ones(())
    for node in reversed(topological_order([out])):
        node._backward()
    by_hand = w.grad.copy(), b.grad.copy()
    w.zero_grad()
    b.zero_grad()
    loss().backward()
    np.testing.assert_allclose(by_hand[0], w.grad, rtol=1e-14)
    np.testing.assert_allclose(by_hand[1], b.grad, rtol=1e-14)
    assert x.grad is None  # a constant gets nothing
