"""Run notebooks top to bottom in a fresh kernel and store them with their outputs.

    make notebooks          # or: python notebooks/store.py notebooks/*.ipynb

The outputs are stored so that a code host shows the numbers and pictures without running
anything; ``tests/test_notebooks.py`` runs the notebooks again and checks that every stored
output is still what the code prints. The lab runs in its full setting
(``TRACEGRAD_LAB_EPOCHS`` is unset here).

A cell tagged ``nondeterministic`` whose metadata gives no ``pattern`` prints something
that no rerun reproduces (wall times): it is stored without its output, so that the stored
notebook claims no figure that belongs to one machine on one afternoon. A tagged cell with
a ``pattern`` keeps its output (only the text matching the pattern is not compared by the
test). The stored cells carry no execution timestamps.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

TAG = "nondeterministic"


def stored_without_output(cell: nbformat.NotebookNode) -> bool:
    """Whether the cell's whole output is left out of the stored notebook."""
    marks = cell.get("metadata", {})
    return TAG in marks.get("tags", []) and "pattern" not in marks.get(TAG, {})


def store(path: Path) -> None:
    """Execute the notebook at ``path`` in its own folder and write it back, outputs and all."""
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook,
        timeout=3600,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)  # timestamps of an earlier run
        if cell.cell_type == "code" and stored_without_output(cell):
            cell.outputs = []
    nbformat.write(notebook, path)


def main(paths: list[str]) -> None:
    os.environ.pop("TRACEGRAD_LAB_EPOCHS", None)  # the kernel inherits the environment
    for name in paths:
        print(f"running and storing {name}", flush=True)
        store(Path(name))


if __name__ == "__main__":
    main(sys.argv[1:])
