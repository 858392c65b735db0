"""Read IDX files, the format of MNIST and Fashion-MNIST, gzipped or not.

An IDX file is a big-endian header followed by the data: two zero bytes, a type code
(0x08 for unsigned bytes), the number of dimensions d, then d 32-bit sizes. MNIST's
images are 0x00000803 (3-D: count, rows, columns) and its labels 0x00000801 (1-D).
Everything is checked: the magic number, the dimensions the caller expects, and that the
file holds exactly as many bytes as the header promises.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from tracegrad.words import counted


class DatasetError(ValueError):
    """A data file that is missing, corrupt or truncated; the message names the file."""


UNSIGNED_BYTE = 0x08


def read_idx(path: str | os.PathLike[str], expected_ndim: int) -> np.ndarray:
    """The uint8 array stored in the IDX file at ``path`` (``.gz`` is decompressed)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:
        raise DatasetError(f"{path}: cannot be read or decompressed ({error})") from None
    if len(raw) < 4:
        raise DatasetError(f"{path}: only {counted(len(raw), 'byte')}, too short for an IDX header")
    zero, kind, ndim = int.from_bytes(raw[:2], "big"), raw[2], raw[3]
    if zero != 0 or kind != UNSIGNED_BYTE or ndim != expected_ndim:
        raise DatasetError(
            f"{path}: bad magic number 0x{raw[:4].hex()}; expected 0x000008{expected_ndim:02x} "
            f"(unsigned bytes, {counted(expected_ndim, 'dimension')})"
        )
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise DatasetError(f"{path}: the header is cut short ({len(raw)} bytes)")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header_size + int(np.prod(shape))
    if len(raw) != expected:
        problem = "truncated" if len(raw) < expected else "longer than its header says"
        raise DatasetError(
            f"{path}: {problem}: the header promises {shape} = {expected} bytes in all, "
            f"the file has {len(raw)}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(shape)
