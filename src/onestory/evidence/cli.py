"""``onestory evidence``: take items in, list a case, bundle and verify, check and dispose.

Each group of commands lives beside the code it drives (``intake_cli``, ``bundle_cli``,
``vault_cli``); this module only gathers them under one command.
"""

from __future__ import annotations

import typer

evidence_app = typer.Typer(
    help="Digital evidence: add items, bundle a case for disclosure, verify a bundle offline, "
    "check the store, dispose of items at the end of retention.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add ``onestory evidence`` and its commands to the main command."""
    from onestory.evidence import bundle_cli, intake_cli, vault_cli

    for module in (intake_cli, bundle_cli, vault_cli):
        module.register(evidence_app)
    app.add_typer(evidence_app, name="evidence")
