"""``onestory ingest`` and ``onestory quarantine``: agency files in, and the rows that did not fit.

Files are ingested one after another, each with a progress bar by bytes and then a table of what
became of its rows. Quarantined rows are not an error: the command still exits 0 and says where
to find them. A run stopped half-way (Ctrl-C, a crash, ``kill -9``) is finished by running the
same command again.
"""

from __future__ import annotations

import getpass
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import func, select

from onestory.clitools import CommandError, bytes_bar, console, open_database
from onestory.config import get_settings
from onestory.exchange.ingest import (
    DEFAULT_CHUNK,
    EVENTS,
    FileSummary,
    IngestError,
    ingest_file,
    parse_assignments,
    quarantined,
    resubmit,
    row_fields,
    withdraw,
)
from onestory.exchange.tables import QUARANTINE_STATUSES, IngestFile, QuarantinedRow
from onestory.ledger.entries import Subject
from onestory.ledger.log import append_at_commit, lock_for_append

QUARANTINE_VIEWED = "exchange.quarantine.viewed"

quarantine_app = typer.Typer(
    help="Rows of agency files that could not be accepted: list, show, correct, withdraw.",
    no_args_is_help=True,
)


def cli_actor() -> str:
    """Who is running the command, as the ledger names them."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in this environment (a bare container)
        return "cli:unknown"


def ingest(
    agency: Annotated[
        str,
        typer.Argument(
            help="The agency kind (police, cps, court, prison, probation, education) "
            "or 'events' for common-model events (JSON Lines)"
        ),
    ],
    files: Annotated[list[Path], typer.Argument(help="The files, in the agency's layout")],
    layout: Annotated[
        str | None, typer.Option(help="The layout's name (default: recognised from the file)")
    ] = None,
    chunk: Annotated[
        int, typer.Option(help="Rows committed together (one transaction each)", min=1)
    ] = DEFAULT_CHUNK,
) -> None:
    """Take agency files into the store: bad rows quarantined, files already taken skipped."""
    from onestory.store import session_factory

    for path in files:
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
    sessions = session_factory(open_database(get_settings()))
    if agency == EVENTS:
        # Events reach the same subscribers as through the API (victims' timelines, webhooks).
        from onestory.sharing.policy import load_policies
        from onestory.subscribers import connect_event_subscribers

        connect_event_subscribers(load_policies(get_settings().policies_dir))
    actor = cli_actor()
    quarantined_files: list[FileSummary] = []
    for path in files:
        with bytes_bar() as progress:
            task = progress.add_task(f"Ingesting {path.name}", total=path.stat().st_size)
            try:
                summary = ingest_file(
                    sessions,
                    agency,
                    path,
                    actor=actor,
                    layout=layout,
                    chunk_size=chunk,
                    progress=partial(progress.advance, task),
                )
            except IngestError as exc:
                raise CommandError(str(exc)) from exc
        console.print(summary_table(summary))
        if summary.rejected:
            quarantined_files.append(summary)
    for summary in quarantined_files:
        rows = "1 row" if summary.rejected == 1 else f"{summary.rejected} rows"
        console.print(
            f"{rows} quarantined from {summary.name}: see "
            f"`onestory quarantine list --file {summary.id}`"
        )


def summary_table(summary: FileSummary) -> Table:
    """What became of one file's rows."""
    if summary.already_received:
        note = " (already received: nothing changed)"
    elif summary.resumed:
        note = " (resumed where the last run stopped)"
    else:
        note = ""
    table = Table(title=f"File {summary.id}: {summary.name}, layout {summary.layout}{note}")
    table.add_column("Rows", justify="right")
    table.add_column("Accepted", justify="right")
    table.add_column("Quarantined", justify="right")
    table.add_column("Already held", justify="right")
    table.add_row(
        str(summary.rows), str(summary.accepted), str(summary.rejected), str(summary.duplicate)
    )
    return table


@quarantine_app.command("list")
def list_rows(
    file: Annotated[int | None, typer.Option("--file", help="Only this file's rows")] = None,
    status: Annotated[
        str, typer.Option(help=f"One of {', '.join(QUARANTINE_STATUSES)}, or all")
    ] = "open",
    limit: Annotated[int, typer.Option(help="At most this many rows", min=1)] = 50,
) -> None:
    """Quarantined rows: where they came from and their first problem."""
    from onestory.store import session_factory

    if status != "all" and status not in QUARANTINE_STATUSES:
        raise CommandError(f"--status {status}: use one of {', '.join(QUARANTINE_STATUSES)}, all")
    query = select(QuarantinedRow, IngestFile.name).join(
        IngestFile, IngestFile.id == QuarantinedRow.file_id
    )
    counted = select(func.count()).select_from(QuarantinedRow)
    if file is not None:
        query = query.where(QuarantinedRow.file_id == file)
        counted = counted.where(QuarantinedRow.file_id == file)
    if status != "all":
        query = query.where(QuarantinedRow.status == status)
        counted = counted.where(QuarantinedRow.status == status)
    with session_factory(open_database(get_settings()))() as session:
        total = session.scalar(counted) or 0
        rows = session.execute(query.order_by(QuarantinedRow.id).limit(limit)).all()
    table = Table(title=f"Quarantined rows ({status}): {total}")
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("file")
    table.add_column("row", no_wrap=True)
    table.add_column("status")
    table.add_column("problems")
    for row, name in rows:
        first = row.problems[0] if row.problems else {}
        more = f" (+{len(row.problems) - 1} more)" if len(row.problems) > 1 else ""
        where = f"{first.get('field')}: " if first.get("field") else ""
        table.add_row(
            str(row.id),
            f"{row.file_id} {name}",
            f"{row.record_key} (line {row.line})",
            row.status,
            f"{where}{first.get('problem', '')}{more}",
        )
    console.print(table)
    if total > len(rows):
        console.print(f"Showing {len(rows)} of {total}; use --limit to see more.")


@quarantine_app.command("show")
def show(row_id: Annotated[int, typer.Argument(help="The quarantined row's id")]) -> None:
    """One row whole: its text, its fields, and each problem with how to fix it."""
    from onestory.store import session_factory

    actor = cli_actor()
    with session_factory(open_database(get_settings()))() as session:
        # Showing the raw row is a read of personal data: it is ledgered like any other.
        lock_for_append(session)
        try:
            row = quarantined(session, row_id)
        except IngestError as exc:
            raise CommandError(str(exc)) from exc
        append_at_commit(
            session,
            entry_type=QUARANTINE_VIEWED,
            actor=actor,
            subjects=[Subject("quarantined_row", str(row.id))],
            payload={"via": "onestory quarantine show"},
        )
        session.commit()
    console.print(
        f"[bold]Quarantined row {row.id}[/bold] ({row.status}): file {row.file_id}, layout "
        f"{row.layout}, row {row.record_key}, line {row.line}"
    )
    console.print("Row as received:", style="bold")
    console.print(row.raw, markup=False, highlight=False, soft_wrap=True)
    fields = Table(title="Fields" + (" (as last corrected)" if row.corrected else ""))
    fields.add_column("field", no_wrap=True)
    fields.add_column("value")
    for name, value in row_fields(row):
        fields.add_row(name, value)
    console.print(fields)
    problems = Table(title="Problems")
    problems.add_column("field", no_wrap=True)
    problems.add_column("problem")
    problems.add_column("how to fix it")
    for problem in row.problems:
        problems.add_row(
            str(problem.get("field") or "(whole row)"), problem["problem"], problem["fix"]
        )
    console.print(problems)
    if row.record_id:
        console.print(f"Became record {row.record_id}.")


@quarantine_app.command("resubmit")
def resubmit_row(
    row_id: Annotated[int, typer.Argument(help="The quarantined row's id")],
    assignments: Annotated[
        list[str] | None,
        typer.Option("--set", help="FIELD=VALUE, as many as needed (e.g. --set DOB=23/10/1989)"),
    ] = None,
) -> None:
    """Correct a row's fields and map it again; it becomes a record or shows what is still wrong."""
    from onestory.store import session_factory

    try:
        corrections = parse_assignments(assignments or [])
    except IngestError as exc:
        raise CommandError(str(exc)) from exc
    with session_factory(open_database(get_settings()))() as session:
        try:
            row = resubmit(session, row_id, corrections, actor=cli_actor())
        except IngestError as exc:
            session.rollback()
            raise CommandError(str(exc)) from exc
        session.commit()
    if row.status == "resubmitted":
        console.print(f"Row {row.id} accepted: it is record {row.record_id}.")
        return
    console.print(f"Row {row.id} is still not right:")
    for problem in row.problems:
        console.print(
            f"  {problem.get('field') or '(whole row)'}: {problem['problem']} — {problem['fix']}"
        )
    raise typer.Exit(1)


@quarantine_app.command("withdraw")
def withdraw_row(
    row_id: Annotated[int, typer.Argument(help="The quarantined row's id")],
    reason: Annotated[str, typer.Option(help="Why the row will not be corrected")],
) -> None:
    """Close a row that will not be corrected (sent in error, superseded), saying why."""
    from onestory.store import session_factory

    with session_factory(open_database(get_settings()))() as session:
        try:
            row = withdraw(session, row_id, reason=reason, actor=cli_actor())
        except IngestError as exc:
            session.rollback()
            raise CommandError(str(exc)) from exc
        session.commit()
    console.print(f"Row {row.id} withdrawn.")


def register(app: typer.Typer) -> None:
    """Add ``onestory ingest`` and ``onestory quarantine`` to the ``onestory`` command."""
    app.command("ingest")(ingest)
    app.add_typer(quarantine_app, name="quarantine")
