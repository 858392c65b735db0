"""nn.metrics on labels, scores and Values."""

from __future__ import annotations

import numpy as np
import pytest

import nn
from autograd import Tensor, Value


def test_accuracy_from_labels_scores_and_binary_logits() -> None:
    assert nn.accuracy(np.array([0, 1, 2, 2]), np.array([0, 1, 1, 2])) == 0.75
    scores = Tensor([[0.1, 0.9], [2.0, -1.0], [0.0, 3.0]])
    assert nn.accuracy(scores, [1, 0, 0]) == pytest.approx(2 / 3)
    assert nn.accuracy(np.array([-0.5, 0.3, 2.0]), [0, 1, 0]) == pytest.approx(2 / 3)
    assert nn.accuracy([Value(1.0), Value(-1.0)], [1, 0]) == 1.0
    assert nn.zero_one_loss(np.array([0, 1]), np.array([1, 1])) == 0.5


def test_confusion_matrix_rows_are_true_classes() -> None:
    predicted, labels = np.array([0, 1, 1, 2, 0, 2]), [0, 0, 1, 2, 2, 2]
    counts = nn.confusion_matrix(predicted, labels)
    assert counts.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert nn.confusion_matrix(np.array([0]), [0], num_classes=3).shape == (3, 3)
    scores = np.eye(3)[[0, 1, 1, 2, 0, 2]]
    assert nn.confusion_matrix(scores, labels).tolist() == counts.tolist()


def test_the_old_argument_order_is_refused_where_it_shows() -> None:
    with pytest.raises(TypeError, match=r"takes \(output, labels\).*swap them"):
        nn.confusion_matrix(np.array([0, 1, 2]), np.eye(3))


def test_r2_score_takes_output_then_target() -> None:
    y = np.array([1.0, 2.0, 3.0, 4.0])
    assert nn.r2_score(y, y) == 1.0
    assert nn.r2_score(np.full(4, y.mean()), y) == 0.0
    # scikit-learn's documented example, with the arguments in our order
    target = np.array([3.0, -0.5, 2.0, 7.0])
    output = np.array([2.5, 0.0, 2.0, 8.0])
    assert nn.r2_score(output, target) == pytest.approx(0.9486081370449679)
    with pytest.raises(ValueError, match="constant"):
        nn.r2_score(np.ones(3), np.ones(3))


def test_mismatched_lengths_are_errors() -> None:
    with pytest.raises(ValueError, match="3 predictions and 2 labels"):
        nn.accuracy(np.array([0, 1, 1]), [0, 1])


# -- found by mutation testing: each case below once let a wrong line pass -----------------


def test_scores_of_one_column_one_row_or_one_sample() -> None:
    assert nn.accuracy(np.array([[0.5], [-0.3]]), [1, 0]) == 1.0  # one score each: a sign
    assert nn.accuracy(np.array([[0.1, 0.9, 0.0]]), [1]) == 1.0  # one sample, three classes
    assert nn.accuracy(np.array([0.5, -0.2, 0.3]), [1, -1, -1]) == pytest.approx(2 / 3)
    assert nn.accuracy(np.array([[0.5], [-0.2]]), [1, -1]) == 1.0
    assert nn.accuracy(np.float64(-0.5), -1) == 1.0  # a single score against a ±1 label
    # Booleans are predicted classes, not scores: False is class 0, not −1.
    assert nn.accuracy(np.array([True, False]), [1, -1]) == 0.5


def test_confusion_matrix_edges() -> None:
    with pytest.raises(TypeError, match="swap them"):
        nn.confusion_matrix(np.array([0, 1]), np.array([0.2, 0.9]))
    np.testing.assert_array_equal(
        nn.confusion_matrix(np.array([0, 1]), np.array([False, True])), [[1, 0], [0, 1]]
    )
    for output, labels in [([0, 1, 1], [0, 1]), ([0], [0, 1])]:
        with pytest.raises(ValueError, match="predictions"):
            nn.confusion_matrix(np.array(output), np.array(labels))
    assert nn.confusion_matrix(np.zeros(0, np.int64), np.zeros(0, np.int64)).shape == (1, 1)


def test_zero_scores_mismatched_counts_no_samples_and_integer_outputs() -> None:
    assert nn.zero_one_loss(np.array([0.9, -0.5, 0.2]), [1, 1, 1]) == pytest.approx(1 / 3)
    assert nn.accuracy(np.array([0.0]), [0]) == 1.0  # a score of exactly 0 is class 0
    for output, labels in [(np.array([0.5]), [1, 0]), (np.zeros((2, 2, 1)), [0, 0])]:
        with pytest.raises(ValueError, match="predictions and"):
            nn.accuracy(output, labels)
    with pytest.raises(ValueError, match="accuracy: no samples"):
        nn.accuracy(np.zeros(0), np.zeros(0))
    np.testing.assert_array_equal(
        nn.confusion_matrix(np.array([[0], [1]]), np.array([0.0, 1.0])), [[1, 0], [0, 1]]
    )
    np.testing.assert_array_equal(
        nn.confusion_matrix(np.int64(1), np.float64(1.0)), [[0, 0], [0, 1]]
    )
    for y_hat, y in [(np.ones(2), np.arange(3.0)), (np.ones(3), np.arange(2.0))]:
        with pytest.raises(ValueError, match=r"r2_score: \d+ predictions and \d+ targets"):
            nn.r2_score(y_hat, y)


def test_plus_minus_one_labels_are_signs_only_for_one_float_score_each() -> None:
    assert nn.accuracy(np.array([1, -1]), [1, -1]) == 1.0  # integer outputs are classes
    assert nn.accuracy(np.array([[0.9, 0.1], [0.2, 0.8]]), [-1, 1]) == 0.5  # argmax 0, 1
