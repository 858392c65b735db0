"""Minibatches and a seeded train/validation split; PyTorch's ``Dataset``,
``TensorDataset`` and ``DataLoader`` for the loop written by hand.

``batches(X, y, batch_size)`` gives numpy arrays, as ``fit`` trains on them;
``DataLoader(TensorDataset(X, y), batch_size, shuffle=True, generator=seed)`` gives
Tensors, epoch after epoch, as PyTorch's loop reads them (``for xb, yb in loader:``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from autograd import Node, Tensor
from tracegrad.rng import Seed
from tracegrad.words import counted

from . import checks


def _check_pair(X: Any, y: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    X = checks.numbers(X, what, "X", at_least_1d=True)
    y = checks.numbers(y, what, "y", at_least_1d=True)
    checks.same_length(X, y, what)
    return X, y


def batches(
    X: Any, y: Any, batch_size: int, shuffle: bool = True, rng: Seed = None, drop_last: bool = False
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(X_batch, y_batch) pairs covering the data once, in a random order if ``shuffle``.

    The last batch is smaller when batch_size does not divide the data, unless
    ``drop_last``. Pass ``rng`` (a Generator or a seed) for a reproducible order. The
    arguments are checked when it is called, not when the first batch is asked for.
    Each batch is an array of its own, whatever ``shuffle`` (see ``_rows``): normalising
    it in place (``xb /= 255``) never changes X.
    """
    X, y = _check_pair(X, y, "batches")
    batch_size = checks.positive_int(batch_size, "batches", "batch_size")
    shuffle = checks.flag(shuffle, "batches", "shuffle")
    generator = checks.generator(rng, "batches")
    drop_last = checks.flag(drop_last, "batches", "drop_last")
    order = generator.permutation(len(X)) if shuffle else None
    return _batches(X, y, batch_size, order, drop_last)


def _batches(
    X: np.ndarray, y: np.ndarray, batch_size: int, order: np.ndarray | None, drop_last: bool
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    stop = len(X) - len(X) % batch_size if drop_last else len(X)
    for start in range(0, stop, batch_size):
        picked: slice | np.ndarray = slice(start, start + batch_size)
        if order is not None:
            picked = order[picked]
        yield _rows(X, picked), _rows(y, picked)


def _rows(array: np.ndarray, picked: slice | np.ndarray) -> np.ndarray:
    """The samples ``picked`` (a slice, or an array of indices) of ``array``, as an array
    of their own.

    Every batch that ``batches``, ``fit``, ``evaluate`` and ``predict`` hand to a model,
    a loss or a metric is made here, so that none of them ever gets the caller's memory:
    a model that normalises its input in place (``x /= 255``, a numpy habit) changes its
    batch, never the caller's X, as with PyTorch's ``DataLoader``, which gives fresh
    tensors. Indexing by an array of indices copies already; a slice would be a view of
    ``array``, so it is copied.
    """
    taken = array[picked]
    return taken.copy() if isinstance(picked, slice) else taken


def train_val_split(
    X: Any, y: Any, validation_fraction: float = 0.2, rng: Seed = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, y_train, X_val, y_val): a seeded random split."""
    X, y = _check_pair(X, y, "train_val_split")
    fraction = checks.real(
        validation_fraction, "train_val_split", "validation_fraction",
        low=0.0, high=1.0, low_open=True, high_open=True,
    )  # fmt: skip
    if len(X) < 2:
        raise ValueError(
            f"train_val_split: X has {counted(len(X), 'sample')}; a split needs at least 2 (one "
            "each side)"
        )
    order = checks.generator(rng, "train_val_split").permutation(len(X))
    n_val = min(max(1, round(len(X) * fraction)), len(X) - 1)
    val, train = order[:n_val], order[n_val:]
    return X[train], y[train], X[val], y[val]


# -- PyTorch's names -----------------------------------------------------------------------


@runtime_checkable
class _SampleSource(Protocol):
    """What a ``DataLoader`` reads: a length, and a sample at each index below it."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Any: ...


class Dataset:
    """The base of a data set written by hand, as PyTorch's: define ``__len__`` (how many
    samples) and ``__getitem__(i)`` (sample i: a Tensor, an array or a number, or a tuple
    of them, such as (x, y)), and a ``DataLoader`` batches it."""

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} does not define __len__")

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define __getitem__")


class TensorDataset(Dataset):
    """Samples along the first axis of tensors of one length: sample i is
    ``(tensors[0][i], tensors[1][i], ...)``, as PyTorch's.

    Each of ``tensors`` is a Tensor (kept as it is, so later writes to it are seen) or
    an array of numbers (copied into a Tensor of its own dtype, as every array that
    enters the library is; ``Tensor.from_numpy(X)`` shares memory instead). A
    ``DataLoader`` batches it by indexing each tensor once per batch.
    """

    def __init__(self, *tensors: Tensor | np.ndarray | Sequence[Any]) -> None:
        if not tensors:
            raise TypeError(
                "TensorDataset: tensors: give at least one, such as TensorDataset(X, y)"
            )
        kept = []
        for position, t in enumerate(tensors):
            name = f"tensors[{position}]"
            if isinstance(t, Node) and not isinstance(t, Tensor):
                checks.wrong_type("TensorDataset", name, "a Tensor or an array", t)
            array = checks.numbers(t, "TensorDataset", name, at_least_1d=True)
            kept.append(t if isinstance(t, Tensor) else Tensor(array, dtype=array.dtype))
            if len(array) != len(kept[0]):
                raise ValueError(
                    f"TensorDataset: {name} holds {counted(len(array), 'sample')} but "
                    f"tensors[0] holds {len(kept[0])}: every tensor holds one row per sample"
                )
        self.tensors: tuple[Tensor, ...] = tuple(kept)

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)


class DataLoader:
    """Batches of a data set, one pass per ``for`` loop: PyTorch's ``DataLoader``.

    ``for xb, yb in DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True,
    generator=0):`` gives Tensors of ``batch_size`` samples (the last batch smaller,
    unless ``drop_last``), ``len(loader)`` of them; each batch is a new copy, in the
    data's dtype, outside the graph. With ``shuffle`` each pass draws a new order from
    ``generator`` (a numpy Generator, or a seed for a new one; None draws fresh entropy),
    so the epochs differ from each other and a run is repeated by its seed, as with
    PyTorch's ``torch.Generator().manual_seed(seed)``. PyTorch's defaults:
    ``batch_size=1``, ``shuffle=False``.

    ``dataset`` is a ``TensorDataset``, or anything with ``len()`` and ``[i]`` (a
    ``Dataset`` of one's own, a list of samples, an array): its samples are gathered as
    PyTorch's default collation does, a tuple or list field by field, each stacked, and
    a batch of tuples comes as a list ``[xb, yb]``. Not here: worker processes, samplers,
    ``collate_fn`` and pinned memory (there is no other device to copy to).
    """

    def __init__(
        self,
        dataset: _SampleSource,
        batch_size: int = 1,
        shuffle: bool = False,
        *,
        drop_last: bool = False,
        generator: Seed = None,
    ) -> None:
        if isinstance(dataset, (str, bytes, Mapping)) or not isinstance(dataset, _SampleSource):
            expected = "a data set (a TensorDataset, or anything with len() and [index])"
            checks.wrong_type("DataLoader", "dataset", expected, dataset)
        if _is_columns(dataset):
            raise TypeError(
                f"DataLoader: dataset is a tuple of {len(dataset)} arrays, which would be "
                f"{len(dataset)} samples; for samples along their first axis write "
                "DataLoader(TensorDataset(X, y), ...)"
            )
        if isinstance(dataset, (np.ndarray, Tensor)) and dataset.ndim == 0:
            raise ValueError("DataLoader: dataset is a single number (0-d), not samples")
        self.dataset = dataset
        self.batch_size = checks.positive_int(batch_size, "DataLoader", "batch_size")
        self.shuffle = checks.flag(shuffle, "DataLoader", "shuffle")
        self.drop_last = checks.flag(drop_last, "DataLoader", "drop_last")
        if not isinstance(generator, (int, np.integer, np.random.Generator, type(None))):
            torch = type(generator).__module__.split(".")[0] == "torch"
            checks.wrong_type(
                "DataLoader", "generator", "a numpy Generator, a seed or None", generator,
                " (torch's: give np.random.default_rng(seed), or the seed)" if torch else "",
            )  # fmt: skip
        self.generator = checks.generator(generator, "DataLoader", "generator")

    def __len__(self) -> int:
        """How many batches a pass gives."""
        count = len(self.dataset)
        if self.drop_last:
            return count // self.batch_size
        return math.ceil(count / self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        count = len(self.dataset)
        order = self.generator.permutation(count) if self.shuffle else np.arange(count)
        stop = count - count % self.batch_size if self.drop_last else count
        if isinstance(self.dataset, TensorDataset):
            arrays = [np.asarray(t) for t in self.dataset.tensors]  # read as each pass starts
            for start in range(0, stop, self.batch_size):
                picked = order[start : start + self.batch_size]
                yield [Tensor.from_numpy(array[picked]) for array in arrays]  # copies
            return
        for batch, start in enumerate(range(0, stop, self.batch_size), start=1):
            picked = order[start : start + self.batch_size]
            yield _collate([self.dataset[int(i)] for i in picked], batch)

    def __repr__(self) -> str:
        return (
            f"DataLoader({type(self.dataset).__name__}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last})"
        )


def _is_columns(dataset: Any) -> bool:
    """Whether ``dataset`` is a tuple (X, y) of arrays of one length: ``batches``'s
    habit, meant as samples along the first axis, not as two samples."""
    return (
        isinstance(dataset, tuple)
        and len(dataset) >= 2
        and all(isinstance(a, (np.ndarray, Tensor)) and a.ndim >= 1 for a in dataset)
        and len({len(a) for a in dataset}) == 1
    )


def _collate(samples: list[Any], batch: int) -> Any:
    """A batch from samples, as PyTorch's default collation makes it: a tuple or list of
    fields gives a list of batches, field by field; anything else, one Tensor of the
    samples stacked along a new first axis."""
    if isinstance(samples[0], (tuple, list)):
        width = len(samples[0])
        if any(not isinstance(s, (tuple, list)) or len(s) != width for s in samples):
            raise ValueError(
                f"DataLoader: the samples of batch {batch} do not all have {width} fields"
            )
        return [_stack([s[k] for s in samples], batch) for k in range(width)]
    return _stack(samples, batch)


def _stack(values: list[Any], batch: int) -> Tensor:
    arrays = [np.asarray(v) if isinstance(v, Tensor) else v for v in values]
    try:
        stacked = np.stack([np.asarray(a) for a in arrays])
    except ValueError as error:
        raise ValueError(
            f"DataLoader: the samples of batch {batch} cannot be stacked into one ({error})"
        ) from None
    if stacked.dtype.kind not in "biuf":
        raise TypeError(
            f"DataLoader: the samples of batch {batch} hold {checks.describe(values[0])}, not "
            "numbers: a sample is a Tensor, an array or a number, or a tuple of them"
        )
    return Tensor.from_numpy(stacked)
