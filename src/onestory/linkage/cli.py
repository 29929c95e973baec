"""Commands for this part of issue 6 (filled in by the work on it)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``onestory`` command."""
