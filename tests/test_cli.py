"""The `tracegrad` command, run for real: the demo trains to 100 % and writes its files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nn.cli import main
from nn.demo import make_workload, training_step


def test_demo_reaches_full_training_accuracy_and_writes_its_pictures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--out", str(tmp_path), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "training accuracy 100%" in printed
    png = (tmp_path / "decision_boundary.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    svg = (tmp_path / "neuron_graph.svg").read_text()
    assert "<svg" in svg and "w·x + b" in svg and "ReLU" in svg


def test_the_demo_workload_is_deterministic() -> None:
    results = []
    for _ in range(2):
        model, X, signs = make_workload(0)
        results.append([training_step(model, X, signs, k).loss for k in range(3)])
    assert results[0] == results[1]


def test_help_runs_as_a_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nn.cli", "--help"], capture_output=True, text=True, check=True
    )
    assert "demo" in done.stdout


def test_unknown_command_fails() -> None:
    with pytest.raises(SystemExit):
        main(["fly"])


@pytest.mark.parametrize(
    "dataset", ["moons", "circles", "spiral", "blobs", "xor", "classification", "regression"]
)
def test_train_on_each_synthetic_set_then_evaluate(
    dataset: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / dataset
    assert main(["train", "--dataset", dataset, "--epochs", "5", "--out", str(out), "--quiet"]) == 0
    trained = capsys.readouterr().out
    assert "test" in trained and "wrote" in trained
    for name in ("model.npz", "history.json", "training_curves.png"):
        assert (out / name).exists(), name
    picture = "regression_fit.png" if dataset == "regression" else "confusion_matrix.png"
    assert (out / picture).read_bytes().startswith(b"\x89PNG")
    assert main(["evaluate", str(out / "model.npz")]) == 0
    evaluated = capsys.readouterr().out
    test_line = next(line for line in trained.splitlines() if line.startswith("test"))
    assert test_line.split(" ", 1)[1] in evaluated  # the same numbers again


def test_train_rejects_bad_hidden_sizes() -> None:
    with pytest.raises(SystemExit):
        main(["train", "--dataset", "moons", "--hidden", "64,x"])
