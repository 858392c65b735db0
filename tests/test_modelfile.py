"""Model files as untrusted input: every bad file is a ModelFileError naming the problem,
no file makes the loader allocate much more than the model it describes, and saving never
loses a file (symbolic links, read-only files, a writer killed mid-write)."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import textwrap
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import nn
import nn.checkpoint
from nn.modelfile import FORMAT, FORMAT_VERSION, HEADER_NAME


def _header(architecture: Any, **extra: Any) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "architecture": architecture,
        "metadata": {},
        **extra,
    }


def _write(path: Path, header: Any, arrays: dict[str, np.ndarray] | None = None) -> Path:
    """A file laid out as ``save`` lays it out, with whatever header and arrays we like."""
    text = header if isinstance(header, str) else json.dumps(header)
    contents = {HEADER_NAME: np.frombuffer(text.encode(), dtype=np.uint8), **(arrays or {})}
    np.savez_compressed(path, **contents)  # type: ignore[arg-type]
    return path


def _linear_spec(nin: int = 3, nout: int = 2) -> dict[str, Any]:
    config = {"in_features": nin, "out_features": nout, "bias": True, "init": "kaiming"}
    return {"type": "nn.layers.Linear", "config": config}


def _linear_arrays(dtype: Any = np.float32) -> dict[str, np.ndarray]:
    return {"weight": np.ones((2, 3), dtype), "bias": np.zeros(2, dtype)}


def test_a_good_hand_written_file_loads(tmp_path: Path) -> None:
    model = nn.load(_write(tmp_path / "m.npz", _header(_linear_spec()), _linear_arrays()))
    np.testing.assert_array_equal(model.weight.data, np.ones((2, 3)))  # type: ignore[attr-defined]


def test_an_npy_renamed_to_npz(tmp_path: Path) -> None:
    path = tmp_path / "weights.npz"
    with path.open("wb") as file:
        np.save(file, np.zeros(3))
    with pytest.raises(nn.ModelFileError, match=r"weights.npz: it is not a zip archive"):
        nn.load(path)
    with pytest.raises(nn.ModelFileError, match="not a zip archive"):
        nn.MLP(3, [2]).load(path)


def test_a_header_nested_five_thousand_deep(tmp_path: Path) -> None:
    deep = '{"format": "tracegrad-model", "version": 1, "architecture": ' + "[" * 5000
    deep += "]" * 5000 + "}"
    with pytest.raises(nn.ModelFileError, match=r"nested too deeply|architecture is not"):
        nn.load(_write(tmp_path / "deep.npz", deep))


def test_an_architecture_nested_too_deep_to_build(tmp_path: Path) -> None:
    spec: dict[str, Any] = _linear_spec()
    for _ in range(250):
        spec = {"type": "nn.layers.Sequential", "config": {"layers": [spec]}}
    with pytest.raises(nn.ModelFileError, match=r"architecture.config.layers.0.* nested more"):
        nn.load(_write(tmp_path / "deep.npz", _header(spec), {}))


_LINEAR = {"in_features": 3, "out_features": 2, "bias": True, "init": "kaiming"}


@pytest.mark.parametrize(
    ("architecture", "message"),
    [
        ({"type": "nn.layers.Linear", "config": [3, 2]}, r"architecture.config: expected an obj"),
        (
            {"type": "nn.layers.Linear", "config": {**_LINEAR, "x": 1}},
            r"architecture.config.x: an unknown field",
        ),
        ({"type": "nn.layers.Sequential", "config": {}}, r"config.layers: missing \(a list"),
        (
            {"type": "nn.layers.Sequential", "config": {"layers": "abc"}},
            r"config.layers: expected a list of 0 to 10000 items, got 'abc'",
        ),
        ({"type": "os.system", "config": {}}, "unknown module type 'os.system'"),
        ({"type": ["nn.layers.Linear"], "config": {}}, "unknown module type"),
        ({"config": {}}, r"architecture.type: missing"),
        (
            {"type": "nn.layers.Linear", "config": {**_LINEAR, "in_features": "3"}},
            r"in_features: expected an integer in \[1, 2147483647\], got '3'",
        ),
        (
            {"type": "nn.layers.Linear", "config": {**_LINEAR, "in_features": -3}},
            r"in_features: expected an integer in \[1, 2147483647\], got -3",
        ),
        (
            {"type": "nn.layers.Linear", "config": {**_LINEAR, "in_features": True}},
            r"in_features: expected an integer .* got True",  # a bool is not a size
        ),
        ([1, 2], r"architecture: expected null or an object \{\"type\""),
        ({"type": "TensorModule", "config": {}}, "unknown module type 'TensorModule'"),
        (
            {"type": "Softmax", "config": {"axis": 1000}},
            r"axis: expected an integer in \[-64, 63\]",
        ),
        ({"type": "Dropout", "config": {"p": 1.0}}, r"p: expected a number in \[0.0, 1.0\)"),
        ({"type": "LeakyReLU", "config": {"negative_slope": "0.1"}}, "negative_slope: expected"),
        ({"type": "Linear", "config": {**_LINEAR, "dtype": "int8"}}, r"dtype: expected one of"),
    ],
)
def test_a_bad_architecture_is_named(tmp_path: Path, architecture: Any, message: str) -> None:
    path = _write(tmp_path / "bad.npz", _header(architecture), _linear_arrays())
    with pytest.raises(nn.ModelFileError, match=message):
        nn.load(path)


@pytest.mark.parametrize(
    ("weight", "message"),
    [
        (np.array([["a", "b", "c"], ["d", "e", "f"]]), "stored as <U1, not as real numbers"),
        (np.ones((2, 3), np.complex64), "stored as complex64, not as real numbers"),
        (np.ones((2, 3), np.int64), "weight holds int64 values; the model's are float32"),
        (np.ones((2, 3), bool), "weight holds bool values; the model's are float32"),
        (np.ones((2, 3), np.float64), "weight holds float64 values; the model's are float32"),
    ],
)
def test_weights_that_are_not_the_models_dtype_are_refused(
    tmp_path: Path, weight: np.ndarray, message: str
) -> None:
    arrays = {"weight": weight, "bias": np.zeros(2, np.float32)}
    path = _write(tmp_path / "bad.npz", _header(_linear_spec()), arrays)
    with pytest.raises(nn.ModelFileError, match=message):
        nn.load(path)
    model = nn.Linear(3, 2, rng=0)
    before = model.weight.data.copy()
    if weight.dtype.kind in "fiu":  # into a model of one's own: real numbers are rounded
        model.load(path)
        np.testing.assert_array_equal(model.weight.data, weight.astype(np.float32))
        assert model.weight.dtype == np.float32
        return
    with pytest.raises(nn.ModelFileError, match=message):
        model.load(path)
    np.testing.assert_array_equal(model.weight.data, before)


def test_weights_of_the_wrong_shape_or_name(tmp_path: Path) -> None:
    arrays = {"weight": np.ones((3, 2), np.float32), "bias": np.zeros(2, np.float32)}
    with pytest.raises(nn.ModelFileError, match=r"shape of weight: the file has \(3, 2\)"):
        nn.load(_write(tmp_path / "a.npz", _header(_linear_spec()), arrays))
    arrays = {"weight": np.ones((2, 3), np.float32), "biases": np.zeros(2, np.float32)}
    with pytest.raises(nn.ModelFileError, match="missing: bias; unexpected: biases"):
        nn.load(_write(tmp_path / "b.npz", _header(_linear_spec()), arrays))


def _bomb(path: Path, architecture: Any, name: str, megabytes: int) -> Path:
    """A small file holding a large compressed array of zeros, written in chunks."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        header = json.dumps(_header(architecture)).encode()
        with archive.open(f"{HEADER_NAME}.npy", "w") as member:
            np.lib.format.write_array(member, np.frombuffer(header, np.uint8))
        count = megabytes * (1 << 20) // 4
        with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
            np.lib.format.write_array_header_1_0(
                member, {"descr": "<f4", "fortran_order": False, "shape": (count,)}
            )
            chunk = bytes(1 << 24)
            for _ in range(megabytes // 16):
                member.write(chunk)
    return path


def _peak_while(action: Any) -> int:
    tracemalloc.start()
    try:
        action()
    except nn.ModelFileError:
        pass
    else:
        raise AssertionError("the file was not refused")
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


@pytest.mark.slow
def test_a_compressed_400_megabyte_array_is_refused_before_it_is_unpacked(tmp_path: Path) -> None:
    path = _bomb(tmp_path / "bomb.npz", _linear_spec(), "weight", 400)
    assert path.stat().st_size < 2 << 20
    assert _peak_while(lambda: nn.load(path)) < 8 << 20
    assert _peak_while(lambda: nn.Linear(3, 2).load(path)) < 8 << 20
    assert nn.load_metadata(path) == {}
    with pytest.raises(nn.ModelFileError, match="more than the 1048576 allowed"):
        nn.module.read_model_file(path, max_bytes=1 << 20)


def test_a_huge_model_is_refused_before_it_is_built(tmp_path: Path) -> None:
    spec = {
        "type": "nn.layers.MLP",
        "config": {"nin": 200_000, "sizes": [200_000, 2], "activation": "relu", "dropout": 0.0},
    }
    path = _write(tmp_path / "huge.npz", _header(spec), {})
    assert _peak_while(lambda: nn.load(path)) < 1 << 20
    with pytest.raises(nn.ModelFileError, match=r"its model would take the load to 1600\d{8} by"):
        nn.load(path)
    scalar = {
        "type": "nn.scalar.MLP",
        "config": {"nin": 3000, "sizes": [5000, 1], "activation": "relu"},
    }
    with pytest.raises(nn.ModelFileError, match="would take"):
        nn.load(_write(tmp_path / "scalar.npz", _header(scalar), {}))


def test_max_bytes_lets_a_caller_allow_less(tmp_path: Path) -> None:
    path = tmp_path / "m.npz"
    nn.MLP(20, [30, 2], rng=0).save(path)
    assert nn.load(path, max_bytes=2 << 20) is not None
    with pytest.raises(nn.ModelFileError, match="pass max_bytes= to load a larger model"):
        nn.load(path, max_bytes=1 << 20)


def test_an_entry_whose_size_disagrees_with_its_shape(tmp_path: Path) -> None:
    path = tmp_path / "lying.npz"
    with zipfile.ZipFile(path, "w") as archive:
        header = json.dumps(_header(_linear_spec())).encode()
        with archive.open(f"{HEADER_NAME}.npy", "w") as member:
            np.lib.format.write_array(member, np.frombuffer(header, np.uint8))
        with archive.open("weight.npy", "w") as member:
            np.lib.format.write_array_header_1_0(
                member, {"descr": "<f4", "fortran_order": False, "shape": (2, 3)}
            )
            member.write(bytes(4 * 6 + 1000))
        with archive.open("bias.npy", "w") as member:
            np.lib.format.write_array(member, np.zeros(2, np.float32))
    with pytest.raises(nn.ModelFileError, match=r"entry 'weight' says shape .* is corrupt"):
        nn.load(path)


def test_an_oversized_header_is_refused_unread(tmp_path: Path) -> None:
    header = _header(_linear_spec(), padding="x" * (2 << 20))
    with pytest.raises(nn.ModelFileError, match=r"header takes .* more than"):
        nn.load(_write(tmp_path / "big.npz", header, _linear_arrays()))


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("not json", "header is not valid JSON"),
        ("[]", "is not a tracegrad model file"),
        (json.dumps({"format": FORMAT, "version": 99}), "format version 99"),
        (json.dumps({**_header(None), "metadata": [1]}), "header's metadata: expected an object"),
        (json.dumps({"format": FORMAT}), "its header has no format version"),
        (json.dumps({**_header(None), "version": True}), "format version True"),
        (json.dumps({**_header(None), "version": 1.0}), "format version 1.0"),
        ('{"format": "tracegrad-model", "version": 2, "version": 1}', "appears twice"),
    ],
)
def test_a_bad_header_is_named(tmp_path: Path, header: str, message: str) -> None:
    with pytest.raises(nn.ModelFileError, match=message):
        nn.load(_write(tmp_path / "h.npz", header, _linear_arrays()))


@pytest.fixture(scope="module")
def good_file(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("good") / "model.npz"
    nn.MLP(4, [5, 3], rng=0).save(path)
    return path.read_bytes()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_damaged_file_is_refused_or_loads_never_anything_else(
    good_file: bytes, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    damaged = bytearray(good_file)
    if data.draw(st.booleans(), label="truncate"):
        damaged = damaged[: data.draw(st.integers(0, len(damaged) - 1), label="length")]
    else:
        for _ in range(data.draw(st.integers(1, 8), label="flips")):
            position = data.draw(st.integers(0, len(damaged) - 1), label="position")
            damaged[position] ^= data.draw(st.integers(1, 255), label="mask")
    path = tmp_path_factory.mktemp("damaged") / "model.npz"
    path.write_bytes(bytes(damaged))
    try:
        model = nn.load(path)
    except nn.ModelFileError:
        return
    assert model.num_parameters() == 4 * 5 + 5 + 5 * 3 + 3  # a flip the zip CRC cannot see


# -- saving ---------------------------------------------------------------------------------


def test_saving_through_a_symbolic_link_writes_its_target(tmp_path: Path) -> None:
    target = tmp_path / "real.npz"
    nn.Linear(3, 2, rng=0).save(target)
    link = tmp_path / "link.npz"
    link.symlink_to(target)
    model = nn.Linear(3, 2, rng=1)
    model.save(link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    np.testing.assert_array_equal(nn.load(target).weight.data, model.weight.data)  # type: ignore[attr-defined]


def test_saving_over_a_read_only_file_fails_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "locked.npz"
    nn.Linear(3, 2, rng=0).save(path)
    original = path.read_bytes()
    path.chmod(0o444)
    with pytest.raises(PermissionError, match=r"locked.npz is read-only"):
        nn.Linear(3, 2, rng=1).save(path)
    assert path.read_bytes() == original and (path.stat().st_mode & 0o777) == 0o444
    assert sorted(p.name for p in tmp_path.iterdir()) == ["locked.npz"]


def test_a_replaced_file_keeps_its_permissions(tmp_path: Path) -> None:
    path = tmp_path / "shared.npz"
    nn.Linear(3, 2, rng=0).save(path)
    path.chmod(0o660)
    nn.Linear(3, 2, rng=1).save(path)
    assert (path.stat().st_mode & 0o777) == 0o660


def test_a_writer_killed_mid_save_leaves_nothing_that_piles_up(tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        import tracegrad.files as atomic
        real_fsync = os.fsync
        def die(fd):
            os.kill(os.getpid(), signal.SIGKILL)
        os.fsync = die
        atomic.write_atomically({str(path)!r}, b"x" * 1000)
        """
    )
    for _ in range(3):
        process = subprocess.run([sys.executable, "-c", script], check=False)
        assert process.returncode == -signal.SIGKILL
    leftovers = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) == 1  # each writer removed the one killed before it
    nn.Linear(3, 2, rng=0).save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]


# -- every field of the header, mutated -------------------------------------------------

from nn.modelfile import CONFIGS, HEADER  # noqa: E402
from nn.schema import (  # noqa: E402
    Choice,
    Constant,
    Flag,
    Integer,
    ListOf,
    Nullable,
    Number,
    Object,
    Tagged,
    Text,
)


def _models() -> dict[str, tuple[nn.Module, dict[str, Any]]]:
    """Saved models that between them use every module type a file may name, and the
    metadata ``tracegrad train`` writes."""
    every_layer = nn.Sequential(
        nn.Flatten(1),
        nn.Linear(6, 5, rng=0, dtype=np.float64),
        nn.LeakyReLU(0.2),
        nn.Dropout(0.25),
        nn.Linear(5, 4, bias=False, init="xavier", rng=1, dtype=np.float64),
        nn.Tanh(),
        nn.Sigmoid(),
        nn.ReLU(),
        nn.Softmax(-1),
        nn.LogSoftmax(1),
    )
    tied = nn.Sequential(nn.Linear(3, 3, rng=0), nn.Tanh(), nn.Linear(3, 3, rng=1))
    tied[2].weight = tied[0].weight  # type: ignore[union-attr]
    recipe = {
        "dataset": "moons",
        "hidden": [4],
        "epochs": 3,
        "batch_size": 32,
        "lr": 0.01,
        "schedule": "none",
        "activation": "relu",
        "dropout": 0.0,
        "optimizer": "adam",
        "seed": 7,
        "samples": 200,
        "data_root": None,
        "threads": None,
    }
    trained = {
        "dataset": "moons",
        "seed": 7,
        "samples": 200,
        "task": "classification",
        "recipe": recipe,
        "seconds": 1.5,
        "mine": {"notes": ["any", 1, None]},
    }
    return {
        "mlp": (nn.MLP(2, [4, 2], dropout=0.1, rng=0), trained),
        "every layer": (every_layer, {"interrupted_after": 2}),
        "tied": (tied, {}),
        "scalar": (nn.scalar.MLP(2, [2, 1], activation="tanh", rng=0), {}),
        "neuron": (nn.scalar.Neuron(3, rng=0), {}),
        "layer": (nn.scalar.Layer(2, 2, rng=0), {}),
    }


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Each model, its header as saved, and its arrays."""
    folder = tmp_path_factory.mktemp("models")
    saved = {}
    for name, (model, metadata) in _models().items():
        path = folder / f"{name}.npz"
        model.save(path, metadata=metadata)
        _, arrays = nn.module.read_model_file(path)
        with np.load(path) as stored:
            raw = json.loads(stored[HEADER_NAME].tobytes().decode())
        saved[name] = (model, raw, arrays)
    return saved


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path of every value inside a JSON value, itself first."""
    found = [path]
    if isinstance(value, dict):
        for key, element in value.items():
            found += _paths(element, (*path, key))
    elif isinstance(value, list):
        for index, element in enumerate(value):
            found += _paths(element, (*path, index))
    return found


def _field_at(header: dict[str, Any], path: tuple[Any, ...]) -> Any:
    """The schema's field for the value at ``path`` of a valid header (None: any JSON)."""
    field: Any = HEADER
    value: Any = header
    for key in path:
        while isinstance(field, Nullable):
            field = field.inner
        if isinstance(field, Tagged):
            field = CONFIGS[value["type"]] if key == "config" else Text(1000)
        elif isinstance(field, Object):
            field = field.fields.get(key, field.extra)
        elif isinstance(field, ListOf):
            field = field.item
        else:
            return None
        value = value[key]
    while isinstance(field, Nullable):
        field = field.inner
    return field


_WRONG_TYPES = [None, True, False, 0, 1, -1, 2.5, "x", "", [], [1], {}, {"a": 1}]


def _out_of_range(field: Any) -> list[Any]:
    """Values of the right JSON type that ``field`` must refuse."""
    if isinstance(field, Integer):
        return [field.low - 1, field.high + 1, float(field.low), True]
    if isinstance(field, Number):
        below = field.low if field.low_open else field.low - 1.0
        above = field.high if field.high_open else (field.high * 2 or 1.0)
        return [below, above, float("nan"), float("inf"), -float("inf")]
    if isinstance(field, Choice):
        return ["no such name", "RELU", " relu"]
    if isinstance(field, Text):
        return ["x" * (field.max_length + 1)]
    if isinstance(field, Constant):
        return [field.value + 1] if isinstance(field.value, int) else [field.value + "x"]
    if isinstance(field, ListOf):
        return [[None] * (field.high + 1)] if field.low == 0 else [[]]
    if isinstance(field, Flag):
        return [0, 1, "true"]
    return []


def _mutate(header: dict[str, Any], path: tuple[Any, ...], how: str, value: Any) -> Any:
    """A deep copy of ``header`` with the value at ``path`` changed as ``how`` says."""
    mutated = json.loads(json.dumps(header))
    if not path:
        return value if how == "replace" else {**mutated, "zz_extra": value}
    *parents, last = path
    holder = mutated
    for key in parents:
        holder = holder[key]
    if how == "replace":
        holder[last] = value
    elif how == "delete":
        del holder[last]
    elif isinstance(holder[last], dict):  # "extra": a key no field names
        holder[last]["zz_extra"] = value
    else:
        holder[last] = value
    return mutated


def assert_same_model(loaded: nn.Module, original: nn.Module) -> None:
    """The same module types and configs, ties, state names, dtypes and values."""
    assert type(loaded) is type(original)
    assert loaded.architecture() == original.architecture()
    assert loaded.tied() == original.tied()
    mine, theirs = loaded.state_dict(), original.state_dict()
    assert list(mine) == list(theirs)
    for name, array in theirs.items():
        assert mine[name].dtype == array.dtype, name
        np.testing.assert_array_equal(mine[name], array, err_msg=name)


@given(data=st.data())
def test_every_header_field_mutated_is_refused_or_changes_nothing(
    saved_models: dict[str, Any], tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    """Any field of a real file's header, given a value of the wrong type, out of its
    range, taken out, or given a field no schema names: the load is a ModelFileError,
    or it gives the very model that was saved (a field with a default, the user's own
    metadata) and metadata that pass the schema. Never another exception.

    (A value of the right type and in range, or a list one item shorter, describes
    another valid model, and loads as that: the header is checked, not signed.)"""
    from nn.modelfile import METADATA

    name = data.draw(st.sampled_from(sorted(saved_models)), label="model")
    original, header, arrays = saved_models[name]
    path = data.draw(st.sampled_from(_paths(header)), label="path")
    field = _field_at(header, path)
    how = data.draw(st.sampled_from(["replace", "out of range", "delete", "extra"]), label="how")
    if how == "delete" and (not path or isinstance(path[-1], int)):
        how = "replace"  # a list one item shorter is another valid list, not a field missing
    if how == "out of range":
        candidates = _out_of_range(field) or _WRONG_TYPES
        value = data.draw(st.sampled_from(candidates), label="value")
        how = "replace"
    else:
        value = data.draw(st.sampled_from(_WRONG_TYPES), label="value")
    mutated = _mutate(header, path, how, value)
    file = tmp_path_factory.mktemp("mutated") / "model.npz"
    _write(file, json.dumps(mutated), arrays)
    try:
        loaded = nn.load(file)
    except nn.ModelFileError:
        return
    assert_same_model(loaded, original)
    METADATA.check(nn.load_metadata(file))


def test_the_mutations_reach_every_field_and_every_module_type(
    saved_models: dict[str, Any],
) -> None:
    """The property above draws from these: every module type a file may name is in
    one of the saved models, and every field of every config is a path to mutate."""
    types = set()
    for _, header, _ in saved_models.values():
        for path in _paths(header):
            if path and path[-1] == "type":
                holder = header
                for key in path:
                    holder = holder[key]
                types.add(holder)
            field = _field_at(header, path)
            assert path == () or field is not None or "mine" in path, path
    assert types == set(CONFIGS)
    every = saved_models["mlp"][1]
    assert set(every["metadata"]) >= {"dataset", "seed", "samples", "task", "recipe"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"samples": 10**12}, r"metadata.samples: expected null or an integer in \[20, 10000000\]"),
        ({"seed": -1}, r"metadata.seed: expected an integer in \[0, 18446744073709551615\]"),
        ({"seed": "7"}, r"metadata.seed: expected an integer"),
        ({"dataset": "../../etc"}, r"metadata.dataset: expected one of \['blobs'"),
        ({"task": "both"}, "metadata.task: expected one of"),
        ({"seconds": float("nan")}, r"metadata.seconds: expected a number"),
    ],
)
def test_metadata_that_the_command_reads_is_checked_when_read(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    """A seed, sample count or data-set name that ``tracegrad evaluate`` would use is
    refused when the file is read: never a traceback, or a huge data set, later."""
    header = _header(_linear_spec())
    header["metadata"] = {"dataset": "moons", "seed": 0, "samples": 100, **change}
    path = _write(tmp_path / "m.npz", json.dumps(header), _linear_arrays())
    with pytest.raises(nn.ModelFileError, match=message):
        nn.load_metadata(path)
    with pytest.raises(nn.ModelFileError, match=message):
        nn.load(path)
    from tracegrad.cli import main

    assert main(["evaluate", str(path)]) == 1


def test_a_header_that_cannot_be_read_back_is_never_written(tmp_path: Path) -> None:
    model = nn.Linear(2, 1, rng=0)
    for metadata, message in [
        ({"seed": -3}, "metadata.seed: expected an integer"),
        ({"loss": float("nan")}, "NaN or infinity"),
        ({"samples": 5}, r"metadata.samples: expected null or an integer in \[20,"),
    ]:
        with pytest.raises(ValueError, match=message):
            model.save(tmp_path / "m.npz", metadata=metadata)
        assert not (tmp_path / "m.npz").exists()
    with pytest.raises(ValueError, match="axis: expected an integer in"):
        nn.Sequential(nn.Softmax(axis=99)).save(tmp_path / "m.npz")


# -- arrays: every dtype, shape and memory order ---------------------------------------

from hypothesis.extra import numpy as hnp  # noqa: E402

from autograd import Tensor  # noqa: E402

_REAL_DTYPES = [
    np.float16,
    np.float32,
    np.float64,
    np.int8,
    np.int16,
    np.int32,
    np.int64,
    np.uint8,
    np.uint16,
    np.uint32,
    np.uint64,
    np.bool_,
]


class Holder(nn.Module):
    """A user's module holding one array as a buffer (a leaf that does not require grad)."""

    def __init__(self, like: np.ndarray) -> None:
        self.x = Tensor(np.zeros(like.shape, like.dtype.newbyteorder("=")), dtype=like.dtype)


@given(
    array=hnp.arrays(
        st.sampled_from(_REAL_DTYPES),
        hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4),
    ),
    fortran=st.booleans(),
    swapped=st.booleans(),
)
def test_an_array_reads_back_as_written_whatever_its_dtype_shape_and_order(
    tmp_path_factory: pytest.TempPathFactory, array: np.ndarray, fortran: bool, swapped: bool
) -> None:
    """Written by numpy in Fortran (column-major) or C order, in either byte order, an
    array reads back with the same elements at the same indices, in C order, and loads
    into a buffer of its dtype unchanged: never transposed, never reinterpreted."""
    stored = array.copy(order="F") if fortran else array
    if swapped:
        stored = stored.astype(stored.dtype.newbyteorder("S"))
    path = _write(tmp_path_factory.mktemp("arrays") / "a.npz", _header(None), {"x": stored})
    with nn.modelfile.ModelFile(path) as file:
        entry = file.entries["x"]
        assert entry.fortran_order == (stored.ndim > 1 and not stored.flags.c_contiguous)
        read = file.read(entry)
    assert read.flags.c_contiguous and read.dtype == stored.dtype and read.shape == array.shape
    np.testing.assert_array_equal(read, array)
    holder = Holder(array)
    holder.load(path)
    assert holder.x.dtype == array.dtype.newbyteorder("=")
    np.testing.assert_array_equal(holder.x.data, array)


def test_a_fortran_ordered_parameter_saves_and_loads_untransposed(tmp_path: Path) -> None:
    """A parameter whose data is column-major (a transpose, a Fortran array) is saved as
    numpy saves it, in Fortran order; it loads back with each element in its place."""
    model = nn.Linear(3, 2, rng=0)
    values = np.arange(6, dtype=np.float32).reshape(2, 3)
    model.weight.data = np.asfortranarray(values)
    assert model.state_dict()["weight"].flags.f_contiguous
    model.save(tmp_path / "f.npz")
    with nn.modelfile.ModelFile(tmp_path / "f.npz") as file:
        assert file.entries["weight"].fortran_order
    loaded = nn.load(tmp_path / "f.npz")
    np.testing.assert_array_equal(loaded.weight.data, values)  # type: ignore[attr-defined]
    again = nn.Linear(3, 2, rng=1).load(tmp_path / "f.npz")
    np.testing.assert_array_equal(again.weight.data, values)  # type: ignore[attr-defined]


def test_an_array_of_a_structured_or_wide_dtype_is_refused(tmp_path: Path) -> None:
    for array, message in [
        (np.zeros(2, [("a", "<f4"), ("b", "<f4")]), "not as real numbers"),
        (np.zeros(2, np.longdouble), "not as real numbers"),
        (np.zeros(2, "datetime64[s]"), "not as real numbers"),
    ]:
        path = _write(tmp_path / "s.npz", _header(None), {"x": array})
        with pytest.raises(nn.ModelFileError, match=message):
            nn.modelfile.ModelFile(path)


# -- what save writes, load reads back ---------------------------------------------------


class _Anything(nn.Module):
    """A user's module holding whatever state it is given, as a dict's values."""

    def __init__(self, state: dict[str, Tensor]) -> None:
        self.d = state


_KEYS = st.one_of(
    st.text(max_size=6),
    st.sampled_from(["a\x00b", "k" * 70_000, "\ud800", HEADER_NAME, "é/λ", ".npy"]),
)
_STATE = st.dictionaries(
    _KEYS,
    st.tuples(
        st.sampled_from([*_REAL_DTYPES, np.longdouble]),
        hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3),
        st.booleans(),
    ),
    max_size=4,
)
_METADATA = st.sampled_from([{}, {"notes": "short"}, {"notes": "x" * (1 << 20)}])


def _state(entries: dict[str, tuple[Any, tuple[int, ...], bool]], fill: int) -> _Anything:
    state = {}
    for key, (dtype, shape, trainable) in entries.items():
        values = (np.arange(int(np.prod(shape))) + fill).reshape(shape).astype(dtype)
        trainable = trainable and np.dtype(dtype).kind == "f"
        state[key] = Tensor(values, dtype=dtype, requires_grad=trainable)
    return _Anything(state)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=_STATE, metadata=_METADATA)
def test_every_model_that_saves_loads_back_equal_and_a_refused_save_writes_nothing(
    tmp_path: Path, entries: Any, metadata: dict[str, Any]
) -> None:
    """Whatever the names, dtypes and shapes of a model's state and whatever its
    metadata: ``save`` either writes a file from which ``load`` gives back equal state
    (names, dtypes, values) and the metadata, or refuses, with a ValueError of ``save``,
    and leaves the file it would have replaced as it was, with nothing beside it."""
    folder = tmp_path / f"case{len(list(tmp_path.iterdir()))}"
    folder.mkdir()
    path = folder / "m.npz"
    nn.Linear(2, 1, rng=0).save(path)
    before = path.read_bytes()
    model = _state(entries, fill=1)
    try:
        model.save(path, metadata=metadata)
    except ValueError as error:
        assert str(error).startswith("save: "), error
        assert path.read_bytes() == before and os.listdir(folder) == ["m.npz"]
        return
    loaded = _state(entries, fill=0).load(path)
    saved, back = model.state_dict(), loaded.state_dict()
    assert list(back) == list(saved)
    for name, array in saved.items():
        assert back[name].dtype == array.dtype, name
        np.testing.assert_array_equal(back[name], array)
    assert nn.load_metadata(path) == metadata


def test_save_refuses_what_load_would_refuse_before_writing_anything(tmp_path: Path) -> None:
    path = tmp_path / "m.npz"
    nn.Linear(2, 1, rng=0).save(path)
    before = path.read_bytes()
    p = Tensor(np.ones(2), requires_grad=True)
    for model, metadata, message in [
        (nn.Linear(2, 1, rng=0), {"notes": "x" * (2 << 20)}, "its header takes 209"),
        (_Anything({"a\x00b": p}), {}, r"the name 'd.a\\x00b' holds a NUL character"),
        (_Anything({"k" * 70_000: p}), {}, "takes 70006 bytes as a file's entry, more than"),
        (_Anything({"\ud800": p}), {}, "no valid Unicode"),
        (_Anything({"w": Tensor(np.ones(2), dtype=np.longdouble)}), {}, "stored as float128"),
    ]:
        with pytest.raises(ValueError, match=f"^save: .*{message}"):
            model.save(path, metadata=metadata)
        assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.npz"]
    for build in (nn.Linear, nn.MLP):  # a dtype that no file holds is refused when built
        with pytest.raises(ValueError, match="dtype must be one of float16, float32, float64"):
            build(3, [2] if build is nn.MLP else 2, dtype="float128")  # type: ignore[operator]


# -- the zip's directory ---------------------------------------------------------------


def _many_entries(path: Path, count: int) -> Path:
    """A zip whose directory lists ``count`` entries, every one the same empty file:
    a real archive (zipfile reads it), written in a second, refused from its end."""
    import struct

    name = b"w.npy"
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0, 0, 0, 0, len(name), 0)
    record = struct.pack(
        "<4s6H3L5H2L", b"PK\x01\x02", 45, 20, 0, 0, 0, 0, 0, 0, 0, len(name), 0, 0, 0, 0, 0, 0
    )
    directory = (record + name) * count
    start = len(local) + len(name)
    zip64_end = struct.pack(
        "<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, len(directory), start
    )
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, start + len(directory), 1)
    end = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, min(count, 0xFFFF), min(count, 0xFFFF), 0xFFFFFFFF,
        0xFFFFFFFF, 0,
    )  # fmt: skip
    path.write_bytes(local + name + directory + zip64_end + locator + end)
    return path


def test_a_zip_of_a_million_entries_is_refused_from_its_directory_cheaply(tmp_path: Path) -> None:

    path = _many_entries(tmp_path / "million.npz", 1_000_000)
    for load in (nn.load, nn.load_metadata, lambda p: nn.Linear(3, 2).load(p)):
        with pytest.raises(nn.ModelFileError, match="1000000 entries, more than 100000"):
            tracemalloc.start()
            try:
                load(path)
            finally:
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
        assert peak < 1 << 20  # zipfile would make a million objects: none is made


def test_the_end_record_gives_zipfiles_own_count(tmp_path: Path) -> None:
    """The entries and directory size read from the end record are those zipfile finds,
    with a comment after the record and with zip64's records (over 65,535 entries)."""
    from nn.modelfile import zip_directory

    for count, comment in [(0, b""), (3, b""), (5, b"a comment after the record"), (70_000, b"")]:
        path = tmp_path / f"{count}.zip"
        if count > 0xFFFF:
            _many_entries(path, count)
        else:
            with zipfile.ZipFile(path, "w") as archive:
                for i in range(count):
                    archive.writestr(f"a{i}.npy", b"")
                archive.comment = comment
        with zipfile.ZipFile(path) as archive:
            entries = len(archive.infolist())
            directory = archive.start_dir
        with path.open("rb") as handle:
            assert zip_directory(handle)[0] == entries == count
            assert zip_directory(handle)[2] == directory


def test_a_directory_larger_than_its_count_says_is_sized_by_its_bytes(tmp_path: Path) -> None:
    """An end record that claims few entries for a large directory: zipfile would read
    every record the directory's bytes hold, so the bytes are what is counted."""
    path = _many_entries(tmp_path / "liar.npz", 50_000)
    data = bytearray(path.read_bytes())
    at = data.rfind(b"PK\x06\x06")
    data[at + 24 : at + 40] = (1).to_bytes(8, "little") * 2  # "1 entry", but 50,000 records
    path.write_bytes(bytes(data))
    with pytest.raises(nn.ModelFileError, match="its zip directory would take the load to"):
        nn.load(path, max_bytes=8 << 20)


def _directory_of(count: int, claimed: int) -> Path:
    """``_many_entries``'s archive of ``count`` records whose end records claim ``claimed``."""
    import tempfile

    path = _many_entries(Path(tempfile.mkdtemp(prefix="liar-")) / "liar.npz", count)
    data = bytearray(path.read_bytes())
    at = data.rfind(b"PK\x06\x06")
    data[at + 24 : at + 40] = claimed.to_bytes(8, "little") * 2
    end = data.rfind(b"PK\x05\x06")
    data[end + 8 : end + 12] = min(claimed, 0xFFFF).to_bytes(2, "little") * 2
    path.write_bytes(bytes(data))
    return path


@settings(max_examples=40, deadline=None)
@given(count=st.integers(0, 40), claimed=st.integers(0, 45))
def test_an_end_record_that_miscounts_its_directory_is_refused(count: int, claimed: int) -> None:
    """Whatever the end record claims, the directory's own records are counted (by their
    lengths, before zipfile parses them), and a count that differs is refused."""
    path = _directory_of(count, claimed)
    with pytest.raises(nn.ModelFileError) as refused:
        nn.load(path)
    if count != claimed:
        assert f"its end record says {claimed} entries, but its directory holds {count}" in str(
            refused.value
        )


def test_a_large_directory_behind_a_small_count_is_refused_cheaply(tmp_path: Path) -> None:
    """150,001 records claimed as 1: refused in at most MAX_ENTRIES + 1 steps of a walk,
    no ZipInfo made, whatever max_bytes allows."""

    path = _directory_of(150_001, 1)
    refused, peak = _peak_of(lambda: nn.load(path, max_bytes=1 << 40))
    assert "its directory holds more than 100000 entries" in str(refused)
    directory = path.stat().st_size
    assert peak < directory + (2 << 20)  # the directory's bytes, read once, and no more


def _rewritten(path: Path, change: Any) -> Path:
    """The archive at ``path`` written again, ``change(name, bytes)`` giving each entry's
    new bytes."""
    with zipfile.ZipFile(path) as archive:
        entries = {info.filename: archive.read(info) for info in archive.infolist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            with archive.open(name, "w", force_zip64=True) as member:
                for chunk in change(name, content):
                    member.write(chunk)
    return path


@settings(max_examples=12, deadline=None)
@given(version=st.sampled_from([1, 2]), claimed=st.integers(10_001, 64 << 20))
def test_an_npy_header_that_claims_much_is_refused_before_it_is_read(
    tmp_path_factory: pytest.TempPathFactory, version: int, claimed: int
) -> None:
    """An array entry whose .npy header claims a length past 10,000 bytes (up to 64 MiB
    here; version 2 allows 4 GiB), and holds it (spaces, deflated to almost nothing): the
    length is read and refused before any of the header is, whatever max_bytes allows."""
    claimed = min(claimed, 0xFFFF) if version == 1 else claimed
    path = tmp_path_factory.mktemp("npy") / "m.npz"
    nn.MLP(3, [4, 2], rng=0).save(path)

    def huge_header(name: str, content: bytes) -> Any:
        if name != "0.weight.npy":
            yield content
            return
        width = "<H" if version == 1 else "<I"
        yield np.lib.format.magic(version, 0) + __import__("struct").pack(width, claimed)
        for start in range(0, claimed, 1 << 20):
            yield b" " * min(1 << 20, claimed - start)

    _rewritten(path, huge_header)
    for load in (
        lambda: nn.load(path, max_bytes=1 << 40),
        lambda: nn.MLP(3, [4, 2]).load(path),
        lambda: nn.module.read_model_file(path, max_bytes=1 << 40),
    ):
        refused, peak = _peak_of(load)
        assert isinstance(refused, nn.ModelFileError)
        assert f"says it takes {claimed} bytes, more than 10000" in str(refused)
        assert peak < 1 << 20


def test_an_entry_flagged_encrypted_is_refused(tmp_path: Path) -> None:
    """zipfile raises a RuntimeError for it: the file's fault, so a ModelFileError."""
    path = tmp_path / "encrypted.npz"
    nn.MLP(3, [4, 2], rng=0).save(path)
    data = bytearray(path.read_bytes())
    for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        while at >= 0:
            data[at + flags_at] |= 1
            at = data.find(signature, at + 4)
    path.write_bytes(bytes(data))
    for load in (nn.load, nn.load_metadata, lambda p: nn.MLP(3, [4, 2]).load(p)):
        with pytest.raises(nn.ModelFileError, match="is encrypted"):
            load(path)


def test_whatever_the_archive_libraries_raise_while_reading_is_a_model_file_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not a list of exceptions: any Exception from zipfile, zlib or numpy's reader, of
    a kind nobody listed, names the file."""
    path = tmp_path / "m.npz"
    nn.MLP(3, [4, 2], rng=0).save(path)

    class UnforeseenError(Exception):
        pass

    def failing(*args: Any, **kwargs: Any) -> Any:
        raise UnforeseenError("an error of a kind nobody listed")

    for target in ("open", "infolist", "getinfo"):
        with monkeypatch.context() as patch:
            patch.setattr(zipfile.ZipFile, target, failing)
            with pytest.raises(nn.ModelFileError, match=r"m.npz: .*nobody listed"):
                nn.load(path)


def test_an_entry_of_a_negative_size_is_refused_by_every_reader(tmp_path: Path) -> None:
    path = tmp_path / "negative.npz"
    with zipfile.ZipFile(path, "w") as archive:
        header = json.dumps(_header(None)).encode()
        with archive.open(f"{HEADER_NAME}.npy", "w") as member:
            np.lib.format.write_array(member, np.frombuffer(header, np.uint8))
        with archive.open("weight.npy", "w") as member:
            member.write(
                np.lib.format.magic(1, 0)
                + __import__("struct").pack("<H", 118)
                + b"{'descr': '<f4', 'fortran_order': False, 'shape': (-1, -4), }".ljust(117)
                + b"\n"
                + bytes(16)
            )
    for read in (
        lambda: nn.module.read_model_file(path),
        lambda: nn.load(path),
        lambda: nn.Linear(3, 2).load(path),
    ):
        with pytest.raises(nn.ModelFileError, match="negative"):
            read()


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_a_path_that_is_no_regular_file_is_refused_without_waiting(
    tmp_path: Path, kind: str
) -> None:
    """A FIFO would make open() wait for a writer forever: it is opened without waiting
    and refused, by every reader of model files and checkpoints."""
    import threading

    if kind == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no FIFOs on this platform")
        path = tmp_path / "model.npz"
        os.mkfifo(path)
        expected = "named pipe"
    elif kind == "device":
        path = Path(os.devnull)
        expected = "character device"
    else:
        path, expected = tmp_path, "Is a directory"
    model = nn.Linear(2, 2, rng=0)
    readers = [
        nn.load,
        nn.load_metadata,
        model.load,
        nn.module.read_model_file,
        nn.checkpoint.read_checkpoint,
    ]
    for read in readers:
        outcome: list[BaseException] = []

        def attempt(read: Any = read, outcome: list[BaseException] = outcome) -> None:
            try:
                read(path)
            except BaseException as error:
                outcome.append(error)

        worker = threading.Thread(target=attempt, daemon=True)
        worker.start()
        worker.join(timeout=20)
        if worker.is_alive():  # let the blocked open() go before failing
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
            raise AssertionError(f"{read} waited on {kind}")
        assert isinstance(outcome[0], nn.ModelFileError), outcome
        assert expected in str(outcome[0])


# -- the memory of a load --------------------------------------------------------------


def _peak_of(action: Any) -> tuple[Any, int]:
    """What ``action()`` returns (or the ModelFileError it raises) and its peak memory."""
    tracemalloc.start()
    try:
        result = action()
    except nn.ModelFileError as error:
        result = error
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return result, peak


@st.composite
def _big_models(draw: st.DrawFn) -> nn.Module:
    """Models whose arrays dwarf the reader's own buffers, in any float dtype, Tensor or
    scalar."""
    kind = draw(st.sampled_from(["mlp", "linear", "sequential", "scalar"]))
    dtype = draw(st.sampled_from([np.float16, np.float32, np.float64]))
    if kind == "scalar":
        return nn.scalar.MLP(draw(st.integers(10, 30)), [draw(st.integers(10, 30)), 1], rng=0)
    width = draw(st.integers(200, 700))
    height = draw(st.integers(200, 700))
    if kind == "linear":
        return nn.Linear(width, height, rng=0, dtype=dtype)
    if kind == "mlp":
        return nn.MLP(width, [height, 10], rng=0, dtype=dtype)
    return nn.Sequential(
        nn.Linear(width, height, rng=0, dtype=dtype), nn.ReLU(), nn.Linear(height, 3, rng=1)
    )


@settings(max_examples=12)
@given(model=_big_models(), share=st.floats(0.5, 3.0))
def test_max_bytes_bounds_the_peak_memory_of_a_load(
    tmp_path_factory: pytest.TempPathFactory, model: nn.Module, share: float
) -> None:
    """Whatever the model and its dtype: a load allowed ``max_bytes`` either is refused
    or takes at most that much memory at its peak, the building of the model included;
    and a load is allowed when max_bytes leaves room for the model twice over and a
    few MiB, and the zip's directory room for each entry (the estimate is not so
    careful that it refuses what fits)."""
    path = tmp_path_factory.mktemp("big") / "model.npz"
    model.save(path)
    nn.load(path)  # once, so that first-call allocations are not counted below
    data = sum(np.asarray(p.data).nbytes for p in model.parameters())
    entries = len(model.parameters())
    objects = entries * 256 + len(list(model.named_modules())) * 2048
    generous = 2 * (data + objects) + entries * 2048 + (4 << 20)
    loaded, peak = _peak_of(lambda: nn.load(path, max_bytes=generous))
    assert isinstance(loaded, nn.Module) and peak <= generous
    assert_same_model(loaded, model)
    # Just below the peak the load took, and anywhere around it:
    for max_bytes in (peak - 1, int(share * generous / 2)):
        loaded, peak_now = _peak_of(lambda: nn.load(path, max_bytes=max_bytes))  # noqa: B023
        if isinstance(loaded, nn.Module):
            assert peak_now <= max_bytes
        else:
            assert "pass max_bytes= to load a larger model" in str(loaded)


def _nested_lists(depth: int) -> Any:
    nested: Any = []
    for _ in range(depth):
        nested = [nested]
    return nested


_JSON_UNITS = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(-1e9, 1e9)
    | st.text(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner, max_size=3)
    ),
    max_leaves=8,
)  # fmt: skip


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(unit=_JSON_UNITS)
@example(unit=_nested_lists(60))  # the costliest JSON per byte
@example(unit={"": {"": {"": {"": {}}}}})
def test_max_bytes_counts_what_parsing_any_header_takes(
    tmp_path_factory: pytest.TempPathFactory, unit: Any
) -> None:
    """A header of any JSON (here a unit repeated to fill 200 kB of metadata): the peak
    memory of reading it stays within what the reader counted for it before parsing, so
    ``max_bytes`` bounds it."""
    text = json.dumps(unit, separators=(",", ":"))
    header = _header(None)
    header["metadata"] = {"x": [unit] * (200_000 // (len(text) + 1))}
    path = _write(tmp_path_factory.mktemp("header") / "h.npz", header)
    nn.modelfile.ModelFile(path).close()  # once, so that first-call allocations are not counted
    tracemalloc.start()
    try:
        with nn.modelfile.ModelFile(path, max_bytes=1 << 40) as file:
            counted = file.overhead_bytes
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak <= counted


# -- the schema's fields, each against what it promises -------------------------------

from nn.schema import MAX_DEPTH, AnyJSON, SchemaError  # noqa: E402

_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=4)
    ),
    max_leaves=12,
)


def _accepts(field: Any, value: Any) -> bool:
    try:
        field.check(value, "x")
    except SchemaError as error:
        assert error.path.startswith("x") and str(error).startswith(error.path[:40])
        return False
    return True


def _finite_json(value: Any) -> bool:
    if isinstance(value, float):
        return value == value and abs(value) != float("inf")
    if isinstance(value, list):
        return all(_finite_json(v) for v in value)
    if isinstance(value, dict):
        return all(_finite_json(v) for v in value.values())
    return True


@given(value=_JSON, low=st.integers(-5, 5), span=st.integers(0, 10), data=st.data())
def test_each_field_accepts_exactly_what_it_says(
    value: Any, low: int, span: int, data: st.DataObject
) -> None:
    """Every kind of field, on any JSON value, against a plain statement of its rule."""
    high = low + span
    is_int = type(value) is int
    is_number = type(value) in (int, float) and _finite_json(value)
    assert _accepts(Integer(low, high), value) == (is_int and low <= value <= high)
    low_open, high_open = data.draw(st.booleans()), data.draw(st.booleans())
    in_range = is_number and (low < value if low_open else low <= value)
    in_range = in_range and (value < high if high_open else value <= high)
    assert _accepts(Number(low, high, low_open, high_open), value) == in_range
    assert _accepts(Flag(), value) == (type(value) is bool)
    names = ("a", "b", "")
    assert _accepts(Choice(lambda: names), value) == (type(value) is str and value in names)
    assert _accepts(Text(span), value) == (type(value) is str and len(value) <= span)
    assert _accepts(Constant(low), value) == (is_int and value == low)
    assert _accepts(Constant("a"), value) == (value == "a")
    assert _accepts(Nullable(Integer(low, high)), value) == (
        value is None or (is_int and low <= value <= high)
    )
    items = ListOf(Flag(), low=max(low, 0), high=max(low, 0) + span)
    assert _accepts(items, value) == (
        type(value) is list
        and max(low, 0) <= len(value) <= max(low, 0) + span
        and all(type(v) is bool for v in value)
    )
    assert _accepts(AnyJSON(), value) == _finite_json(value)
    fields = Object({"a": Flag(), "b": Flag()}, defaults={"b": True}, optional=frozenset())
    if _accepts(fields, value):
        assert type(value) is dict and set(value) <= {"a", "b"} and type(value["a"]) is bool
        assert fields.check(value)["b"] == value.get("b", True)
    else:
        assert not (
            type(value) is dict
            and set(value) <= {"a", "b"}
            and all(type(v) is bool for v in value.values())
            and "a" in value
        )
    open_fields = Object({"a": Flag()}, optional=frozenset({"a"}), extra=Integer(0, 9))
    assert _accepts(open_fields, value) == (
        type(value) is dict
        and all(
            type(v) is bool if k == "a" else (type(v) is int and 0 <= v <= 9)
            for k, v in value.items()
        )
    )
    if _accepts(open_fields, value):
        assert open_fields.check(value) == value  # nothing added where no default is


def test_nothing_nests_deeper_than_the_limit() -> None:
    nested: Any = 1
    for _ in range(MAX_DEPTH):
        nested = [nested]
    assert AnyJSON().check(nested) == nested
    with pytest.raises(SchemaError, match=f"nested more than {MAX_DEPTH} deep"):
        AnyJSON().check([nested])
    deep: Any = {"y": float("nan")}
    for _ in range(60):
        deep = [deep]
    with pytest.raises(SchemaError, match=r"^x.0.0.0.* \.\.\. .*0.0.y: expected a JSON value"):
        AnyJSON().check({"x": deep})  # a long path is shown by its two ends


def test_a_load_leaves_no_file_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file a load opens is closed when it ends, loaded or refused (zipfile leaves
    a file object it was given open: the reader closes it itself)."""
    import builtins

    opened: list[Any] = []
    real_open = builtins.open

    def recording_open(*args: Any, **kwargs: Any) -> Any:
        handle = real_open(*args, **kwargs)
        opened.append(handle)
        return handle

    nn.MLP(2, [3, 1], rng=0).save(tmp_path / "m.npz")
    _write(tmp_path / "bad.npz", "not json", _linear_arrays())
    monkeypatch.setattr(builtins, "open", recording_open)
    nn.load(tmp_path / "m.npz")
    nn.load_metadata(tmp_path / "m.npz")
    nn.MLP(2, [3, 1]).load(tmp_path / "m.npz")
    for bad in (
        lambda: nn.load(tmp_path / "bad.npz"),
        lambda: nn.load(tmp_path / "m.npz", max_bytes=10),
    ):
        with pytest.raises(nn.ModelFileError):
            bad()
    assert len(opened) == 5 and all(handle.closed for handle in opened)


def test_a_folder_or_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(nn.ModelFileError, match=r"it cannot be read \(Is a directory\)"):
        nn.load(tmp_path)
    with pytest.raises(FileNotFoundError):
        nn.load(tmp_path / "absent.npz")


# -- the end record, read against zipfile's own reading ---------------------------------


def _zip_bytes(count: int, comment: bytes) -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(count):
            archive.writestr(f"a{i}.npy", b"x" * i)
        archive.comment = comment
    return buffer.getvalue()


def _as_zip64(data: bytes, total: int | None = None) -> bytes:
    """``data`` (a zip with no comment) with zip64's end record and locator before its end
    record, as a writer of large archives puts them; ``total`` overrides the count."""
    import struct

    end = data.rfind(b"PK\x05\x06")
    fields = struct.unpack("<4s4H2LH", data[end : end + 22])
    entries = fields[4] if total is None else total
    zip64_end = struct.pack(
        "<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, entries, entries, fields[5], fields[6]
    )
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, end, 1)
    return data[:end] + zip64_end + locator + data[end:]


def _with_end_fields(data: bytes, **fields: int) -> bytes:
    """``data`` with fields of its end record replaced (this_disk, total, size, offset)."""
    import struct

    end = data.rfind(b"PK\x05\x06")
    record = list(struct.unpack("<4s4H2LH", data[end : end + 22]))
    for name, value in fields.items():
        record[{"this_disk": 3, "total": 4, "size": 5, "offset": 6}[name]] = value
    return data[:end] + struct.pack("<4s4H2LH", *record) + data[end + 22 :]


def _zipfiles_reading(data: bytes) -> tuple[int, int, int] | None:
    """(total entries, directory bytes, where the directory starts) as zipfile's own
    end-record reader finds them: the directory ends where the end record (or zip64's,
    before its locator) starts, and zipfile reads its size in bytes back from there (as
    ``ZipFile.start_dir``). A directory said to be larger than what precedes its end is
    read only as far as the file's start."""
    import io

    try:
        record = zipfile._EndRecData(io.BytesIO(data))  # type: ignore[attr-defined]
    except (zipfile.BadZipFile, OSError):
        return None
    if record is None:
        return None
    entries, size = record[zipfile._ECD_ENTRIES_TOTAL], record[zipfile._ECD_SIZE]  # type: ignore[attr-defined]
    end = record[zipfile._ECD_LOCATION]  # type: ignore[attr-defined]
    if record[zipfile._ECD_SIGNATURE] == zipfile.stringEndArchive64:  # type: ignore[attr-defined]
        end -= zipfile.sizeEndCentDir64 + zipfile.sizeEndCentDir64Locator  # type: ignore[attr-defined]
    if size > end:
        return entries, end, 0
    return entries, size, end - size


def _our_reading(data: bytes) -> tuple[int, int, int] | None:
    import io

    from nn.modelfile import zip_directory

    try:
        return zip_directory(io.BytesIO(data))
    except zipfile.BadZipFile:
        return None


_EMPTY_ZIP64 = _as_zip64(_zip_bytes(0, b""))


def _archives() -> dict[str, bytes]:
    """Well-formed archives of every layout the end record can have, and broken ones."""
    found: dict[str, bytes] = {}
    for count in (0, 1, 3):
        plain = _zip_bytes(count, b"")
        found[f"{count} entries"] = plain
        found[f"{count} entries, zip64"] = _as_zip64(plain)
        found[f"{count} entries, zip64, after a 9-byte stub"] = b"#!stub\n\n\n" + _as_zip64(plain)
        for size in (1, 21, 22, 23, 1000, 0xFFFF):
            comment = bytes(i % 251 for i in range(size))
            found[f"{count} entries, a comment of {size}"] = _zip_bytes(count, comment)
        found[f"{count} entries after 70,000 bytes"] = bytes(70_000) + plain
    found["zip64 alone"] = _EMPTY_ZIP64
    found["zip64, its count unlike the record's"] = _as_zip64(_zip_bytes(2, b""), total=7)
    found["this disk's count unlike the total"] = _with_end_fields(_zip_bytes(2, b""), this_disk=1)
    found["a directory larger than the file"] = _with_end_fields(_zip_bytes(1, b""), size=10**6)
    found["no end record"] = b"PK\x03\x04" + bytes(100)
    found["an end record cut short"] = _zip_bytes(1, b"")[:-5]
    found["nothing"] = b""
    for count in (0, 1):  # the record's own fields may hold the signature's four bytes
        found[f"{count} entries, the directory's offset reading as the signature"] = (
            _with_end_fields(_zip_bytes(count, b""), offset=int.from_bytes(b"PK\x05\x06", "little"))
        )
    found["an end record alone"] = _zip_bytes(0, b"")
    return found


def _broken_zip64() -> dict[str, bytes]:
    wrong = bytearray(_EMPTY_ZIP64)
    wrong[3] = 0x07  # the record's signature, one greater
    return {
        "no record before it": _EMPTY_ZIP64[56:],
        "its record would start before the file": _EMPTY_ZIP64[1:],
        "its record has a wrong signature": bytes(wrong),
    }


@pytest.mark.parametrize(("name", "data"), sorted(_archives().items()), ids=sorted(_archives()))
def test_the_end_record_is_read_as_zipfile_reads_it(name: str, data: bytes) -> None:
    """Entries and directory bytes from the end record (after a comment, after a stub
    before the archive, in zip64's form) are what zipfile's own reader finds; where
    zipfile finds no end record, there is none (BadZipFile)."""
    assert _our_reading(data) == _zipfiles_reading(data), name


@pytest.mark.parametrize("name", sorted(_broken_zip64()))
def test_a_zip64_locator_without_its_record_is_no_zip(name: str) -> None:
    """A zip64 locator says the counts are in the zip64 record before it: a file whose
    record is missing or broken is refused (this Python's zipfile would fall back on the
    plain record's counts, which a large archive leaves as 0xFFFF)."""
    assert _our_reading(_broken_zip64()[name]) is None
    assert _our_reading(_EMPTY_ZIP64) == (0, 0, 0)


def test_an_end_record_followed_by_more_than_a_comment_can_hold_is_no_zip() -> None:
    """The record is the last thing in a zip but for its comment, of at most 65,535
    bytes: a record further from the end than that is not looked for."""
    data = _zip_bytes(1, b"")
    assert _our_reading(data + bytes(0xFFFF)) == _our_reading(data)  # found after a comment
    assert _our_reading(data + bytes(0x10000)) is None


# -- every range of the header, stated once more here and tried at its ends -------------

_INT32 = 2**31 - 1
_INT64 = 2**63 - 1
_FLOAT32_MAX = 3.4e38  # an activation's parameter is a float32 in ONNX
_FLOAT_MAX = sys.float_info.max


def _header_of_every_type() -> dict[str, Any]:
    """A valid header whose architecture names every module type and whose metadata has
    every field ``tracegrad train`` writes."""
    linear = {"in_features": 3, "out_features": 2, "bias": True, "init": "kaiming"}
    layers = [
        {"type": "Linear", "config": {**linear, "dtype": "float32"}},
        {"type": "LeakyReLU", "config": {"negative_slope": 0.1}},
        {"type": "Softmax", "config": {"axis": -1}},
        {"type": "LogSoftmax", "config": {"axis": 1}},
        {"type": "Flatten", "config": {"start_axis": 1}},
        {"type": "Dropout", "config": {"p": 0.5}},
        {
            "type": "MLP",
            "config": {
                "nin": 2,
                "sizes": [3, 1],
                "activation": "relu",
                "dropout": 0.0,
                "dtype": "float64",
            },
        },
        {"type": "scalar.Neuron", "config": {"nin": 2, "activation": "tanh"}},
        {"type": "scalar.Layer", "config": {"nin": 2, "nout": 3, "activation": "relu"}},
        {"type": "scalar.MLP", "config": {"nin": 2, "sizes": [2, 1], "activation": "linear"}},
        {"type": "ReLU", "config": {}},
    ]
    recipe = {
        "dataset": "moons", "hidden": [4], "epochs": 3, "batch_size": 32, "lr": 0.01,
        "schedule": "none", "activation": "relu", "dropout": 0.0, "optimizer": "adam",
        "seed": 7, "samples": 200, "data_root": None, "threads": None,
    }  # fmt: skip
    metadata = {
        "dataset": "moons", "seed": 7, "samples": 200, "task": "classification",
        "recipe": recipe, "seconds": 1.5, "interrupted_after": 2,
    }  # fmt: skip
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "architecture": {"type": "Sequential", "config": {"layers": layers}},
        "metadata": metadata,
        "tied": {"0.weight": "1.weight"},
    }


_LAYER = ("architecture", "config", "layers")
_RECIPE = ("metadata", "recipe")

#: Each numeric field of the header and its range as the format states it:
#: (path, lowest, highest, whether the lowest is left out, whether the highest is).
_RANGES: list[tuple[tuple[Any, ...], float, float, bool, bool]] = [
    ((*_LAYER, 0, "config", "in_features"), 1, _INT32, False, False),
    ((*_LAYER, 0, "config", "out_features"), 1, _INT32, False, False),
    ((*_LAYER, 1, "config", "negative_slope"), -_FLOAT32_MAX, _FLOAT32_MAX, False, False),
    ((*_LAYER, 2, "config", "axis"), -64, 63, False, False),
    ((*_LAYER, 3, "config", "axis"), -64, 63, False, False),
    ((*_LAYER, 4, "config", "start_axis"), -64, 63, False, False),
    ((*_LAYER, 5, "config", "p"), 0.0, 1.0, False, True),
    ((*_LAYER, 6, "config", "nin"), 1, _INT32, False, False),
    ((*_LAYER, 6, "config", "sizes", 0), 1, _INT32, False, False),
    ((*_LAYER, 6, "config", "dropout"), 0.0, 1.0, False, True),
    ((*_LAYER, 7, "config", "nin"), 1, _INT32, False, False),
    ((*_LAYER, 8, "config", "nin"), 1, _INT32, False, False),
    ((*_LAYER, 8, "config", "nout"), 1, _INT32, False, False),
    ((*_LAYER, 9, "config", "nin"), 1, _INT32, False, False),
    ((*_LAYER, 9, "config", "sizes", 1), 1, _INT32, False, False),
    (("metadata", "seed"), 0, 2**64 - 1, False, False),
    (("metadata", "samples"), 20, 10_000_000, False, False),
    (("metadata", "seconds"), 0.0, _FLOAT_MAX, False, False),
    (("metadata", "interrupted_after"), 0, _INT64, False, False),
    ((*_RECIPE, "hidden", 0), 1, _INT32, False, False),
    ((*_RECIPE, "epochs"), 1, _INT64, False, False),
    ((*_RECIPE, "batch_size"), 1, _INT64, False, False),
    ((*_RECIPE, "lr"), 0.0, _FLOAT_MAX, True, False),
    ((*_RECIPE, "dropout"), 0.0, 1.0, False, True),
    ((*_RECIPE, "seed"), 0, 2**64 - 1, False, False),
    ((*_RECIPE, "samples"), 20, 10_000_000, False, False),
    ((*_RECIPE, "threads"), 1, _INT64, False, False),
]

#: Each list and text of the header and how long it may be: (path, shortest, longest,
#: an element or a character).
_LENGTHS: list[tuple[tuple[Any, ...], int, int, Any]] = [
    ((*_LAYER, 6, "config", "sizes"), 1, 10_000, 2),
    ((*_LAYER, 9, "config", "sizes"), 1, 10_000, 2),
    (_LAYER, 0, 10_000, {"type": "ReLU", "config": {}}),
    ((*_RECIPE, "hidden"), 0, 10_000, 2),
    ((*_RECIPE, "data_root"), 0, 4096, "d"),
    (("tied", "0.weight"), 0, 1000, "w"),
]


def _accepted(path: tuple[Any, ...], value: Any) -> bool:
    """Whether the header of every type, with ``value`` at ``path``, passes the schema
    (the header as it is passes: the path's old value is a valid one)."""
    from nn.modelfile import check_header

    check_header(_header_of_every_type())
    header = _header_of_every_type()
    holder: Any = header
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = value
    try:
        check_header(header)
    except SchemaError:
        return False
    return True


@pytest.mark.parametrize(("path", "low", "high", "low_open", "high_open"), _RANGES)
def test_each_number_of_the_header_is_accepted_exactly_in_its_range(
    path: tuple[Any, ...], low: float, high: float, low_open: bool, high_open: bool
) -> None:
    """At each end of its range and just past it: a field's own ends are accepted
    unless left out, a step outside (one for integers, the next float for numbers) is
    refused, and an integer field takes no float."""
    if isinstance(low, int) and isinstance(high, int):
        assert _accepted(path, low) and _accepted(path, high)
        assert not _accepted(path, low - 1) and not _accepted(path, high + 1)
        assert not _accepted(path, float(low))
        return
    assert _accepted(path, low) != low_open and _accepted(path, high) != high_open
    assert not _accepted(path, math.nextafter(low, -math.inf))
    assert not _accepted(path, math.nextafter(high, math.inf))
    assert _accepted(path, math.nextafter(low, math.inf))
    assert _accepted(path, math.nextafter(high, -math.inf))


@pytest.mark.parametrize(("path", "shortest", "longest", "element"), _LENGTHS)
def test_each_list_and_text_of_the_header_is_accepted_exactly_at_its_lengths(
    path: tuple[Any, ...], shortest: int, longest: int, element: Any
) -> None:
    def of_length(n: int) -> Any:
        return element * n if isinstance(element, str) else [element] * n

    assert _accepted(path, of_length(shortest)) and _accepted(path, of_length(longest))
    assert not _accepted(path, of_length(longest + 1))
    if shortest > 0:
        assert not _accepted(path, of_length(shortest - 1))
    from nn.modelfile import check_header

    header = _header_of_every_type()
    holder: Any = header
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = 12.5  # neither a list nor a text: the message states the lengths
    said = (
        f"a string of at most {longest} characters"
        if isinstance(element, str)
        else f"a list of {shortest} to {longest} items"
    )
    with pytest.raises(SchemaError, match=said):
        check_header(header)


# -- the reader, part by part -----------------------------------------------------------


def _npz(path: Path, members: dict[str, bytes], stored: bool = False) -> Path:
    """An archive of ``members`` (a name and its .npy bytes each), deflated or stored."""
    kind = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(path, "w", kind) as archive:
        for name, data in members.items():
            archive.writestr(f"{name}.npy", data)
    return path


def _npy(array: np.ndarray, version: tuple[int, int] | None = (1, 0)) -> bytes:
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, version=version)
    return buffer.getvalue()


def _header_bytes(header: Any = None) -> np.ndarray:
    text = json.dumps(_header(None) if header is None else header)
    return np.frombuffer(text.encode(), np.uint8)


@pytest.mark.parametrize("version", [(1, 0), (2, 0)])
def test_npy_format_versions_1_and_2_are_read(tmp_path: Path, version: tuple[int, int]) -> None:
    array = np.arange(6.0).reshape(2, 3)
    path = _npz(
        tmp_path / "v.npz", {HEADER_NAME: _npy(_header_bytes(), version), "x": _npy(array, version)}
    )
    with nn.modelfile.ModelFile(path) as file:
        np.testing.assert_array_equal(file.read(file.entries["x"]), array)


def test_npy_format_version_3_is_refused(tmp_path: Path) -> None:
    path = _npz(tmp_path / "v3.npz", {HEADER_NAME: _npy(_header_bytes(), (3, 0))})
    with pytest.raises(nn.ModelFileError, match=r"npy format version \(3, 0\) is not supported"):
        nn.modelfile.ModelFile(path)


@pytest.mark.parametrize(
    "header",
    [
        _header_bytes().view(np.int8),
        _header_bytes().reshape(1, -1),
        _header_bytes()[:1].reshape(()),
        _header_bytes().astype(bool),
    ],
    ids=["int8", "2-d", "0-d", "bool"],
)
def test_a_header_that_is_not_one_row_of_bytes_is_refused(
    tmp_path: Path, header: np.ndarray
) -> None:
    path = _npz(tmp_path / "h.npz", {HEADER_NAME: _npy(header)})
    with pytest.raises(nn.ModelFileError, match="its header is not a byte string"):
        nn.modelfile.ModelFile(path)


@pytest.mark.parametrize("version", [0, 2, 1.0, True])
def test_a_header_of_another_format_version_is_refused_naming_it(
    tmp_path: Path, version: Any
) -> None:
    header = {**_header(None), "version": version}
    path = _npz(tmp_path / "v.npz", {HEADER_NAME: _npy(_header_bytes(header))})
    with pytest.raises(nn.ModelFileError, match=f"it has format version {version!r}; this"):
        nn.modelfile.ModelFile(path)


@pytest.mark.parametrize("extra", [-8, 8])
def test_an_entry_whose_bytes_disagree_with_its_shape_says_how_many_it_holds(
    tmp_path: Path, extra: int
) -> None:
    """Fewer or more bytes than the shape needs: refused before any is read, naming both."""
    good = _npy(np.zeros((2, 3), np.float32))
    data = good[:extra] if extra < 0 else good + bytes(extra)
    path = _npz(tmp_path / "e.npz", {HEADER_NAME: _npy(_header_bytes()), "x": data})
    held = 24 + extra
    with pytest.raises(
        nn.ModelFileError,
        match=rf"entry 'x' says shape \(2, 3\) of float32 \(24 bytes\) but the archive "
        rf"holds {held} bytes for it: the file is corrupt",
    ):
        nn.modelfile.ModelFile(path)


def test_read_gives_the_dtype_asked_for_and_c_order(tmp_path: Path) -> None:
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    members = {
        HEADER_NAME: _npy(_header_bytes()),
        "c": _npy(array),
        "f": _npy(np.asfortranarray(array)),
    }
    path = _npz(tmp_path / "r.npz", members)
    with nn.modelfile.ModelFile(path) as file:
        for name in ("c", "f"):
            for dtype in (None, np.float32, np.float64, np.float16, np.int64):
                read = file.read(file.entries[name], dtype)
                assert read.dtype == (np.float32 if dtype is None else dtype)
                assert read.flags.c_contiguous and read.flags.writeable
                np.testing.assert_array_equal(read, array)


@pytest.mark.parametrize("stored", [False, True])
def test_an_entry_whose_checksum_fails_is_refused(tmp_path: Path, stored: bool) -> None:
    """The zip's CRC of each array is checked: a file whose bytes were changed after it
    was written is refused, whether its entries are deflated or stored."""
    array = np.arange(1000.0)
    path = _npz(tmp_path / "c.npz", {HEADER_NAME: _npy(_header_bytes()), "x": _npy(array)}, stored)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("x.npy")
    record = data.rfind(b"x.npy") - 46  # its record in the directory, after the data
    assert data[record : record + 4] == b"PK\x01\x02"
    for crc_at in (record + 16, info.header_offset + 14):  # there and in its own header
        data[crc_at] ^= 0xFF
    path.write_bytes(bytes(data))
    with (
        nn.modelfile.ModelFile(path) as file,
        pytest.raises(nn.ModelFileError, match=r"entry 'x' is corrupt \(Bad CRC-32"),
    ):
        file.read(file.entries["x"])


def test_check_size_counts_the_readers_memory_with_the_arrays(tmp_path: Path) -> None:
    array = np.zeros(1000)
    path = _npz(tmp_path / "s.npz", {HEADER_NAME: _npy(_header_bytes()), "x": _npy(array)})
    with nn.modelfile.ModelFile(path) as file:
        needed = file.overhead_bytes + array.nbytes
        file.check_size(needed)
        with pytest.raises(nn.ModelFileError, match="its arrays take 8000 bytes, more than"):
            file.check_size(needed - 1)


def test_damage_the_zip_reader_raises_is_a_model_file_error(tmp_path: Path) -> None:
    """zipfile raises more than BadZipFile on a damaged archive (a directory record cut
    short, an impossible offset): each is a ModelFileError naming the damage."""
    path = _npz(tmp_path / "d.npz", {HEADER_NAME: _npy(_header_bytes())})
    data = bytearray(path.read_bytes())
    end = data.rfind(b"PK\x05\x06")
    directory_at = int.from_bytes(data[end + 16 : end + 20], "little")
    data[directory_at + 42 : directory_at + 46] = (10**9).to_bytes(4, "little")  # its offset
    path.write_bytes(bytes(data))
    with (
        pytest.raises(nn.ModelFileError, match=f"{path.name}: "),
        nn.modelfile.ModelFile(path) as file,
    ):
        file.read(file.entries[HEADER_NAME])


@pytest.mark.parametrize("version", [(0, 5), (1, 1), (1, 5), (2, 1)])
def test_npy_format_versions_between_and_below_are_refused(
    tmp_path: Path, version: tuple[int, int]
) -> None:
    data = bytearray(_npy(_header_bytes()))
    data[6:8] = bytes(version)  # the magic string's version bytes
    path = _npz(tmp_path / "v.npz", {HEADER_NAME: bytes(data)})
    with pytest.raises(
        nn.ModelFileError, match=rf"npy format version \({version[0]}, {version[1]}\) is not"
    ):
        nn.modelfile.ModelFile(path)


def test_a_header_of_exactly_the_most_bytes_allowed_is_read(tmp_path: Path) -> None:
    """MAX_HEADER_BYTES is 1 MiB, the header's whole .npy entry counted."""
    npy_header = len(_npy(np.zeros(0, np.uint8)))
    text = json.dumps(_header(None))
    padded = text + " " * ((1 << 20) - npy_header - len(text))  # JSON allows trailing space
    for extra, refused in ((0, False), (1, True)):
        array = np.frombuffer((padded + " " * extra).encode(), np.uint8)
        path = _npz(tmp_path / "h.npz", {HEADER_NAME: _npy(array)})
        if refused:
            with pytest.raises(nn.ModelFileError, match="its header takes 1048577 bytes, more "
                               "than the 1048576 allowed"):  # fmt: skip
                nn.modelfile.ModelFile(path)
        else:
            with nn.modelfile.ModelFile(path) as file:
                assert file.header["metadata"] == {}


def _a_header_and_many_entries(path: Path, count: int, said: int | None = None) -> Path:
    """A model file of a header and ``count`` − 1 directory records of one empty entry,
    its zip64 end record saying ``said`` entries (``count`` if None)."""
    import io
    import struct

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{HEADER_NAME}.npy", _npy(_header_bytes()))
        archive.writestr("w.npy", _npy(np.zeros(0)))
    data = buffer.getvalue()
    end = data.rfind(b"PK\x05\x06")
    start = struct.unpack("<L", data[end + 16 : end + 20])[0]
    second = data.rfind(b"PK\x01\x02", start, end)
    directory = data[start:second] + data[second:end] * (count - 1)
    said = count if said is None else said
    zip64_end = struct.pack(
        "<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, said, said, len(directory), start
    )
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, start + len(directory), 1)
    record = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    path.write_bytes(data[:start] + directory + zip64_end + locator + record)
    return path


def test_a_zip_of_exactly_the_most_entries_allowed_is_read_entry_by_entry(
    tmp_path: Path,
) -> None:
    """100,000 entries pass the count (the file is then refused for its first repeated
    name), 100,001 do not, whether the end record says so or only the directory does."""
    path = _a_header_and_many_entries(tmp_path / "most.npz", 100_000)
    with pytest.raises(nn.ModelFileError, match="entry 'w' appears twice"):
        nn.modelfile.ModelFile(path)
    messages = {  # the end record's count, or the walk of the directory it understates
        100_001: "it holds 100001 entries, more than 100000",
        1: "its directory holds more than 100000 entries",
    }
    for said, message in messages.items():
        path = _a_header_and_many_entries(tmp_path / "more.npz", 100_001, said)
        with pytest.raises(nn.ModelFileError, match=message):
            nn.modelfile.ModelFile(path)


def test_what_a_file_says_of_an_array_cannot_be_changed(tmp_path: Path) -> None:
    import dataclasses

    path = _npz(tmp_path / "a.npz", {HEADER_NAME: _npy(_header_bytes()), "x": _npy(np.zeros(3))})
    with nn.modelfile.ModelFile(path) as file:
        entry = file.entries["x"]
        with pytest.raises(dataclasses.FrozenInstanceError):
            entry.shape = (10**9,)  # type: ignore[misc]
        assert hash(entry) == hash(file.entries["x"])


def test_a_name_that_says_utf_8_and_is_not_is_a_damaged_zip(tmp_path: Path) -> None:
    """zipfile raises UnicodeDecodeError (not BadZipFile) for such a directory record."""
    data = bytearray(_zip_bytes(1, b""))
    record = data.rfind(b"PK\x01\x02")
    data[record + 8] |= 0x08  # flag bit 11 (0x800): the name is UTF-8
    data[record + 9] |= 0x08
    data[record + 46] = 0xFF  # which 0xFF never is
    path = tmp_path / "d.npz"
    path.write_bytes(bytes(data))
    with pytest.raises(nn.ModelFileError, match=r"d\.npz: it is a damaged zip archive \("):
        nn.load(path)


def test_a_load_is_allowed_two_gibibytes_unless_told_otherwise(tmp_path: Path) -> None:
    spec = {
        "type": "Linear",
        "config": {"in_features": 1 << 15, "out_features": 1 << 14, "bias": False,
                   "init": "kaiming", "dtype": "float32"},
    }  # fmt: skip
    path = _npz(tmp_path / "big.npz", {HEADER_NAME: _npy(_header_bytes(_header(spec)))})
    with pytest.raises(nn.ModelFileError, match="more than the 2147483648 allowed"):
        nn.load(path)


# -- the schema's fields at their edges -------------------------------------------------


def test_each_kind_of_field_at_the_ends_of_its_range() -> None:
    """Hand-picked values at and just past every end (the property above draws values
    at random, which seldom fall on an end)."""
    assert _accepts(Integer(-2, 5), -2) and _accepts(Integer(-2, 5), 5)
    assert not _accepts(Integer(-2, 5), -3) and not _accepts(Integer(-2, 5), 6)
    closed, open_ = Number(-2, 5), Number(-2, 5, low_open=True, high_open=True)
    for value in (-2, 5, -2.0, 5.0):
        assert _accepts(closed, value) and not _accepts(open_, value)
    for value in (math.nextafter(-2, 0), math.nextafter(5, 0), 0, 1.5):
        assert _accepts(closed, value) and _accepts(open_, value)
    for value in (math.nextafter(-2, -3), math.nextafter(5, 6), -3, 6):
        assert not _accepts(closed, value) and not _accepts(open_, value)
    assert _accepts(Number(0, 1), 1)  # an end is in the range unless said otherwise
    assert not _accepts(Number(-1.0, 1e308), 10**400)  # too large for a float: refused
    assert _accepts(Text(3), "abc") and not _accepts(Text(3), "abcd")
    for constant, others in ((3, (2, 4, 3.0, True)), ("b", ("a", "c", "bb"))):
        assert _accepts(Constant(constant), constant)
        assert not any(_accepts(Constant(constant), other) for other in others)


def test_the_fields_are_values_that_cannot_change() -> None:
    """A schema is shared by every load: its fields cannot be changed, and two fields
    made alike are equal (and hash alike)."""
    import dataclasses

    made = [
        lambda: Integer(0, 1),
        lambda: Number(0.0, 1.0),
        lambda: Flag(),
        lambda: Choice(_activation_names),
        lambda: Text(3),
        lambda: Constant(1),
        lambda: Nullable(Flag()),
        lambda: ListOf(Flag(), 0, 1),
        lambda: Object({"a": Flag()}),
        lambda: AnyJSON(),
        lambda: Tagged(dict),
    ]
    for make in made:
        one, other = make(), make()
        assert one == other, type(one).__name__
        if not isinstance(one, Object):  # an Object holds dicts, which do not hash
            assert hash(one) == hash(other)
        with pytest.raises(dataclasses.FrozenInstanceError):
            one.anything = 1  # type: ignore[attr-defined]


def _activation_names() -> list[str]:
    return ["relu"]


def test_a_long_path_is_shown_by_its_two_ends() -> None:
    """A path of at most 120 characters is shown whole; a longer one as its first 40
    characters, " ... " and its last 70."""
    for length in (119, 120):
        path = "a" * length
        assert str(SchemaError(path, "wrong")) == f"{path}: wrong"
    path = "".join(chr(ord("a") + i % 26) for i in range(121))
    assert str(SchemaError(path, "wrong")) == f"{path[:40]} ... {path[51:]}: wrong"
    assert str(SchemaError("", "wrong")) == "the header: wrong"


def _nested_list(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def test_every_kind_of_container_counts_the_nesting_from_the_top() -> None:
    """Whatever field is at the top (a list, an object, a tagged entry, a nullable one),
    a value nested MAX_DEPTH = 64 deep in all passes and one level more is refused; and
    a check asked to start deeper than the limit refuses any container at once."""
    assert MAX_DEPTH == 64
    tops: list[tuple[Any, Any]] = [
        (ListOf(AnyJSON(), 0, 1), lambda depth: _nested_list(depth)),
        (Nullable(ListOf(AnyJSON(), 0, 1)), lambda depth: _nested_list(depth)),
        (Object({}, extra=AnyJSON()), lambda depth: {"x": _nested_list(depth - 1)}),
        (
            Tagged(lambda: {"t": Object({}, extra=AnyJSON())}),
            lambda depth: {"type": "t", "config": {"x": _nested_list(depth - 2)}},
        ),
        (AnyJSON(), lambda depth: _nested_list(depth)),
    ]
    for top, value in tops:
        top.check(value(MAX_DEPTH))
        with pytest.raises(SchemaError, match="nested more than 64 deep"):
            top.check(value(MAX_DEPTH + 1))
        with pytest.raises(SchemaError, match=r"nested more than 64 deep|expected null or"):
            top.check(value(2), "x", MAX_DEPTH + 5)  # (Nullable says what it takes instead)


def test_an_unknown_field_of_a_tagged_entry_is_named_first_of_them() -> None:
    tagged = Tagged(lambda: {"t": Object({})})
    for extra, named in (({"z": 1}, "z"), ({"b": 1, "a": 2}, "a")):
        with pytest.raises(SchemaError, match=rf"^x\.{named}: an unknown field"):
            tagged.check({"type": "t", "config": {}, **extra}, "x")


# -- metadata: JSON, or a clear refusal before anything is written ------------------------

_JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
_JSON = st.recursive(
    _JSON_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(metadata=st.dictionaries(st.text(max_size=6).map("my {}".format), _JSON, max_size=4))
def test_metadata_of_json_comes_back_as_it_went_in(
    tmp_path: Path, metadata: dict[str, Any]
) -> None:
    path = tmp_path / "m.npz"
    nn.Linear(2, 1, rng=0).save(path, metadata=metadata)
    assert nn.load_metadata(path) == metadata


_NOT_JSON = {
    "an array": (np.zeros(3), "is an array of shape (3,) and dtype float64"),
    "a complex number": (1j, "is a complex, which JSON cannot hold"),
    "a set": ({1, 2}, "is a set, which JSON cannot hold"),
    "an object": (object(), "is an object, which JSON cannot hold"),
    "a tensor": (Tensor(np.zeros(2)), "is a Tensor of shape (2,)"),
}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    outer=st.lists(st.sampled_from(["list", "dict"]), max_size=3),
    kind=st.sampled_from(sorted(_NOT_JSON)),
    number_key=st.booleans(),
)
def test_what_json_would_refuse_or_change_is_named_by_its_path_and_nothing_is_written(
    tmp_path: Path, outer: list[str], kind: str, number_key: bool
) -> None:
    """An array, a complex number, a set, any object (``torch.save``'s habit of putting an
    optimiser's state beside the model) and a key that is not text (JSON would turn
    ``{1: 2}`` into ``{"1": 2}``) anywhere in the metadata: a TypeError from ``save`` that
    names the path, and the file that was there stays as it was."""
    value, said = _NOT_JSON[kind]
    if number_key:
        value, said = {7: 1}, "has the key 7 (int), which JSON would turn into text"
    for level in outer:  # wrapped from the inside out: the last wrapper is the outermost
        value = [value] if level == "list" else {"k": value}
    steps = ["[0]" if level == "list" else "['k']" for level in reversed(outer)]
    expected_path = "metadata['x']" + "".join(steps)
    path = tmp_path / "m.npz"
    nn.Linear(2, 1, rng=0).save(path)
    before = path.read_bytes()
    with pytest.raises(TypeError) as refused:
        nn.Linear(2, 1, rng=1).save(path, metadata={"x": value})
    message = str(refused.value)
    assert message.startswith(f"save: {expected_path} {said}"), message
    assert "fit(checkpoint=...)" in message
    assert path.read_bytes() == before


# -- what is written over: only a regular file, never a FIFO, a device or a link loop -------


def _special_targets(folder: Path) -> dict[str, Path]:
    """A FIFO, a character device like /dev/null (root only: mknod) and a loop of links."""
    found: dict[str, Path] = {}
    if hasattr(os, "mkfifo"):
        os.mkfifo(folder / "pipe.png")  # a suffix every writer takes
        found["named pipe (FIFO)"] = folder / "pipe.png"
    if hasattr(os, "mknod") and hasattr(os, "geteuid") and os.geteuid() == 0:
        import stat

        os.mknod(folder / "null.png", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        found["character device"] = folder / "null.png"
    if hasattr(os, "symlink"):
        os.symlink(folder / "b.png", folder / "a.png")
        os.symlink(folder / "a.png", folder / "b.png")
        found["symbolic links"] = folder / "a.png"
    return found


def test_every_writer_refuses_to_replace_what_is_not_a_regular_file(tmp_path: Path) -> None:
    """A rename over a FIFO or a device replaces it with a plain file (as root, /dev/null
    itself): each writer refuses, naming the path and what is there, and it stays."""
    import nn.plot

    model = nn.Linear(2, 1, rng=0)
    history = nn.History([{"epoch": 1.0, "loss": 0.5}])
    writers = {
        "save": model.save,
        "History.save": history.save,
        "checkpoint": lambda p: nn.checkpoint.write_checkpoint(
            p,
            model=model,
            optimizer=nn.optim.SGD(model.parameters()),
            scheduler=None,
            callbacks=[],
            history=[],
            epoch=0,
            stopped=False,
            data=nn.checkpoint.data_fingerprint(np.ones((4, 2)), np.ones(4), 2, False),
            rng=np.random.default_rng(0),
        ),
        "save_figure": lambda p: nn.plot.save_figure(nn.plot.training_curves(history), p),
    }
    targets = _special_targets(tmp_path)
    assert targets, "this platform has no special files to try"
    for kind, target in targets.items():
        before = os.lstat(target)
        for name, write in writers.items():
            with pytest.raises(OSError) as refused:
                write(target)
            message = str(refused.value)
            assert str(target.name) in message, (name, message)
            assert ("not a regular file" in message) or ("symbolic links" in message), message
            after = os.lstat(target)
            assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino), (kind, name)
        assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# -- the directory's records walked, the zip64 record's signature, what save writes -------


def _central_directory(data: bytes) -> bytes:
    """The central directory of the archive ``data``, found by zipfile itself."""
    import io

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        start = archive.start_dir
    return data[start : data.rfind(b"PK\x05\x06")]


def _empty_name_zip() -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo(""), b"")
    return buffer.getvalue()


_EMPTY_NAME_ZIP = _empty_name_zip()


@st.composite
def _archives_of_records(draw: st.DrawFn) -> tuple[bytes, int]:
    """An archive of 0 to 4 entries, each with a name, an extra field and a comment of
    its own length (zipfile writes all three into the entry's directory record)."""
    import io
    import struct

    count = draw(st.integers(0, 4))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(count):
            if i == count - 1 and draw(st.booleans()):  # a record of its fixed part alone
                archive.writestr(zipfile.ZipInfo(""), b"")
                continue
            info = zipfile.ZipInfo(f"{i}" + "n" * draw(st.integers(0, 30)) + ".npy")
            size = draw(st.integers(0, 12))
            info.extra = struct.pack("<2H", 0xCAFE, size) + bytes(size)  # one tagged block
            info.comment = b"c" * draw(st.integers(0, 40))
            archive.writestr(info, b"")
    return buffer.getvalue(), count


@given(archive=_archives_of_records(), data=st.data())
def test_the_records_of_a_directory_are_counted_by_their_lengths_and_nothing_else_is(
    archive: tuple[bytes, int], data: st.DataObject
) -> None:
    """A directory that zipfile wrote holds exactly its entries' records, whatever their
    names', extra fields' and comments' lengths; the same bytes cut anywhere but between
    two records, with bytes after them, or with a record's signature changed are not a
    run of whole records (-1)."""
    from nn.modelfile import directory_records

    archive_bytes, count = archive
    directory = _central_directory(archive_bytes)
    assert directory_records(directory) == count
    starts = [at for at in range(len(directory)) if directory.startswith(b"PK\x01\x02", at)]
    assert len(starts) == count
    if count:
        cut = data.draw(st.integers(1, len(directory) - 1).filter(lambda at: at not in starts))
        assert directory_records(directory[:cut]) == -1
        assert directory_records(directory[: starts[-1]]) == count - 1
        at = data.draw(st.sampled_from(starts)) + data.draw(st.integers(0, 3))
        for byte in (0x00, 0xFF):  # a signature that sorts before the right one, and after
            changed = bytearray(directory)
            changed[at] = byte
            assert directory_records(bytes(changed)) == -1
    after = data.draw(st.binary(min_size=1, max_size=60).filter(lambda b: b[:4] != b"PK\x01\x02"))
    assert directory_records(directory + after) == -1


@given(signature=st.binary(min_size=4, max_size=4).filter(lambda s: s != b"PK\x06\x06"))
@example(signature=b"PK\x06\x05")  # just below the real one
@example(signature=b"PK\x06\x07")  # just above: the locator's own
def test_a_zip64_record_of_any_other_signature_is_no_zip(signature: bytes) -> None:
    data = _as_zip64(_zip_bytes(1, b""))
    at = data.rfind(b"PK\x06\x06")
    assert _our_reading(data) == _zipfiles_reading(data) != None  # noqa: E711
    assert _our_reading(data[:at] + signature + data[at + 4 :]) is None


def _header_of_a_linear() -> dict[str, Any]:
    return _header({**_linear_spec(), "config": {**_linear_spec()["config"], "dtype": "float32"}})


@given(
    arrays=st.dictionaries(
        st.sampled_from(["a", "b.c", "w"]),
        st.integers(0, 50).map(lambda n: np.arange(n, dtype=np.float64)),
        max_size=3,
    ),
    compress=st.sampled_from([None, True, False]),
)
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_what_write_model_file_writes_is_deflated_unless_told_not_to(
    tmp_path: Path, arrays: dict[str, np.ndarray], compress: bool | None
) -> None:
    """Every entry is deflated by default and with compress=True, stored as it is with
    compress=False, and reads back the same either way; the options after the arrays
    are given by name only (a stray True is never taken for ``check``)."""
    from nn.modelfile import write_model_file

    path = tmp_path / "w.npz"
    options = {} if compress is None else {"compress": compress}
    write_model_file(path, _header_of_a_linear(), arrays, **options)
    with zipfile.ZipFile(path) as archive:
        kinds = {info.compress_type for info in archive.infolist()}
    assert kinds == {zipfile.ZIP_STORED if compress is False else zipfile.ZIP_DEFLATED}
    with nn.modelfile.ModelFile(path) as file:
        assert sorted(file.entries) == sorted(arrays)
        for name, array in arrays.items():
            np.testing.assert_array_equal(file.read(file.entries[name]), array)
    with pytest.raises(TypeError):
        write_model_file(path, _header_of_a_linear(), arrays, None)  # type: ignore[misc]


@pytest.mark.parametrize("bit", [0, 1, 2, 11])
def test_only_flag_bit_0_says_an_entry_is_encrypted(tmp_path: Path, bit: int) -> None:
    """Bits 1 and 2 are deflate's speed options and bit 11 says the name is UTF-8: an
    entry with them loads; bit 0 is refused by the reader, before zipfile would ask for
    a password."""
    path = tmp_path / "flags.npz"
    nn.Linear(3, 2, rng=0).save(path)
    expected = nn.load(path).weight.data.copy()  # type: ignore[attr-defined]
    data = bytearray(path.read_bytes())
    for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        while at >= 0:
            data[at + flags_at + bit // 8] |= 1 << (bit % 8)
            at = data.find(signature, at + 4)
    path.write_bytes(bytes(data))
    if bit == 0:
        with pytest.raises(nn.ModelFileError, match=r"is encrypted \(a model file's entries never"):
            nn.load(path)
    else:
        np.testing.assert_array_equal(nn.load(path).weight.data, expected)  # type: ignore[attr-defined]


def test_a_reader_stopped_by_anything_closes_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not only a damaged file: whatever stops the reader while it reads the header or
    the entries (an interrupt, a bug) closes the file before it goes on up."""

    class Stopped(BaseException):
        pass

    path = tmp_path / "m.npz"
    nn.Linear(3, 2, rng=0).save(path)
    handles: list[Any] = []
    real_open = nn.modelfile.open_regular

    def recording(name: Any) -> Any:
        handles.append(real_open(name))
        return handles[-1]

    def stop(*_: Any) -> Any:
        raise Stopped

    monkeypatch.setattr(nn.modelfile, "open_regular", recording)
    for step in ("_read_header", "_read_entries"):
        with monkeypatch.context() as patch:
            patch.setattr(nn.modelfile.ModelFile, step, stop)
            with pytest.raises(Stopped):
                nn.modelfile.ModelFile(path)
    assert len(handles) == 2 and all(handle.closed for handle in handles)


def test_an_entry_as_large_as_the_whole_load_is_read_from_its_header(tmp_path: Path) -> None:
    """An entry is refused unread only when it is larger than everything the load may
    take: one of exactly that many bytes is sized up from its header (and the load then
    refused, or not, by what it all takes together)."""
    array = np.zeros(1 << 18)  # 2 MiB, and a .npy header of 128 bytes
    path = _npz(tmp_path / "big.npz", {HEADER_NAME: _npy(_header_bytes()), "x": _npy(array)})
    size = (1 << 21) + 128
    with nn.modelfile.ModelFile(path, max_bytes=size) as file:
        assert file.entries["x"].info.file_size == size
        assert file.entries["x"].shape == (1 << 18,)
    with pytest.raises(nn.ModelFileError, match=rf"entry 'x' takes {size} bytes, more than the"):
        nn.modelfile.ModelFile(path, max_bytes=size - 1)


def test_the_memory_a_load_counts_worked_by_hand(tmp_path: Path) -> None:
    """nn.Linear(3, 2).save writes three entries; a load counts, before making anything:

    - the reader's own 1 MiB: 1,048,576
    - its directory: records of 46 bytes plus their names (weight.npy, bias.npy,
      __tracegrad__.npy: 10, 8 and 17 bytes), 173 bytes, so at most 173 // 46 = 3
      entries at 1 KiB each: 3,072 + 173 = 3,245
    - its header: a .npy of 325 bytes (128 of .npy header, 197 of JSON), 96 bytes each
      once parsed: 31,200
    - the model: a module (2,048), two tensors (2 · 512) and 8 float32 numbers (32): 3,104
    - its largest array while it is read: the weight, 6 float32 numbers: 24

    1,048,576 + 3,245 + 31,200 + 3,104 + 24 = 1,086,149: the least max_bytes that
    loads it."""
    path = tmp_path / "linear.npz"
    nn.Linear(3, 2, rng=0).save(path)
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo(f"{HEADER_NAME}.npy").file_size == 325  # the sum's premise
    with nn.modelfile.ModelFile(path) as file:
        assert file.overhead_bytes == 1_083_021  # the reader, its directory and its header
    nn.load(path, max_bytes=1_086_149)
    with pytest.raises(nn.ModelFileError, match="its largest array would take the load to 1086149"):
        nn.load(path, max_bytes=1_086_148)
    with pytest.raises(nn.ModelFileError, match="its model would take the load to 1086125"):
        nn.load(path, max_bytes=1_086_124)
    with pytest.raises(nn.ModelFileError, match="its header would take the load to 1083021"):
        nn.load(path, max_bytes=1_083_020)
    with pytest.raises(nn.ModelFileError, match="its zip directory would take the load to 1051821"):
        nn.load(path, max_bytes=1_051_820)


_MAGIC = b"\x93NUMPY"


@given(
    start=st.one_of(
        st.binary(max_size=12).filter(lambda b: not b.startswith(_MAGIC)),  # anything else
        st.integers(0, 7).map(lambda n: (_MAGIC + b"\x01\x00")[:n]),  # the magic, cut short
        st.binary(min_size=2, max_size=2).map(lambda v: b"\x93NUMPZ" + v),  # one byte off
    )
)
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_an_entry_that_does_not_start_as_a_npy_array_is_named_so(
    tmp_path: Path, start: bytes
) -> None:
    """Its first 8 bytes must be numpy's magic string and a version: a shorter entry, or
    one whose first 6 bytes are anything else, is refused for that, whatever follows."""
    path = _npz(tmp_path / "x.npz", {HEADER_NAME: _npy(_header_bytes()), "x": start})
    refused = r"entry 'x' is not a readable \.npy array \(it does not start as a \.npy array does"
    with pytest.raises(nn.ModelFileError, match=refused):
        nn.modelfile.ModelFile(path)


def _npy_of_header_length(length: int, shape: str = "(2,)", data: bytes = bytes(8)) -> bytes:
    """A version 1.0 .npy of uint32s whose header (its dict, spaces, a newline) takes
    ``length`` bytes, as its length field says."""
    import struct

    text = f"{{'descr': '<u4', 'fortran_order': False, 'shape': {shape}, }}".encode()
    return _MAGIC + b"\x01\x00" + struct.pack("<H", length) + text.ljust(length - 1) + b"\n" + data


@given(length=st.sampled_from([64, 128, 9_999, 10_000, 10_001, 10_064, 65_535]))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_an_npy_header_is_read_up_to_its_limit_and_refused_past_it(
    tmp_path: Path, length: int
) -> None:
    """numpy's own limit, 10,000 bytes: a header of that many is read, one of a byte more
    is refused before it is read."""
    path = _npz(
        tmp_path / "x.npz", {HEADER_NAME: _npy(_header_bytes()), "x": _npy_of_header_length(length)}
    )
    if length <= 10_000:
        with nn.modelfile.ModelFile(path) as file:
            np.testing.assert_array_equal(file.read(file.entries["x"]), np.zeros(2, np.uint32))
    else:
        with pytest.raises(
            nn.ModelFileError, match=f"says it takes {length} bytes, more than 10000"
        ):
            nn.modelfile.ModelFile(path)


@given(cut=st.integers(1, 117))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_an_npy_header_shorter_than_its_length_field_says_is_truncated(
    tmp_path: Path, cut: int
) -> None:
    """An entry that ends inside its .npy header (anywhere short of its newline)."""
    whole = _npy_of_header_length(118, data=b"")
    path = _npz(tmp_path / "x.npz", {HEADER_NAME: _npy(_header_bytes()), "x": whole[:-cut]})
    with pytest.raises(nn.ModelFileError, match=r"entry 'x' .*its \.npy header is truncated"):
        nn.modelfile.ModelFile(path)


@given(size=st.integers(-5, -1), at=st.integers(0, 1))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_negative_size_in_a_shape_is_refused(tmp_path: Path, size: int, at: int) -> None:
    shape = [(size, 2), (2, size)][at]
    path = _npz(
        tmp_path / "x.npz",
        {HEADER_NAME: _npy(_header_bytes()), "x": _npy_of_header_length(118, str(shape))},
    )
    with pytest.raises(
        nn.ModelFileError, match=re.escape(f"says shape {shape}, with a negative size")
    ):
        nn.modelfile.ModelFile(path)


@given(this_disk=st.integers(0, 9))
def test_a_zip64_record_is_read_for_its_total_not_for_this_disks_count(this_disk: int) -> None:
    """The zip64 end record gives the entries on this disk, then the total: the total is
    what zipfile reads, whatever the other says."""
    import struct

    data = bytearray(_as_zip64(_zip_bytes(3, b"")))
    at = data.rfind(b"PK\x06\x06")
    data[at + 24 : at + 32] = struct.pack("<Q", this_disk)  # this disk's count
    assert _our_reading(bytes(data)) == _zipfiles_reading(bytes(data))
    assert _our_reading(bytes(data))[0] == 3  # type: ignore[index]


def test_the_memory_a_load_of_a_scalar_model_counts_worked_by_hand(tmp_path: Path) -> None:
    """nn.scalar.MLP(2, [1]) (one neuron, three Values) saves four entries:

    - the reader's 1 MiB: 1,048,576
    - its directory: 4 records of 46 bytes and names of 26, 26, 24 and 17 bytes, 277
      bytes, so at most 277 // 46 = 6 entries at 1 KiB: 6,144 + 277 = 6,421
    - its header: 285 bytes at 96 each: 27,360
    - the model: three modules (the MLP, its layer, its neuron) at 2,048 and three Values
      at 256: 6,144 + 768 = 6,912
    - its largest array: one float64, 8

    1,048,576 + 6,421 + 27,360 + 6,912 + 8 = 1,089,277."""
    path = tmp_path / "scalar.npz"
    nn.scalar.MLP(2, [1], rng=0).save(path)
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo(f"{HEADER_NAME}.npy").file_size == 285  # the sum's premise
    nn.load(path, max_bytes=1_089_277)
    with pytest.raises(nn.ModelFileError, match="its largest array would take the load to 1089277"):
        nn.load(path, max_bytes=1_089_276)
    with pytest.raises(nn.ModelFileError, match="its model would take the load to 1089269"):
        nn.load(path, max_bytes=1_089_268)


@given(said=st.text(max_size=20).filter(lambda s: s != FORMAT))
@example(said="tracegrad-checkpoint").via("sorts before the model's format")
@example(said="tracegrad-moon").via("sorts after it")
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_header_of_any_other_format_is_not_a_model_file(tmp_path: Path, said: str) -> None:
    path = _npz(
        tmp_path / "f.npz", {HEADER_NAME: _npy(_header_bytes({**_header(None), "format": said}))}
    )
    with pytest.raises(
        nn.ModelFileError, match=r"it is not a tracegrad model file \(its header says"
    ):
        nn.modelfile.ModelFile(path)


@given(stub=st.integers(0, 60), count=st.integers(0, 2))
@example(stub=19, count=0).via("a locator would start one byte before the file")
@example(stub=20, count=0).via("a locator would start at the file's start")
def test_an_archive_after_a_stub_of_any_length_is_read_as_zipfile_reads_it(
    stub: int, count: int
) -> None:
    """Bytes before the archive (a stub of 0 to 60 bytes, so the end record's neighbour
    that would be a zip64 locator starts before the file, at it, or after it)."""
    data = bytes(stub) + _zip_bytes(count, b"")
    assert _our_reading(data) == _zipfiles_reading(data) != None  # noqa: E711


@given(count=st.integers(1, 3), more=st.integers(1, 40))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_directory_that_is_not_a_run_of_whole_records_is_named_so(
    tmp_path: Path, count: int, more: int
) -> None:
    """An end record that says the directory is larger than its records (so that it
    would start inside the data before it) with the right count of entries."""
    import struct

    data = _zip_bytes(count, b"")
    end = data.rfind(b"PK\x05\x06")
    size = struct.unpack("<L", data[end + 12 : end + 16])[0]
    path = tmp_path / "z.npz"
    path.write_bytes(_with_end_fields(data, size=size + more))
    with pytest.raises(nn.ModelFileError, match="its directory is not a run of whole records"):
        nn.modelfile.ModelFile(path)


def test_the_walk_of_records_counts_to_one_past_the_most_allowed_and_no_further() -> None:
    """100,000 whole records are counted, and so are 100,001 (the walk stops there: more is
    refused anyway); 100,000 whose last one is cut short are not a run of whole records."""
    from nn.modelfile import MAX_ENTRIES, directory_records

    record = _central_directory(_zip_bytes(1, b""))
    assert MAX_ENTRIES == 100_000 and directory_records(record) == 1
    assert directory_records(record * 100_000) == 100_000
    assert directory_records(record * 100_001) == 100_001
    assert directory_records(record * 100_002) == 100_001
    assert directory_records((record * 100_000)[:-1]) == -1
    bare = _central_directory(_EMPTY_NAME_ZIP)  # a record of its fixed 46 bytes alone
    assert len(bare) == 46 and directory_records(bare) == 1 and directory_records(bare * 2) == 2
