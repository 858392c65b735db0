"""``tracegrad playground``: watch a network learn, in the browser, on tracegrad itself.

A local web server (``server.py``, the standard library's) serves one page
(``static/``: plain HTML, CSS and JavaScript, no build step, nothing fetched from
elsewhere) and trains each tab's network in Python with ``nn.fit``:

- ``settings.py``: the page's form, checked field by field;
- ``run.py``: the data, model and optimiser of one setting, trained an epoch at a time;
- ``session.py``: one tab's run, commands and stream of updates;
- ``views.py``: the pictures, one neuron's compute graph and backward pass, the gradients;
- ``code.py``: the Python code that reproduces the page's run.
"""

from .server import serve
from .settings import Settings, SettingsError

__all__ = ["Settings", "SettingsError", "serve"]
