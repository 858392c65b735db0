"""nn.Module: parameters found by themselves, state dicts, and model files."""

from __future__ import annotations

import re
import struct
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nn
from autograd import Tensor, Value
from nn import Module


class Pair(Module):
    def __init__(self) -> None:
        self.first = Value(1.0)
        self.constant = Value(5.0, requires_grad=False)
        self.items = [Value(2.0), Value(3.0)]
        self._private = Value(9.0)  # requires grad: a parameter, whatever its name
        self._cache = Value(4.0, requires_grad=False)  # private, not trained: not state


class Outer(Module):
    def __init__(self) -> None:
        self.pairs = [Pair(), Pair()]
        self.shared = self.pairs[0].first


def test_named_parameters_in_attribute_order_with_dotted_names() -> None:
    names = [name for name, _ in Pair().named_parameters()]
    assert names == ["first", "constant", "items.0", "items.1", "_private"]  # frozen ones too


def test_sub_modules_in_lists_and_shared_parameters_listed_once() -> None:
    outer = Outer()
    names = [name for name, _ in outer.named_parameters()]
    assert names == [
        "pairs.0.first",
        "pairs.0.constant",
        "pairs.0.items.0",
        "pairs.0.items.1",
        "pairs.0._private",
        "pairs.1.first",
        "pairs.1.constant",
        "pairs.1.items.0",
        "pairs.1.items.1",
        "pairs.1._private",
    ]
    assert outer.num_parameters() == 10
    assert [name for name, _ in outer.named_modules()] == ["", "pairs.0", "pairs.1"]


class Blocks(Module):
    """Sub-modules in a dict and in nested lists, and a child that points back at us."""

    def __init__(self) -> None:
        self.heads = {"left": nn.Linear(2, 1, rng=0), "right": nn.Linear(2, 1, rng=1)}
        self.grid = [[nn.Linear(1, 1, rng=2)], [nn.Linear(1, 1, rng=3), nn.Linear(1, 1, rng=4)]]
        self.child = nn.Linear(1, 1, rng=5)
        self.child.owner = self  # type: ignore[attr-defined]


def test_modules_in_dicts_and_nested_lists_are_found_and_cycles_end() -> None:
    model = Blocks()
    names = [name for name, _ in model.named_parameters()]
    assert names[:4] == [
        "heads.left.weight",
        "heads.left.bias",
        "heads.right.weight",
        "heads.right.bias",
    ]
    assert "grid.1.1.weight" in names and "child.bias" in names and len(names) == 12
    assert [name for name, _ in model.named_modules()] == [
        "",
        "heads.left",
        "heads.right",
        "grid.0.0",
        "grid.1.0",
        "grid.1.1",
        "child",
    ]
    assert "shown above" in repr(model)


def test_a_frozen_parameter_is_saved_loaded_and_left_alone_by_optimisers(tmp_path: Path) -> None:
    model = nn.MLP(3, [4, 2], rng=0)
    model[0].weight.requires_grad = False
    assert "0.weight" in model.state_dict()
    path = tmp_path / "frozen.npz"
    model.save(path)
    same = nn.load(path)
    np.testing.assert_array_equal(same[0].weight.data, model[0].weight.data)
    other = nn.MLP(3, [4, 2], rng=1)
    other[0].weight.requires_grad = False
    other.load(path)
    np.testing.assert_array_equal(other[0].weight.data, model[0].weight.data)
    before = model[0].weight.data.copy()
    opt = nn.optim.SGD(model.parameters(), lr=0.1)
    nn.cross_entropy(model(Tensor(np.ones((2, 3)))), np.array([0, 1])).backward()
    opt.step()
    np.testing.assert_array_equal(model[0].weight.data, before)
    assert not np.array_equal(model[2].weight.data, nn.MLP(3, [4, 2], rng=0)[2].weight.data)


def test_train_and_eval_reach_every_module() -> None:
    outer = Outer()
    outer.eval()
    assert not outer.training and not outer.pairs[1].training
    outer.train()
    assert outer.pairs[0].training


# -- state dicts and model files ---------------------------------------------------------


def test_state_dict_round_trip() -> None:
    source, target = nn.MLP(3, [4, 2], rng=0), nn.MLP(3, [4, 2], rng=1)
    target.load_state_dict(source.state_dict())
    for (name, p), (_, q) in zip(source.named_parameters(), target.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)
    state = source.state_dict()
    state["0.weight"][...] = 0.0  # a copy: the model is untouched
    assert np.any(source.layers[0].weight.data != 0.0)


def test_a_mismatched_state_dict_names_every_entry_and_changes_nothing() -> None:
    model = nn.MLP(3, [4, 2], rng=0)
    before = model.state_dict()
    state = nn.MLP(3, [5, 2], rng=1).state_dict()
    del state["2.bias"]
    state["extra"] = np.zeros(1)
    with pytest.raises(nn.ModelFileError) as caught:
        model.load_state_dict(state)
    message = str(caught.value)
    assert "missing: 2.bias" in message and "unexpected: extra" in message
    assert "shape of 0.weight: the file has (5, 3), the model (4, 3)" in message
    for name, array in model.state_dict().items():
        np.testing.assert_array_equal(array, before[name])


def test_non_strict_loading_takes_what_fits() -> None:
    model = nn.MLP(3, [4, 2], rng=0)
    partial = {"0.bias": np.ones(4, dtype=np.float32)}
    model.load_state_dict(partial, strict=False)
    assert model.layers[0].bias.data.tolist() == [1.0] * 4


def test_save_and_nn_load_rebuild_the_model(tmp_path: Path) -> None:
    model = nn.Sequential(
        nn.Linear(3, 5, rng=0),
        nn.LeakyReLU(0.2),
        nn.Dropout(0.1),
        nn.Linear(5, 2, init="xavier", rng=1),
        nn.LogSoftmax(),
    )
    path = tmp_path / "model.npz"
    model.save(path, metadata={"dataset": "moons"})
    again = nn.load(path)
    assert repr(again) == repr(model)
    x = Tensor.randn(4, 3, rng=2)
    model.eval()
    again.eval()
    np.testing.assert_array_equal(model(x).data, again(x).data)
    assert nn.load_metadata(path) == {"dataset": "moons"}
    mlp = nn.MLP(4, [8, 3], activation="tanh", dropout=0.2, rng=0)
    mlp.save(path)
    assert nn.load(path).config() == mlp.config()


def test_load_into_an_existing_model_and_scalar_models(tmp_path: Path) -> None:
    path = tmp_path / "scalar.npz"
    source = nn.scalar.MLP(2, [3, 1], rng=0)
    source.save(path)
    target = nn.scalar.MLP(2, [3, 1], rng=5)
    target.load(path)
    assert [p.data for p in target.parameters()] == [p.data for p in source.parameters()]
    rebuilt = nn.load(path)
    assert isinstance(rebuilt, nn.scalar.MLP)
    assert rebuilt([0.5, -0.5]).data == pytest.approx(source([0.5, -0.5]).data)


def test_a_users_own_module_saves_weights_only(tmp_path: Path) -> None:
    class Mine(nn.Module):
        def __init__(self) -> None:
            self.layer = nn.Linear(2, 2, rng=0)

    path = tmp_path / "mine.npz"
    Mine().save(path)
    Mine().load(path)
    with pytest.raises(nn.ModelFileError, match="holds weights only"):
        nn.load(path)


def test_a_corrupt_file_is_refused_and_the_model_is_untouched(tmp_path: Path) -> None:
    model = nn.MLP(3, [4, 2], rng=0)
    path = tmp_path / "model.npz"
    model.save(path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # flip a byte in the middle
    broken = tmp_path / "broken.npz"
    broken.write_bytes(bytes(data))
    before = model.state_dict()
    with pytest.raises(nn.ModelFileError, match=r"broken.npz: entry .* (corrupt|not a readable)"):
        model.load(broken)
    for name, array in model.state_dict().items():
        np.testing.assert_array_equal(array, before[name])
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(path.read_bytes()[:100])
    with pytest.raises(nn.ModelFileError):
        nn.load(truncated)
    (tmp_path / "plain.npz").write_bytes(b"not a zip at all")
    with pytest.raises(nn.ModelFileError):
        nn.load(tmp_path / "plain.npz")


def test_a_file_that_is_not_ours_or_holds_pickles_is_refused(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, weights=np.zeros(3))
    with pytest.raises(nn.ModelFileError, match="has no tracegrad header"):
        nn.load(foreign)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, __tracegrad__=np.array([{"evil": 1}], dtype=object))
    with pytest.raises(nn.ModelFileError, match="holds Python objects, which are never unpickled"):
        nn.load(pickled)


def test_saving_is_atomic_a_failed_save_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "model.npz"
    nn.MLP(3, [4, 2], rng=0).save(path)
    original = path.read_bytes()

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("os.fsync", fail)
    with pytest.raises(OSError, match="disk full"):
        nn.MLP(3, [4, 2], rng=1).save(path)
    assert path.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]
    assert zipfile.is_zipfile(path)


def test_saved_files_name_layers_by_type_and_files_with_module_paths_still_load(
    tmp_path: Path,
) -> None:
    from nn.modelfile import write_model_file
    from nn.module import FORMAT, FORMAT_VERSION, LEGACY_TYPE_NAMES, read_model_file

    tensor_model = nn.MLP(3, [4, 2], activation="tanh", rng=0)
    scalar_model = nn.scalar.MLP(2, [3, 1], rng=0)
    for model, name in ((tensor_model, "MLP"), (scalar_model, "scalar.MLP")):
        model.save(tmp_path / "new.npz")
        header, _ = read_model_file(tmp_path / "new.npz")
        assert header["architecture"]["type"] == name  # no module path to break
        # The same model as a file written before type names were stable:
        legacy = {v: k for k, v in LEGACY_TYPE_NAMES.items()}[name]
        old_header = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "architecture": {"type": legacy, "config": model.config()},
            "metadata": {},
        }
        write_model_file(tmp_path / "old.npz", old_header, model.state_dict())
        loaded = nn.load(tmp_path / "old.npz")
        assert type(loaded) is type(model)
        assert repr(loaded) == repr(model)
        for mine, theirs in zip(loaded.parameters(), model.parameters(), strict=True):
            np.testing.assert_array_equal(np.asarray(mine.data), np.asarray(theirs.data))
    # The old names of layers inside a Sequential resolve too.
    linear = {"in_features": 2, "out_features": 3, "bias": True, "init": "kaiming"}
    spec = {"type": "nn.layers.Sequential", "config": {"layers": [
        {"type": "nn.layers.Linear", "config": linear},  # no dtype: float32, as then
        {"type": "nn.layers.ReLU", "config": {}},
    ]}}  # fmt: skip
    rebuilt = nn.module.build(spec)
    assert [type(layer) for layer in rebuilt.layers] == [nn.Linear, nn.ReLU]


def test_every_library_module_has_a_type_name_of_its_own() -> None:
    from nn.module import LEGACY_TYPE_NAMES, REGISTRY

    assert REGISTRY["Linear"] is nn.Linear and REGISTRY["scalar.MLP"] is nn.scalar.MLP
    assert all(kind.type_name == name for name, kind in REGISTRY.items())
    assert set(LEGACY_TYPE_NAMES.values()) <= set(REGISTRY)
    assert Pair.type_name == ""  # a user's module: weights only


# -- found by mutation testing: each case below once let a wrong line pass -----------------


@pytest.fixture
def registry() -> Iterator[dict[str, type]]:
    """The registry of library module types, restored after a test that defines some."""
    from nn.module import REGISTRY

    saved = dict(REGISTRY)
    yield REGISTRY
    REGISTRY.clear()
    REGISTRY.update(saved)


def test_a_class_outside_the_library_is_not_registered(registry: dict[str, type]) -> None:
    mine = type("Mine", (nn.Module,), {"__module__": "app"})  # "app" sorts before "nn"
    assert mine.type_name == "" and "Mine" not in registry


def test_two_library_modules_of_one_name_fail_and_a_reload_does_not(
    registry: dict[str, type],
) -> None:
    for elsewhere in ("nn.aaa", "nn.zzz"):  # sorting before and after nn.layers
        with pytest.raises(TypeError, match="two of the library's modules are named 'Linear'"):
            type("Linear", (nn.Module,), {"__module__": elsewhere})
    assert registry["Linear"] is nn.Linear
    reloaded = type("Linear", (nn.Module,), {"__module__": "nn.layers"})  # importlib.reload
    assert registry["Linear"] is reloaded


def test_a_library_module_that_cannot_rebuild_itself_has_no_architecture(
    registry: dict[str, type],
) -> None:
    bare = type("Bare", (nn.Module,), {"__module__": "nn.testonly"})
    assert bare.type_name == "Bare" and bare().architecture() is None


def test_a_new_module_trains_and_zero_grad_reaches_every_parameter() -> None:
    model = nn.MLP(2, [3, 1], rng=0)
    assert model.training and nn.Linear(2, 3).training
    for p in model.parameters():
        p.grad = np.ones_like(p.data)
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_repr_names_a_shared_module_once_and_goes_on() -> None:
    inner = nn.Sequential(nn.Linear(2, 3), nn.Tanh())
    assert repr(nn.Sequential(inner, inner, nn.ReLU())) == (
        "Sequential(\n"
        "  (0): Sequential(\n"
        "    (0): Linear(2, 3, bias=True)\n"
        "    (1): Tanh()\n"
        "  )\n"
        "  (1): <Sequential, shown above>\n"
        "  (2): ReLU()\n"
        ")"
    )


def test_a_shared_module_does_not_hide_the_modules_after_it() -> None:
    shared, last = nn.Linear(2, 2), nn.Linear(2, 3)
    model = nn.Sequential(shared, shared, last)
    assert [name for name, _ in model.named_parameters()] == [
        "0.weight", "0.bias", "2.weight", "2.bias"
    ]  # fmt: skip


def test_parameters_are_found_up_to_32_containers_deep_and_refused_below() -> None:
    for wrap in (lambda inner: [inner], lambda inner: {"k": inner}):  # dicts count too
        found, lost = Pair(), Pair()
        found.deep = Tensor(np.ones(1), requires_grad=True)
        lost.deep = Tensor(np.ones(1), requires_grad=True)
        for _ in range(32):
            found.deep, lost.deep = wrap(found.deep), wrap(lost.deep)
        suffix = ".0" * 32 if isinstance(found.deep, list) else ".k" * 32
        assert "deep" + suffix in dict(found.named_parameters())
        with pytest.raises(TypeError, match="nested more than 32 containers deep"):
            lost.deep = wrap(lost.deep)  # 33 deep: not a model's structure, not searched
        assert "deep" + suffix in dict(lost.named_parameters())


def test_byte_counts_of_architectures_and_the_load_limit(tmp_path: Path) -> None:
    from nn.modelfile import MODULE_BYTES, TENSOR_BYTES
    from nn.module import architecture_bytes

    objects = MODULE_BYTES + 2 * TENSOR_BYTES
    assert architecture_bytes(nn.Linear(3, 4).architecture()) == objects + (3 * 4 + 4) * 4
    wide = nn.Linear(3, 4, dtype=np.float64).architecture()
    assert architecture_bytes(wide) == objects + (3 * 4 + 4) * 8  # the dtype the file names
    assert architecture_bytes(nn.Sequential(nn.ReLU()).architecture()) == 2 * MODULE_BYTES
    assert nn.Module.parameter_count({}) == 0
    path = tmp_path / "model.tgm"
    nn.Linear(3, 4).save(path)
    with nn.modelfile.ModelFile(path) as file:
        enough = file.overhead_bytes + architecture_bytes(nn.Linear(3, 4).architecture())
        enough += file.entries["weight"].nbytes  # the largest array, while it is read
    assert isinstance(nn.load(path, max_bytes=enough), nn.Linear)  # exactly enough
    with pytest.raises(nn.ModelFileError, match=f"more than the {enough - 1} allowed"):
        nn.load(path, max_bytes=enough - 1)


def test_malformed_architectures_are_named() -> None:
    from nn.module import build

    with pytest.raises(nn.ModelFileError, match=r"architecture.config: expected an object"):
        build({"type": "Linear", "config": [3, 4]})
    with pytest.raises(nn.ModelFileError, match=r"architecture.config.1: a key that is not a"):
        build({"type": "Linear", "config": {1: 3}})
    long_name = "X" * 100
    with pytest.raises(nn.ModelFileError) as caught:
        build({"type": long_name, "config": {}})
    assert "unknown module type '" + "X" * 76 + "... (a file may name" in str(caught.value)
    for name, shown in [
        ("Y" * 78, repr("Y" * 78)),  # repr adds quotes: 80 characters, shown whole
        ("Y" * 79, "'" + "Y" * 76 + "..."),  # 81: cut to 77 and "..."
        ("Nope", "'Nope'"),
        ("TensorModule", "'TensorModule'"),  # a library class, but abstract: no forward
    ]:
        with pytest.raises(nn.ModelFileError) as caught:
            build({"type": name, "config": {}})
        assert f"unknown module type {shown} (a file may name" in str(caught.value)


def test_state_dicts_that_do_not_fit_are_named() -> None:
    model = nn.MLP(3, [4, 2], rng=0)
    state = model.state_dict()
    for name, bad, problem in [
        ("0.weight", np.zeros((3, 3), np.float32), "shape of 0.weight: the file has (3, 3)"),
        ("0.weight", np.zeros((4, 3), np.complex64), "0.weight holds complex64 values"),
        ("0.weight", np.zeros((4, 3), bool), "0.weight holds bool values"),
        ("0.weight", np.zeros((4, 3), "<U1"), "0.weight holds <U1 values"),
    ]:
        with pytest.raises(nn.ModelFileError, match=re.escape(problem)):
            model.load_state_dict({**state, name: bad})
    partial = {"2.bias": np.full(2, 7.0, np.float32)}  # 0.weight missing, not strict
    model.load_state_dict(partial, strict=False)
    assert model.layers[2].bias.data.tolist() == [7.0, 7.0]
    with pytest.raises(nn.ModelFileError, match=re.escape("shape of 2.bias: the file has (3,)")):
        model.load_state_dict({"2.bias": np.zeros(3, np.float32)}, strict=False)


def test_a_size_of_zero_and_a_positional_limit_are_refused(tmp_path: Path) -> None:
    from nn.module import architecture_bytes

    config = {"in_features": 0, "out_features": 2, "bias": True, "init": "kaiming"}
    with pytest.raises(nn.ModelFileError, match=r"in_features: expected an integer in \[1, "):
        architecture_bytes({"type": "Linear", "config": config})  # asked before building
    path = tmp_path / "model.tgm"
    nn.Linear(3, 4).save(path)
    with pytest.raises(TypeError):
        nn.load(path, 64)  # type: ignore[misc]


# -- what a module's state is ----------------------------------------------------------

from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from autograd import no_grad  # noqa: E402

_NAMES = st.sampled_from(["w", "_w", "__w", "_w_", "weight", "_cache", "training_w", "W0"])
_NESTINGS = st.lists(st.sampled_from(["list", "tuple", "dict"]), max_size=3)


def _nest(value: Any, nesting: list[str]) -> tuple[Any, str]:
    """``value`` inside the given containers, and the dotted suffix that reaches it."""
    suffix = ""
    for kind in reversed(nesting):
        if kind == "list":
            value, suffix = [value], ".0" + suffix
        elif kind == "tuple":
            value, suffix = (value,), ".0" + suffix
        else:
            value, suffix = {"k": value}, ".k" + suffix
    return value, suffix


@given(name=_NAMES, nesting=_NESTINGS, scalar=st.booleans(), inner=st.booleans())
def test_a_leaf_that_requires_grad_is_a_parameter_whatever_its_name(
    name: str, nesting: list[str], scalar: bool, inner: bool
) -> None:
    """Under any attribute name, public or private, inside any containers, in the module
    or in a sub-module: it is listed, trained by an optimiser, and saved and loaded."""
    parameter: Any = Value(2.0) if scalar else Tensor(np.full(3, 2.0), requires_grad=True)
    owner, outer = nn.Module(), nn.Module()
    held, suffix = _nest(parameter, nesting)
    setattr(owner, name, held)
    if inner:
        outer._inner = owner  # type: ignore[attr-defined]
    model, prefix = (outer, "_inner.") if inner else (owner, "")
    assert dict(model.named_parameters()) == {f"{prefix}{name}{suffix}": parameter}
    parameter.grad = 1.0 if scalar else np.ones(3, np.float32)
    nn.optim.SGD(model.parameters(), lr=0.5).step()
    assert np.all(np.asarray(parameter.data) == 1.5)
    state = model.state_dict()
    with no_grad():
        parameter.data = 9.0 if scalar else np.full(3, 9.0, np.float32)
    model.load_state_dict(state)
    assert np.all(np.asarray(parameter.data) == 1.5)


def test_a_private_leaf_that_does_not_require_grad_is_the_modules_own() -> None:
    model = nn.Linear(2, 1, rng=0)
    model._last_input = Tensor(np.ones((5, 2)))  # type: ignore[attr-defined]
    model.frozen = Tensor(np.ones(1))  # type: ignore[attr-defined]  # public: state
    assert list(model.state_dict()) == ["weight", "bias", "frozen"]


class Buffers(Module):
    """Integer and boolean buffers beside a float64 parameter."""

    def __init__(self, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.weight = Tensor(rng.normal(size=(2, 3)), requires_grad=True, dtype=np.float64)
        self.steps = Tensor(rng.integers(0, 1000, size=()), dtype=np.int64)
        self.counts = Tensor(rng.integers(0, 255, size=4), dtype=np.uint8)
        self.mask = Tensor(rng.random((2, 3)) > 0.5, dtype=bool)


def test_integer_and_boolean_buffers_and_float64_round_trip(tmp_path: Path) -> None:
    saved, fresh = Buffers(0), Buffers(1)
    saved.save(tmp_path / "b.npz")
    fresh.load(tmp_path / "b.npz")
    for name, array in saved.state_dict().items():
        mine = fresh.state_dict()[name]
        assert mine.dtype == array.dtype, name
        np.testing.assert_array_equal(mine, array, err_msg=name)
    fresh.load_state_dict(Buffers(2).state_dict())
    assert fresh.steps.dtype == np.int64 and fresh.mask.dtype == bool


def test_buffers_take_only_what_fits_their_dtype() -> None:
    model = Buffers()
    state = model.state_dict()
    for name, bad in [
        ("steps", np.array(1.5)),  # a float into an integer buffer
        ("counts", np.full(4, 300, np.int64)),  # int64 does not always fit uint8
        ("counts", np.full(4, -1, np.int8)),
        ("mask", np.ones((2, 3), np.uint8)),  # numbers into a boolean buffer
        ("weight", np.ones((2, 3), bool)),
    ]:
        with pytest.raises(nn.ModelFileError, match=f"{name} holds {bad.dtype} values"):
            model.load_state_dict({**state, name: bad})
    model.load_state_dict({**state, "counts": np.full(4, 7, np.uint8)})
    model.load_state_dict({**state, "steps": np.array(5, np.int32)})  # widened
    assert model.steps.dtype == np.int64 and int(model.steps.data) == 5


_MAGNITUDES = st.sampled_from([0.0, 1.0, 6e4, 7e4, 1e6, 3e38, 4e38, 1e300, np.inf, np.nan])


@given(
    wanted=st.sampled_from([np.float16, np.float32, np.float64]),
    given_dtype=st.sampled_from([np.float16, np.float32, np.float64, np.int64, np.uint64]),
    magnitudes=st.lists(_MAGNITUDES, min_size=3, max_size=3),
    sign=st.sampled_from([1.0, -1.0]),
)
def test_a_value_beyond_a_float_parameters_range_is_refused_never_infinite(
    wanted: Any, given_dtype: Any, magnitudes: list[float], sign: float
) -> None:
    """Whatever the state's dtype and values: each is rounded into the parameter's dtype,
    or, if a finite one would become infinite, the load is refused, naming the entry and
    both dtypes, and nothing changes. Infinities and NaN given stay as given."""
    values = sign * np.array(magnitudes)
    if np.dtype(given_dtype).kind in "iu":  # integers: the finite magnitudes, in range
        values = np.abs(values[np.isfinite(values)]) % 1e18
    with np.errstate(over="ignore"):  # a float16 of 7e4 is infinite: given so
        given = values.astype(given_dtype)
        rounded = given.astype(wanted)
    model = nn.Module()
    model.w = Tensor(np.zeros(given.shape), requires_grad=True, dtype=wanted)  # type: ignore[attr-defined]
    if np.any(np.isinf(rounded) & np.isfinite(given)):
        name = np.dtype(given_dtype).name
        with pytest.raises(
            nn.ModelFileError,
            match=rf"^load_state_dict: the state does not fit the model: w holds {name} "
            rf"values .*{np.dtype(wanted).name}'s largest",
        ):
            model.load_state_dict({"w": given})
        assert not np.any(model.w.data)  # type: ignore[attr-defined]
        return
    model.load_state_dict({"w": given})
    np.testing.assert_array_equal(model.w.data, rounded)  # type: ignore[attr-defined]


def test_load_state_dict_refuses_an_overflow_to_infinity() -> None:
    model = nn.Linear(3, 2, rng=0, dtype="float16")
    before = model.state_dict()
    with pytest.raises(nn.ModelFileError) as caught:
        model.load_state_dict({"weight": np.full((2, 3), 1e6), "bias": np.array([1.0, 7e4])})
    assert str(caught.value) == (
        "load_state_dict: the state does not fit the model: weight holds float64 values up "
        "to 1e+06 in size, beyond float16's largest, 65504 (6 values would become "
        "infinite); bias holds float64 values up to 70000 in size, beyond float16's "
        "largest, 65504 (1 value would become infinite)"
    )
    assert all(np.array_equal(before[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_a_model_loads_in_the_dtype_it_was_saved_in(tmp_path: Path, dtype: Any) -> None:
    for model in [
        nn.MLP(3, [4, 2], rng=0, dtype=dtype),
        nn.Sequential(nn.Linear(3, 2, rng=0, dtype=dtype), nn.Tanh()),
        nn.Linear(3, 2, rng=0, dtype=dtype),
    ]:
        model.save(tmp_path / "m.npz")
        loaded = nn.load(tmp_path / "m.npz")
        for (name, p), (_, q) in zip(
            loaded.named_parameters(), model.named_parameters(), strict=True
        ):
            assert p.data.dtype == dtype, name
            np.testing.assert_array_equal(p.data, q.data)
        x = np.ones((2, 3), dtype)
        assert loaded(x).dtype == dtype
        np.testing.assert_array_equal(loaded(x).data, model(x).data)


def test_a_model_whose_layers_differ_in_dtype_saves_weights_only(tmp_path: Path) -> None:
    model = nn.MLP(3, [4, 2], rng=0)
    model[2].weight.data = model[2].weight.data.astype(np.float64)  # type: ignore[union-attr]
    model[2].bias.data = model[2].bias.data.astype(np.float64)  # type: ignore[union-attr]
    assert model.architecture() is None
    model.save(tmp_path / "m.npz")
    with pytest.raises(nn.ModelFileError, match="holds weights only"):
        nn.load(tmp_path / "m.npz")


# -- tied weights ------------------------------------------------------------------------


def _tied_models() -> list[tuple[Module, dict[str, str]]]:
    weights = nn.Sequential(nn.Linear(3, 3, rng=0), nn.Tanh(), nn.Linear(3, 3, rng=1))
    weights[2].weight = weights[0].weight  # type: ignore[union-attr]
    layer = nn.Linear(3, 3, rng=2)
    modules = nn.Sequential(layer, nn.ReLU(), layer, nn.ReLU())
    scalar = nn.scalar.MLP(2, [2, 2, 1], rng=0)
    scalar.layers[1].neurons[0].b = scalar.layers[0].neurons[1].b
    scalar.layers[1].neurons[1].w[0] = scalar.layers[0].neurons[0].w[0]
    return [
        (weights, {"2.weight": "0.weight"}),
        (modules, {"2": "0"}),
        (
            scalar,
            {
                "layers.1.neurons.0.b": "layers.0.neurons.1.b",
                "layers.1.neurons.1.w.0": "layers.0.neurons.0.w.0",
            },
        ),
    ]


@pytest.mark.parametrize("case", range(3))
def test_tied_weights_are_saved_once_and_load_back_tied(tmp_path: Path, case: int) -> None:
    model, ties = _tied_models()[case]
    assert model.tied() == ties
    path = tmp_path / "tied.npz"
    model.save(path)
    _, arrays = nn.module.read_model_file(path)
    assert not set(ties) & set(arrays)  # each shared array once, under its first name
    loaded = nn.load(path)
    assert loaded.tied() == ties
    places = dict(loaded.named_parameters())
    for alias, first in ties.items():
        assert _member(loaded, alias) is _member(loaded, first)
    assert list(places) == list(dict(model.named_parameters()))
    fresh = _tied_models()[case][0]
    fresh.load(path)  # into a model tied the same way
    untied = type(loaded).from_config(loaded.config())
    with pytest.raises(nn.ModelFileError, match=r"tied to .* in the file, not tied in the model"):
        untied.load(path)


def _member(model: Module, dotted: str) -> Any:
    value: Any = model
    for key in dotted.split("."):
        value = value[int(key)] if isinstance(value, (list, tuple)) else getattr(value, key)
    return value


def test_a_tied_model_trains_as_one_parameter_after_loading(tmp_path: Path) -> None:
    model, _ = _tied_models()[0]
    model.save(tmp_path / "t.npz")
    loaded = nn.load(tmp_path / "t.npz")
    nn.mse_loss(loaded(np.ones((2, 3), np.float32)), np.zeros((2, 3))).backward()
    nn.optim.SGD(loaded.parameters(), lr=0.1).step()
    assert loaded[0].weight is loaded[2].weight  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("ties", "message"),
    [
        ({"2.weight": "0.bias"}, r"tied: '2.weight' cannot be tied to '0.bias'"),
        ({"2.weight": "9.weight"}, "tied: the model has no member '9.weight'"),
        ({"1": "0"}, r"tied: '1' cannot be tied to '0'"),  # a Tanh for a Linear
        ({"0.weight": "0.weight"}, "cannot be tied"),
    ],
)
def test_a_tie_that_cannot_hold_is_refused(tmp_path: Path, ties: Any, message: str) -> None:
    from nn.modelfile import write_model_file

    model = nn.Sequential(nn.Linear(3, 3, rng=0), nn.Tanh(), nn.Linear(3, 3, rng=1))
    header = {
        "format": "tracegrad-model",
        "version": 1,
        "architecture": model.architecture(),
        "metadata": {},
        "tied": ties,
    }
    write_model_file(tmp_path / "t.npz", header, model.state_dict())
    with pytest.raises(nn.ModelFileError, match=message):
        nn.load(tmp_path / "t.npz")


def test_two_members_under_one_dotted_name_are_an_error(tmp_path: Path) -> None:
    model = nn.Module()
    model.table = {1: Tensor(np.ones(1), requires_grad=True), "1": Value(2.0)}  # type: ignore[attr-defined]
    for use in (model.state_dict, model.parameters, lambda: model.save(tmp_path / "m.npz")):
        with pytest.raises(ValueError, match=r"two members have the dotted name 'table.1'"):
            use()
    dotted = nn.Module()
    dotted.a = {"b.c": Value(1.0), "b": {"c": Value(2.0)}}  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match=r"'a.b.c'"):
        dotted.state_dict()


# -- a parameter is never replaced by a value --------------------------------------------


def _replacements(old: Any) -> dict[str, Any]:
    """Values that are not parameters, of each kind a user might assign."""
    is_value = isinstance(old, Value)
    with no_grad():
        under_no_grad = old - 0.1 * (1.0 if is_value else old)
    return {
        "the result of an op": old * 2,
        "an update under no_grad": under_no_grad,
        "a leaf that does not require grad": (
            Value(1.0, requires_grad=False) if is_value else Tensor(np.asarray(old.data))
        ),
        "a numpy array": np.asarray(old.data) * 2,
        "a float": 1.5,
        "an int": 3,
        "a numpy number": np.float32(1.5),
        "a string": "weight",
    }


def _holders() -> list[tuple[Module, str]]:
    user = nn.Module()
    user._scale = Tensor(np.ones(2), requires_grad=True)  # type: ignore[attr-defined]
    return [
        (nn.Linear(3, 2, rng=0), "weight"),
        (nn.Linear(3, 2, rng=0), "bias"),
        (nn.scalar.Neuron(2, rng=0), "b"),
        (user, "_scale"),
    ]


@given(holder=st.integers(0, 3), kind=st.integers(0, 7))
def test_a_parameter_is_never_replaced_by_a_value(holder: int, kind: int) -> None:
    """Whatever the module, the parameter and what is assigned over it: a TypeError that
    names the module and the attribute and says what to do; the parameter stays."""
    module, name = _holders()[holder]
    old = getattr(module, name)
    what, value = list(_replacements(old).items())[kind]
    before = module.state_dict()
    with pytest.raises(TypeError) as caught:
        setattr(module, name, value)
    message = str(caught.value)
    assert f"{type(module).__name__}.{name} is a parameter" in message, what
    assert "with no_grad()" in message and "a new leaf that requires grad" in message
    kind = type(old).__name__
    described = {  # what each assigned value is called, worked out by hand
        "the result of an op": f"a {kind} computed by an op (mul_constant), not a leaf",
        "an update under no_grad": f"a {kind} that does not require grad",
        "a leaf that does not require grad": f"a {kind} that does not require grad",
    }.get(what)
    if described is None:  # a value that is no node: described as every message does
        described = nn.checks.describe(value)
    assert f"; assigning {described} to it would replace it" in message
    if isinstance(old, Value):
        assert f"module.{name}.data = number`" in message and "(Value(number))" in message
    else:
        assert f"module.{name}.data[...] = new_values`" in message
        assert "(Tensor(array, requires_grad=True))" in message
    assert getattr(module, name) is old and old.requires_grad and old.is_leaf
    assert list(module.state_dict()) == list(before)


def test_a_parameter_may_be_written_into_or_replaced_by_a_parameter_or_none() -> None:
    model = nn.Linear(3, 2, rng=0)
    weight = model.weight
    with no_grad():
        model.weight.data[...] = 0.5
    model.weight.data = np.full((2, 3), 0.25, np.float32)
    assert model.weight is weight and np.all(model.weight.data == 0.25)
    model.weight = Tensor(np.ones((2, 3)), requires_grad=True)  # a new parameter
    assert model.weight is not weight and "weight" in model.state_dict()
    model.bias = None  # removed, as PyTorch allows
    assert list(model.state_dict()) == ["weight"]
    model.bias = Tensor(np.zeros(2), requires_grad=True)  # and back
    neuron = nn.scalar.Neuron(2, rng=0)
    neuron.b.data = 3.0
    neuron.w = [Value(1.0), Value(2.0)]  # a new structure of parameters
    assert [name for name, _ in neuron.named_parameters()] == ["w.0", "w.1", "b"]
    frozen = nn.Linear(3, 2, rng=0)
    frozen.weight.requires_grad = False  # frozen: a buffer now, and any tensor may replace it
    frozen.weight = Tensor(np.zeros((2, 3)))


# -- what an assignment may drop or hide: one rule ---------------------------------------


def _state_kinds() -> dict[str, tuple[Any, int, int]]:
    """What an attribute may hold: (value, its standing under a public name, under a
    private one). 2: a parameter or a module (or a container of one); 1: a leaf that
    does not require grad, which is state under a public name; 0: no state."""

    def p(*shape: int) -> Tensor:
        return Tensor(np.ones(shape), requires_grad=True)

    return {
        "a parameter": (p(2), 2, 2),
        "a Value parameter": (Value(1.0), 2, 2),
        "a frozen parameter": (Tensor(np.ones(2)), 1, 0),
        "an integer buffer": (Tensor(np.arange(3), dtype=np.int64), 1, 0),
        "a boolean buffer": (Tensor(np.ones(2) > 0, dtype=bool), 1, 0),
        "a module": (nn.Linear(2, 2, rng=0), 2, 2),
        "a module without parameters": (nn.ReLU(), 2, 2),
        "a list of parameters": ([p(2), p(3)], 2, 2),
        "a dict of modules": ({"a": nn.Linear(2, 2, rng=0)}, 2, 2),
        "a tuple of buffers": ((Tensor(np.arange(2)),), 1, 0),
        "a list holding a module among numbers": ([1.0, nn.ReLU()], 2, 2),
        "a Tensor computed by an op": (p(2) * 2, 0, 0),
        "an array": (np.ones(2), 0, 0),
        "a number": (1.5, 0, 0),
        "a string": ("weight", 0, 0),
        "a list of numbers": ([[0.0] * 3] * 2, 0, 0),
        "an empty dict": ({}, 0, 0),
    }


def _hidden_kinds() -> dict[str, Any]:
    """Containers the search for state does not enter, each holding a new module or
    parameter: refused whatever they replace."""
    import collections
    import types

    return {
        "a set of parameters": {Tensor(np.ones(2), requires_grad=True)},
        "a frozenset holding a module": frozenset([nn.Linear(2, 2, rng=0)]),
        "a deque of parameters": collections.deque([Tensor(np.ones(2), requires_grad=True)]),
        "a SimpleNamespace holding a module": types.SimpleNamespace(layer=nn.ReLU()),
        "an object array of parameters": np.array([Value(1.0), None], dtype=object),
        "a list holding a set": [{Value(2.0)}],
    }


_OLD = st.sampled_from(sorted(_state_kinds()))
_NEW = st.sampled_from(sorted(_state_kinds()) + sorted(_hidden_kinds()) + ["None"])


@given(old=_OLD, new=_NEW, private=st.booleans(), inner=st.booleans())
def test_state_is_replaced_only_by_state_of_its_standing_and_never_hidden(
    old: str, new: str, private: bool, inner: bool
) -> None:
    """Whatever an attribute holds and whatever is assigned over it, in the model or in
    a sub-module: the assignment is refused, with a TypeError that names the class and
    the attribute and leaves everything as it was, exactly when it would drop state
    (what replaces it holds less: a parameter, a module or a container of one by anything
    but a parameter, a module or a container of one; a buffer by anything but a leaf; a
    parameter by what holds no parameter, as ``ReLU()`` for a weight)
    or hide it (a new parameter or module where the search does not look). Otherwise
    every parameter it holds is found: trained and saved."""
    kinds, hidden = _state_kinds(), _hidden_kinds()
    name = "_held" if private else "held"
    before, public_standing, private_standing = kinds[old]
    owner = nn.Module()
    setattr(owner, name, before)
    model = nn.Sequential(owner) if inner else owner
    keys = list(model.state_dict())
    if new == "None":
        value, refused = None, False
    elif new in hidden:
        value, refused = hidden[new], True
    else:
        value, new_public, new_private = kinds[new]
        standing = private_standing if private else public_standing
        refused = (new_private if private else new_public) < standing
        if nn.module._is_parameter(before):  # a parameter's replacement holds a parameter
            members = [v for _, v, _, _ in nn.module._members(value, "", None, None)]
            trained = [v for v in members if nn.module._is_parameter(v)]
            trained += [q for v in members if isinstance(v, Module) for q in v.parameters()]
            refused = refused or not trained
    if refused:
        with pytest.raises(TypeError, match=rf"^Module\.{name}\b"):
            setattr(owner, name, value)
        assert getattr(owner, name) is before and list(model.state_dict()) == keys
        return
    setattr(owner, name, value)
    assert getattr(owner, name) is value
    found = {id(p) for p in model.parameters()}
    held = [v for _, v, _, _ in nn.module._members(value, "", None, None)]
    layers = [v for v in held if isinstance(v, Module)]
    parameters = [v for v in held if nn.module._is_parameter(v)]
    parameters += [q for layer in layers for q in layer.parameters()]
    assert all(id(q) in found for q in parameters)
    assert len(model.state_dict()) == len(model.parameters())


def test_frozen_parameters_buffers_and_parameters_are_not_replaced_by_values() -> None:
    lin = nn.Linear(3, 2, rng=0)
    lin.weight.requires_grad_(False)  # frozen: state
    with pytest.raises(TypeError, match=r"^Linear\.weight is state .* an array of shape"):
        lin.weight = np.zeros((2, 3), np.float32)
    lin = nn.Linear(3, 2, rng=0)
    with pytest.raises(TypeError, match=r"^Linear\.weight is a parameter; .*a list of 2 items"):
        lin.weight = [[0.0] * 3] * 2
    lin.steps = Tensor(np.array(5), dtype=np.int64)  # type: ignore[attr-defined]
    for value in (6, np.array(6), "6", [6]):
        with pytest.raises(TypeError, match=r"^Linear\.steps is state"):
            lin.steps = value  # type: ignore[attr-defined]
    lin.steps = Tensor(np.array(6), dtype=np.int64)  # type: ignore[attr-defined]  # a leaf
    assert list(lin.state_dict()) == ["weight", "bias", "steps"]
    model = nn.Sequential(nn.Linear(2, 2, rng=0), nn.ReLU())
    with pytest.raises(TypeError, match=r"^Sequential\.1 holds the module ReLU"):
        setattr(model, "1", np.tanh)  # PyTorch refuses a function over a layer too
    setattr(model, "1", nn.Sigmoid())  # a layer for a layer
    model.blocks = [nn.Linear(2, 2, rng=0)]  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match=r"holds a list of 1 item, part of the module's state"):
        model.blocks = []  # type: ignore[attr-defined]
    model.blocks = None  # type: ignore[attr-defined]  # removed, as said
    model.blocks = []  # type: ignore[attr-defined]


def test_modules_and_parameters_where_the_search_does_not_look_are_refused() -> None:
    import collections
    import dataclasses
    import types

    @dataclasses.dataclass
    class Settings:
        scale: Tensor

    def p() -> Tensor:
        return Tensor(np.ones(3), requires_grad=True)

    model = nn.Linear(3, 2, rng=0)
    for value, holder in [
        (types.SimpleNamespace(scale=p()), "a SimpleNamespace"),
        (Settings(p()), "a Settings"),
        ({p()}, "a set"),
        (collections.deque([nn.Linear(2, 2)]), "a deque"),
        (np.array([Value(1.0), Value(2.0)], dtype=object), "an array of objects"),
        ({"inner": [{p()}]}, "a set"),
    ]:
        with pytest.raises(TypeError, match=rf"^Linear\.extra\S*: {holder} holds .*neither "):
            model.extra = value  # type: ignore[attr-defined]
        assert not hasattr(model, "extra")
    with pytest.raises(TypeError, match=r"^Linear\.layers: a generator is no place"):
        model.layers = (nn.Linear(2, 2) for _ in range(3))  # type: ignore[attr-defined]
    # What the module's state holds anyway may be referred to from anywhere.
    model.optimizer = nn.optim.SGD(model.parameters(), lr=0.1)  # type: ignore[attr-defined]
    model.view = types.SimpleNamespace(w=model.weight, owner=model)  # type: ignore[attr-defined]
    assert list(model.state_dict()) == ["weight", "bias"]


# -- a tie read from a file, for every pair of members -----------------------------------


def _tie_model() -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(3, 3, rng=0),
        nn.Tanh(),
        nn.Linear(3, 3, rng=1),
        nn.Linear(3, 3, rng=2, dtype=np.float64),
        nn.Linear(3, 2, rng=3),
        *[nn.Tanh() for _ in range(5)],
        nn.Linear(3, 3, rng=4),  # "10": after "9", though "10" < "9" as text
    )


#: The members of ``_tie_model()`` in their order, each with the group of members that
#: may stand for it (worked out by hand: the three float32 3→3 layers, their weights,
#: their biases; the Tanhs; everything else is alone: a float64 layer, a 3→2 layer).
_TIE_GROUPS = {
    "0": "3→3 layer", "0.weight": "3×3 weight", "0.bias": "3 bias",
    "1": "tanh",
    "2": "3→3 layer", "2.weight": "3×3 weight", "2.bias": "3 bias",
    "3": "float64 layer", "3.weight": "float64 weight", "3.bias": "float64 bias",
    "4": "3→2 layer", "4.weight": "2×3 weight", "4.bias": "2 bias",
    "5": "tanh", "6": "tanh", "7": "tanh", "8": "tanh", "9": "tanh",
    "10": "3→3 layer", "10.weight": "3×3 weight", "10.bias": "3 bias",
}  # fmt: skip
_TIE_ORDER = list(_TIE_GROUPS)


@given(alias=st.sampled_from(_TIE_ORDER), name=st.sampled_from(_TIE_ORDER))
@example(alias="10", name="9").via("a tie the model names by order, not as text")
@example(alias="10.weight", name="2.weight").via("the same for a leaf")
@example(alias="3", name="0").via("a layer of the same type and another dtype")
@example(alias="3.weight", name="0.weight").via("a wider dtype for a narrower")
@example(alias="10.weight", name="3.weight").via("a narrower dtype for a wider")
@example(alias="2.bias", name="0.weight").via("a shape that is a prefix of the other")
@example(alias="2.weight", name="0").via("a leaf for a module")
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_tie_in_a_file_holds_exactly_between_members_of_one_kind(
    tmp_path: Path, alias: str, name: str
) -> None:
    """A file may tie a member to an earlier one of the same kind (a module of the same
    architecture, a leaf of the same shape and dtype); a tie of one to itself or between
    kinds cannot be made, and one to a later member is not how the model would name
    its own tie: each is a ModelFileError that says "tied"."""
    from nn.modelfile import write_model_file

    model = _tie_model()
    arrays = {
        key: array
        for key, array in model.state_dict().items()
        if key != alias and not key.startswith(alias + ".")
    }
    header = {"format": "tracegrad-model", "version": 1, "architecture": model.architecture(),
              "metadata": {}, "tied": {alias: name}}  # fmt: skip
    path = tmp_path / "t.npz"
    write_model_file(path, header, arrays)
    holds = _TIE_GROUPS[alias] == _TIE_GROUPS[name] and _TIE_ORDER.index(alias) > _TIE_ORDER.index(
        name
    )
    if holds:
        loaded = nn.load(path)
        assert _member(loaded, alias) is _member(loaded, name)
        assert loaded.tied() == {alias: name}
    else:
        with pytest.raises(nn.ModelFileError, match=rf"^load: {re.escape(str(path))}: tied: "):
            nn.load(path)


# -- loading: all or nothing into a model, the file named once in every refusal ----------


def _with_entry_damaged(path: Path, name: str) -> None:
    """``path`` with the checksum of entry ``name`` changed in the zip's directory: its
    .npy header reads, its data, once read to the end, fails the checksum."""
    data = bytearray(path.read_bytes())
    record = data.rfind(b"PK\x01\x02", 0, data.rfind(f"{name}.npy".encode()))
    crc = struct.unpack("<L", data[record + 16 : record + 20])[0]
    data[record + 16 : record + 20] = struct.pack("<L", crc ^ 1)
    path.write_bytes(bytes(data))


@given(damaged=st.sampled_from(["0.weight", "0.bias", "2.weight", "2.bias"]))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_model_that_fails_to_load_any_array_is_left_as_it_was(
    tmp_path: Path, damaged: str
) -> None:
    """model.load reads every array before it assigns any: whichever array of the file is
    damaged, the model keeps all its own values."""
    path = tmp_path / "m.npz"
    # weights of 64 KiB: a checksum is checked when the data is read to its end, which
    # reading a large array's .npy header does not do (a small entry is read whole)
    nn.Sequential(nn.Linear(64, 256, rng=0), nn.Tanh(), nn.Linear(256, 64, rng=0)).save(path)
    _with_entry_damaged(path, damaged)
    model = nn.Sequential(nn.Linear(64, 256, rng=1), nn.Tanh(), nn.Linear(256, 64, rng=1))
    before = {name: array.copy() for name, array in model.state_dict().items()}
    with pytest.raises(nn.ModelFileError, match=rf"entry '{re.escape(damaged)}'"):
        model.load(path)
    for name, array in model.state_dict().items():
        np.testing.assert_array_equal(array, before[name])


def test_nn_load_holds_one_array_at_a_time_beside_the_model(tmp_path: Path) -> None:
    """nn.load builds the model, then reads each array straight into it: two float32
    weights of 4 MB each take 8 MB in the model and at most one more 4 MB array while
    read, never both (12 MB and zipfile's buffers, well under 16 MB)."""
    import tracemalloc

    path = tmp_path / "big.npz"
    nn.Sequential(
        nn.Linear(1000, 1000, bias=False, rng=0), nn.Linear(1000, 1000, bias=False, rng=1)
    ).save(path)
    tracemalloc.start()
    try:
        model = nn.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert model[1].weight.data.shape == (1000, 1000)  # type: ignore[union-attr]
    assert 12_000_000 <= peak < 14_000_000


def test_every_refusal_of_nn_load_names_the_file_once(tmp_path: Path) -> None:
    """Whether the reader or the memory count refuses the file (a tie that cannot hold
    is named so too, in the test of ties above)."""
    path = tmp_path / "m.npz"
    nn.Linear(3, 2, rng=0).save(path)
    start = rf"^load: {re.escape(str(path))}: "
    for max_bytes, what in (
        (1_083_020, "its header"),
        (1_086_124, "its model"),
        (1_086_148, "its largest array"),
    ):
        with pytest.raises(nn.ModelFileError, match=start + what + " would take") as raised:
            nn.load(path, max_bytes=max_bytes)
        assert str(raised.value).count("load: ") == 1


class _AnotherError(Exception):
    """An exception no config check raises: a bug, which goes on up as it is."""


@given(
    raised=st.sampled_from(
        [TypeError, ValueError, KeyError, OverflowError, RecursionError, nn.ModelFileError,
         _AnotherError]
    )
)  # fmt: skip
def test_what_building_a_files_model_raises_is_named_as_its_configs_fault(
    raised: type[BaseException],
) -> None:
    """A module whose from_config refuses the config a file holds (the errors a config's
    values cause: of type, value, key, overflow, recursion) is a ModelFileError naming
    the module type; one it raises itself is kept as it is; anything else is not the
    file's fault and is not dressed as such."""
    spec = nn.Linear(3, 2, rng=0).architecture()

    def refuse(config: Any) -> Any:
        raise raised("inside")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(nn.Linear, "from_config", refuse)
        with pytest.raises(
            raised if raised in (nn.ModelFileError, _AnotherError) else nn.ModelFileError
        ) as caught:
            nn.module.build(spec)
    if raised in (nn.ModelFileError, _AnotherError):
        assert type(caught.value) is raised and str(caught.value) == "inside"
    else:
        assert str(caught.value) == f"the config of Linear is invalid ({raised('inside')})"


def test_a_model_without_arrays_is_counted_for_no_array_worked_by_hand(tmp_path: Path) -> None:
    """nn.Tanh().save writes its header alone; a load counts the reader's 1 MiB
    (1,048,576), a directory of one record (46 + 17 bytes of name = 63, so one entry at
    1 KiB: 1,087), a header of 235 bytes at 96 each (22,560) and one module (2,048), and
    no array: 1,074,271 is the least max_bytes that loads it."""
    path = tmp_path / "tanh.npz"
    nn.Tanh().save(path)
    with zipfile.ZipFile(path) as archive:
        assert [info.file_size for info in archive.infolist()] == [235]  # the sum's premise
    assert isinstance(nn.load(path, max_bytes=1_074_271), nn.Tanh)
    with pytest.raises(nn.ModelFileError, match="its model would take the load to 1074271 bytes"):
        nn.load(path, max_bytes=1_074_270)


class _Scaled(nn.Module):
    """A user's module: a layer, and a Python number its forward reads."""

    def __init__(self) -> None:
        self.layer = nn.Linear(3, 2, rng=0)
        self.scale = 2.0

    def forward(self, x: Tensor) -> Tensor:
        return self.layer(x) * self.scale


_CHANGES: dict[str, tuple[Callable[[_Scaled], Any], str | None]] = {  # what it refuses
    "nothing": (lambda m: None, None),
    "train() again": (lambda m: m.train(), None),
    "eval()": (lambda m: m.eval(), "_Scaled.training"),
    "its scale": (lambda m: setattr(m, "scale", 3.0), "_Scaled.scale"),
    "its layer replaced": (lambda m: setattr(m, "layer", nn.Linear(3, 2, rng=1)), "_Scaled.layer"),
    "the layer's eval()": (lambda m: m.layer.eval(), "Linear.training"),
}


@given(change=st.sampled_from(sorted(_CHANGES)))
def test_a_compiled_step_runs_only_while_what_it_read_of_the_modules_is_so(change: str) -> None:
    """Calling a module while a step is compiled makes the step depend on the module's
    mode and its attributes: a change of any is refused by name when the step runs; no
    change, or a mode set to what it was, runs it as before."""
    import autograd

    model = _Scaled()
    step = autograd.compile(lambda x: model(x).sum())
    x = Tensor(np.ones((4, 3), np.float32))
    first = float(step(x).data)
    make, refused = _CHANGES[change]
    make(model)
    if refused is None:
        assert float(step(x).data) == first
    else:
        with pytest.raises(autograd.CompileError, match=rf"^compiled function: {refused} is no"):
            step(x)


@given(value=st.one_of(st.integers(-3, 3), st.booleans(), st.floats(-3, 3), st.text(max_size=2)))
def test_a_size_read_from_a_config_is_a_positive_int_and_nothing_else(value: Any) -> None:
    from nn.module import positive_size

    if type(value) is int and value >= 1:
        assert positive_size(value) == value
    else:
        with pytest.raises(ValueError, match=r"^a size must be a positive integer, got "):
            positive_size(value)


def test_a_modules_memory_by_default_is_one_object_and_four_bytes_a_parameter() -> None:
    """A module that counts its parameters and does not say what it takes: 2,048 bytes
    for the object, 4 a parameter (a float32 each)."""

    class Counted(nn.Module):
        @classmethod
        def parameter_count(cls, config: Any) -> int:
            return int(config["n"])

    assert Counted.memory_bytes({"n": 0}) == 2_048
    assert Counted.memory_bytes({"n": 10}) == 2_088
    assert Counted.memory_bytes({"n": 1_000_000}) == 4_002_048


#: A float32 parameter and arrays of each dtype: whether load_state_dict takes them (any
#: real numbers, rounded) and whether nn.load does (exactly what save writes), by hand.
_INTO_FLOAT32 = {
    "float16": (True, False), "float32": (True, True), "float64": (True, False),
    "int8": (True, False), "int32": (True, False), "int64": (True, False),
    "uint8": (True, False), "uint32": (True, False),
    "bool": (False, False), "complex64": (False, False), "longdouble": (False, False),
}  # fmt: skip


@given(dtype=st.sampled_from(sorted(_INTO_FLOAT32)))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_which_dtypes_load_into_a_float32_parameter(tmp_path: Path, dtype: str) -> None:
    model = nn.Linear(3, 2, rng=0)
    taken, taken_exactly = _INTO_FLOAT32[dtype]
    state = {name: np.ones_like(array, dtype=dtype) for name, array in model.state_dict().items()}
    if taken:
        model.load_state_dict(state)
        np.testing.assert_array_equal(model.weight.data, np.ones((2, 3), np.float32))
    else:
        with pytest.raises(nn.ModelFileError, match=f"weight holds {np.dtype(dtype)} values"):
            model.load_state_dict(state)
    if dtype in ("complex64", "longdouble"):
        return  # a file never holds one (its reader refuses it first)
    from nn.modelfile import write_model_file

    header = {"format": "tracegrad-model", "version": 1, "metadata": {},
              "architecture": model.architecture()}  # fmt: skip
    write_model_file(tmp_path / "m.npz", header, state)
    if taken_exactly:
        nn.load(tmp_path / "m.npz")
    else:
        with pytest.raises(nn.ModelFileError, match=f"weight holds {np.dtype(dtype)} values"):
            nn.load(tmp_path / "m.npz")


@given(nin=st.integers(1, 6), sizes=st.lists(st.integers(1, 6), min_size=1, max_size=4))
def test_an_mlps_parameters_are_counted_from_its_config_as_built(
    nin: int, sizes: list[int]
) -> None:
    """The count made from a config, before anything is built, is the count of what is
    built: for nn.MLP and the scalar MLP. By hand: MLP(2, [3, 1]) has 2·3 + 3 + 3·1 + 1 =
    13; MNIST's MLP(784, [128, 10]) has 100,352 + 128 + 1,280 + 10 = 101,770."""
    from nn.module import perceptron_parameter_count

    assert perceptron_parameter_count({"nin": 2, "sizes": [3, 1]}) == 13
    assert perceptron_parameter_count({"nin": 784, "sizes": [128, 10]}) == 101_770
    counted = perceptron_parameter_count({"nin": nin, "sizes": sizes})
    assert counted == nn.MLP(nin, sizes, rng=0).num_parameters()
    assert counted == nn.scalar.MLP(nin, sizes, rng=0).num_parameters()


def test_a_file_tied_in_more_ways_than_the_model_names_each_tie_it_lacks(tmp_path: Path) -> None:
    """Ties are compared name by name: one that agrees does not end the comparison."""

    def tied(*aliases: int) -> nn.Sequential:
        model = nn.Sequential(*[nn.Linear(3, 3, rng=i) for i in range(4)])
        for alias in aliases:
            model[alias].weight = model[0].weight  # type: ignore[union-attr]
        return model

    path = tmp_path / "t.npz"
    tied(1, 2, 3).save(path)
    with pytest.raises(nn.ModelFileError) as raised:
        tied(1).load(path)
    for alias in (2, 3):
        assert f"{alias}.weight is tied to 0.weight in the file, not tied in the model" in str(
            raised.value
        )
