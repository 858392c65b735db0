"""Sphinx configuration: MyST pages, the API from the docstrings, the notebooks as stored."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout, not a copy

project = "tracegrad"
author = "the tracegrad authors"
copyright = "the tracegrad authors"

extensions = ["myst_nb", "sphinx.ext.autodoc"]  # myst_nb brings myst_parser with it

exclude_patterns = ["_build", "notebooks/.ipynb_checkpoints"]
nb_execution_mode = "off"  # the notebooks are shown with the outputs they are stored with
myst_heading_anchors = 3  # links to sections, as a code host makes them
myst_enable_extensions = ["dollarmath"]  # the notebooks' $maths$

autodoc_member_order = "bysource"
autodoc_typehints = "signature"

html_theme = "furo"
html_title = "tracegrad"
