"""Every Python block of the README runs as it stands, each on its own, in a fresh folder."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

README = Path(__file__).parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_the_readme_has_its_examples() -> None:
    assert len(BLOCKS) >= 6


@pytest.mark.slow
@pytest.mark.parametrize("number", range(len(BLOCKS)), ids=lambda n: f"block{n + 1}")
def test_a_readme_block_runs_as_it_stands(
    number: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = BLOCKS[number]
    if "nn.datasets.mnist()" in source and not os.environ.get("TRACEGRAD_DATA"):
        reason = "this README block reads MNIST: set TRACEGRAD_DATA"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    monkeypatch.chdir(tmp_path)  # blocks that save files save them here
    namespace: dict[str, object] = {"__name__": f"readme_block_{number + 1}"}
    exec(compile(source, f"README.md block {number + 1}", "exec"), namespace)
    for name, value in list(namespace.items()):
        if name.startswith("test_") and callable(value):
            value()  # a property-based test the block defines: run it
