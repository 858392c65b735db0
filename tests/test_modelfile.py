"""Model files as untrusted input: every bad file is a ModelFileError naming the problem,
no file makes the loader allocate much more than the model it describes, and saving never
loses a file (symbolic links, read-only files, a writer killed mid-write)."""

from __future__ import annotations

import json
import os
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
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nn
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
        ([1, 2], r"architecture: expected an object \{\"type\""),
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
