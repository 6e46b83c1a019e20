"""``python -m optviz``: the ``optviz`` command."""
from .commands.cli import entry

entry()
