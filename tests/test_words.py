"""Counts in messages agree with their nouns: "1 feature", "2 features"."""

from __future__ import annotations

import numpy as np
import pytest

import nn
from autograd import Tensor
from tracegrad.words import counted, plural


def test_a_count_takes_the_singular_only_for_one() -> None:
    assert counted(1, "feature") == "1 feature"
    assert [counted(n, "feature") for n in (0, 2)] == ["0 features", "2 features"]
    assert counted(np.int64(1), "sample") == "1 sample"
    assert counted(60_000, "image", grouped=True) == "60,000 images"
    assert [plural(word) for word in ("axis", "class", "entry", "batch", "box", "epoch")] == [
        "axes", "classes", "entries", "batches", "boxes", "epochs"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: nn.data.train_val_split(np.zeros((1, 2)), np.zeros(1)), "X has 1 sample;"),
        (lambda: Tensor([1.0]).sum(axis=1), "a tensor of 1 dimension"),
        (lambda: Tensor([1.0]).var(axis=0, ddof=1), "var: 1 element along axis 0 leaves"),
        (lambda: Tensor([1.0]).transpose((0, 0)), "a permutation of 1 axis"),
        (lambda: nn.checks.same_length(np.zeros((1, 2)), np.zeros(2), "fit"), "X has 1 sample but"),
        (lambda: nn.scalar.Neuron(1, rng=0)([1.0, 2.0]), "expected 1 input, got 2"),
    ],
)
def test_library_messages_count_in_the_singular_too(call: object, message: str) -> None:
    with pytest.raises((ValueError, IndexError, TypeError)) as raised:
        call()  # type: ignore[operator]
    assert message in str(raised.value)


def test_the_article_follows_the_first_letter() -> None:
    from tracegrad.words import article

    cases = {"object": "an object", "int64": "an int64", "Image": "an Image", "set": "a set"}
    assert {noun: article(noun) for noun in cases} == cases
