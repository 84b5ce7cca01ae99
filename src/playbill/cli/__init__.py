"""The ``playbill`` command line: read, export and import journals, and write a demo run.

``main`` is the console script's entry point; ``cli`` is the click group, for
embedding or testing with ``click.testing.CliRunner``.
"""

from ._app import cli as cli
from ._main import main as main

__all__ = ["cli", "main"]
