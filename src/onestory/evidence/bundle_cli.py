"""``onestory evidence bundle`` and ``onestory evidence verify``: make a disclosure bundle on the
server, and check one anywhere, offline, with only the log's public key.

``verify`` needs no database and no settings: it is what a court or a defence expert runs.
"""

from __future__ import annotations

import shlex
import shutil
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from onestory.clitools import CommandError, bytes_bar, console, err_console
from onestory.evidence.verify_bundle import BundleError, BundleReport, content_bytes, verify_bundle


def bundle(
    case: Annotated[str, typer.Argument(help="The case URN, e.g. 61GD7528225 or 61GD7528225/2")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Where to write the bundle (default: ./evidence-…zip)"),
    ] = None,
) -> None:
    """Bundle every item of a case for disclosure, as the operator, and print how to verify it."""
    from onestory.clitools import open_database
    from onestory.config import get_settings
    from onestory.domain.identifiers import CaseURN
    from onestory.evidence.blobs import store_for
    from onestory.evidence.bundle import (
        bundle_file_name,
        bundles_dir,
        make_bundle,
        sweep_stale_bundles,
    )
    from onestory.evidence.service import DISCLOSURE_PURPOSE, EvidenceError, items_of_case
    from onestory.exchange.ingest_cli import cli_actor
    from onestory.ledger.checkpoints import load_or_create_signer
    from onestory.store import session_factory

    try:
        urn = str(CaseURN.parse(case))
    except ValueError as exc:
        raise CommandError(f"{case!r} is not a case URN: {exc}") from exc
    settings = get_settings()
    sessions = session_factory(open_database(settings))
    signer = load_or_create_signer(settings.ensure_data_dir(), settings.ledger_origin)
    sweep_stale_bundles(settings.data_dir)
    target = output or Path.cwd() / bundle_file_name(urn)
    if target.is_dir():
        target = target / bundle_file_name(urn)
    with sessions() as session:
        items = items_of_case(session, urn)  # make_bundle ends this read before it writes
        if not items:
            raise CommandError(f"case {urn} has no evidence items to bundle")
        total = sum(item.size_bytes for item in items if item.status != "disposed")
        with bytes_bar() as progress:
            task = progress.add_task(f"Bundling {len(items)} items of {urn}", total=total)
            try:
                made = make_bundle(
                    session,
                    sessions=sessions,
                    store=store_for(settings.data_dir),
                    signer=signer,
                    items=items,
                    case_urn=urn,
                    actor=cli_actor(),
                    actor_org=None,
                    purpose=DISCLOSURE_PURPOSE,
                    work_dir=bundles_dir(settings.data_dir),
                    progress=partial(progress.advance, task),
                )
            except EvidenceError as exc:
                raise CommandError(str(exc)) from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(made.path, target)
    console.print(
        f"Wrote {target}: {made.items} items, {made.files} files, {made.content_bytes:,} bytes, "
        f"manifest SHA-256 {made.manifest_sha256}, ledger checkpoint of {made.checkpoint_size:,} "
        "entries."
    )
    console.print("Anyone can check it, offline, with:")
    quoted = shlex.quote(str(target)), shlex.quote(made.verifier_key)
    command = "onestory evidence verify {} --key {}".format(*quoted)
    console.print(command, highlight=False, soft_wrap=True, markup=False)


def verify(
    bundle_path: Annotated[Path, typer.Argument(metavar="BUNDLE", help="The bundle (.zip)")],
    key: Annotated[
        str,
        typer.Option(
            "--key", help="The ledger's verifier key: a file holding it, or the key text itself"
        ),
    ],
) -> None:
    """Check a disclosure bundle offline: signature, custody proofs, manifest and every byte."""
    if not bundle_path.is_file():
        raise CommandError(f"{bundle_path}: no such file")
    verifier_key = _key_text(key)
    with bytes_bar() as progress:
        task = progress.add_task(f"Checking {bundle_path.name}", total=content_bytes(bundle_path))
        try:
            report = verify_bundle(
                bundle_path, verifier_key, progress=partial(progress.advance, task)
            )
        except BundleError as exc:
            err_console.print(f"Not verified: {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except ValueError as exc:
            raise CommandError(f"--key: {exc}") from exc
    console.print(report_table(bundle_path, report))
    if report.ok:
        console.print(
            f"[green]Verified[/green]: {report.files} files ({report.bytes:,} bytes) and "
            f"{report.entries:,} custody entries of case {report.case_urn}, against the log "
            f"{report.log} at {report.checkpoint_size:,} entries."
        )
        return
    err_console.print(f"NOT VERIFIED: {len(report.failures)} checks failed:", highlight=False)
    for failure in report.failures:
        where = f" [{failure.file}]" if failure.file else ""
        err_console.print(
            f"  {failure.name}{where}: {failure.detail}",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )
    raise typer.Exit(1)


def _key_text(key: str) -> str:
    """The key itself, read from a file when ``key`` names one."""
    candidate = Path(key)
    try:
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise CommandError(f"--key {key}: cannot read the file ({exc})") from exc
    return key.strip()


def report_table(path: Path, report: BundleReport) -> Table:
    """Every check, passed or failed, with the file it concerns."""
    table = Table(title=f"Checks of {path.name}")
    table.add_column("Check")
    table.add_column("Result")
    table.add_column("File")
    table.add_column("Detail", overflow="fold")
    for check in report.checks:
        result = "[green]passed[/green]" if check.passed else "[red]FAILED[/red]"
        table.add_row(check.name, result, Text(check.file or ""), Text(check.detail))
    return table


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``onestory evidence``."""
    app.command("bundle")(bundle)
    app.command("verify")(verify)
