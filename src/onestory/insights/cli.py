"""``onestory insights``: take a snapshot of the store, publish a release, list the releases."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from onestory.clitools import CommandError, console, open_database, progress_bar
from onestory.config import get_settings

insights_app = typer.Typer(
    help="Insights and open data: snapshots of the store and disclosure-controlled releases.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add ``onestory insights`` and its commands to the main command."""
    app.add_typer(insights_app, name="insights")


@insights_app.command("snapshot")
def snapshot(
    out: Annotated[
        Path | None,
        typer.Option(help="Folder to write (default: DATA_DIR/insights/snapshots/<UTC time>)"),
    ] = None,
) -> None:
    """Copy the store into Parquet files, with the ledger checkpoint they were taken at."""
    from onestory.insights.publish import SNAPSHOTS, release_id
    from onestory.insights.snapshot import READERS, SnapshotError, take_snapshot
    from onestory.store import session_factory
    from onestory.store.base import utcnow

    settings = get_settings()
    engine = open_database(settings)
    folder = out or settings.data_dir / SNAPSHOTS / release_id(utcnow())
    try:
        with session_factory(engine)() as session, progress_bar() as progress:
            task = progress.add_task("Taking a snapshot", total=len(READERS))
            seen: set[str] = set()

            def step(table: str, _rows: int) -> None:
                if table not in seen:
                    seen.add(table)
                    progress.update(task, advance=1, description=f"Snapshot: {table}")

            taken = take_snapshot(session, folder, progress=step)
    except SnapshotError as exc:
        raise CommandError(str(exc)) from exc
    finally:
        engine.dispose()
    table = Table(title=f"Snapshot in {escape(str(taken.path))}")
    table.add_column("Table")
    table.add_column("Rows", justify="right")
    for name, rows in sorted(taken.manifest["tables"].items()):
        table.add_row(name, f"{rows:,}")
    console.print(table)
    console.print(_checkpoint_line(taken.manifest), highlight=False)


@insights_app.command("publish")
def publish(
    threshold: Annotated[
        int | None,
        typer.Option(
            min=1, help="Suppress counts under this (default: ONESTORY_INSIGHTS_THRESHOLD)"
        ),
    ] = None,
    rounding: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Round counts to a multiple of this, 0 for none (ONESTORY_INSIGHTS_ROUNDING)",
        ),
    ] = None,
    suppress_zeros: Annotated[
        bool, typer.Option(help="Hide zero counts too (zeros are published by default)")
    ] = False,
) -> None:
    """Snapshot the store, compute every measure and write a disclosure-controlled release."""
    from onestory.insights.duties import DutyDerivationError
    from onestory.insights.engine import MeasureError
    from onestory.insights.publish import ReleaseError, publish_release, steps
    from onestory.insights.sdc import DisclosureError
    from onestory.insights.snapshot import SnapshotError
    from onestory.store import session_factory

    settings = get_settings()
    data_dir = settings.ensure_data_dir()
    engine = open_database(settings)
    try:
        with session_factory(engine)() as session, progress_bar() as progress:
            task = progress.add_task("Publishing a release", total=steps())
            release = publish_release(
                session,
                data_dir,
                threshold=settings.insights_threshold if threshold is None else threshold,
                rounding=settings.insights_rounding if rounding is None else rounding,
                suppress_zeros=suppress_zeros,
                progress=lambda what: progress.update(task, advance=1, description=what),
            )
    except (
        MeasureError,
        DisclosureError,
        SnapshotError,
        ReleaseError,
        DutyDerivationError,
    ) as exc:
        raise CommandError(str(exc)) from exc
    finally:
        engine.dispose()
    manifest = release.manifest
    table = Table(title=f"Release {release.id}")
    for column in ("Measure", "Rows", "Suppressed cells"):
        table.add_column(column, justify="left" if column == "Measure" else "right")
    for entry in manifest["measures"]:
        table.add_row(entry["id"], f"{entry['rows']:,}", f"{entry['suppressed_cells']:,}")
    console.print(table)
    rounded = (
        f", counts rounded to multiples of {manifest['rounding']}" if manifest["rounding"] else ""
    )
    console.print(
        f"Counts under {manifest['threshold']} suppressed{rounded}; "
        f"{len(manifest['measures'])} public measures.",
        highlight=False,
    )
    console.print(_checkpoint_line(manifest["snapshot"]), highlight=False)
    console.print(f"Release written to {release.path}", soft_wrap=True, highlight=False)


@insights_app.command("list")
def list_releases() -> None:
    """The releases in the data directory, oldest first."""
    from onestory.insights.publish import ReleaseError
    from onestory.insights.publish import list_releases as releases_in

    settings = get_settings()
    try:
        releases = releases_in(settings.data_dir)
    except ReleaseError as exc:
        raise CommandError(str(exc)) from exc
    if not releases:
        console.print(
            f"No releases in {settings.data_dir}: run `onestory insights publish`.",
            highlight=False,
        )
        return
    table = Table(title="Insights releases")
    # The release id is its UTC time, so no separate column for when it was made.
    for column in ("Release", "Measures", "Threshold", "Ledger checkpoint", "Folder"):
        # A path has no spaces to wrap at: fold it rather than cut it short.
        table.add_column(column, no_wrap=column != "Folder", overflow="fold")
    for release in releases:
        m = release.manifest
        checkpoint = m.get("ledger_checkpoint")
        table.add_row(
            release.id,
            str(len(m.get("measures", []))),
            str(m.get("threshold", "")),
            f"{checkpoint['size']:,} entries" if checkpoint else "none",
            escape(str(release.path)),
        )
    console.print(table)


def _checkpoint_line(manifest: dict[str, object]) -> str:
    ledger = manifest.get("ledger")
    checkpoint = ledger.get("checkpoint") if isinstance(ledger, dict) else None
    if not checkpoint:
        return "Ledger: no signed checkpoint yet (cut one with `onestory ledger checkpoint`)."
    return f"Computed from the ledger checkpoint of {checkpoint['size']:,} entries."
