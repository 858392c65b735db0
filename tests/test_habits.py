"""numpy's array protocol and PyTorch's names on a Tensor, and habits of the shell's users."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from autograd import Tensor, is_grad_enabled, no_grad

matplotlib.use("Agg")


def test_numpy_sees_a_tensor_as_its_array_read_only() -> None:
    t = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    array = np.asarray(t)
    assert type(array) is np.ndarray and array.shape == (2, 3) and array.dtype == np.float32
    with pytest.raises(ValueError, match="read-only"):
        array[0, 0] = 1.0
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    copy = np.array(t, copy=True)
    copy[0, 0] = 9.0
    assert t.data[0, 0] == 0.0


def test_a_large_tensor_is_one_array_not_an_object_array() -> None:
    t = Tensor(np.zeros((300, 784)))
    array = np.asarray(t)
    assert array.dtype == np.float32 and array.shape == (300, 784)


def test_numpy_functions_and_matplotlib_take_tensors() -> None:
    t = Tensor([[1.0, 5.0], [3.0, 2.0]])
    assert np.mean(t) == pytest.approx(2.75) and np.max(t) == 5.0
    assert np.concatenate([t, t]).shape == (4, 2)
    import matplotlib.pyplot as plt

    lines = plt.plot(Tensor([1.0, 2.0, 3.0]))
    assert lines[0].get_ydata().tolist() == [1.0, 2.0, 3.0]
    plt.close("all")


def test_ufuncs_refuse_a_tensor_and_name_its_method_but_operators_keep_the_graph() -> None:
    t = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"np.exp on a Tensor: use the Tensor's own method"):
        np.exp(t)
    out = np.array([1.0, 1.0]) * t + np.array([0.5, 0.5])
    assert isinstance(out, Tensor) and out.requires_grad
    out.sum().backward()
    np.testing.assert_array_equal(t.grad, [1.0, 1.0])
    assert isinstance(np.array([1.0, 3.0]) > t, Tensor)


def test_float_int_bool_of_one_element() -> None:
    assert float(Tensor(3.0)) == 3.0 and float(Tensor([[2.5]])) == 2.5
    assert int(Tensor([7.9])) == 7 and bool(Tensor([1.0]))
    with pytest.raises(TypeError, match="only a one-element tensor converts"):
        float(Tensor([1.0, 2.0]))
    assert [10, 20, 30][Tensor(1, dtype=np.int64)] == 20


def test_pytorch_names_match_pytorch() -> None:
    import torch  # the oracle, imported only where it is used

    data = np.array([[1.0, 5.0, 2.0], [3.0, 0.0, 4.0]], dtype=np.float32)
    t, p = Tensor(data), torch.from_numpy(data)
    assert t.argmax(dim=1).tolist() == p.argmax(dim=1).tolist()
    assert t.argmin().item() == p.argmin().item()
    assert t.unsqueeze(1).shape == tuple(p.unsqueeze(1).shape)
    assert t.unsqueeze(-1).squeeze(-1).shape == (2, 3)
    assert t.reshape(1, 2, 1, 3).squeeze().shape == tuple(p.reshape(1, 2, 1, 3).squeeze().shape)
    assert t.view(3, 2).shape == (3, 2) and t.view(-1).shape == (6,)
    np.testing.assert_allclose(t.sum(dim=0, keepdim=True).data, p.sum(dim=0, keepdim=True))
    np.testing.assert_allclose(t.mean(dim=1).data, p.mean(dim=1), rtol=1e-6)
    np.testing.assert_allclose(t.softmax(dim=0).data, p.softmax(dim=0), rtol=1e-6)
    np.testing.assert_allclose(t.max(dim=1).data, p.max(dim=1).values)
    with pytest.raises(
        ValueError, match=r"axis 1 of the tensor of shape \(2, 3\) is not of size 1"
    ):
        t.squeeze(1)
    with pytest.raises(TypeError, match="give axis or dim, not both"):
        t.sum(0, dim=0)


_TORCH_DTYPES = ["float32", "float64", "float16", "int64", "int32", "bool"]


@pytest.mark.parametrize("source", _TORCH_DTYPES)
@pytest.mark.parametrize(
    ("method", "target"),
    [("float", "float32"), ("double", "float64"), ("half", "float16"), ("long", "int64"),
     ("int", "int32"), ("bool", "bool")],
)  # fmt: skip
def test_casts_match_pytorch_in_dtype_values_identity_and_grad(
    source: str, method: str, target: str
) -> None:
    import torch

    data = np.array([[-1.5, 0.0, 2.25], [3.0, -0.5, 1.0]], dtype=source)
    grad = np.dtype(source).kind == "f"
    t = Tensor(data, requires_grad=grad, dtype=data.dtype)
    p = torch.tensor(data, requires_grad=grad)
    ours, theirs = getattr(t, method)(), getattr(p, method)()
    assert str(ours.dtype) == target == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(ours.data, theirs.detach().numpy())
    assert (ours is t) == (theirs is p) == (source == target)  # no copy when nothing changes
    assert ours.requires_grad == theirs.requires_grad
    assert t.to(getattr(torch, target)).dtype == ours.dtype == t.to(np.dtype(target)).dtype
    if ours.requires_grad:
        weights = np.arange(6.0).reshape(2, 3)
        (ours * weights).sum().backward()
        (theirs * torch.tensor(weights, dtype=theirs.dtype)).sum().backward()
        assert t.grad.dtype == t.dtype  # the gradient comes back in the tensor's own dtype
        np.testing.assert_allclose(t.grad, p.grad.numpy(), rtol=1e-3)


def test_to_takes_pytorchs_forms_and_the_cpu_only() -> None:
    import torch

    t = Tensor([1.0, 2.0], requires_grad=True)
    assert t.to("cpu") is t and t.to(torch.device("cpu")) is t and t.to(device="cpu:0") is t
    assert t.cpu() is t and t.to(np.float32) is t and t.to(torch.float32) is t
    assert t.to("cpu", torch.float64).dtype == np.float64
    assert t.to(torch.device("cpu"), dtype=float).dtype == np.float64  # float: float64
    assert t.to(Tensor([1], dtype=np.int64)).dtype == np.int64  # another tensor's dtype
    assert t.to("float64", non_blocking=True).dtype == np.float64
    copied = t.to(copy=True)
    assert copied is not t and copied.requires_grad and not np.shares_memory(copied.data, t.data)
    (copied * 3.0).sum().backward()
    np.testing.assert_array_equal(t.grad, [3.0, 3.0])
    with pytest.raises(ValueError, match=r"to: tracegrad computes with numpy, on the CPU: there "
                       r"is no device 'cuda'"):  # fmt: skip
        t.to("cuda")
    with pytest.raises(ValueError, match="no device 'cuda:1'"):
        t.to(torch.device("cuda:1"), torch.float32)
    with pytest.raises(TypeError, match=r"to: numpy has no dtype for torch.bfloat16"):
        t.to(torch.bfloat16)
    with pytest.raises(TypeError, match=r"to: dtype must be a dtype of real numbers"):
        t.to(dict)
    with pytest.raises(TypeError, match="to: device given twice"):
        t.to("cpu", device="cpu")
    with pytest.raises(TypeError, match="to: copy must be True or False"):
        t.to(np.float64, copy="yes")
    with pytest.raises(TypeError, match="to: device must be a device's name"):
        t.to(device=0)


@pytest.mark.parametrize(
    ("shape", "dims"), [((2, 3, 4), (2, 0, 1)), ((2, 3, 4), (-1, 1, 0)), ((5,), (0,)), ((), ())]
)
def test_permute_matches_pytorch_in_values_shape_and_grad(
    shape: tuple[int, ...], dims: tuple[int, ...]
) -> None:
    import torch

    data = np.arange(float(np.prod(shape))).reshape(shape)
    t, p = (
        Tensor(data, requires_grad=True, dtype=np.float64),
        torch.tensor(data, requires_grad=True),
    )
    ours, theirs = t.permute(*dims), p.permute(dims)
    assert t.permute(dims).shape == ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.data, theirs.detach().numpy())
    weights = np.arange(float(np.prod(shape))).reshape(ours.shape)
    (ours * weights).sum().backward()
    (theirs * torch.tensor(weights)).sum().backward()
    np.testing.assert_array_equal(t.grad, p.grad.numpy())


def test_permute_names_every_axis_once() -> None:
    t = Tensor(np.zeros((2, 3)))
    one_of_two = r"permute: dims \(0,\) name 1 axis of a tensor of 2 dimensions"
    with pytest.raises(ValueError, match=one_of_two):
        t.permute(0)
    with pytest.raises(ValueError, match=r"permute: dims .* name an axis twice"):
        t.permute(1, -1)
    with pytest.raises(np.exceptions.AxisError, match="permute: dim 2 is out of range"):
        t.permute(0, 2)
    with pytest.raises(TypeError, match="permute: dims must be integers"):
        t.permute(0.0, 1)


def test_size_is_numpys_count_and_pytorchs_shape() -> None:
    import pickle

    import torch

    data = np.zeros((2, 3, 4))
    t, p = Tensor(data), torch.tensor(data)
    assert t.size == 24 == p.numel() == t.numel() and isinstance(t.size, int)
    assert t.size() == tuple(p.size()) == t.shape and t.dim() == p.dim() == 3
    assert [t.size(d) for d in range(-3, 3)] == [p.size(d) for d in range(-3, 3)]
    assert pickle.loads(pickle.dumps(t.size)) == 24  # pickled as the plain number
    assert Tensor(5.0).size() == () and Tensor(5.0).size == 1
    with pytest.raises(IndexError, match="size: dim 3 is out of range for a tensor of 3"):
        t.size(3)  # an AxisError: an IndexError, as PyTorch's, and a ValueError
    with pytest.raises(IndexError, match="size: dim 0 is out of range for a 0-d tensor"):
        Tensor(5.0).size(0)
    with pytest.raises(TypeError, match="size: dim must be an integer"):
        t.size(1.0)  # type: ignore[call-overload]


def test_clone_and_requires_grad_() -> None:
    w = Tensor([1.0, 2.0]).requires_grad_()
    assert w.requires_grad and w.is_leaf
    c = w.clone()
    (c * c).sum().backward()
    np.testing.assert_array_equal(w.grad, [2.0, 4.0])
    assert not np.shares_memory(c.data, w.data)
    with pytest.raises(ValueError, match="only a leaf"):
        c.requires_grad_(False)
    with pytest.raises(TypeError, match="only floating-point"):
        Tensor([1, 2], dtype=np.int64).requires_grad_()


def test_no_grad_decorates_with_or_without_parentheses() -> None:
    @no_grad
    def bare() -> bool:
        return is_grad_enabled()

    @no_grad()
    def called() -> bool:
        return is_grad_enabled()

    assert bare() is False and called() is False and is_grad_enabled()
    assert bare.__name__ == "bare"


def test_optimisers_and_schedulers_have_readable_reprs() -> None:
    import nn

    opt = nn.optim.Adam(nn.MLP(2, [3, 1]).parameters(), lr=0.01)
    assert repr(opt).startswith("Adam(lr=0.01, beta1=0.9, beta2=0.999") and "parameters=4" in repr(
        opt
    )
    assert repr(nn.optim.CosineAnnealingLR(opt, T_max=5)) == "CosineAnnealingLR(epoch=0, lr=0.01)"


def test_another_package_named_autograd_is_named_at_import(tmp_path: Path) -> None:
    """HIPS autograd (`pip install autograd`) has our import name: nn says so."""
    import nn as ours

    fake = tmp_path / "autograd"
    fake.mkdir()
    (fake / "__init__.py").write_text("def grad(f):\n    return f\n")
    project = str(Path(ours.__file__).parent.parent)
    code = f"import sys; sys.path[:0] = [{str(tmp_path)!r}, {project!r}]; import nn"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: nn: `import autograd` found another package named")
    assert "virtual environment" in last
