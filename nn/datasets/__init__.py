"""Data sets: synthetic ones made by our own seeded code, and MNIST / Fashion-MNIST.

- ``synthetic.py``: ``moons``, ``circles``, ``spiral``, ``blobs``, ``xor``,
  ``classification`` and ``regression``, each ``(X, y)`` from a seeded Generator;
- ``images.py``: ``mnist`` and ``fashion_mnist``, read from the canonical IDX files
  (``idx.py``) in ``mnist/`` and ``fashion-mnist/`` of a data root, and downloaded when
  missing (``download.py``).
"""

from .idx import DatasetError
from .images import (
    FASHION_CLASSES,
    FASHION_MNIST,
    IMAGE_SETS,
    MNIST,
    ImageSet,
    data_folder,
    data_root,
    fashion_mnist,
    load_image_set,
    mnist,
)
from .synthetic import (
    SYNTHETIC,
    blobs,
    circles,
    classification,
    moons,
    regression,
    regression_function,
    spiral,
    xor,
)

__all__ = [
    "FASHION_CLASSES",
    "FASHION_MNIST",
    "IMAGE_SETS",
    "MNIST",
    "SYNTHETIC",
    "DatasetError",
    "ImageSet",
    "blobs",
    "circles",
    "classification",
    "data_folder",
    "data_root",
    "fashion_mnist",
    "load_image_set",
    "mnist",
    "moons",
    "regression",
    "regression_function",
    "spiral",
    "xor",
]
