"""To PyTorch, from PyTorch, and to ONNX, checked by the real clients: torch and onnxruntime."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch

import nn
from autograd import Tensor, Value

rng = np.random.default_rng(0)

#: One model per layer type (and the usual stacks), each on inputs of the shape given.
MODELS: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
    "linear": (lambda: nn.Linear(6, 3, rng=1), (6,)),
    "linear without bias": (lambda: nn.Linear(6, 3, bias=False, rng=1), (6,)),
    "relu": (lambda: nn.Sequential(nn.Linear(6, 4, rng=1), nn.ReLU()), (6,)),
    "tanh": (lambda: nn.Sequential(nn.Linear(6, 4, rng=1), nn.Tanh()), (6,)),
    "sigmoid": (lambda: nn.Sequential(nn.Linear(6, 4, rng=1), nn.Sigmoid()), (6,)),
    "leaky relu": (lambda: nn.Sequential(nn.Linear(6, 4, rng=1), nn.LeakyReLU(0.2)), (6,)),
    "softmax": (lambda: nn.Sequential(nn.Linear(6, 4, rng=1), nn.Softmax()), (6,)),
    "log softmax": (lambda: nn.Sequential(nn.Linear(6, 4, rng=1), nn.LogSoftmax(-1)), (6,)),
    "dropout": (lambda: nn.Sequential(nn.Linear(6, 4, rng=1), nn.Dropout(0.5)), (6,)),
    "flatten": (lambda: nn.Sequential(nn.Flatten(), nn.Linear(12, 3, rng=1)), (3, 4)),
    "mlp relu": (lambda: nn.MLP(6, [8, 8, 3], rng=1), (6,)),
    "mlp tanh dropout": (lambda: nn.MLP(6, [8, 3], activation="tanh", dropout=0.3, rng=1), (6,)),
    "mlp sigmoid": (lambda: nn.MLP(6, [5, 3], activation="sigmoid", rng=1), (6,)),
    "mlp leaky relu": (lambda: nn.MLP(6, [5, 3], activation="leaky_relu", rng=1), (6,)),
    "nested": (
        lambda: nn.Sequential(nn.Sequential(nn.Linear(6, 5, rng=1), nn.ReLU()), nn.Linear(5, 2)),
        (6,),
    ),
}


def _inputs(shape: tuple[int, ...], batch: int) -> np.ndarray:
    return rng.standard_normal((batch, *shape)).astype(np.float32)


def _ours(model: nn.Module, x: np.ndarray) -> np.ndarray:
    return np.asarray(model(Tensor(x)).data)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_to_torch_and_back_give_the_same_outputs(name: str) -> None:
    make, shape = MODELS[name]
    model = make().eval()
    x = _inputs(shape, 7)
    converted = nn.to_torch(model)
    assert not converted.training
    with torch.no_grad():
        theirs = converted(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(theirs, _ours(model, x), atol=1e-5)
    assert list(converted.state_dict()) == list(model.state_dict())
    back = nn.from_torch(converted)
    np.testing.assert_allclose(_ours(back.eval(), x), _ours(model, x), atol=1e-6)


def test_a_torch_model_of_ones_own_is_checked_against_tracegrad() -> None:
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(12, 7), torch.nn.ReLU(), torch.nn.Linear(7, 3)
    ).eval()
    ours = nn.from_torch(theirs)
    x = _inputs((3, 4), 5)
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(_ours(ours, x), expected, atol=1e-5)


def test_the_training_mode_carries_over() -> None:
    model = nn.MLP(4, [3, 2], dropout=0.2, rng=0)
    assert nn.to_torch(model).training
    assert not nn.from_torch(nn.to_torch(model.eval())).training


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("batch", [1, 7])
def test_onnxruntime_runs_the_exported_model(name: str, batch: int, tmp_path: Path) -> None:
    make, shape = MODELS[name]
    model = make().eval()
    path = tmp_path / "model.onnx"
    nn.to_onnx(model, path, input_shape=shape)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = _inputs(shape, batch)
    (result,) = session.run(None, {"input": x})
    np.testing.assert_allclose(result, _ours(model, x), atol=1e-5)
    assert session.get_inputs()[0].shape[0] == "batch"


@pytest.mark.parametrize("batch", [1, 7])
def test_a_scalar_mlp_exports_to_onnx_and_torch(batch: int, tmp_path: Path) -> None:
    model = nn.scalar.MLP(3, [5, 4, 2], activation="tanh", rng=0)
    x = _inputs((3,), batch)
    expected = np.array([[v.data for v in model([Value(float(a)) for a in row])] for row in x])
    path = tmp_path / "scalar.onnx"
    nn.to_onnx(model, path)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"input": x})[0], expected, atol=1e-5)
    with torch.no_grad():
        theirs = nn.to_torch(model)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(theirs, expected, atol=1e-5)


class Custom(nn.Module):
    def __init__(self) -> None:
        self.layer = nn.Linear(2, 2, rng=0)

    def forward(self, x: Tensor) -> Tensor:
        return self.layer(x) * 2.0


def test_a_module_with_a_forward_of_its_own_is_named(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="to_torch: cannot convert Custom"):
        nn.to_torch(Custom())
    with pytest.raises(TypeError, match="to_onnx: cannot export Custom"):
        nn.to_onnx(nn.Sequential(nn.Linear(2, 2), Custom()), tmp_path / "x.onnx")
    with pytest.raises(TypeError, match="from_torch: cannot convert Conv1d"):
        nn.from_torch(torch.nn.Conv1d(1, 1, 3))
    with pytest.raises(ValueError, match="pass input_shape="):
        nn.to_onnx(nn.Sequential(nn.ReLU()), tmp_path / "y.onnx")
    assert not (tmp_path / "x.onnx").exists()


def test_a_missing_extra_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'tracegrad\[torch\]'"):
        nn.to_torch(nn.Linear(2, 2))
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'tracegrad\[onnx\]'"):
        nn.to_onnx(nn.Linear(2, 2), tmp_path / "x.onnx")


def test_tracegrad_export_writes_a_file_onnxruntime_runs(tmp_path: Path) -> None:
    model = nn.MLP(4, [6, 3], rng=0)
    model.save(tmp_path / "model.npz")
    done = subprocess.run(
        [sys.executable, "-m", "tracegrad", "export", str(tmp_path / "model.npz"),
         str(tmp_path / "model.onnx")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and "wrote" in done.stdout
    session = onnxruntime.InferenceSession(
        str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    x = _inputs((4,), 7)
    np.testing.assert_allclose(session.run(None, {"input": x})[0], _ours(model, x), atol=1e-5)


@pytest.mark.parametrize("target", ["missing.npz", "README.md"])
def test_tracegrad_export_of_no_model_is_one_line(tmp_path: Path, target: str) -> None:
    path = Path(target) if target == "README.md" else tmp_path / target
    done = subprocess.run(
        [sys.executable, "-m", "tracegrad", "export", str(path), str(tmp_path / "m.onnx")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith("tracegrad: error: ") and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr


# -- what is shared stays shared; a negative axis means the same -------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def _tied() -> nn.Sequential:
    model = nn.Sequential(nn.Linear(4, 4, rng=0), nn.Tanh(), nn.Linear(4, 4, rng=1))
    model[2].weight = model[0].weight  # type: ignore[union-attr]
    return model


def test_tied_weights_stay_tied_through_to_torch_and_back() -> None:
    model = _tied()
    converted = nn.to_torch(model)
    assert converted[0].weight is converted[2].weight
    assert converted[0].bias is not converted[2].bias
    assert len(list(converted.parameters())) == 3  # what torch's optimisers see: one weight
    x = _inputs((4,), 5)
    np.testing.assert_allclose(
        converted(torch.from_numpy(x)).detach().numpy(), _ours(model, x), atol=1e-6
    )
    back = nn.from_torch(converted)
    assert back[0].weight is back[2].weight  # type: ignore[union-attr]
    assert back.tied() == {"2.weight": "0.weight"}
    np.testing.assert_allclose(_ours(back, x), _ours(model, x), atol=1e-6)


def test_a_module_used_twice_stays_one_module_both_ways() -> None:
    layer = nn.Linear(3, 3, rng=0)
    converted = nn.to_torch(nn.Sequential(layer, nn.ReLU(), layer))
    assert converted[0] is converted[2]
    torch_layer = torch.nn.Linear(3, 3)
    back = nn.from_torch(torch.nn.Sequential(torch_layer, torch.nn.Tanh(), torch_layer))
    assert back[0] is back[2] and back.tied() == {"2": "0"}


def test_a_tied_torch_model_gives_tied_tracegrad_weights_that_train_as_one() -> None:
    torch.manual_seed(0)
    source = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU(), torch.nn.Linear(4, 4))
    source[2].weight = source[0].weight
    source[0].bias.requires_grad = False  # frozen: stays frozen
    model = nn.from_torch(source)
    assert model[0].weight is model[2].weight  # type: ignore[union-attr]
    assert not model[0].bias.requires_grad  # type: ignore[union-attr]
    x = _inputs((4,), 6)
    np.testing.assert_allclose(
        _ours(model, x), source(torch.from_numpy(x)).detach().numpy(), atol=1e-6
    )
    # One SGD step on each: the shared weight gets the sum of both uses' gradients.
    nn.mse_loss(model(Tensor(x)), np.zeros((6, 4))).backward()
    nn.optim.SGD(model.parameters(), lr=0.1).step()
    torch.nn.functional.mse_loss(source(torch.from_numpy(x)), torch.zeros(6, 4)).backward()
    torch.optim.SGD([p for p in source.parameters() if p.requires_grad], lr=0.1).step()
    np.testing.assert_allclose(
        model[0].weight.data,  # type: ignore[union-attr]
        source[0].weight.detach().numpy(),
        atol=1e-6,
    )


@settings(max_examples=40)
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple),
    data=st.data(),
)
def test_onnx_flatten_at_any_axis_gives_tracegrads_output(
    tmp_path_factory: pytest.TempPathFactory, shape: tuple[int, ...], data: st.DataObject
) -> None:
    """Flatten at every axis the input has, negative ones too (counted from the end of
    the input's axes, batch included), then a second Flatten at any axis of what the
    first gives: onnxruntime computes what tracegrad computes."""
    rank = 1 + len(shape)
    start = data.draw(st.integers(-rank, rank - 1), label="start_axis")
    after = start % rank + 1  # the rank of the first Flatten's output
    then = data.draw(st.integers(-after, after - 1), label="second start_axis")
    model = nn.Sequential(nn.Flatten(start), nn.Tanh(), nn.Flatten(then))
    path = tmp_path_factory.mktemp("onnx") / "flatten.onnx"
    nn.to_onnx(model, path, input_shape=shape)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = _inputs(shape, 2)
    (result,) = session.run(None, {"input": x})
    ours = _ours(model, x)
    assert result.shape == ours.shape
    np.testing.assert_allclose(result, ours, atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64])
def test_from_torch_keeps_each_layers_dtype(dtype: torch.dtype) -> None:
    """A float64 model stays float64 (a silent cast to float32 would change its outputs
    by its rounding), and computes what PyTorch computes; so for float16 and float32."""
    torch.manual_seed(0)
    torch_model = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)
    ).to(dtype)
    model = nn.from_torch(torch_model)
    wanted = np.dtype(str(dtype).removeprefix("torch."))
    assert [p.dtype for p in model.parameters()] == [wanted] * 4
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(wanted)
    mine = model(x).data
    theirs = torch_model(torch.from_numpy(x)).detach().numpy()
    assert mine.dtype == wanted
    np.testing.assert_allclose(mine, theirs, rtol=1e-2 if wanted == np.float16 else 1e-6)


def test_from_torch_refuses_a_dtype_no_layer_computes_in() -> None:
    with pytest.raises(TypeError, match=r"^from_torch: Linear's weight is bfloat16; .*\.float\(\)"):
        nn.from_torch(torch.nn.Linear(3, 2).to(torch.bfloat16))
    with pytest.raises(TypeError, match="from_torch: Linear's weight is on PyTorch's meta device"):
        nn.from_torch(torch.nn.Linear(3, 2, device="meta"))
    mixed = torch.nn.Linear(3, 2)
    mixed.bias.data = mixed.bias.data.double()
    with pytest.raises(TypeError, match="weight is float32 but its bias float64"):
        nn.from_torch(mixed)


def test_a_write_through_pytorch_over_a_tensors_data_is_not_seen_as_documented() -> None:
    """The limit docs/guarantees.md states: PyTorch shares the memory of ``.numpy()`` and
    ignores numpy's read-only flag, so its in-place write changes the tensor and the
    engine cannot see it. If this test fails, the engine sees it now: update the page."""
    import warnings

    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    loss = (x * x).sum()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "The given NumPy array is not writable"
        torch.from_numpy(x.numpy()).add_(1.0)
    loss.backward()  # no DataChangedError: the write went unseen
    np.testing.assert_array_equal(x.data, [2.0, 3.0, 4.0])
    np.testing.assert_array_equal(x.grad, [4.0, 6.0, 8.0])  # 2x of the new data, not the forward's
    copied = Tensor(np.array([1.0, 2.0]))
    torch.tensor(copied.numpy()).add_(1.0)  # a copy, as the page advises: nothing changes
    np.testing.assert_array_equal(copied.data, [1.0, 2.0])


def test_from_torch_refuses_a_computation_that_is_not_its_classs() -> None:
    """A subclass with a forward of its own, and forward hooks, would be converted as the
    plain class and compute something else without a word: refused, naming the module.
    A subclass that keeps its class's forward converts, and gives torch's outputs."""

    class Doubled(torch.nn.Linear):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return 2 * super().forward(x)

    class Renamed(torch.nn.Linear):
        pass

    class Squashed(torch.nn.Tanh):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return super().forward(x) / 2

    for module in (Doubled(2, 1), torch.nn.Sequential(torch.nn.Linear(2, 2), Doubled(2, 1)),
                   Squashed()):  # fmt: skip
        with pytest.raises(
            TypeError, match=r"from_torch: \w+ is a subclass of torch\.nn\.\w+ with a forward"
        ):
            nn.from_torch(module)
    hooked = torch.nn.Linear(2, 1)
    hooked.register_forward_hook(lambda module, inputs, output: output * 2)
    with pytest.raises(TypeError, match="from_torch: Linear has forward hooks"):
        nn.from_torch(hooked)
    renamed = Renamed(2, 1)
    x = np.ones((3, 2), np.float32)
    with torch.no_grad():
        expected = renamed(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(nn.from_torch(renamed)(Tensor(x)).data, expected, rtol=1e-6)
