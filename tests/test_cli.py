"""The `tracegrad` command, run for real: the demo trains to 100 % and writes its files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import nn
from tracegrad.cli import main
from tracegrad.demo import make_workload, training_step


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
        [sys.executable, "-m", "tracegrad", "--help"], capture_output=True, text=True, check=True
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


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tracegrad", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


def _one_line_error(done: subprocess.CompletedProcess[str], status: int) -> str:
    assert done.returncode == status, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tracegrad: error: "), done.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--dataset", "moons", "--epochs", "0"], "--epochs: must be at least 1"),
        (["train", "--dataset", "moons", "--lr", "-0.1"], "--lr: must be a positive number"),
        (["train", "--dataset", "moons", "--dropout", "1.5"], "--dropout: must lie in [0, 1)"),
        (["train", "--dataset", "moons", "--samples", "2"], "needs at least 20 samples"),
        (["train", "--dataset", "moonz"], "invalid choice: 'moonz'"),
        (["train"], "the following arguments are required: --dataset"),
        (["fly"], "invalid choice: 'fly'"),
    ],
)
def test_a_usage_mistake_is_one_line_and_status_2(args: list[str], message: str) -> None:
    assert message in _one_line_error(_run(*args), 2)


def test_a_failed_run_is_one_line_and_status_1(tmp_path: Path) -> None:
    assert "missing.npz: no such file" in _one_line_error(
        _run("evaluate", str(tmp_path / "missing.npz")), 1
    )
    line = _one_line_error(_run("evaluate", "README.md"), 1)
    assert "not a zip archive" in line and "allow_pickle" not in line
    mistyped = tmp_path / "mnits"
    line = _one_line_error(_run("train", "--dataset", "mnist", "--data-root", str(mistyped)), 1)
    assert f"--data-root {mistyped}: the folder does not exist" in line
    assert not mistyped.exists()
    assert _run("train", "--dataset", "moons", "--epochs", "2", "--quiet",
                "--out", str(tmp_path / "moons")).returncode == 0  # fmt: skip
    line = _one_line_error(
        _run("evaluate", str(tmp_path / "moons" / "model.npz"), "--dataset", "regression"), 1
    )
    assert "takes 2 features but regression has 1" in line
    (tmp_path / "a-file").write_text("")
    line = _one_line_error(
        _run("train", "--dataset", "moons", "--quiet", "--out", str(tmp_path / "a-file")), 1
    )
    assert "a-file: File exists" in line


def test_help_shows_the_defaults_and_version() -> None:
    done = _run("train", "--help")
    assert (
        "(default: relu)" in done.stdout and "(default: 50; 10 for the image sets)" in done.stdout
    )
    assert "(default: None)" not in done.stdout
    assert _run("demo", "--help").stdout.count("(default:") == 3
    assert _run("--version").stdout.startswith("tracegrad ")


def test_ctrl_c_during_train_saves_the_model_and_the_history(tmp_path: Path) -> None:
    import select
    import signal
    import time

    out = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "tracegrad", "train", "--dataset", "spiral", "--samples", "3000",
         "--epochs", "100000", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    progress, deadline = b"", time.monotonic() + 120
    while b"epoch 3/" not in progress:  # the progress bar says two epochs are done
        assert time.monotonic() < deadline and process.poll() is None, progress[-500:]
        if select.select([process.stderr], [], [], 1.0)[0]:
            progress += os.read(process.stderr.fileno(), 65536)
    sent = time.perf_counter()
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=60)
    stderr = (progress + rest).decode(errors="replace")
    assert time.perf_counter() - sent < 3
    assert process.returncode == 130 and "Traceback" not in stderr
    assert "interrupted after" in stderr and "saved the model as it stands" in stderr
    assert nn.load(out / "model.npz").num_parameters() > 0
    assert len(json.loads((out / "history.json").read_text())) >= 2


def test_the_demo_without_graphviz_trains_writes_the_dot_source_and_succeeds(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "PATH": str(tmp_path / "empty")}
    done = _run("demo", "--out", str(tmp_path / "demo"), "--quiet", "--steps", "20", env=env)
    assert done.returncode == 0 and "Traceback" not in done.stderr
    assert "install it (apt-get install graphviz" in done.stdout
    assert (tmp_path / "demo" / "decision_boundary.png").exists()
    assert (tmp_path / "demo" / "neuron_graph.dot").read_text().startswith("digraph")
    assert "pictures drawn in" in done.stdout and "SGD steps in" in done.stdout


def test_train_takes_one_recipe_with_the_data_sets_defaults() -> None:
    from tracegrad.recipe import DEFAULTS, Recipe, train

    recipe = Recipe.for_dataset("circles", epochs=3, samples=240, hidden=[8], lr=None)
    assert recipe.lr == DEFAULTS["synthetic"]["lr"]  # None takes the default
    assert recipe.batch_size == DEFAULTS["synthetic"]["batch_size"]
    run = train(recipe, progress=False)
    assert len(run.history) == 3 and run.interrupted_after is None
    assert run.model.sizes == [8, 2] and run.metrics == ["accuracy"]
    assert len(run.X_fit) + len(run.X_val) == len(run.split.X_train) == 192
    assert Recipe.for_dataset("regression", epochs=1).as_dict()["schedule"] == "none"
    with pytest.raises(TypeError, match=r"unknown choices \['epoch'\]"):
        Recipe.for_dataset("circles", epoch=3)
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'"):
        train(Recipe.for_dataset("circles", optimizer="rmsprop", epochs=1), progress=False)
    with pytest.raises(ValueError, match="unknown schedule 'linear'"):
        train(Recipe.for_dataset("circles", schedule="linear", epochs=1), progress=False)
