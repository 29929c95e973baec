"""``onestory linkage ...``: build the person index, see what waits for review, write the ATR."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from onestory.clitools import CommandError, console, open_database, progress_bar
from onestory.config import get_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from onestory.linkage.index import RunSummary

ACTOR = "system:linkage-cli"

linkage_app = typer.Typer(
    help="One person across agencies: the person index, its review queue and its record.",
    no_args_is_help=True,
)


@linkage_app.command("run")
def run_command(
    retrain: Annotated[
        bool, typer.Option("--retrain", help="Train a new model even if one is stored")
    ] = False,
    new: Annotated[
        bool,
        typer.Option(
            "--new", help="Only place the records that arrived since the last run (incremental)"
        ),
    ] = False,
) -> None:
    """Link every agency record into the person index (training a model if there is none)."""
    from onestory.store import session_factory

    if new and retrain:
        raise CommandError("--new places new records with the stored model; drop --retrain")
    settings = get_settings()
    sessions = session_factory(open_database(settings))
    copy = index_copy_dir(settings.ensure_data_dir())
    summary = link_everyone(sessions, actor=ACTOR, retrain=retrain, new=new, cache_dir=copy)
    console.print(run_table(summary))


def index_copy_dir(data_dir: Path) -> Path:
    """Where the prepared copy of the person index is kept (``linkage.index_cache``)."""
    return data_dir / "linkage-index"


def link_everyone(
    sessions: sessionmaker[Session],
    *,
    actor: str,
    retrain: bool = False,
    new: bool = False,
    cache_dir: Path | None = None,
) -> RunSummary:
    """``index.run`` (or, with ``new``, ``index.link_arrivals``) with a progress bar by stage;
    a failure is a ``CommandError``."""
    # Imported here: Splink and pandas take a second to load, which no other command needs.
    from onestory.linkage import index

    if new:
        with console.status("Placing the records that arrived since the last run"):
            try:
                return index.link_arrivals(sessions, actor=actor, cache_dir=cache_dir)
            except index.LinkageError as exc:
                raise CommandError(str(exc)) from exc

    with progress_bar() as progress:
        task = progress.add_task("Linking", total=len(index.RUN_STAGES))

        def step(stage: str) -> None:
            progress.update(task, advance=1, description=stage)

        try:
            return index.run(
                sessions, actor=actor, retrain=retrain, progress=step, cache_dir=cache_dir
            )
        except index.LinkageError as exc:
            raise CommandError(str(exc)) from exc


def run_table(summary: RunSummary) -> Table:
    """What a linkage run did, as a table."""
    table = Table(title=f"Linkage run {summary.run_id} ({summary.seconds:.1f} s)")
    table.add_column("")
    table.add_column("", justify="right")
    rows = [
        ("Model version", f"{summary.model_version}{' (trained now)' if summary.trained else ''}"),
        ("Records", f"{summary.records:,}"),
        ("Pairs scored 0.5 or more", f"{summary.pairs:,}"),
        ("People", f"{summary.persons:,}"),
        ("People created", f"{summary.persons_created:,}"),
        ("Merges", f"{summary.merged:,}"),
        ("Splits", f"{summary.split:,}"),
        ("Records (re)attached", f"{summary.attached:,}"),
        ("Pairs queued for review", f"{summary.review_added:,}"),
        ("Pairs left for a later run", f"{summary.review_deferred:,}"),
    ]
    for label, value in rows:
        table.add_row(label, value)
    return table


@linkage_app.command("review")
def review_command(
    limit: Annotated[int, typer.Option(help="How many open pairs to list", min=1)] = 20,
) -> None:
    """The pairs waiting for review, strongest first (ids and weights only, no personal data)."""
    from onestory.linkage import index
    from onestory.store import session_factory

    with session_factory(open_database(get_settings()))() as session:
        counts = index.review_counts(session)
        items = index.open_reviews(session, limit=limit)
    table = Table(
        title=f"{counts['open']} open, {counts['accepted']} same person, "
        f"{counts['rejected']} different people"
    )
    for heading in ("id", "weight", "probability", "record A", "record B", "queued"):
        table.add_column(heading, no_wrap=heading.startswith("record"))
    for item in items:
        table.add_row(
            str(item.id),
            f"{item.match_weight:.2f}",
            f"{item.match_probability:.2f}",
            item.record_a[:12],
            item.record_b[:12],
            item.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)
    console.print("Decide them at /linkage/review.")


@linkage_app.command("report")
def report_command(
    out: Annotated[Path, typer.Option("--out", help="Where to write the record (Markdown)")] = Path(
        "linkage-atr.md"
    ),
) -> None:
    """Write the Algorithmic Transparency Record of the linkage, from the stored model and data."""
    from onestory.linkage.atr import write_record
    from onestory.sharing.policy import PolicyError, load_policies
    from onestory.store import session_factory

    settings = get_settings()
    try:
        policies = load_policies(settings.policies_dir)
    except PolicyError as exc:
        raise CommandError(str(exc)) from exc
    with session_factory(open_database(settings))() as session:
        try:
            written = write_record(session, out, policies=policies)
        except OSError as exc:
            raise CommandError(f"cannot write {out}: {exc}") from exc
    console.print(f"Wrote the Algorithmic Transparency Record to {written}.")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``onestory`` command."""
    app.add_typer(linkage_app, name="linkage")
