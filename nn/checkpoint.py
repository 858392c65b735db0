"""Checkpoints: all that ``fit`` needs to go on from the end of an epoch, in one file.

A checkpoint is a model file's sibling (``nn/modelfile.py``), written and read by the
same machinery: numpy's ``.npz``, one ``.npy`` array per entry, a JSON header under
``__tracegrad__``, written atomically (a reader sees the last epoch's file or the one
before, never half of one; Ctrl-C or a crash while writing leaves the old one), read as
untrusted input (sized up before it is read, nothing unpickled, every header field
checked through ``HEADER`` below, every array's shape and dtype read before its data).

What it holds, so that a resumed run is the uninterrupted run to the last bit:

- the model's parameters (``model.<name>``) and its architecture and ties, to refuse a
  checkpoint of another model;
- the optimiser's ``state_dict()`` (Adam's moments and step counts, SGD's momentum
  buffers, the settings, the learning rate as it stands);
- the scheduler's ``state_dict()`` (its epoch count, ReduceLROnPlateau's best figure);
- the state of each callback that has one (``EarlyStopping``'s best figure, patience
  count and best weights);
- the history so far, the number of epochs finished, and whether a callback stopped the
  run there (resuming a stopped run trains no further: it ended by a decision);
- the state of the generator that shuffles the data, and of every generator inside the
  model (``Dropout``'s), so that the next epoch draws the numbers it would have drawn;
- a fingerprint of the data (sample count, batch size, shuffling, a SHA-256 of X and y):
  resuming on other data would train a different run and call it the same one.

The objects' states are JSON with their arrays stored beside it, a reference
``{"__array__": name}`` in the JSON for each; a number JSON cannot write (±inf, NaN)
is ``{"__float__": "inf"}``. The objects' own ``load_state_dict`` check those states
as their constructors check their arguments.
"""

from __future__ import annotations

import hashlib
import math
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .modelfile import (
    ARCHITECTURE,
    MAX_MODEL_BYTES,
    MAX_NAME,
    ModelFile,
    ModelFileError,
    check_architecture,
    write_model_file,
)
from .module import Module
from .schema import (
    AnyJSON,
    Choice,
    Constant,
    Field,
    Flag,
    Integer,
    ListOf,
    Nullable,
    Number,
    Object,
    SchemaError,
    Text,
    shown,
)

FORMAT = "tracegrad-checkpoint"
FORMAT_VERSION = 1

#: The most epochs a history may record, callbacks a run may have.
MAX_EPOCHS = 10_000_000
MAX_CALLBACKS = 1000

_SPECIAL_FLOATS = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


class Real(Field):
    """A float of a history record: a finite number, or ``{"__float__": "inf"}`` (or
    "-inf", "nan") for what JSON cannot write (a metric of one's own may give NaN)."""

    def check(self, value: Any, path: str = "", depth: int = 0) -> float:
        if isinstance(value, dict) and set(value) == {"__float__"}:
            special = _SPECIAL_FLOATS.get(value["__float__"])
            if special is not None:
                return special
        return Number(-sys.float_info.max, sys.float_info.max).check(value, path, depth)

    def describe(self) -> str:
        return 'a number, or {"__float__": "inf", "-inf" or "nan"}'


#: The state of a numpy generator: PCG64's (``np.random.default_rng``'s) or PCG64DXSM's.
GENERATOR = Object(
    {
        "bit_generator": Choice(lambda: ("PCG64", "PCG64DXSM")),
        "state": Object({"state": Integer(0, 2**128 - 1), "inc": Integer(0, 2**128 - 1)}),
        "has_uint32": Integer(0, 1),
        "uinteger": Integer(0, 2**32 - 1),
    }
)
#: An object's state: its type's name and its ``state_dict()``, checked by the object.
PART = Object({"type": Text(100), "state": AnyJSON()})

#: The whole header.
HEADER = Object(
    {
        "format": Constant(FORMAT),
        "version": Constant(FORMAT_VERSION),
        "epoch": Integer(0, MAX_EPOCHS),
        "stopped": Flag(),
        "history": ListOf(Object({}, extra=Real()), 0, MAX_EPOCHS),
        "architecture": Nullable(ARCHITECTURE),
        "tied": Object({}, extra=Text(MAX_NAME)),
        "data": Object(
            {
                "samples": Integer(1, 2**63 - 1),
                "batch_size": Integer(1, 2**63 - 1),
                "shuffle": Flag(),
                "sha256": Text(64),
            }
        ),
        "rng": GENERATOR,
        "generators": Object({}, extra=GENERATOR),
        "optimizer": PART,
        "scheduler": Nullable(PART),
        "callbacks": ListOf(PART, 0, MAX_CALLBACKS),
    }
)


class CheckpointFile(ModelFile):
    """An open checkpoint: a model file's reader with the checkpoint's header."""

    FORMAT = FORMAT
    FORMAT_VERSION = FORMAT_VERSION
    KIND = "checkpoint"
    WHERE = "fit: resume_from"
    MISSING = (
        " (a first run has nothing to go on from: leave resume_from out; checkpoint= "
        "writes the file after each epoch)"
    )

    def check_header(self, header: Any) -> dict[str, Any]:
        checked: dict[str, Any] = HEADER.check(header)
        return checked


def data_fingerprint(
    X: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool
) -> dict[str, Any]:
    """What identifies the data a run trains on: a SHA-256 of X and y (their shapes,
    dtypes and bytes), the sample count, the batch size and whether it shuffles."""
    digest = hashlib.sha256()
    for array in (X, y):
        digest.update(f"{array.shape}{array.dtype.str}".encode())
        digest.update(np.ascontiguousarray(array).reshape(-1).view(np.uint8).data)
    return {
        "samples": len(X),
        "batch_size": batch_size,
        "shuffle": shuffle,
        "sha256": digest.hexdigest(),
    }


def generator_state(generator: np.random.Generator, where: str) -> dict[str, Any]:
    """A generator's state as JSON (PCG64 or PCG64DXSM, whose state is two integers)."""
    state = dict(generator.bit_generator.state)
    if state.get("bit_generator") not in ("PCG64", "PCG64DXSM"):
        raise TypeError(
            f"fit: checkpoint: {where} draws from a {state.get('bit_generator')} generator, "
            "whose state a checkpoint does not store: use np.random.default_rng(seed) (PCG64)"
        )
    return {
        "bit_generator": state["bit_generator"],
        "state": {"state": int(state["state"]["state"]), "inc": int(state["state"]["inc"])},
        "has_uint32": int(state["has_uint32"]),
        "uinteger": int(state["uinteger"]),
    }


def model_generators(model: Module) -> dict[str, np.random.Generator]:
    """The generators the model's modules draw from (``Dropout``'s), by module name."""
    found = {}
    for name, module in model.named_modules():
        for attribute, value in vars(module).items():
            if isinstance(value, np.random.Generator):
                found[f"{name}.{attribute}" if name else attribute] = value
    return found


# -- states as JSON with arrays beside it -----------------------------------------------


def encode(value: Any, name: str, arrays: dict[str, np.ndarray]) -> Any:
    """``value`` (a state_dict) as JSON; each array goes into ``arrays`` under ``name``
    and a path, and a ``{"__array__": key}`` stands for it."""
    if isinstance(value, np.ndarray):
        arrays[name] = value
        return {"__array__": name}
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else {"__float__": str(number)}
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return {str(key): encode(item, f"{name}.{key}", arrays) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(item, f"{name}.{i}", arrays) for i, item in enumerate(value)]
    raise TypeError(
        f"fit: checkpoint: {name} holds {type(value).__name__}, which a checkpoint cannot "
        "store (numbers, strings, lists, dicts and arrays only)"
    )


def decode(value: Any, arrays: Mapping[str, np.ndarray], path: str) -> Any:
    """The inverse of ``encode``: references replaced by the arrays they name."""
    if isinstance(value, dict):
        if set(value) == {"__array__"}:
            key = value["__array__"]
            if not isinstance(key, str) or key not in arrays:
                raise SchemaError(path, f"refers to an array {shown(key)} the file lacks")
            return arrays[key]
        if set(value) == {"__float__"}:
            if value["__float__"] not in _SPECIAL_FLOATS:
                raise SchemaError(path, f"expected inf, -inf or nan, got {shown(value)}")
            return _SPECIAL_FLOATS[value["__float__"]]
        return {key: decode(item, arrays, f"{path}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [decode(item, arrays, f"{path}.{i}") for i, item in enumerate(value)]
    return value


# -- writing and reading ------------------------------------------------------------------


@dataclass
class Checkpoint:
    """A checkpoint as read: its checked header, and its arrays by name."""

    path: str
    header: dict[str, Any]
    arrays: dict[str, np.ndarray]

    def error(self, problem: str) -> ModelFileError:
        return ModelFileError(f"fit: resume_from: {self.path}: {problem}")

    def state(self, part: Mapping[str, Any], path: str) -> Any:
        """An object's state from the header, its arrays in place."""
        try:
            return decode(part["state"], self.arrays, path)
        except SchemaError as error:
            raise self.error(f"its header's {error}") from None


def write_checkpoint(
    path: str | os.PathLike[str],
    *,
    model: Module,
    optimizer: Any,
    scheduler: Any,
    callbacks: Sequence[Any],
    history: Sequence[Mapping[str, float]],
    epoch: int,
    stopped: bool,
    data: Mapping[str, Any],
    rng: np.random.Generator,
) -> None:
    """Write the state of a run after ``epoch`` epochs to ``path``, atomically."""
    arrays: dict[str, np.ndarray] = {
        f"model.{name}": array for name, array in model.state_dict().items()
    }
    header: dict[str, Any] = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "epoch": epoch,
        "stopped": stopped,
        "history": [encode(dict(record), "history", {}) for record in history],
        "architecture": model.architecture(),
        "tied": model.tied(),
        "data": dict(data),
        "rng": generator_state(rng, "rng"),
        "generators": {
            name: generator_state(generator, f"the model's {name}")
            for name, generator in model_generators(model).items()
        },
        "optimizer": {
            "type": type(optimizer).__name__,
            "state": encode(optimizer.state_dict(), "optimizer", arrays),
        },
        "scheduler": None
        if scheduler is None
        else {
            "type": type(scheduler).__name__,
            "state": encode(scheduler.state_dict(), "scheduler", arrays),
        },
        "callbacks": [
            {
                "type": type(callback).__name__,
                "state": encode(callback.state_dict(), f"callbacks.{i}", arrays),
            }
            for i, callback in enumerate(stateful(callbacks))
        ],
    }
    write_model_file(
        path,
        header,
        arrays,
        check=HEADER.check,
        reader=CheckpointFile,
        where="fit: checkpoint",
        compress=False,
    )


def stateful(callbacks: Sequence[Any]) -> list[Any]:
    """The callbacks whose state a checkpoint keeps: those with ``state_dict``."""
    return [c for c in callbacks if callable(getattr(c, "state_dict", None))]


def read_checkpoint(path: str | os.PathLike[str], max_bytes: int = MAX_MODEL_BYTES) -> Checkpoint:
    """A checkpoint's header (checked) and arrays, read without pickle."""
    with CheckpointFile(path, max_bytes) as file:
        file.check_size(max_bytes)
        arrays = {name: file.read(entry) for name, entry in file.entries.items()}
        return Checkpoint(file.path, file.header, arrays)


def restore(
    checkpoint: Checkpoint,
    *,
    model: Module,
    optimizer: Any,
    scheduler: Any,
    callbacks: Sequence[Any],
    data: Mapping[str, Any],
    rng: np.random.Generator,
) -> None:
    """Put the run's objects in the state the checkpoint holds: all of them or, on any
    mismatch (another model, optimiser, schedule or data; a state its object refuses),
    none: what was changed already is put back, and the error says what did not fit."""
    header = checkpoint.header
    _check_fits(checkpoint, model, optimizer, scheduler, callbacks, data)
    generators = {"rng": rng, **model_generators(model)}
    saved_generators = {name: g.bit_generator.state for name, g in generators.items()}
    saved = (model.state_dict(), optimizer.state_dict())
    saved_schedule = None if scheduler is None else scheduler.state_dict()
    saved_callbacks = [callback.state_dict() for callback in stateful(callbacks)]
    try:
        weights = {
            name[len("model.") :]: array
            for name, array in checkpoint.arrays.items()
            if name.startswith("model.")
        }
        model.load_state_dict(weights)
        state = checkpoint.state(header["optimizer"], "optimizer.state")
        if isinstance(state, dict) and isinstance(state.get("state"), dict):
            state["state"] = {_position(key): value for key, value in state["state"].items()}
        optimizer.load_state_dict(state)
        if scheduler is not None:
            scheduler.load_state_dict(checkpoint.state(header["scheduler"], "scheduler.state"))
        for i, (callback, part) in enumerate(zip(stateful(callbacks), header["callbacks"])):
            callback.load_state_dict(checkpoint.state(part, f"callbacks.{i}.state"))
        rng.bit_generator.state = _numpy_state(header["rng"])
        for name, generator in model_generators(model).items():
            generator.bit_generator.state = _numpy_state(header["generators"][name])
    except (TypeError, ValueError, KeyError) as error:
        model.load_state_dict(saved[0])
        optimizer.load_state_dict(saved[1])
        if scheduler is not None and saved_schedule is not None:
            scheduler.load_state_dict(saved_schedule)
        for name, generator in generators.items():
            generator.bit_generator.state = saved_generators[name]
        for callback, state in zip(stateful(callbacks), saved_callbacks):
            callback.load_state_dict(state)
        message = str(error).removeprefix("fit: resume_from: ")
        raise checkpoint.error(f"it does not fit this run: {message}") from None


def _position(key: str) -> Any:
    """A parameter's position, written as a string in JSON; anything else as it is (the
    optimiser refuses it, naming it)."""
    return int(key) if key.isdigit() and len(key) < 10 else key


def _numpy_state(state: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "bit_generator": state["bit_generator"],
        "state": dict(state["state"]),
        "has_uint32": state["has_uint32"],
        "uinteger": state["uinteger"],
    }


def _check_fits(
    checkpoint: Checkpoint,
    model: Module,
    optimizer: Any,
    scheduler: Any,
    callbacks: Sequence[Any],
    data: Mapping[str, Any],
) -> None:
    """Refuse a checkpoint of another model, optimiser, schedule, callbacks or data."""
    header = checkpoint.header
    mine = model.architecture()
    known = mine is not None and header["architecture"] is not None
    if known and check_architecture(mine) != header["architecture"]:
        raise checkpoint.error(
            "it holds another model's state (its architecture differs from this "
            "model's): resume with the model the run trained"
        )
    if model.tied() != header["tied"]:
        raise checkpoint.error("its model ties other parameters than this model does")
    names = {f"model.{name}" for name, _ in model.named_parameters()}
    stored = {name for name in checkpoint.arrays if name.startswith("model.")}
    if names != stored:
        missing, unexpected = sorted(names - stored), sorted(stored - names)
        raise checkpoint.error(
            "its model's parameters are not this model's "
            f"(missing: {[n[6:] for n in missing][:5]}, "
            f"unexpected: {[n[6:] for n in unexpected][:5]})"
        )
    kind = type(optimizer).__name__
    if header["optimizer"]["type"] != kind:
        raise checkpoint.error(
            f"it holds the state of a {shown(header['optimizer']['type'])} optimiser; "
            f"fit was given {kind}"
        )
    theirs = header["scheduler"]["type"] if header["scheduler"] is not None else None
    ours = type(scheduler).__name__ if scheduler is not None else None
    if theirs != ours:
        raise checkpoint.error(
            f"it holds the state of scheduler {shown(theirs)}; fit was given {shown(ours)}"
        )
    kinds = [type(c).__name__ for c in stateful(callbacks)]
    stored_kinds = [part["type"] for part in header["callbacks"]]
    if kinds != stored_kinds:
        raise checkpoint.error(
            f"it holds the state of the callbacks {stored_kinds}; fit was given {kinds} "
            "(give the run's callbacks, in the same order)"
        )
    if dict(data) != header["data"]:
        what = [key for key in data if data[key] != header["data"][key]]
        raise checkpoint.error(
            f"it was made training on other data ({', '.join(what)} differ): resume with "
            "the same X, y, batch_size and shuffle, or start a new run"
        )
    missing_generators = set(model_generators(model)) ^ set(header["generators"])
    if missing_generators:
        raise checkpoint.error(
            f"its model draws from other generators ({sorted(missing_generators)[:5]})"
        )
