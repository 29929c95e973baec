"""``onestory evidence list``, ``check`` and ``dispose``: looking after the vault on the server.

``check`` re-reads every stored blob that held items rely on and compares it with the hash taken
at acquisition; a mismatch (or a missing blob) is recorded on each item that uses it, and the
command exits 1 naming them, so a scheduler can alert on it. ``dispose --due`` deletes the
content of items whose retention has ended, keeping their hash, metadata and custody record.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from onestory.clitools import CommandError, bytes_bar, console, err_console, open_database
from onestory.config import get_settings
from onestory.evidence import service, upload_service
from onestory.evidence.blobs import size_words, store_for
from onestory.evidence.bundle import sweep_stale_bundles
from onestory.evidence.tables import EvidenceItem, ItemStatus
from onestory.exchange.ingest_cli import cli_actor
from onestory.store import session_factory


def list_items(case: Annotated[str, typer.Argument(help="The case URN")]) -> None:
    """Every item of a case: exhibit, what it is, size, hash and state."""
    settings = get_settings()
    sessions = session_factory(open_database(settings))
    with sessions() as session:
        items = service.items_of_case(session, case.strip().upper())
    if not items:
        raise CommandError(f"case {case} has no evidence")
    table = Table(title=f"Evidence on case {items[0].case_urn}")
    for column in ("Exhibit", "Description", "Size", "SHA-256", "Held by", "State", "Item id"):
        table.add_column(column, overflow="fold")
    for item in items:
        state = item.status
        if item.integrity_failed_at is not None:
            state = "integrity check failed"
        table.add_row(
            item.exhibit_reference,
            item.description,
            size_words(item.size_bytes),
            item.sha256,
            item.organisation,
            state,
            item.id,
        )
    console.print(table)


def check() -> None:
    """Re-hash every stored item and report (and record) any that no longer match."""
    settings = get_settings()
    sessions = session_factory(open_database(settings))
    store = store_for(settings.data_dir)
    with sessions() as session:
        total = sum(
            session.scalars(
                select(EvidenceItem.size_bytes)
                .where(EvidenceItem.status == ItemStatus.HELD)
                .distinct()
            )
        )
    with sessions() as session:
        # Housekeeping the sweep is the natural place for: abandoned resumable uploads past their
        # expiry, and disclosure bundles that were never collected.
        expired = upload_service.expire_uploads(session, store)
        session.commit()
    stale = len(sweep_stale_bundles(settings.data_dir))
    if expired or stale:
        console.print(
            f"Removed {expired} expired upload(s) and {stale} uncollected bundle file(s)."
        )
    with bytes_bar() as progress:
        task = progress.add_task("Checking stored evidence", total=total or None)
        report = service.check_store(
            sessions,
            store,
            actor=cli_actor(),
            progress=lambda n: progress.advance(task, n),
        )
    console.print(
        f"Checked {report.blobs_checked:,} stored files ({size_words(report.bytes_checked)})."
    )
    if report.orphans:
        console.print(
            f"{len(report.orphans)} stored file(s) belong to no item (left by an intake that "
            "did not finish); they are kept for inspection."
        )
    if report.failures:
        table = Table(title="Stored evidence that no longer matches its hash")
        for column in ("Expected SHA-256", "Found", "Items affected"):
            table.add_column(column, overflow="fold")
        for finding in report.failures:
            table.add_row(finding.sha256, finding.found, str(finding.items))
        err_console.print(table)
        err_console.print(
            "Each affected item is now withheld and the failure is in its custody record; "
            "restore the files from backup and investigate."
        )
        raise typer.Exit(1)
    console.print("Every stored item matches the hash taken at acquisition.")


def dispose(
    due: Annotated[
        bool, typer.Option("--due", help="Dispose of every held item whose retention has ended")
    ] = False,
    dry_run: Annotated[bool, typer.Option(help="List what would go, and change nothing")] = False,
    reason: Annotated[
        str, typer.Option(help="Recorded in each item's custody")
    ] = "retention period ended",
) -> None:
    """Delete the content of items at the end of retention; keep hash, metadata and custody."""
    if not due:
        raise CommandError("say --due to dispose of the items whose retention has ended")
    settings = get_settings()
    sessions = session_factory(open_database(settings))
    store = store_for(settings.data_dir)
    actor = cli_actor()
    with sessions() as session:
        if not dry_run:
            # Content left behind by a disposal interrupted between its commit and the deletion.
            service.release_disposed(session, store)
        items = service.due_for_disposal(session)
        if not items:
            console.print("No item's retention has ended.")
            return
        table = Table(title="Retention ended" + (" (dry run: nothing changed)" if dry_run else ""))
        for column in ("Case", "Exhibit", "Retain until", "Content deleted"):
            table.add_column(column)
        for item in items:
            deleted = "—"
            if not dry_run:
                # One transaction per item: a failure part-way leaves the rest to the next run.
                release = service.dispose(
                    session, item=item, actor=actor, actor_org=None, reason=reason
                )
                session.commit()
                if release is not None and service.release_content(session, store, release):
                    deleted = "yes"
                else:
                    deleted = "no (another item holds the same content)"
            table.add_row(
                item.case_urn, item.exhibit_reference, f"{item.retain_until:%d %b %Y}", deleted
            )
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``list``, ``check`` and ``dispose`` to ``onestory evidence``."""
    app.command("list")(list_items)
    app.command("check")(check)
    app.command("dispose")(dispose)
