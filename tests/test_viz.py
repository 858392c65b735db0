"""draw_graph: the DOT it builds, the SVG that real `dot` renders, and its errors."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import graphviz
import numpy as np
import pytest

from autograd import GraphTooLargeError, GraphvizNotFoundError, Tensor, Value, draw_graph


def _example() -> Value:
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = (a * b + b**2).tanh()
    c.label = "c"
    c.backward()
    return c


def test_returns_a_digraph_with_a_record_per_node_and_an_ellipse_per_op() -> None:
    dot = draw_graph(_example())
    assert isinstance(dot, graphviz.Digraph)
    source = dot.source
    assert "{ a | data 2 | grad -0.0296 }" in source
    assert "{ c | data 0.9951 | grad 1 }" in source
    assert source.count("shape=ellipse") == 4  # ×, ^, +, tanh
    assert 'label="×"' in source and "label=tanh" in source


def test_the_drawing_is_deterministic() -> None:
    assert draw_graph(_example()).source == draw_graph(_example()).source


def test_show_grad_false_leaves_gradients_out() -> None:
    assert "grad" not in draw_graph(_example(), show_grad=False).source


def test_writes_an_svg_with_real_dot(tmp_path: Path) -> None:
    assert shutil.which("dot"), "Graphviz's dot must be installed (.ci/run installs it)"
    path = tmp_path / "pictures" / "graph.svg"
    draw_graph(_example(), path)
    text = path.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    assert "tanh" in text
    assert [p.name for p in path.parent.iterdir()] == ["graph.svg"]  # no temporary left


def test_without_dot_the_error_says_how_to_install_and_keeps_the_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot on this PATH
    with pytest.raises(GraphvizNotFoundError, match="apt-get install graphviz") as caught:
        draw_graph(_example(), tmp_path / "graph.svg")
    assert "digraph" in caught.value.source
    assert not (tmp_path / "graph.svg").exists()
    assert "digraph" in draw_graph(_example()).source  # without a path, no dot is needed


def test_a_graph_larger_than_max_nodes_is_refused() -> None:
    x = Value(1.0)
    for _ in range(100):
        x = x * 1.01
    with pytest.raises(GraphTooLargeError, match="more than max_nodes=50"):
        draw_graph(x, max_nodes=50)


def test_labels_with_special_characters_are_escaped() -> None:
    v = Value(1.0, label="{x|<y>}")
    assert r"\{x\|\<y\>\}" in draw_graph(v * 2.0).source


def test_bad_arguments() -> None:
    with pytest.raises(TypeError, match="expected a Value or Tensor"):
        draw_graph(1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rankdir"):
        draw_graph(Value(1.0), rankdir="XY")


def test_an_ops_constant_is_drawn_in_its_ellipse() -> None:
    x = Value(1.0)
    source = draw_graph((x * 2.0 + 0.5) ** 3).source
    assert 'label="× 2"' in source and 'label="+ 0.5"' in source and 'label="^3"' in source


def test_graphviz_is_imported_when_a_graph_is_drawn_not_with_autograd() -> None:
    program = (
        "import sys, autograd\n"
        "assert 'graphviz' not in sys.modules\n"
        "autograd.draw_graph(autograd.Value(1.0) * 2.0)\n"
        "assert 'graphviz' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", program], check=True)


@pytest.mark.slow
def test_without_dot_jupyter_shows_the_dot_source_and_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cells of notebook 01 up to its graphs, in a real kernel whose PATH has no
    ``dot``: each graph is its DOT source under one line on how to install ``dot``, and
    no cell fails (graphviz's own display raised ``ExecutableNotFound`` there)."""
    import nbformat
    from nbclient import NotebookClient

    lesson = nbformat.read(Path(__file__).parent.parent / "notebooks/01_own_framework.ipynb", 4)
    code = [cell for cell in lesson.cells if cell.cell_type == "code"]
    last = max(i for i, cell in enumerate(code) if "draw_graph(" in cell.source)
    cells = [nbformat.v4.new_code_cell(cell.source) for cell in code[: last + 1]]
    assert sum("draw_graph(" in cell.source for cell in cells) >= 2
    without_dot = str(Path(sys.executable).parent)  # the environment's programs: no dot
    assert shutil.which("dot", path=without_dot) is None
    monkeypatch.setenv("PATH", without_dot)  # the kernel inherits it
    notebook = nbformat.v4.new_notebook(cells=cells)
    NotebookClient(notebook, timeout=300, kernel_name="python3").execute()
    shown = []
    for cell in notebook.cells:
        assert not [o for o in cell.outputs if o.output_type == "error"], cell.source
        for output in cell.outputs:
            text = output.get("data", {}).get("text/plain", "")
            if "digraph" in text:
                shown.append(text)
                assert set(output["data"]) == {"text/plain"}, cell.source
    assert len(shown) == sum("draw_graph(" in cell.source for cell in cells)
    for text in shown:
        note, source = text.split("\n\n", 1)
        assert note == (
            "Graphviz's `dot` is not installed, so here is the graph's DOT source; install it "
            "for the picture: apt-get install graphviz (Debian, Ubuntu), brew install graphviz "
            "(macOS) or conda install graphviz."
        )
        assert source.startswith("digraph compute_graph {") and "shape=Mrecord" in source


def test_with_dot_jupyter_shows_the_picture_and_plain_text_as_graphviz_does() -> None:
    dot = draw_graph(_example())
    assert list(dot._repr_mimebundle_()) == ["image/svg+xml"]
    assert repr(dot).startswith("<graphviz.graphs.Digraph object at ")  # as stored notebooks read


def test_an_array_constant_or_an_own_ops_constant_is_drawn_as_c() -> None:
    t = Tensor([1.0, 2.0], requires_grad=True)
    source = draw_graph(t * np.array([3.0, 4.0])).source  # no float of a 2-element array
    assert 'label="× c"' in source
    assert 'label="× 3"' in draw_graph(t * 3.0).source
