"""MNIST and Fashion-MNIST: the canonical IDX files, found on disk or downloaded once.

A data root holds one folder per image set, named after it: ``mnist/`` and
``fashion-mnist/``, each with its four files. The data root is the caller's ``root``
(the command line's ``--data-root``), else $TRACEGRAD_DATA, else ~/.cache/tracegrad: one
convention for the three, so that a folder that works in one place works in the others,
and one folder serves both sets (their files have the same names). A root that is itself
named after the set (``data/mnist``) is taken as that set's folder when it holds no
folder of that name: its name says which set it holds, so nothing can be mixed up. A root
that holds the files loose under another name could be either set's, and is refused with
the folder to move them to.

A missing file is downloaded from public mirrors, checked against its published MD5 and
written atomically. Every file is read as untrusted input (``idx.py``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tracegrad.words import counted

from .. import checks
from .download import DownloadError, md5_of
from .download import download as fetch
from .idx import DatasetError, read_idx


@dataclass(frozen=True)
class ImageSet:
    """Where an IDX image set lives: its folder name, its files with MD5s, its mirrors."""

    name: str
    files: dict[str, tuple[str, str]]  # role -> (file name, MD5 of the .gz)
    mirrors: tuple[str, ...]
    counts: tuple[int, int] = (60_000, 10_000)  # training and test images
    image_shape: tuple[int, int] = (28, 28)
    classes: int = 10


MNIST = ImageSet(
    "mnist",
    {
        "train_images": ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        "train_labels": ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        "test_images": ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        "test_labels": ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    },
    (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
)

FASHION_MNIST = ImageSet(
    "fashion-mnist",
    {
        "train_images": ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        "train_labels": ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        "test_images": ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        "test_labels": ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    },
    ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
)

#: Fashion-MNIST's class names, by label.
FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


def data_root(root: str | os.PathLike[str] | None = None) -> tuple[Path, str]:
    """The data root (``root``, else $TRACEGRAD_DATA, else ~/.cache/tracegrad), and where
    it came from, in words for a message."""
    if root is not None:
        checks.path(root, "data_root", "root")
        return Path(root), f"the data root {os.fspath(root)}"
    shared = os.environ.get("TRACEGRAD_DATA")
    if shared:
        return Path(shared), f"TRACEGRAD_DATA={shared}"
    cache = Path.home() / ".cache" / "tracegrad"
    return cache, f"the default data root {cache}; TRACEGRAD_DATA names another"


def data_folder(name: str, root: str | os.PathLike[str] | None = None) -> Path:
    """Where the files of the image set ``name`` are looked for: ``name/`` in the data
    root (``data_root``), or the root itself when it is named ``name`` and holds no folder
    of that name."""
    checks.choice(name, (MNIST.name, FASHION_MNIST.name), "data_folder", "name")
    if root is not None:
        checks.path(root, "data_folder", "root")
    base = data_root(root)[0]
    if base.name == name and not (base / name).is_dir():
        return base
    return base / name


def _local_file(folder: Path, gz_name: str) -> Path | None:
    for candidate in (folder / gz_name, folder / gz_name.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    return None


def _loose_file(spec: ImageSet, root: str | os.PathLike[str] | None) -> str | None:
    """One of ``spec``'s files lying in the data root itself, where it cannot be told
    from the other set's file of the same name; None when there is none."""
    base = data_root(root)[0]
    if data_folder(spec.name, root) == base or (base / spec.name).is_dir():
        return None
    return next((name for name, _ in spec.files.values() if _local_file(base, name)), None)


def load_image_set(
    spec: ImageSet,
    root: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    flatten: bool = True,
    mirrors: Sequence[str] | None = None,
    progress: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, y_train, X_test, y_test) of an IDX image set; see ``mnist``."""
    checks.instance(spec, ImageSet, "load_image_set", "spec", ": nn.datasets.MNIST, say")
    _check_options("load_image_set", root, download, flatten, mirrors, progress)
    folder = data_folder(spec.name, root)
    base, origin = data_root(root)
    where = "the data root, named after the set" if folder == base else f"{spec.name}/ in {origin}"
    loose = _loose_file(spec, root)
    if loose is not None and base.name in {MNIST.name, FASHION_MNIST.name}:
        raise DatasetError(
            f"{spec.name}: {base} is {base.name}'s folder, with no {spec.name}/ in it "
            f"({origin}); a data root is the folder that holds {base.name}/ and {spec.name}/"
        )
    if loose is not None:
        raise DatasetError(
            f"{spec.name}: {base} holds {loose} itself ({origin}), which could be either "
            f"image set's file: a data root holds one folder per set, so move the files into "
            f"{folder}"
        )
    paths = {}
    for role, (file_name, md5) in spec.files.items():
        path = _local_file(folder, file_name)
        if path is None:
            if not download:
                raise DatasetError(
                    f"{spec.name}: {file_name} is not in {folder} ({where}), and download=False"
                )
            try:
                path = fetch(file_name, folder, mirrors or spec.mirrors, md5, progress=progress)
            except DownloadError as error:
                raise DatasetError(
                    f"{spec.name}: {file_name} is not in {folder} ({where}), and downloading it "
                    f"failed: {error.reason}"
                ) from None
        paths[role] = path

    def read(role: str) -> np.ndarray:
        path = paths[role]
        if path.suffix == ".gz":  # the published MD5s are of the .gz files
            _check_md5(spec, path, spec.files[role][1])
        return read_idx(path, expected_ndim=3 if "images" in role else 1)

    # zlib and hashlib release the GIL, so the four files are checked and read side by side
    with ThreadPoolExecutor(max_workers=4) as pool:
        arrays = dict(zip(paths, pool.map(read, paths)))
    parts = []
    for split, count in zip(("train", "test"), spec.counts):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if len(images) != len(labels):
            raise DatasetError(
                f"{spec.name}: {paths[f'{split}_images'].name} has {counted(len(images), 'image')} "
                f"but {paths[f'{split}_labels'].name} has {counted(len(labels), 'label')}"
            )
        _check_contents(
            spec, split, count, paths[f"{split}_images"], images, paths[f"{split}_labels"], labels
        )
        X = images.reshape(len(images), -1) if flatten else images
        parts += [_PIXEL_VALUES[X], labels.astype(np.int64)]
    return parts[0], parts[1], parts[2], parts[3]


_WHAT_TO_DO = "delete it to have it downloaded again, or put the original file in its place"


def _check_md5(spec: ImageSet, path: Path, published: str) -> None:
    """Refuse a file on disk whose MD5 is not the published one."""
    found = md5_of(path)
    if found != published:
        raise DatasetError(
            f"{path}: its MD5 is {found}, not the published {published} of {spec.name}'s "
            f"{path.name}: the file is damaged or not {spec.name}'s; {_WHAT_TO_DO}"
        )


def _check_contents(
    spec: ImageSet,
    split: str,
    count: int,
    images_path: Path,
    images: np.ndarray,
    labels_path: Path,
    labels: np.ndarray,
) -> None:
    """The counts, the image size and the label range that ``spec`` promises."""
    if images.shape != (count, *spec.image_shape):
        raise DatasetError(
            f"{images_path}: holds images of shape {images.shape}, but {spec.name}'s {split} "
            f"set is {(count, *spec.image_shape)}; {_WHAT_TO_DO}"
        )
    if labels.size and int(labels.max()) >= spec.classes:
        raise DatasetError(
            f"{labels_path}: holds labels up to {int(labels.max())}, but {spec.name} has "
            f"{counted(spec.classes, 'class')} (0..{spec.classes - 1}); {_WHAT_TO_DO}"
        )


#: Pixel byte b as the float32 b / 255 (a table look-up is faster than converting).
_PIXEL_VALUES = np.arange(256, dtype=np.float32) / np.float32(255)


def mnist(
    root: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    flatten: bool = True,
    mirrors: Sequence[str] | None = None,
    progress: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST's 60,000 training and 10,000 test digits: (X_train, y_train, X_test, y_test).

    Images are float32 in [0, 1], of shape (n, 784), or (n, 28, 28) without ``flatten``;
    labels are int64 in 0..9. The four IDX files (gzipped or not) are looked for in
    ``mnist/`` in the data root: ``root``, else $TRACEGRAD_DATA, else ~/.cache/tracegrad
    (a ``root`` named ``mnist`` without such a folder is MNIST's folder itself). Missing
    files are downloaded from ``mirrors`` (public ones by default), their MD5 checked
    against the published value, and written atomically, once: the next call finds them.
    """
    _check_options("mnist", root, download, flatten, mirrors, progress)
    return load_image_set(
        MNIST, root, download=download, flatten=flatten, mirrors=mirrors, progress=progress
    )


def fashion_mnist(
    root: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    flatten: bool = True,
    mirrors: Sequence[str] | None = None,
    progress: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fashion-MNIST, shaped as ``mnist``; labels name ``FASHION_CLASSES``."""
    _check_options("fashion_mnist", root, download, flatten, mirrors, progress)
    return load_image_set(
        FASHION_MNIST, root, download=download, flatten=flatten, mirrors=mirrors, progress=progress
    )


def _check_options(
    where: str, root: Any, download: Any, flatten: Any, mirrors: Any, progress: Any
) -> None:
    """The arguments an image set's loader takes, checked as the library's are."""
    if root is not None:
        checks.path(root, where, "root")
    for name, value in (("download", download), ("flatten", flatten), ("progress", progress)):
        checks.flag(value, where, name)
    if mirrors is not None and (
        isinstance(mirrors, str)
        or not isinstance(mirrors, Sequence)
        or not mirrors
        or not all(isinstance(mirror, str) and mirror for mirror in mirrors)
    ):
        hint = f": write [{mirrors!r}]" if isinstance(mirrors, str) and mirrors else ""
        checks.wrong_type(where, "mirrors", "a list of base URLs (strings)", mirrors, hint)


IMAGE_SETS = {"mnist": mnist, "fashion-mnist": fashion_mnist}
