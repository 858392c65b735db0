"""nn.plot draws real figures and saves them as PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nn
from nn import plot


def _is_png(path: Path) -> bool:
    return path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_every_picture_renders(tmp_path: Path) -> None:
    history = nn.History(
        [
            {
                "epoch": 1.0,
                "loss": 1.0,
                "accuracy": 0.5,
                "val_loss": 1.1,
                "val_accuracy": 0.4,
                "seconds": 0.1,
            },
            {
                "epoch": 2.0,
                "loss": 0.5,
                "accuracy": 0.8,
                "val_loss": 0.7,
                "val_accuracy": 0.7,
                "seconds": 0.1,
            },
        ]
    )
    X, y = nn.datasets.spiral(90, classes=3, rng=0)
    figures = {
        "curves": plot.training_curves(history),
        "boundary": plot.decision_boundary(
            lambda g: (g[:, 0] > 0).astype(int) + (g[:, 1] > 0), X, y
        ),
        "fit": plot.regression_fit(
            lambda g: np.sin(g),
            np.linspace(-3, 3, 50)[:, None],
            np.sin(np.linspace(-3, 3, 50)),
            truth=np.sin,
        ),
        "confusion": plot.confusion_matrix(np.array([[5, 1], [2, 7]]), ["a", "b"]),
        "digits": plot.image_grid(
            np.random.default_rng(0).random((12, 784)),
            list(range(12)),
            predictions=[0] * 12,
            columns=6,
        ),
    }
    for name, figure in figures.items():
        path = tmp_path / f"{name}.png"
        plot.save_figure(figure, path)
        assert _is_png(path) and path.stat().st_size > 5_000, name
    assert len(figures["curves"].axes) == 2


@pytest.mark.slow
def test_every_plot_shows_inline_in_a_fresh_kernel_without_magic() -> None:
    import nbformat
    from nbclient import NotebookClient

    cells = [
        "import numpy as np\nimport nn\nX, y = nn.datasets.moons(50, rng=0)",
        "nn.plot.image_grid(np.zeros((4, 784)), [0, 1, 2, 3])",
        "nn.plot.decision_boundary(lambda g: (g[:, 0] > 0).astype(int), X, y)",
        "nn.plot.confusion_matrix(np.array([[5, 1], [2, 7]]))",
        "nn.plot.regression_fit(lambda g: g[:, 0], X[:, :1], y)",
        "h = nn.History([{'epoch': 1.0, 'loss': 1.0}, {'epoch': 2.0, 'loss': 0.5}])\n"
        "nn.plot.training_curves(h)",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    for cell in notebook.cells[1:]:
        pictures = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        assert len(pictures) == 1, (cell.source, cell.outputs)


@pytest.mark.slow
def test_fit_draws_its_curves_live_in_place_in_a_real_kernel() -> None:
    """In a kernel, ``fit(plot=True)`` shows one picture in the cell, replaced after each
    epoch through its display id (no new picture, no window); its progress bar is
    ``tqdm.auto``'s (a widget where ipywidgets is installed)."""
    import nbformat
    from nbclient import NotebookClient

    updates: list[str] = []

    class Client(NotebookClient):  # type: ignore[misc]
        def _update_display_id(self, display_id: str, msg: dict) -> None:  # type: ignore[type-arg]
            if msg["header"]["msg_type"] == "update_display_data":
                updates.append(display_id)
            super()._update_display_id(display_id, msg)

    cells = [
        "import numpy as np\nimport nn\nX, y = nn.datasets.moons(100, rng=0)\n"
        "model = nn.MLP(2, [8, 2], rng=0)",
        "history = nn.fit(model, X, y, loss=nn.cross_entropy, epochs=4, batch_size=32,\n"
        "                 optimizer=nn.optim.SGD(model.parameters(), lr=0.1),\n"
        "                 validation=(X, y), plot=True, progress=False)",
        "import tqdm.auto\nmade = []\nclass Spy(tqdm.auto.tqdm):\n"
        "    def __init__(self, *args, **kwargs):\n"
        "        made.append(kwargs['total'])\n        super().__init__(*args, **kwargs)\n"
        "tqdm.auto.tqdm = Spy\n"
        "nn.fit(model, X, y, loss=nn.cross_entropy, epochs=2, batch_size=50,\n"
        "       optimizer=nn.optim.SGD(model.parameters(), lr=0.1), progress=True)\n"
        "print('bars', made)",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    Client(notebook, timeout=120, kernel_name="python3").execute()
    live = notebook.cells[1].outputs
    pictures = [o for o in live if "image/png" in o.get("data", {})]
    assert len(pictures) == 1 and len(live) == 1, live
    assert len(updates) == 3 and len(set(updates)) == 1  # epochs 2, 3 and 4, in place
    assert pictures[0]["metadata"] == {} or "image/png" in pictures[0]["data"]
    printed = "".join(o.get("text", "") for o in notebook.cells[2].outputs)
    assert "bars [4]" in printed  # fit's bar came from tqdm.auto: 2 epochs of 2 batches
