"""nn.Module: parameters found by themselves, in a stable order, with dotted names."""

from __future__ import annotations

from autograd import Value
from nn import Module


class Pair(Module):
    def __init__(self) -> None:
        self.first = Value(1.0)
        self.constant = Value(5.0, requires_grad=False)
        self.items = [Value(2.0), Value(3.0)]
        self._private = Value(9.0)


class Outer(Module):
    def __init__(self) -> None:
        self.pairs = [Pair(), Pair()]
        self.shared = self.pairs[0].first


def test_named_parameters_in_attribute_order_with_dotted_names() -> None:
    names = [name for name, _ in Pair().named_parameters()]
    assert names == ["first", "items.0", "items.1"]


def test_sub_modules_in_lists_and_shared_parameters_listed_once() -> None:
    outer = Outer()
    names = [name for name, _ in outer.named_parameters()]
    assert names == [
        "pairs.0.first",
        "pairs.0.items.0",
        "pairs.0.items.1",
        "pairs.1.first",
        "pairs.1.items.0",
        "pairs.1.items.1",
    ]
    assert outer.num_parameters() == 6
    assert [name for name, _ in outer.named_modules()] == ["", "pairs.0", "pairs.1"]


def test_train_and_eval_reach_every_module() -> None:
    outer = Outer()
    outer.eval()
    assert not outer.training and not outer.pairs[1].training
    outer.train()
    assert outer.pairs[0].training
