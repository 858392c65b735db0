"""no_grad, enable_grad and detect_anomaly: context managers, decorators, thread-local."""

from __future__ import annotations

import threading

import pytest

from autograd import Value, detect_anomaly, enable_grad, is_grad_enabled, no_grad


def test_no_grad_and_enable_grad_nest() -> None:
    x = Value(1.0)
    with no_grad():
        assert not is_grad_enabled()
        with enable_grad():
            assert (x * 2.0).requires_grad
        assert not (x * 2.0).requires_grad
    assert is_grad_enabled()


def test_no_grad_restores_the_state_after_an_error() -> None:
    with pytest.raises(RuntimeError), no_grad():
        raise RuntimeError("boom")
    assert is_grad_enabled()


def test_no_grad_as_a_decorator() -> None:
    @no_grad()
    def predict(x: Value) -> Value:
        return x * 3.0

    assert not predict(Value(1.0)).requires_grad
    assert is_grad_enabled()


def test_grad_mode_is_thread_local() -> None:
    inside = threading.Event()
    release = threading.Event()
    seen: list[bool] = []

    def worker() -> None:
        with no_grad():
            inside.set()
            release.wait(5)
            seen.append(is_grad_enabled())

    thread = threading.Thread(target=worker)
    thread.start()
    inside.wait(5)
    assert is_grad_enabled()  # the worker's no_grad does not reach this thread
    assert (Value(1.0) * 2.0).requires_grad
    release.set()
    thread.join(5)
    assert seen == [False]


def test_detect_anomaly_names_the_forward_op() -> None:
    with detect_anomaly(), pytest.raises(FloatingPointError, match="forward of 'exp'"):
        Value(1000.0).exp()
    assert Value(1000.0).exp().data == float("inf")  # outside, no check


def test_detect_anomaly_names_the_backward_op() -> None:
    x = Value(1e-320)  # log is finite here, its derivative 1/x is not
    y = x.log() * 2.0
    with detect_anomaly(), pytest.raises(FloatingPointError, match="backward of 'log'"):
        y.backward()
