"""The model file, written atomically and read as untrusted input.

A model file is numpy's ``.npz``: a zip archive with one ``.npy`` array per parameter
(or buffer), named by its dotted name, and a JSON header stored as bytes under
``__tracegrad__``. The header's schema is declared once, in ``HEADER`` below: every field
with its type and range, the architecture's modules each with the fields of their
config. Reading trusts nothing in the file:

- the path must name a regular file, opened without waiting (a FIFO or a device is
  refused, never read: opening a FIFO would wait for a writer forever);
- the zip's directory is sized up from its end record before it is parsed: a file with
  more than ``MAX_ENTRIES`` entries, or a directory that would take more memory than
  the load may, is refused from those few bytes; then its records are counted by
  walking them (at most ``MAX_ENTRIES`` + 1 of them, a few bytes each), and a count that
  differs from the end record's is refused before zipfile parses anything;
- the header is read first (at most ``MAX_HEADER_BYTES``) and every field of it is
  checked through ``HEADER``: a value of the wrong type, out of its range, a missing or
  an unknown field is a ``ModelFileError`` when the file is read, never a traceback or
  a huge allocation when the model first runs;
- nothing is unpickled: arrays are real numbers only (floats, integers, booleans;
  no objects, strings or complex numbers);
- each array's name, shape, dtype and memory order come from its ``.npy`` header before
  any of its data is decompressed (the header's length is read first and refused past
  ``MAX_NPY_HEADER_BYTES``, so a header cannot claim gigabytes); an entry the zip
  flags as encrypted is refused; the caller checks them against the model they are
  meant for, and the declared sizes must agree with the zip's own, so a small file
  cannot unpack into a large array (a "zip bomb");
- ``max_bytes`` bounds the memory a load takes at its peak: the zip's directory, the
  parsed header, the model built (at the dtype its config names), and one array being
  read (it is copied into its parameter in place), are all counted before any of them
  is made (``MAX_MODEL_BYTES`` unless the
  caller says otherwise);
- any problem is a ``ModelFileError`` that names the file and what is wrong with it:
  whatever zipfile, zlib or numpy raise while the file's bytes are read becomes one
  (the list of what they may raise is not closed, so none is listed: see ``_DAMAGE``).
"""

from __future__ import annotations

import errno
import io
import json
import math
import os
import struct
import sys
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from tracegrad.files import open_regular, write_atomically

from . import checks
from .init import INITIALISERS
from .schema import (
    AnyJSON,
    Choice,
    Constant,
    Flag,
    Integer,
    ListOf,
    Nullable,
    Number,
    Object,
    SchemaError,
    Tagged,
    Text,
    shown,
)

FORMAT = "tracegrad-model"
FORMAT_VERSION = 1
HEADER_NAME = "__tracegrad__"

#: The most bytes the JSON header may take.
MAX_HEADER_BYTES = 1 << 20
#: The most bytes an array's ``.npy`` header may take (numpy's own default limit; ours
#: take about a hundred).
MAX_NPY_HEADER_BYTES = 10_000
#: The most arrays a file may hold (a scalar model stores one per weight).
MAX_ENTRIES = 100_000
#: The most memory a load may take, unless the caller allows more (``max_bytes``).
MAX_MODEL_BYTES = 2 << 30

# -- what a load costs, counted before anything is made --------------------------------

#: Memory per entry of the zip's directory once parsed (zipfile's ZipInfo, our entry),
#: beyond the directory's own bytes; a directory record takes at least
#: ``_DIRECTORY_RECORD`` bytes, so a directory of n bytes holds at most n / 46 entries.
ZIP_ENTRY_BYTES = 1024
_DIRECTORY_RECORD = 46
#: Memory per byte of JSON once parsed and checked. The costliest JSON is lists nested in
#: lists, ``[[[...]]]``: two bytes (``[`` and ``]``) make a list of one item, 88 bytes
#: once parsed (json appends, so the list holds room for four), and the schema's check
#: makes a copy of each while the parsed one is alive: 2 · 88 / 2 = 88 bytes per byte.
#: Objects cost less per byte (``{"":`` and ``}``, five bytes, make a one-key dict of
#: 184); the text itself is held three times while it is decoded.
JSON_BYTES_PER_BYTE = 96
#: Memory of one module object beyond its parameters' data, of one Tensor parameter's
#: objects beyond its array, and of one scalar parameter (a Value in its list).
MODULE_BYTES = 2048
TENSOR_BYTES = 512
VALUE_BYTES = 256
#: The reader's own objects and buffers (open files, a decompressor, one read chunk).
FIXED_LOAD_BYTES = 1 << 20
#: Arrays are decompressed this many bytes at a time (zipfile holds about three times
#: as much while it inflates one chunk: the compressed bytes, the output, a join).
READ_CHUNK = 1 << 16

# -- the header's schema: every field, its type and its range --------------------------

#: A layer's width; the memory check bounds the product of widths, this each one.
SIZE = Integer(1, 2**31 - 1)
#: The most layers in a list of layers, of sizes, of hidden sizes.
MAX_LAYERS = 10_000
#: An axis of an array: numpy has at most 64.
AXIS = Integer(-64, 63)
PROBABILITY = Number(0.0, 1.0, high_open=True)
#: float32's range: ONNX stores an activation's parameter as a float32.
SLOPE = Number(-3.4e38, 3.4e38)
#: The floating-point dtypes a Linear layer may compute in.
DTYPES = ("float16", "float32", "float64")
#: A seed of numpy's generators: a non-negative integer.
SEED = Integer(0, 2**64 - 1)
#: The sizes a synthetic data set may have (``tracegrad train --samples``): enough to
#: split into training, validation and test data, and few enough to fit in memory.
MIN_SAMPLES = 20
MAX_SAMPLES = 10_000_000
#: A count that nothing allocates by (epochs, a batch size, threads).
COUNT = Integer(1, 2**63 - 1)
#: The longest dotted name a tie may give.
MAX_NAME = 1000
#: The most bytes of UTF-8 a zip entry's name may take (a 16-bit length field).
_MAX_ENTRY_NAME = 0xFFFF


def _activations() -> list[str]:
    from .activations import ACTIVATIONS

    return list(ACTIVATIONS)


def _scalar_activations() -> list[str]:
    from .scalar import ACTIVATIONS

    return list(ACTIVATIONS)


def _datasets() -> list[str]:
    from .datasets import IMAGE_SETS, SYNTHETIC

    return [*SYNTHETIC, *IMAGE_SETS]


def _legacy_names() -> dict[str, str]:
    return LEGACY_TYPE_NAMES


#: The module types a file may name, and the config of each: the constructor's arguments.
#: A type not here (a user's module, an abstract base such as TensorModule) is refused.
CONFIGS: dict[str, Object] = {}
#: An architecture entry: {"type": a name of CONFIGS (or an older name), "config": ...}.
ARCHITECTURE = Tagged(lambda: CONFIGS, _legacy_names)
_NO_ARGUMENTS = Object({})
_ACTIVATION = Choice(_activations)
_SCALAR_ACTIVATION = Choice(_scalar_activations)
CONFIGS.update(
    {
        "Linear": Object(
            {
                "in_features": SIZE,
                "out_features": SIZE,
                "bias": Flag(),
                "init": Choice(lambda: INITIALISERS),
                "dtype": Choice(lambda: DTYPES),
            },
            defaults={"dtype": "float32"},  # files from before dtypes were saved
        ),
        "ReLU": _NO_ARGUMENTS,
        "Tanh": _NO_ARGUMENTS,
        "Sigmoid": _NO_ARGUMENTS,
        "LeakyReLU": Object({"negative_slope": SLOPE}),
        "Softmax": Object({"axis": AXIS}),
        "LogSoftmax": Object({"axis": AXIS}),
        "Flatten": Object({"start_axis": AXIS}),
        "Dropout": Object({"p": PROBABILITY}),
        "Sequential": Object({"layers": ListOf(ARCHITECTURE, 0, MAX_LAYERS)}),
        "MLP": Object(
            {
                "nin": SIZE,
                "sizes": ListOf(SIZE, 1, MAX_LAYERS),
                "activation": _ACTIVATION,
                "dropout": PROBABILITY,
                "dtype": Choice(lambda: DTYPES),
            },
            defaults={"dtype": "float32"},
        ),
        "scalar.Neuron": Object({"nin": SIZE, "activation": _SCALAR_ACTIVATION}),
        "scalar.Layer": Object({"nin": SIZE, "nout": SIZE, "activation": _SCALAR_ACTIVATION}),
        "scalar.MLP": Object(
            {"nin": SIZE, "sizes": ListOf(SIZE, 1, MAX_LAYERS), "activation": _SCALAR_ACTIVATION}
        ),
    }
)

#: The module paths that files saved before type names were stable (before 2026-11-23)
#: use, and the type names they stand for: such files still load.
_LEGACY_TENSOR_MODULES = (
    "Linear ReLU Tanh Sigmoid LeakyReLU Softmax LogSoftmax Flatten Dropout Sequential MLP"
)
LEGACY_TYPE_NAMES: dict[str, str] = {
    **{f"nn.layers.{name}": name for name in _LEGACY_TENSOR_MODULES.split()},
    **{f"nn.scalar.{name}": f"scalar.{name}" for name in ("Neuron", "Layer", "MLP")},
}

#: How ``tracegrad train`` trained a model (``tracegrad.recipe.Recipe``, field by field).
RECIPE = Object(
    {
        "dataset": Choice(_datasets),
        "hidden": ListOf(SIZE, 0, MAX_LAYERS),
        "epochs": COUNT,
        "batch_size": COUNT,
        "lr": Number(0.0, sys.float_info.max, low_open=True),
        "schedule": Choice(lambda: ("none", "cosine", "step")),
        "activation": _ACTIVATION,
        "dropout": PROBABILITY,
        "optimizer": Choice(lambda: ("adam", "sgd")),
        "seed": SEED,
        "samples": Nullable(Integer(MIN_SAMPLES, MAX_SAMPLES)),
        "data_root": Nullable(Text(4096)),
        "threads": Nullable(COUNT),
    }
)

#: The metadata: what ``tracegrad train`` writes (each checked when present), and any
#: other key a user's ``save(metadata=...)`` gave, holding any JSON value.
METADATA = Object(
    {
        "dataset": Choice(_datasets),
        "seed": SEED,
        "samples": Nullable(Integer(MIN_SAMPLES, MAX_SAMPLES)),
        "task": Choice(lambda: ("classification", "regression")),
        "recipe": RECIPE,
        "seconds": Number(0.0, sys.float_info.max),
        "interrupted_after": Integer(0, COUNT.high),
    },
    optional=frozenset(
        {"dataset", "seed", "samples", "task", "recipe", "seconds", "interrupted_after"}
    ),
    extra=AnyJSON(),
)

#: The whole header. ``tied`` maps each second name of a shared parameter or module to
#: its first (the name its data is saved under); files without ties leave it out.
HEADER = Object(
    {
        "format": Constant(FORMAT),
        "version": Constant(FORMAT_VERSION),
        "architecture": Nullable(ARCHITECTURE),
        "metadata": METADATA,
        "tied": Object({}, extra=Text(MAX_NAME)),
    },
    defaults={"tied": {}},
)


def check_header(header: Any) -> dict[str, Any]:
    """``header`` checked through ``HEADER`` (defaults filled in); SchemaError if it fails."""
    checked: dict[str, Any] = HEADER.check(header)
    return checked


def check_architecture(spec: Any) -> dict[str, Any]:
    """An architecture entry checked through ``ARCHITECTURE``, with its current type name."""
    checked: dict[str, Any] = ARCHITECTURE.check(spec, "architecture")
    return checked


#: What zipfile, zlib and numpy's .npy reader may raise on a damaged or crafted archive,
#: while the file's bytes are read: not a closed list (``RuntimeError`` for an entry
#: flagged encrypted, ``NotImplementedError`` for an unknown compression, ``struct.error``,
#: ``zlib.error``, ``EOFError``, ``SyntaxError`` from numpy's header parser, ...), so any
#: ``Exception`` there is the file's fault and becomes a ``ModelFileError`` naming it; an
#: interruption (``KeyboardInterrupt``) is not an Exception and passes.
_DAMAGE = (Exception,)


class ModelFileError(ValueError):
    """A model file that cannot be read, or does not fit the model it is loaded into."""


#: The dtype kinds an array may have: floating point, signed and unsigned integers, bool.
ARRAY_KINDS = "fiub"


@dataclass(frozen=True)
class ArrayEntry:
    """What a file says about one array, read from its ``.npy`` header alone."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    fortran_order: bool
    data_offset: int
    info: zipfile.ZipInfo

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def _not_json(value: Any, path: str, depth: int = 0) -> str | None:
    """What in ``value`` JSON would refuse or silently change, by its path; None if nothing.

    json.dumps turns a dict's number key into text without a word (``{1: 2}`` reads back
    as ``{"1": 2}``) and refuses an array with a message that names no key: each is named
    here, where the caller can still fix it."""
    if depth > 64:
        return f"{path} is nested more than 64 deep"
    if value is None or isinstance(value, (bool, str)):
        return None
    if isinstance(value, (int, float)):
        return None  # NaN and infinity are refused below, with their own message
    if isinstance(value, (list, tuple)):  # a tuple reads back as a list, as in PyTorch's JSON
        for k, item in enumerate(value):
            found = _not_json(item, f"{path}[{k}]", depth + 1)
            if found is not None:
                return found
        return None
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                return (
                    f"{path} has the key {key!r} ({type(key).__name__}), which JSON would "
                    "turn into text"
                )
            found = _not_json(item, f"{path}[{key!r}]", depth + 1)
            if found is not None:
                return found
        return None
    if isinstance(value, (np.bool_, np.integer, np.floating)):
        return None  # written as the Python number it holds
    return f"{path} is {checks.describe(value)}, which JSON cannot hold"


def write_model_file(
    path: str | os.PathLike[str],
    header: Mapping[str, Any],
    arrays: Mapping[str, np.ndarray],
    *,
    check: Any = None,
    reader: type[ModelFile] | None = None,
    where: str = "save",
    compress: bool = True,
) -> None:
    """Write ``arrays`` and the JSON ``header`` to ``path``, atomically.

    A file that would not read back is never written, and nothing is written then (an
    existing file stays as it was): the header must pass ``check`` (``check_header`` by
    default), each name must be one a zip entry keeps as it is, and the archive, built
    in memory, is then read back by ``reader`` (``ModelFile`` by default) with the
    reader's every rule, its memory limit aside (its size, the header's, the arrays'
    dtypes, the number of entries) before it replaces ``path``. NaN and infinity are
    refused, as JSON has no such numbers. ``compress=False`` stores the arrays as they
    are (a checkpoint, written each epoch, gains little from compressing noisy floats
    and would pay for it).
    """
    for name in arrays:
        _check_name(name, where)
    problem = _not_json(header.get("metadata", {}), "metadata")
    if problem is not None:
        raise TypeError(
            f"{where}: {problem}; metadata is stored as JSON, so it holds text, numbers, "
            "True/False/None, lists and dicts with text keys (an optimiser's state and "
            "other arrays go in a checkpoint: fit(checkpoint=...))"
        )

    def plain(value: Any) -> Any:  # numpy's numbers, a numpy user's counts and scores
        if isinstance(value, (np.bool_, np.integer, np.floating)):
            return value.item()
        raise TypeError(
            f"{where}: the metadata holds {checks.describe(value)}, which JSON has not: "
            "use dicts with string keys, lists, strings, numbers, booleans and None"
        )

    try:
        text = json.dumps(dict(header), allow_nan=False, default=plain)
    except ValueError as error:
        if "Out of range float" in str(error):
            raise ValueError(
                f"{where}: the metadata holds NaN or infinity, which JSON has not"
            ) from None
        raise ValueError(f"{where}: the metadata cannot be written as JSON ({error})") from None
    try:
        (check or check_header)(json.loads(text))  # what a reader will see
    except SchemaError as error:
        raise ValueError(f"{where}: the header's {error}") from None
    contents = dict(arrays)
    contents[HEADER_NAME] = np.frombuffer(text.encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    save = np.savez_compressed if compress else np.savez
    save(buffer, **contents)  # type: ignore[arg-type]
    content = buffer.getvalue()
    _check_reads_back(content, arrays, reader or ModelFile, where)
    write_atomically(path, content)


def _check_name(name: str, where: str) -> None:
    """Refuse an array name that the file would not keep as it is: zipfile cuts a name
    at a NUL, a zip entry's name takes at most 65,535 bytes of UTF-8, and a lone
    surrogate has no UTF-8 at all."""
    if name == HEADER_NAME:
        raise ValueError(f"{where}: no parameter may be called {HEADER_NAME!r}")
    if "\0" in name:
        raise ValueError(
            f"{where}: the name {shown(name)} holds a NUL character, where a zip archive "
            "would cut it: rename the attribute or the dict's key"
        )
    try:
        size = len(f"{name}.npy".encode())
    except UnicodeEncodeError:
        raise ValueError(
            f"{where}: the name {shown(name)} is no valid Unicode (a lone surrogate), which "
            "a file cannot name: rename the attribute or the dict's key"
        ) from None
    if size > _MAX_ENTRY_NAME:
        raise ValueError(
            f"{where}: the name {shown(name)} takes {size} bytes as a file's entry, more than "
            f"the {_MAX_ENTRY_NAME} a zip archive allows: rename the attribute or the dict's key"
        )


def _check_reads_back(
    content: bytes, arrays: Mapping[str, np.ndarray], reader: type[ModelFile], where: str
) -> None:
    """Read ``content`` back as ``reader`` reads a file (memory aside): refuse what it
    refuses, and arrays it would find under other names."""
    label = "the file"
    try:
        with reader(label, sys.maxsize, content=content) as file:
            found = set(file.entries)
    except ModelFileError as error:
        problem = str(error).removeprefix(f"{reader.WHERE}: {label}: ")
        raise ValueError(f"{where}: the file would not load back: {problem}") from None
    if found != set(arrays):
        lost = sorted(set(arrays) - found)
        raise ValueError(f"{where}: the file would not hold the arrays {lost} under their names")


class ModelFile:
    """An open model file: its checked header and its array entries, data not yet read.

    Use as a context manager; ``read(entry, dtype)`` decompresses one array. The memory
    the reader itself takes (the zip's directory, the parsed header, its buffers) is
    ``overhead_bytes``; with the model and the arrays read it must stay within
    ``max_bytes``.
    """

    #: What the header says the file is, and which version of it this reader reads.
    FORMAT = FORMAT
    FORMAT_VERSION = FORMAT_VERSION
    #: The file's kind, in messages, and the call whose errors they are.
    KIND = "model file"
    WHERE = "load"
    #: What to do when the file is not there (a subclass says, for its kind of file).
    MISSING = ""

    def check_header(self, header: Any) -> dict[str, Any]:
        """The header checked through its schema; SchemaError if it fails."""
        return check_header(header)

    def __init__(
        self,
        path: str | os.PathLike[str],
        max_bytes: int = MAX_MODEL_BYTES,
        *,
        content: bytes | None = None,
    ) -> None:
        """Open ``path`` (or read ``content``, a file not written yet, which ``path``
        names in messages)."""
        self.path = os.fspath(path)
        self.max_bytes = max_bytes
        self.overhead_bytes = FIXED_LOAD_BYTES
        try:
            handle: IO[bytes] = (
                io.BytesIO(content) if content is not None else open_regular(self.path)
            )
        except FileNotFoundError:
            raise FileNotFoundError(
                errno.ENOENT, f"{self.WHERE}: no such file{self.MISSING}", self.path
            ) from None
        except OSError as error:  # a folder, a FIFO, a device, a file we may not read
            raise self.error(f"it cannot be read ({error.strerror or error})") from None
        self._handle = handle  # closed in close()
        try:
            self._check_directory(handle)
            self._zip = zipfile.ZipFile(handle)
        except zipfile.BadZipFile:
            handle.close()
            raise self.error("it is not a zip archive (an .npz written by save)") from None
        except ModelFileError:
            handle.close()
            raise
        except _DAMAGE as error:
            handle.close()
            raise self.error(f"it is a damaged zip archive ({error})") from None
        try:
            self.header = self._read_header()
            self.entries = self._read_entries()
        except ModelFileError:
            self.close()
            raise
        except _DAMAGE as error:
            self.close()
            raise self.error(f"it is a damaged zip archive ({error})") from None
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> ModelFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the archive and the file under it (zipfile leaves a file it was given open)."""
        self._zip.close()
        self._handle.close()

    def error(self, problem: str) -> ModelFileError:
        """A ModelFileError that names this file."""
        return ModelFileError(f"{self.WHERE}: {self.path}: {problem}")

    def spend(self, nbytes: int, what: str) -> None:
        """Count ``nbytes`` more towards ``max_bytes``; refuse the file past it."""
        self.overhead_bytes += nbytes
        if self.overhead_bytes > self.max_bytes:
            raise self.error(
                f"{what} would take the load to {self.overhead_bytes} bytes of memory, more "
                f"than the {self.max_bytes} allowed (pass max_bytes= to load a larger model)"
            )

    # -- the directory ---------------------------------------------------------------

    def _check_directory(self, handle: IO[bytes]) -> None:
        """Refuse a zip whose directory is too large, from its end record, then one whose
        end record lies about it, from the directory's records, before zipfile parses it.

        zipfile parses records until it has read the directory's size in bytes, whatever
        the count says; so the memory is counted from the size (each record takes at
        least ``_DIRECTORY_RECORD`` bytes), and the records are counted by walking their
        lengths, stopping past ``MAX_ENTRIES``: a small count over a large directory is
        refused in at most that many steps, with nothing made.
        """
        entries, directory_bytes, start = zip_directory(handle)
        if entries > MAX_ENTRIES:
            raise self.error(f"it holds {entries} entries, more than {MAX_ENTRIES}")
        most = directory_bytes // _DIRECTORY_RECORD
        self.spend(most * ZIP_ENTRY_BYTES + directory_bytes, "its zip directory")
        handle.seek(start)
        counted = directory_records(handle.read(directory_bytes))
        if counted > MAX_ENTRIES:
            raise self.error(f"its directory holds more than {MAX_ENTRIES} entries")
        if counted < 0:
            raise self.error("its directory is not a run of whole records: the archive is corrupt")
        if counted != entries:
            raise self.error(
                f"its end record says {entries} entries, but its directory holds {counted}: "
                "the archive is corrupt"
            )

    # -- the header --------------------------------------------------------------------

    def _read_header(self) -> dict[str, Any]:
        try:
            info = self._zip.getinfo(f"{HEADER_NAME}.npy")
        except KeyError:
            raise self.error(
                f"it has no tracegrad header (not a {self.KIND} saved by tracegrad)"
            ) from None
        if info.file_size > MAX_HEADER_BYTES:
            raise self.error(
                f"its header takes {info.file_size} bytes, more than the {MAX_HEADER_BYTES} allowed"
            )
        self.spend(info.file_size * JSON_BYTES_PER_BYTE, "its header")
        entry = self._entry(info)
        if entry.dtype != np.uint8 or len(entry.shape) != 1:
            raise self.error("its header is not a byte string")
        text = self.read(entry)
        try:
            header = json.loads(text.tobytes().decode("utf-8"), object_pairs_hook=_no_repeats)
        except RecursionError:
            raise self.error("its header is nested too deeply to be a model's") from None
        except (UnicodeDecodeError, ValueError) as error:
            raise self.error(f"its header is not valid JSON ({error})") from None
        if not isinstance(header, dict) or header.get("format") != self.FORMAT:
            raise self.error(f"it is not a tracegrad {self.KIND} (its header says otherwise)")
        if "version" not in header:
            raise self.error("its header has no format version (not a file saved by tracegrad)")
        if header["version"] != self.FORMAT_VERSION or type(header["version"]) is not int:
            raise self.error(
                f"it has format version {header['version']!r}; this tracegrad reads "
                f"version {self.FORMAT_VERSION}"
            )
        try:
            return self.check_header(header)
        except SchemaError as error:
            raise self.error(f"its header's {error}") from None

    # -- the arrays --------------------------------------------------------------------

    def _read_entries(self) -> dict[str, ArrayEntry]:
        infos = self._zip.infolist()
        if len(infos) > MAX_ENTRIES:
            raise self.error(f"it holds {len(infos)} entries, more than {MAX_ENTRIES}")
        entries: dict[str, ArrayEntry] = {}
        for info in infos:
            if not info.filename.endswith(".npy"):
                raise self.error(f"entry {info.filename!r} is not a .npy array")
            name = info.filename[: -len(".npy")]
            if name == HEADER_NAME:
                continue
            if name in entries:
                raise self.error(f"entry {name!r} appears twice")
            entry = self._entry(info)
            kind = entry.dtype
            if kind.kind not in ARRAY_KINDS or kind.itemsize > 8 or kind.fields is not None:
                raise self.error(
                    f"array {name!r} is stored as {kind}, not as real numbers "
                    "(floating point, integers or booleans)"
                )
            entries[name] = entry
        return entries

    def _entry(self, info: zipfile.ZipInfo) -> ArrayEntry:
        """An array's name, shape and dtype, from its .npy header; its data left unread.

        Refused before anything is decompressed: an entry the zip flags as encrypted (a
        model file's never are), one larger than the whole load may take. Then its header
        is read, at most ``MAX_NPY_HEADER_BYTES`` of it, and must describe an array of
        sizes ≥ 0 whose bytes are exactly those the zip holds for it.
        """
        name = info.filename[: -len(".npy")]
        if info.flag_bits & _ENCRYPTED:
            raise self.error(f"entry {name!r} is encrypted (a {self.KIND}'s entries never are)")
        if info.file_size > self.max_bytes:
            raise self.error(
                f"entry {name!r} takes {info.file_size} bytes, more than the {self.max_bytes} "
                "allowed (pass max_bytes= to load a larger model)"
            )
        try:
            with self._zip.open(info) as stream:
                shape, fortran_order, dtype = _read_npy_header(stream)
                offset = stream.tell()
        except _DAMAGE as error:
            raise self.error(f"entry {name!r} is not a readable .npy array ({error})") from None
        if dtype.hasobject:
            raise self.error(f"entry {name!r} holds Python objects, which are never unpickled")
        if any(size < 0 for size in shape):
            raise self.error(f"entry {name!r} says shape {shape}, with a negative size")
        entry = ArrayEntry(name, shape, dtype, fortran_order, offset, info)
        if info.file_size != offset + entry.nbytes:
            raise self.error(
                f"entry {name!r} says shape {shape} of {dtype} ({entry.nbytes} bytes) but the "
                f"archive holds {info.file_size - offset} bytes for it: the file is corrupt"
            )
        return entry

    def check_size(self, max_bytes: int) -> None:
        """Refuse a file whose arrays, read all at once, would take more than ``max_bytes``
        with the reader's own memory."""
        total = sum(entry.nbytes for entry in self.entries.values())
        needed = self.overhead_bytes + total
        if needed > max_bytes:
            raise self.error(
                f"its arrays take {total} bytes, more than the {max_bytes} allowed "
                "(pass max_bytes= to load a larger model)"
            )

    def read(self, entry: ArrayEntry, dtype: Any = None) -> np.ndarray:
        """The array of ``entry`` as a new C-ordered array (of ``dtype``, if given)."""
        array = self.read_stored(entry)
        wanted = array.dtype if dtype is None else np.dtype(dtype)
        if array.dtype == wanted and array.flags.c_contiguous:
            return array
        return np.ascontiguousarray(array, dtype=wanted)

    def read_stored(self, entry: ArrayEntry) -> np.ndarray:
        """The array of ``entry`` as it is stored: its dtype, and for an array stored in
        Fortran order (column-major), a transposed view of the bytes as read, so that each
        element is at its index. Copy it where it belongs (``target[...] = array``).

        Exactly its declared bytes are decompressed, a chunk at a time, straight into the
        array, and the zip's checksum of them is checked.
        """
        stored = entry.shape[::-1] if entry.fortran_order else entry.shape
        try:
            raw = np.empty(stored, entry.dtype)
            buffer = memoryview(raw.reshape(-1).view(np.uint8))  # type: ignore[arg-type]
            with self._zip.open(entry.info) as stream:
                stream.seek(entry.data_offset)
                done = 0  # zipfile's stream is a BufferedIOBase: it has readinto
                while done < entry.nbytes:
                    count = stream.readinto(buffer[done : done + READ_CHUNK])  # type: ignore[attr-defined]
                    if not count:
                        raise self.error(f"entry {entry.name!r} is truncated")
                    done += count
                if stream.read(1):  # also makes zipfile check the entry's CRC
                    raise self.error(f"entry {entry.name!r} holds more than its shape says")
        except ModelFileError:
            raise
        except _DAMAGE as error:
            raise self.error(f"entry {entry.name!r} is corrupt ({error})") from None
        return raw.T if entry.fortran_order else raw


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object as a dict, refusing a key given twice (JSON would keep the last)."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {key!r} appears twice in one object")
        result[key] = value
    return result


_END_RECORD = struct.Struct("<4s4H2LH")
_END_SIGNATURE = b"PK\x05\x06"
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_LOCATOR_SIGNATURE = b"PK\x06\x07"
_ZIP64_END_RECORD = struct.Struct("<4sQ2H2L4Q")
_ZIP64_END_SIGNATURE = b"PK\x06\x06"


def zip_directory(handle: IO[bytes]) -> tuple[int, int, int]:
    """(number of entries, bytes of the central directory, where it starts) of the zip
    archive ``handle``, as its end record says.

    Read from the archive's end record (and its zip64 extension) alone: a few dozen bytes
    near the end of the file, whatever the directory holds. zipfile reads exactly that
    many bytes of directory, right before the end record (or the zip64 one), so they
    bound what parsing it costs. BadZipFile if there is no end record.
    """
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    window = min(size, _END_RECORD.size + 0xFFFF)  # the record, and a comment of up to 64 KiB
    handle.seek(size - window)
    tail = handle.read(window)
    at = len(tail) - _END_RECORD.size
    if at < 0 or tail[at : at + 4] != _END_SIGNATURE:  # a comment follows it, then: search
        at = tail.rfind(_END_SIGNATURE)
    if at < 0 or at + _END_RECORD.size > len(tail):
        raise zipfile.BadZipFile("no end of central directory record")
    fields = _END_RECORD.unpack_from(tail, at)
    entries, directory_bytes = fields[4], fields[5]
    directory_end = size - window + at
    # A zip64 locator right before the record overrides it, whatever the record says
    # (zipfile looks for one always, and its zip64 record right before it).
    locator_at = size - window + at - _ZIP64_LOCATOR.size
    if locator_at >= 0:
        handle.seek(locator_at)
        locator = _ZIP64_LOCATOR.unpack(handle.read(_ZIP64_LOCATOR.size))
        if locator[0] == _ZIP64_LOCATOR_SIGNATURE:
            end_at = locator_at - _ZIP64_END_RECORD.size
            if end_at < 0:
                raise zipfile.BadZipFile("a zip64 locator with no zip64 record")
            handle.seek(end_at)
            record = _ZIP64_END_RECORD.unpack(handle.read(_ZIP64_END_RECORD.size))
            if record[0] != _ZIP64_END_SIGNATURE:
                raise zipfile.BadZipFile("a zip64 locator with no zip64 record")
            entries, directory_bytes = record[7], record[8]
            directory_end = end_at
    directory_bytes = min(directory_bytes, directory_end)  # no more than the file holds
    return entries, directory_bytes, directory_end - directory_bytes


_DIRECTORY_SIGNATURE = b"PK\x01\x02"
#: A directory record's fixed part: its signature, then the lengths of its name, extra
#: field and comment (little-endian 16-bit) at bytes 28, 30 and 32.
_LENGTHS = struct.Struct("<3H")
#: Bit 0 of a zip entry's flags: its data is encrypted.
_ENCRYPTED = 0x1


def directory_records(directory: bytes) -> int:
    """How many records the central directory ``directory`` holds, by walking their
    lengths; at most ``MAX_ENTRIES`` + 1 steps (more is refused anyway), and -1 when the
    bytes are not a run of whole records."""
    at, count = 0, 0
    while at < len(directory) and count <= MAX_ENTRIES:
        if directory[at : at + 4] != _DIRECTORY_SIGNATURE or at + _DIRECTORY_RECORD > len(
            directory
        ):
            return -1
        name, extra, comment = _LENGTHS.unpack_from(directory, at + 28)
        at += _DIRECTORY_RECORD + name + extra + comment
        count += 1
    return count if at == len(directory) or count > MAX_ENTRIES else -1


_NPY_MAGIC = b"\x93NUMPY"
#: The width of the header's length field in each .npy version this reader reads.
_NPY_LENGTH = {(1, 0): struct.Struct("<H"), (2, 0): struct.Struct("<I")}


def _read_npy_header(stream: IO[bytes]) -> tuple[tuple[int, ...], bool, np.dtype[Any]]:
    """(shape, Fortran order, dtype) from a .npy header, leaving ``stream`` at the data.

    The length field is read first and refused past ``MAX_NPY_HEADER_BYTES``: numpy's
    own reader reads the whole header the field claims (up to 4 GiB in version 2) and
    checks its size only after, so a small compressed entry could claim gigabytes. The
    header's bytes, so bounded, are then parsed by numpy.
    """
    preamble = stream.read(len(_NPY_MAGIC) + 2)
    if len(preamble) < len(_NPY_MAGIC) + 2 or not preamble.startswith(_NPY_MAGIC):
        raise ValueError("it does not start as a .npy array does")
    version = (preamble[-2], preamble[-1])
    if version not in _NPY_LENGTH:
        raise ValueError(f"npy format version {version} is not supported")
    field = stream.read(_NPY_LENGTH[version].size)
    (length,) = _NPY_LENGTH[version].unpack(field)
    if length > MAX_NPY_HEADER_BYTES:
        raise ValueError(
            f"its .npy header says it takes {length} bytes, more than {MAX_NPY_HEADER_BYTES}"
        )
    body = stream.read(length)
    if len(body) != length:
        raise EOFError("its .npy header is truncated")
    bounded = io.BytesIO(preamble + field + body)
    np.lib.format.read_magic(bounded)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(bounded)
    return np.lib.format.read_array_header_2_0(bounded)
