"""PyTorch's names in nn: the loss modules, ``nn.functional`` and ``DataLoader``, each
against PyTorch itself (values, gradients, shapes, dtypes), and their mistakes refused
by name. The Tensor's PyTorch names are in tests/test_habits.py."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import nn
import nn.functional as F  # noqa: N812 - PyTorch's habit
from autograd import Tensor, Value, gradcheck
from nn.data import DataLoader, Dataset, TensorDataset
from nn.losses import LOSSES

torch = pytest.importorskip("torch")
TF = torch.nn.functional

REDUCTIONS = ["mean", "sum", "none"]

#: Each loss module, the function of nn it applies, and PyTorch's module of the same math
#: (HingeLoss has none: its formula in torch ops).
MODULES: dict[str, tuple[type, Callable[..., Any]]] = {
    "CrossEntropyLoss": (nn.CrossEntropyLoss, lambda r: torch.nn.CrossEntropyLoss(reduction=r)),
    "MSELoss": (nn.MSELoss, lambda r: torch.nn.MSELoss(reduction=r)),
    "L1Loss": (nn.L1Loss, lambda r: torch.nn.L1Loss(reduction=r)),
    "BCEWithLogitsLoss": (nn.BCEWithLogitsLoss, lambda r: torch.nn.BCEWithLogitsLoss(reduction=r)),
    "HingeLoss": (nn.HingeLoss, lambda r: _torch_hinge(r)),
}


def _torch_hinge(reduction: str) -> Callable[[Any, Any], Any]:
    def loss(s: Any, y: Any) -> Any:
        losses = (1.0 - s * y).clamp(min=0.0)
        return {"mean": losses.mean, "sum": losses.sum, "none": lambda: losses}[reduction]()

    return loss


def _task(name: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Outputs (float64) and targets of the kind the loss takes."""
    if name == "CrossEntropyLoss":
        return rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    output = rng.standard_normal((6, 2))
    if name == "BCEWithLogitsLoss":
        return output, rng.uniform(0, 1, (6, 2))
    if name == "HingeLoss":
        return output, rng.choice([-1.0, 1.0], (6, 2))
    return output, rng.standard_normal((6, 2))


# -- the loss modules -----------------------------------------------------------------------


def test_every_loss_function_has_its_module() -> None:
    assert {cls.function for cls, _ in MODULES.values()} == set(LOSSES.values())
    for name, (cls, _) in MODULES.items():
        assert cls.__name__ == name and name in nn.__all__ and getattr(nn, name) is cls
        assert issubclass(cls, nn.Module) and cls().parameters() == []


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", sorted(MODULES))
def test_a_loss_module_is_pytorchs_in_value_and_gradient(name: str, reduction: str) -> None:
    cls, theirs = MODULES[name]
    output, target = _task(name, np.random.default_rng(len(name)))
    z = Tensor(output, requires_grad=True, dtype=np.float64)
    p = torch.tensor(output, requires_grad=True)
    ours = cls(reduction=reduction)(z, target)
    expected = theirs(reduction)(p, torch.as_tensor(target))
    assert ours.shape == tuple(expected.shape) and ours.dtype == np.float64
    np.testing.assert_allclose(ours.data, expected.detach().numpy(), rtol=1e-12, atol=1e-15)
    weights = np.linspace(0.5, 1.5, max(ours.size, 1)).reshape(ours.shape)
    (ours * weights).sum().backward()
    (expected * torch.as_tensor(weights)).sum().backward()
    np.testing.assert_allclose(z.grad, p.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_a_loss_module_is_its_function_for_values_too(name: str) -> None:
    cls, _ = MODULES[name]
    output, target = _task(name, np.random.default_rng(1))
    if name == "CrossEntropyLoss":
        rows = [[Value(float(v)) for v in row] for row in output]
        assert cls()(rows, target).data == pytest.approx(cls.function(rows, target).data)
    else:
        outputs = [Value(float(v)) for v in output[:, 0]]
        assert cls()(outputs, target[:, 0]).data == pytest.approx(
            cls.function(outputs, target[:, 0]).data
        )
    z = Tensor(output, requires_grad=True, dtype=np.float64)
    assert gradcheck(lambda t: cls()(t, target), [z])


def test_a_call_may_override_the_reduction_as_fit_and_evaluate_ask() -> None:
    z, y = Tensor(np.arange(6.0).reshape(3, 2)), np.array([0, 1, 1])
    summed = nn.CrossEntropyLoss(reduction="none")(z, y, reduction="sum")
    assert summed.item() == pytest.approx(nn.cross_entropy(z, y, "sum").item())
    assert nn.CrossEntropyLoss(reduction="sum")(z, y).item() == summed.item()


def test_hinge_loss_takes_its_margin_and_labels_in_0_1() -> None:
    s, y = Tensor([[0.5], [-2.0], [3.0]]), np.array([[1.0], [0.0], [1.0]])
    loss = nn.HingeLoss(2.0, reduction="none")
    np.testing.assert_allclose(loss(s, y).data, [[1.5], [0.0], [0.0]])
    assert repr(loss) == "HingeLoss(margin=2.0, reduction='none')"
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss()"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: nn.CrossEntropyLoss(reduction="avg"),
         r"CrossEntropyLoss: reduction must be one of \('mean', 'sum', 'none'\), not 'avg'"),
        (lambda: nn.MSELoss("sum"),  # reduction by name: PyTorch's first is no reduction
         r"MSELoss: takes its settings by keyword \(reduction='sum'\), got the string 'sum' by "),
        (lambda: nn.CrossEntropyLoss(torch.ones(3)),
         r"CrossEntropyLoss: takes its settings by keyword.*a class weight"),
        (lambda: nn.CrossEntropyLoss(Tensor(np.ones((2, 3))), np.array([0, 1])),
         r"CrossEntropyLoss: make the loss, then call it .* loss_fn = nn.CrossEntropyLoss\(\)"),
        (lambda: nn.HingeLoss(margin="1"), "HingeLoss: margin must be a real number"),
        (lambda: nn.HingeLoss(math.nan), "HingeLoss: margin must be a finite number"),
        (lambda: nn.BCEWithLogitsLoss(pos_weight=2.0),
         "BCEWithLogitsLoss: pos_weight: PyTorch's, not supported here"),
        (lambda: nn.CrossEntropyLoss(ignore_index=-100, label_smoothing=0.1),
         "CrossEntropyLoss: ignore_index, label_smoothing: PyTorch's, not supported"),
    ],
)  # fmt: skip
def test_a_loss_module_refuses_what_it_does_not_take(make: Callable[[], Any], message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        make()


def _fit(
    loss: Any, X: np.ndarray, y: np.ndarray, outputs: int, compile: bool = False
) -> tuple[nn.History, Any]:
    model = nn.MLP(2, [5, outputs], rng=0, dtype=np.float64)
    history = nn.fit(
        model, X, y, loss=loss, optimizer=nn.optim.Adam(model.parameters(), lr=0.01),
        epochs=3, batch_size=8, validation=(X, y), metrics=[], progress=False, threads=1,
        compile=compile,
    )  # fmt: skip
    return history, model.state_dict()


@pytest.mark.parametrize("compile", [False, True])
@pytest.mark.parametrize("name", sorted(MODULES))
def test_fit_trains_with_a_loss_module_as_with_its_function(name: str, compile: bool) -> None:
    """The same figures and weights, to the last bit, validation loss included (which fit
    sums over batches by asking the loss for reduction="sum"), compiled or not."""
    cls, _ = MODULES[name]
    X, classes = nn.datasets.blobs(30, rng=0)
    y = {
        "CrossEntropyLoss": classes,
        "BCEWithLogitsLoss": (classes == 0).astype(float)[:, None],
        "HingeLoss": np.where(classes == 0, 1.0, -1.0)[:, None],
    }.get(name, X[:, :1] * 0.5)
    outputs = 3 if name == "CrossEntropyLoss" else 1
    with_function = _fit(cls.function, X, y, outputs, compile)
    for reduction in ("mean", "none"):  # "none": fit's sums ask for their own reduction
        if reduction == "none":
            with pytest.raises(ValueError, match=f"loss '{name}' must return one number"):
                _fit(cls(reduction=reduction), X, y, outputs, compile)
            continue
        history, weights = _fit(cls(reduction=reduction), X, y, outputs, compile)
        for record, expected in zip(history.records, with_function[0].records):
            assert {k: v for k, v in record.items() if k != "seconds"} == {
                k: v for k, v in expected.items() if k != "seconds"
            }
        for key, array in weights.items():
            np.testing.assert_array_equal(array, with_function[1][key], err_msg=key)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_fits_loss_is_per_sample_for_a_loss_module_that_sums(name: str) -> None:
    """A module made with reduction="sum" trains on the batch's sum (what it was made to
    give), and the history's loss is still the mean over the samples, as evaluate's and
    val_loss are: not the batch's sum, which would grow with batch_size."""
    cls, _ = MODULES[name]
    X, classes = nn.datasets.blobs(30, rng=0)
    y = {
        "CrossEntropyLoss": classes,
        "BCEWithLogitsLoss": (classes == 0).astype(float)[:, None],
        "HingeLoss": np.where(classes == 0, 1.0, -1.0)[:, None],
    }.get(name, X[:, :1] * 0.5)
    outputs = 3 if name == "CrossEntropyLoss" else 1
    for compile in (False, True):
        model = nn.MLP(2, [5, outputs], rng=0, dtype=np.float64)
        history = nn.fit(
            model, X, y, loss=cls(reduction="sum"), epochs=1, batch_size=7, validation=(X, y),
            optimizer=nn.optim.SGD(model.parameters(), lr=0.0), metrics=[], progress=False,
            threads=1, compile=compile,
        )  # fmt: skip
        assert history.last["loss"] == pytest.approx(history.last["val_loss"], rel=1e-12)


def test_fit_names_a_loss_module_left_uncalled() -> None:
    X, y = nn.datasets.blobs(12, rng=0)
    model = nn.MLP(2, [3], rng=0)
    with pytest.raises(TypeError, match=r"fit: loss must be .* got the class CrossEntropyLoss: "
                       r"write nn.CrossEntropyLoss\(\)"):  # fmt: skip
        nn.fit(model, X, y, loss=nn.CrossEntropyLoss, optimizer=nn.optim.SGD(model.parameters()),
               epochs=1, progress=False)  # fmt: skip


# -- nn.functional ------------------------------------------------------------------------


#: PyTorch's functions written in C, whose signatures Python cannot read: from their docs.
_BUILT_IN = {"linear": ["input", "weight", "bias"]}


def test_the_functional_names_are_pytorchs_with_pytorchs_arguments() -> None:
    for name in F.__all__:
        ours = inspect.signature(getattr(F, name)).parameters
        try:
            theirs = list(inspect.signature(getattr(TF, name)).parameters)
        except ValueError:
            theirs = _BUILT_IN[name]
        positional = [p for p, v in ours.items() if v.kind is v.POSITIONAL_OR_KEYWORD]
        assert positional == theirs[: len(positional)], name
        for keyword in [p for p, v in ours.items() if v.kind is v.KEYWORD_ONLY]:
            assert keyword in theirs or keyword == "rng", (name, keyword)
    assert not hasattr(F, "binary_cross_entropy")  # on probabilities: left out on purpose


def _pair(shape: tuple[int, ...], seed: int = 0) -> tuple[Tensor, Any]:
    data = np.random.default_rng(seed).standard_normal(shape) * 3
    return Tensor(data, requires_grad=True, dtype=np.float64), torch.tensor(
        data, requires_grad=True
    )


def _same(ours: Tensor, theirs: Any, inputs: list[tuple[Tensor, Any]]) -> None:
    """Equal values, shapes and dtypes, and equal gradients for a weighted sum."""
    assert ours.shape == tuple(theirs.shape)
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-12, atol=1e-14)
    weights = np.cos(np.arange(ours.size)).reshape(ours.shape)
    (ours * weights).sum().backward()
    (theirs * torch.as_tensor(weights)).sum().backward()
    for t, p in inputs:
        np.testing.assert_allclose(t.grad, p.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    ("name", "options"),
    [("relu", {}), ("tanh", {}), ("sigmoid", {}), ("leaky_relu", {}),
     ("leaky_relu", {"negative_slope": 0.2}), ("softmax", {"dim": 1}), ("softmax", {"dim": 0}),
     ("log_softmax", {"dim": -1}), ("log_softmax", {"dim": 0})],
)  # fmt: skip
def test_an_activation_is_pytorchs(name: str, options: dict[str, Any]) -> None:
    t, p = _pair((4, 5))
    _same(getattr(F, name)(t, **options), getattr(TF, name)(p, **options), [(t, p)])


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 3), (3,)])
def test_linear_is_pytorchs(shape: tuple[int, ...], bias: bool) -> None:
    x, px = _pair(shape, 1)
    w, pw = _pair((2, 3), 2)
    b, pb = _pair((2,), 3) if bias else (None, None)
    inputs = [(x, px), (w, pw)] + ([(b, pb)] if bias else [])
    _same(F.linear(x, w, b), TF.linear(px, pw, pb), inputs)


def test_linear_computes_in_the_weights_dtype_as_the_layer_does() -> None:
    x = Tensor(np.ones((2, 3)), requires_grad=True, dtype=np.float64)
    w = Tensor(np.ones((4, 3)), requires_grad=True)  # float32
    out = F.linear(x, w)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float64 and w.grad.dtype == np.float32
    with pytest.raises(TypeError, match="linear: bias is float64 but weight is float32"):
        F.linear(x, w, Tensor(np.zeros(4), dtype=np.float64))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "name", ["cross_entropy", "mse_loss", "l1_loss", "binary_cross_entropy_with_logits"]
)
def test_a_functional_loss_is_pytorchs(name: str, reduction: str) -> None:
    z, pz = _pair((5, 3))
    rng = np.random.default_rng(4)
    target = {
        "cross_entropy": rng.integers(0, 3, 5),
        "binary_cross_entropy_with_logits": rng.uniform(0, 1, (5, 3)),
    }.get(name, rng.standard_normal((5, 3)))
    ours = getattr(F, name)(z, target, reduction=reduction)
    _same(ours, getattr(TF, name)(pz, torch.as_tensor(target), reduction=reduction), [(z, pz)])


def test_cross_entropy_takes_class_probabilities_as_pytorch() -> None:
    z, pz = _pair((4, 3))
    q = np.random.default_rng(5).dirichlet(np.ones(3), 4)
    _same(F.cross_entropy(z, q), TF.cross_entropy(pz, torch.as_tensor(q)), [(z, pz)])


def test_dropout_scales_what_it_keeps_and_is_the_input_when_off() -> None:
    x = Tensor(np.ones((200, 50)), requires_grad=True)
    assert F.dropout(x, training=False) is x and F.dropout(x, p=0.0) is x
    out = F.dropout(x, 0.25, rng=0)
    kept = out.data != 0
    assert set(np.unique(out.data).tolist()) == {0.0, np.float32(1 / 0.75)}
    assert kept.mean() == pytest.approx(0.75, abs=0.02)
    np.testing.assert_array_equal(F.dropout(x, 0.25, rng=0).data, out.data)  # seeded
    out.sum().backward()
    np.testing.assert_allclose(x.grad, kept / 0.75, rtol=1e-6)
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize(
    ("call", "kind", "message"),
    [
        (lambda: F.relu(np.ones(3)), TypeError,
         r"relu: input must be a Tensor, got an array .*: wrap it as Tensor\(x\)"),
        (lambda: F.softmax(Tensor(np.ones((2, 3))), 2), ValueError,
         "softmax: dim 2 is out of range for an input of 2 dimensions"),
        (lambda: F.log_softmax(Tensor(np.ones((2, 3)))), TypeError,  # type: ignore[call-arg]
         "missing 1 required positional argument: 'dim'"),
        (lambda: F.cross_entropy(Tensor(np.ones(3)), np.array([0])), ValueError,
         r"cross_entropy: input must have shape \(n, classes\), got \(3,\)"),
        (lambda: F.cross_entropy(Tensor(np.ones((2, 3))), np.array([0, 1]), None), TypeError,
         "takes 2 positional arguments"),  # PyTorch's third is a weight, not a reduction
        (lambda: F.mse_loss(Tensor(np.ones((2, 1))), np.ones(2)), ValueError,
         r"mse_loss: input of shape \(2, 1\) and target of shape \(2,\) differ"),
        (lambda: F.binary_cross_entropy_with_logits(np.ones(2), np.ones(2)), TypeError,
         "binary_cross_entropy_with_logits: input must be a Tensor, a Value"),
        (lambda: F.dropout(Tensor(np.ones(2)), p=1.0), ValueError,
         r"dropout: p must be in \[0, 1\), got 1.0"),
        (lambda: F.dropout(Tensor(np.ones(2)), training="no"), TypeError,
         "dropout: training must be True or False"),
        (lambda: F.relu(Tensor(np.ones(2)), inplace=True), TypeError,  # type: ignore[call-arg]
         "unexpected keyword argument 'inplace'"),
    ],
)  # fmt: skip
def test_a_functional_mistake_is_named(call: Callable[[], Any], kind: type, message: str) -> None:
    with pytest.raises(kind, match=message):
        call()


# -- DataLoader -------------------------------------------------------------------------------


def _torch_loader(X: np.ndarray, y: np.ndarray, **options: Any) -> Any:
    data = torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(y))
    return torch.utils.data.DataLoader(data, **options)


@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize(("n", "batch_size"), [(10, 3), (9, 3), (2, 5), (0, 4), (7, 1)])
def test_an_unshuffled_loader_gives_pytorchs_batches(
    n: int, batch_size: int, drop_last: bool
) -> None:
    X = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    y = np.arange(n)
    ours = DataLoader(TensorDataset(X, y), batch_size, drop_last=drop_last)
    theirs = _torch_loader(X, y, batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    batches, expected = list(ours), list(theirs)
    assert len(batches) == len(expected) == len(ours)
    for batch, other in zip(batches, expected):
        assert type(batch) is type(other) is list
        for t, p in zip(batch, other):
            assert isinstance(t, Tensor) and not t.requires_grad
            assert str(t.dtype) == str(p.dtype).removeprefix("torch.")
            np.testing.assert_array_equal(t.data, p.numpy())


def test_pytorchs_defaults_one_sample_a_batch_in_order() -> None:
    ours = DataLoader(TensorDataset(np.arange(3.0)))
    assert (ours.batch_size, ours.shuffle, ours.drop_last) == (1, False, False)
    assert [batch[0].tolist() for batch in ours] == [[0.0], [1.0], [2.0]]


def test_a_shuffled_loader_is_a_new_order_each_epoch_repeated_by_its_seed() -> None:
    X, y = np.arange(20.0)[:, None], np.arange(20)
    loader = DataLoader(TensorDataset(X, y), batch_size=6, shuffle=True, generator=7)
    epochs = [[yb.tolist() for _, yb in loader] for _ in range(3)]
    for epoch in epochs:
        assert [len(b) for b in epoch] == [6, 6, 6, 2]
        assert sorted(y for batch in epoch for y in batch) == list(range(20))  # each once
    assert epochs[0] != epochs[1] != epochs[2]
    again = DataLoader(TensorDataset(X, y), batch_size=6, shuffle=True, generator=7)
    assert [[[yb.tolist() for _, yb in again] for _ in range(3)]] == [epochs]
    generator = np.random.default_rng(7)  # a Generator gives the same as its seed
    given = DataLoader(TensorDataset(X, y), batch_size=6, shuffle=True, generator=generator)
    assert [yb.tolist() for _, yb in given] == epochs[0]
    for xb, yb in loader:  # rows stay with their labels
        np.testing.assert_array_equal(xb.data[:, 0], yb.data)


def test_a_batch_is_a_copy_and_the_dataset_is_read_as_each_pass_starts() -> None:
    X = Tensor(np.zeros((4, 2)))
    loader = DataLoader(TensorDataset(X), batch_size=4)
    (batch,) = next(iter(loader))
    batch.data[...] = 5.0
    assert float(X.data.sum()) == 0.0
    X.data[0, 0] = 1.0  # a Tensor is kept as it is: its later writes are seen
    assert next(iter(loader))[0].data[0, 0] == 1.0
    array = np.zeros((2, 2))
    data = TensorDataset(array)  # an array is copied
    array[0, 0] = 3.0
    assert data.tensors[0].data[0, 0] == 0.0 and data.tensors[0].dtype == np.float64


class Squares(Dataset):
    """A data set of one's own, PyTorch's way."""

    def __len__(self) -> int:
        return 5

    def __getitem__(self, index: int) -> tuple[np.ndarray, float, int]:
        return np.array([index, index**2], dtype=np.float32), float(index) / 2, index


class TorchSquares(torch.utils.data.Dataset):  # type: ignore[misc]
    def __len__(self) -> int:
        return 5

    def __getitem__(self, index: int) -> tuple[np.ndarray, float, int]:
        return Squares()[index]


def test_a_dataset_of_ones_own_is_collated_as_pytorch_does() -> None:
    ours = list(DataLoader(Squares(), batch_size=2))
    theirs = list(torch.utils.data.DataLoader(TorchSquares(), batch_size=2))
    assert len(ours) == len(theirs) == 3
    for batch, other in zip(ours, theirs):
        assert type(batch) is list and len(batch) == 3
        for t, p in zip(batch, other):
            assert str(t.dtype) == str(p.dtype).removeprefix("torch.")
            np.testing.assert_array_equal(t.data, p.numpy())
    plain = list(DataLoader([1.5, 2.5, 3.5], batch_size=2))  # samples that are numbers
    expected = list(torch.utils.data.DataLoader([1.5, 2.5, 3.5], batch_size=2))
    assert [t.tolist() for t in plain] == [p.tolist() for p in expected]
    assert all(t.dtype == np.float64 for t in plain)


def test_a_loader_trains_a_model_in_pytorchs_loop() -> None:
    X, y = nn.datasets.blobs(60, rng=0)
    model = nn.MLP(2, [8, 3], rng=0)
    optimizer = nn.optim.Adam(model.parameters(), lr=0.05)
    loss_fn = nn.CrossEntropyLoss()
    loader = DataLoader(TensorDataset(X.astype(np.float32), y), 16, shuffle=True, generator=0)
    before = nn.evaluate(model, X, y, loss=loss_fn)["loss"]
    for _ in range(5):
        for xb, yb in loader:
            optimizer.zero_grad()
            loss_fn(model(xb), yb).backward()
            optimizer.step()
    assert nn.evaluate(model, X, y, loss=loss_fn)["loss"] < before / 2


@pytest.mark.parametrize(
    ("call", "kind", "message"),
    [
        (lambda: DataLoader((np.ones((4, 2)), np.ones(4))), TypeError,
         r"DataLoader: dataset is a tuple of 2 arrays.*DataLoader\(TensorDataset\(X, y\)"),
        (lambda: DataLoader({0: 1}), TypeError, "DataLoader: dataset must be a data set"),
        (lambda: DataLoader("abc"), TypeError, "DataLoader: dataset must be a data set"),
        (lambda: DataLoader(np.float64(2.0)), TypeError, "DataLoader: dataset must be"),
        (lambda: DataLoader(np.array(2.0)), ValueError, "DataLoader: dataset is a single number"),
        (lambda: DataLoader([1], batch_size=0), ValueError,
         "DataLoader: batch_size must be at least 1"),
        (lambda: DataLoader([1], shuffle=1), TypeError,
         "DataLoader: shuffle must be True or False"),
        (lambda: DataLoader([1], generator=torch.Generator()), TypeError,
         r"DataLoader: generator must be a numpy Generator, a seed or None, got a Generator "
         r"\(torch's: give np.random.default_rng\(seed\), or the seed\)"),
        (lambda: DataLoader([1], num_workers=2), TypeError,  # type: ignore[call-arg]
         "unexpected keyword argument 'num_workers'"),
        (lambda: list(DataLoader([None, None], 2)), TypeError,
         "DataLoader: the samples of batch 1 hold None, not numbers"),
        (lambda: list(DataLoader([(1, 2), (3,)], 2)), ValueError,
         "DataLoader: the samples of batch 1 do not all have 2 fields"),
        (lambda: list(DataLoader([np.ones(2), np.ones(3)], 2)), ValueError,
         "DataLoader: the samples of batch 1 cannot be stacked"),
        (lambda: TensorDataset(np.ones((4, 2)), np.ones(3)), ValueError,
         "TensorDataset: tensors.1. holds 3 samples but tensors.0. holds 4"),
        (lambda: TensorDataset(), TypeError, "TensorDataset: tensors: give at least one"),
        (lambda: TensorDataset(np.array(1.0)), ValueError,
         r"TensorDataset: tensors\[0\] must hold samples along its first axis"),
        (lambda: TensorDataset([Value(1.0)]), TypeError,
         r"TensorDataset: tensors\[0\] must be an array of numbers"),
    ],
)  # fmt: skip
def test_a_loader_mistake_is_named(call: Callable[[], Any], kind: type, message: str) -> None:
    with pytest.raises(kind, match=message):
        call()


@pytest.mark.parametrize("set_to_none", [None, True, False])
def test_zero_grad_takes_pytorchs_set_to_none(set_to_none: bool | None) -> None:
    """optimizer.zero_grad(set_to_none=...) and model.zero_grad(...) leave the gradients
    as PyTorch's do: None by default and with True, zeros where there was one with False
    (a parameter no gradient reached stays None)."""
    options = {} if set_to_none is None else {"set_to_none": set_to_none}
    for owner in ("optimizer", "model"):
        model = nn.MLP(3, [4, 2], rng=0)
        theirs = nn.to_torch(model)
        optimizer = nn.optim.SGD(model.parameters(), lr=0.1)
        their_optimizer = torch.optim.SGD(theirs.parameters(), lr=0.1)
        model(np.ones((2, 3), np.float32)).sum().backward()
        theirs(torch.ones(2, 3)).sum().backward()
        mine, other = list(model.parameters()), list(theirs.parameters())
        mine[-1].grad = other[-1].grad = None  # one parameter no gradient reached
        (optimizer if owner == "optimizer" else model).zero_grad(**options)
        (their_optimizer if owner == "optimizer" else theirs).zero_grad(**options)
        for p, q in zip(mine, other):
            assert (p.grad is None) == (q.grad is None)
            if q.grad is not None:
                np.testing.assert_array_equal(p.grad, q.grad.numpy())
                assert np.asarray(p.grad).dtype == np.float32
    value = Value(2.0)
    value.grad = 3.0
    value.zero_grad(set_to_none=True)
    assert value.grad == 0.0  # micrograd's: a Value's gradient of nothing reads 0.0
    with pytest.raises(TypeError, match=r"SGD\.zero_grad: set_to_none must be"):
        optimizer.zero_grad(set_to_none="yes")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("module", "name", "instead"),
    [
        (nn, "BCELoss", r"nn.BCEWithLogitsLoss\(\)"),
        (nn, "NLLLoss", r"nn.CrossEntropyLoss\(\)"),
        (nn, "Conv2d", "fully connected networks only"),
        (nn, "save", r"model.save\(path\)"),
        (nn.functional, "nll_loss", "F.cross_entropy"),
        (nn.optim, "AdamW", r"nn.optim.Adam\(weight_decay=...\)"),
        (nn.optim, "lr_scheduler", "nn.optim.StepLR"),
        (nn.utils, "clip_grad_value_", "clip_grad_norm_"),
    ],
)
def test_pytorchs_absent_names_say_what_to_write_instead(
    module: Any, name: str, instead: str
) -> None:
    """Still an AttributeError (hasattr and getattr with a default work as ever), but one
    that tells a name left out on purpose from a typo."""
    with pytest.raises(AttributeError, match=rf"{module.__name__}.{name}: PyTorch's, not in "
                       rf"tracegrad: .*{instead}"):  # fmt: skip
        getattr(module, name)
    assert not hasattr(module, name) and getattr(module, name, None) is None
    with pytest.raises(
        AttributeError, match=rf"module '{module.__name__}' has no attribute 'nope'"
    ):
        module.nope


def test_one_param_group_is_said_where_pytorchs_second_would_be() -> None:
    model = nn.MLP(2, [3, 1], rng=0)
    first, *rest = model.parameters()
    with pytest.raises(TypeError, match=r"SGD: parameters: item 0 is a param group .* two "
                       "optimisers"):  # fmt: skip
        nn.optim.SGD([{"params": [first], "lr": 0.1}, {"params": rest}], lr=0.01)
    with pytest.raises(TypeError, match=r"Adam.add_param_group: an optimiser here has one"):
        nn.optim.Adam([first]).add_param_group({"params": rest})


def test_the_quickstarts_count_of_right_answers_runs() -> None:
    """``(pred.argmax(1) == y).type(torch.float).sum().item()``, as in PyTorch's
    quickstart; ``type()`` without a dtype names it."""
    pred = Tensor(np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]]))
    y = Tensor.from_numpy(np.array([1, 1, 1]))
    assert (pred.argmax(1) == y).type(torch.float).sum().item() == 2.0
    assert (pred.argmax(1) == y).type(np.float64).dtype == np.float64
    assert pred.type() == "float32"


def test_an_optimisers_state_through_json_loads_as_pytorchs_would() -> None:
    """json turns the positions into strings: "0" is parameter 0, as the checkpoint reader
    takes it; the next steps agree with an optimiser that was never saved."""
    import json

    model = nn.MLP(3, [4, 2], rng=0, dtype=np.float64)
    optimizer = nn.optim.Adam(model.parameters(), lr=0.1)
    for _ in range(2):
        optimizer.zero_grad()
        model(np.ones((2, 3))).sum().backward()
        optimizer.step()
    state = optimizer.state_dict()
    lists = {i: {k: np.asarray(v).tolist() for k, v in s.items()}
             for i, s in state["state"].items()}  # fmt: skip
    text = json.dumps({"state": lists, "param_groups": state["param_groups"]})
    again = nn.optim.Adam(model.parameters(), lr=0.1)
    again.load_state_dict(json.loads(text))
    for mine, theirs in zip(again.state, optimizer.state):
        assert mine["step"] == theirs["step"]
        np.testing.assert_array_equal(mine["exp_avg"], theirs["exp_avg"])
    with pytest.raises(ValueError, match="state names parameter '-1'"):
        again.load_state_dict({**json.loads(text), "state": {"-1": {}}})
