"""Commands of ``onestory evidence`` (being written)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``onestory evidence``."""
