"""The model file, written atomically and read as untrusted input.

A model file is numpy's ``.npz``: a zip archive with one ``.npy`` array per parameter,
named by its dotted name, and a JSON header (format, version, architecture, metadata)
stored as bytes under ``__tracegrad__``. Reading trusts nothing in it:

- nothing is unpickled: only floating-point arrays are accepted (no objects, strings,
  complex numbers or integers where weights belong);
- the header is read first, and no more than ``MAX_HEADER_BYTES`` of it;
- each array's name, shape and dtype come from its ``.npy`` header before any of its
  data is decompressed; the caller checks them against the model they are meant for,
  and the declared sizes must agree with the zip's own, so a small file cannot unpack
  into a large array (a "zip bomb");
- the model a file describes may need at most ``max_bytes`` of memory
  (``MAX_MODEL_BYTES`` unless the caller says otherwise), checked before it is built;
- any problem is a ``ModelFileError`` that names the file and what is wrong with it.
"""

from __future__ import annotations

import io
import json
import math
import os
import struct
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from tracegrad.files import write_atomically

FORMAT = "tracegrad-model"
FORMAT_VERSION = 1
HEADER_NAME = "__tracegrad__"

#: The most bytes the JSON header may take.
MAX_HEADER_BYTES = 1 << 20
#: The most arrays a file may hold.
MAX_ENTRIES = 100_000
#: The most memory the model described by a file may take, unless the caller allows more.
MAX_MODEL_BYTES = 2 << 30


#: What zipfile, zlib and numpy's .npy reader raise on a damaged archive.
_DAMAGE = (
    OSError,
    EOFError,
    ValueError,
    SyntaxError,
    NotImplementedError,
    struct.error,
    zlib.error,
    zipfile.BadZipFile,
)


class ModelFileError(ValueError):
    """A model file that cannot be read, or does not fit the model it is loaded into."""


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


def write_model_file(
    path: str | os.PathLike[str], header: Mapping[str, Any], arrays: Mapping[str, np.ndarray]
) -> None:
    """Write ``arrays`` and the JSON ``header`` to ``path``, atomically."""
    if HEADER_NAME in arrays:
        raise ValueError(f"save: no parameter may be called {HEADER_NAME!r}")
    contents = dict(arrays)
    contents[HEADER_NAME] = np.frombuffer(json.dumps(dict(header)).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **contents)  # type: ignore[arg-type]
    write_atomically(path, buffer.getvalue())


class ModelFile:
    """An open model file: its checked header and its array entries, data not yet read.

    Use as a context manager; ``read(entry)`` decompresses one array.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        try:
            self._zip = zipfile.ZipFile(self.path)
        except FileNotFoundError:
            raise
        except zipfile.BadZipFile:
            raise self.error("it is not a zip archive (an .npz written by save)") from None
        except OSError as error:
            raise self.error(f"it cannot be read ({error.strerror or error})") from None
        except _DAMAGE as error:
            raise self.error(f"it is a damaged zip archive ({error})") from None
        try:
            self.header = self._read_header()
            self.entries = self._read_entries()
        except BaseException:
            self._zip.close()
            raise

    def __enter__(self) -> ModelFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._zip.close()

    def error(self, problem: str) -> ModelFileError:
        """A ModelFileError that names this file."""
        return ModelFileError(f"load: {self.path}: {problem}")

    # -- the header --------------------------------------------------------------------

    def _read_header(self) -> dict[str, Any]:
        try:
            info = self._zip.getinfo(f"{HEADER_NAME}.npy")
        except KeyError:
            raise self.error(
                "it has no tracegrad header (not a model file saved by tracegrad)"
            ) from None
        if info.file_size > MAX_HEADER_BYTES:
            raise self.error(
                f"its header takes {info.file_size} bytes, more than the {MAX_HEADER_BYTES} allowed"
            )
        entry = self._entry(info)
        if entry.dtype != np.uint8 or len(entry.shape) != 1:
            raise self.error("its header is not a byte string")
        text = self._data(entry)
        try:
            header = json.loads(text.tobytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise self.error(f"its header is not valid JSON ({error})") from None
        except RecursionError:
            raise self.error("its header is nested too deeply to be a model's") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise self.error("it is not a tracegrad model file (its header says otherwise)")
        if header.get("version") != FORMAT_VERSION:
            raise self.error(
                f"it has format version {header.get('version')!r}; this tracegrad reads "
                f"version {FORMAT_VERSION}"
            )
        architecture = header.get("architecture")
        if architecture is not None and not isinstance(architecture, dict):
            raise self.error("its architecture is not a JSON object")
        if not isinstance(header.get("metadata", {}), dict):
            raise self.error("its metadata is not a JSON object")
        return header

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
            if kind.kind != "f" or kind.itemsize > 8 or kind.hasobject:
                raise self.error(
                    f"parameter {name!r} is stored as {kind}, not as floating-point numbers"
                )
            entries[name] = entry
        return entries

    def _entry(self, info: zipfile.ZipInfo) -> ArrayEntry:
        """An array's name, shape and dtype, from its .npy header; its data left unread."""
        name = info.filename[: -len(".npy")]
        try:
            with self._zip.open(info) as stream:
                shape, fortran_order, dtype = _read_npy_header(stream)
                offset = stream.tell()
        except _DAMAGE as error:
            raise self.error(f"entry {name!r} is not a readable .npy array ({error})") from None
        if dtype.hasobject:
            raise self.error(f"entry {name!r} holds Python objects, which are never unpickled")
        entry = ArrayEntry(name, shape, dtype, fortran_order, offset, info)
        if info.file_size != offset + entry.nbytes:
            raise self.error(
                f"entry {name!r} says shape {shape} of {dtype} ({entry.nbytes} bytes) but the "
                f"archive holds {info.file_size - offset} bytes for it: the file is corrupt"
            )
        return entry

    def check_size(self, max_bytes: int) -> None:
        """Refuse a file whose arrays add up to more than ``max_bytes``."""
        total = sum(entry.nbytes for entry in self.entries.values())
        if total > max_bytes:
            raise self.error(
                f"its arrays take {total} bytes, more than the {max_bytes} allowed "
                "(pass max_bytes= to load a larger model)"
            )

    def read(self, entry: ArrayEntry) -> np.ndarray:
        """The array of ``entry``: exactly its declared bytes are decompressed."""
        return self._data(entry)

    def _data(self, entry: ArrayEntry) -> np.ndarray:
        try:
            with self._zip.open(entry.info) as stream:
                stream.seek(entry.data_offset)
                raw = _read_exactly(stream, entry.nbytes)
        except _DAMAGE as error:
            raise self.error(f"entry {entry.name!r} is corrupt ({error})") from None
        if raw is None:
            raise self.error(f"entry {entry.name!r} is truncated")
        array = np.frombuffer(raw, dtype=entry.dtype)
        if entry.fortran_order:
            return array.reshape(entry.shape, order="F").copy()
        return array.reshape(entry.shape).copy()


def _read_npy_header(stream: IO[bytes]) -> tuple[tuple[int, ...], bool, np.dtype[Any]]:
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(stream)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(stream)
    raise ValueError(f"npy format version {version} is not supported")


def _read_exactly(stream: IO[bytes], count: int) -> bytes | None:
    """``count`` bytes from ``stream``, or None if it ends first."""
    chunks, remaining = [], count
    while remaining:
        chunk = stream.read(min(remaining, 1 << 24))
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
