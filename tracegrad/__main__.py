"""``python -m tracegrad``: the ``tracegrad`` command."""

import sys

from .cli import main

sys.exit(main())
