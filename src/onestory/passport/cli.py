"""``onestory passport``: check a credential offline, issue pending credentials, revoke one, and
show this instance's DID.

``verify`` works without a server and without creating anything: it trusts this instance's issuer
only if its key already exists in the data directory, plus the issuers given with ``--trust`` and
``--did-document``; it reads status lists from ``--status-list`` files, or from this instance's
database when the list is this instance's and the database already exists. Its exit status is 0
only when the credential is valid, so scripts can rely on it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from onestory.clitools import CommandError, console, open_database, progress_bar
from onestory.config import Settings, get_settings
from onestory.passport.issuer import ISSUER_KEY_FILE, Issuer, IssuerError, Trust, load_issuer
from onestory.passport.verify import (
    ChainedStatusLists,
    CheckResult,
    DatabaseStatusLists,
    FileStatusLists,
    InputError,
    StatusSource,
    Verdict,
    extend_trust,
    verify,
)

passport_app = typer.Typer(
    help="The skills passport: verify a credential offline, issue credentials, revoke one.",
    no_args_is_help=True,
)

TICK = "[green]✓[/green]"
CROSS = "[red]✗[/red]"


def register(app: typer.Typer) -> None:
    """Add ``onestory passport`` and its commands to the main command."""
    app.add_typer(passport_app, name="passport")


def existing_issuer(settings: Settings) -> Issuer | None:
    """This instance's issuer if its key exists; never creates one (a verifier needs no key)."""
    if not (settings.data_dir / ISSUER_KEY_FILE).exists():
        return None
    return load_issuer(settings.data_dir, settings.public_base_url)


def existing_database(settings: Settings) -> Engine | None:
    """This instance's database if it is there already (a SQLite file is not created)."""
    from onestory.store import create_engine_for

    if not settings.database_url and not (settings.data_dir / "onestory.sqlite3").exists():
        return None
    return create_engine_for(settings.effective_database_url)


class _SafeDatabaseLists:
    """The database's lists, where a database that cannot answer is a list not found."""

    def __init__(self, lists: DatabaseStatusLists) -> None:
        self.lists = lists
        self.problem: str | None = None

    def get(self, url: str) -> dict[str, object] | None:
        if self.lists.list_number(url) is None:
            return None
        try:
            found = self.lists.get(url)
        except SQLAlchemyError as exc:
            self.lists.session.rollback()
            self.problem = f"the database could not be read ({type(exc).__name__})"
            return None
        return dict(found) if found is not None else None


def _read(file: Path) -> bytes:
    if str(file) == "-":
        return sys.stdin.buffer.read()
    try:
        return file.read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {file}: {exc.strerror or exc}") from exc


def _print_checks(checks: list[CheckResult], indent: str = "") -> None:
    for c in checks:
        mark = TICK if c.passed else CROSS
        console.print(
            f"{indent}{mark} [bold]{escape(c.name)}[/bold]: {escape(c.detail)}",
            soft_wrap=True,
            highlight=False,
        )


def _print_verdict(verdict: Verdict) -> None:
    colour = "green" if verdict.valid else "red"
    console.print(
        f"[bold {colour}]{escape(verdict.headline)}[/bold {colour}] ({verdict.outcome})",
        soft_wrap=True,
        highlight=False,
    )
    _print_checks(verdict.checks)
    for n, s in enumerate(verdict.credentials, 1):
        table = Table(
            title=f"Credential {n}: {s.achievement or 'unreadable'}",
            show_header=False,
            title_justify="left",
        )
        table.add_column("", style="bold")
        table.add_column("")
        for label, value in (
            ("Result", s.outcome),
            ("Holder", s.holder_name),
            ("Level", s.level),
            ("Awarding body", s.awarding_body),
            ("Learning provider", s.provider),
            ("Awarded", s.awarded_on),
            ("Issuer", f"{s.issuer_name or ''} {s.issuer_did or ''}".strip()),
            ("Secured with", s.securing),
            ("Credential", s.credential_id),
        ):
            table.add_row(label, escape(value or "not given"))
        console.print(table)
        if verdict.kind == "presentation":
            _print_checks(s.checks, indent="  ")


@passport_app.command("verify")
def verify_command(
    file: Annotated[Path, typer.Argument(help="Credential, presentation or JWT; - for stdin")],
    did_document: Annotated[
        list[Path] | None,
        typer.Option("--did-document", help="Trust the issuer this DID document describes"),
    ] = None,
    trust_did: Annotated[
        list[str] | None, typer.Option("--trust", help="Trust this did:key issuer")
    ] = None,
    status_list: Annotated[
        list[Path] | None,
        typer.Option("--status-list", help="A status list credential file to check against"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON")] = False,
) -> int:
    """Check a credential offline; exit 0 only when it is valid."""
    settings = get_settings()
    data = _read(file)
    issuer = existing_issuer(settings)
    trust = Trust.of([issuer] if issuer is not None else [])
    try:
        extend_trust(trust, [str(p) for p in did_document or []])
        extend_trust(trust, list(trust_did or []))
        files = FileStatusLists.from_files(list(status_list or []))
    except (IssuerError, InputError) as exc:
        raise CommandError(str(exc)) from exc
    sources: list[StatusSource] = [files]
    engine = existing_database(settings) if issuer is not None else None
    session: Session | None = None
    database: _SafeDatabaseLists | None = None
    try:
        if engine is not None and issuer is not None:
            session = Session(engine)
            database = _SafeDatabaseLists(
                DatabaseStatusLists(session, issuer, settings.public_base_url)
            )
            # This instance's own lists first: a file given on the command line may be an old
            # copy, from before a revocation.
            sources.insert(0, database)
        verdict = verify(data, trust=trust, status_lists=ChainedStatusLists(sources))
    finally:
        if session is not None:
            session.close()
        if engine is not None:
            engine.dispose()
    if as_json:
        console.print_json(json.dumps(verdict.as_json()))
    else:
        if issuer is None and not (did_document or trust_did):
            console.print(
                "No issuer is trusted: this instance has no issuing key yet, and neither "
                "--trust nor --did-document was given.",
                style="yellow",
            )
        _print_verdict(verdict)
        if database is not None and database.problem:
            console.print(f"Note: {database.problem}.", style="yellow")
    return 0 if verdict.valid else 1


@passport_app.command("issue")
def issue_command() -> None:
    """Issue a credential for every achieved, linked learning record that has none yet."""
    from onestory.exchange.ingest_cli import cli_actor
    from onestory.passport import credentials
    from onestory.store import session_factory

    settings = get_settings()
    engine = open_database(settings)
    issuer = load_issuer(settings.ensure_data_dir(), settings.public_base_url)
    try:
        with session_factory(engine)() as session:
            pending = credentials.pending_count(session)
            with progress_bar() as progress:
                task = progress.add_task("Issuing credentials", total=pending)
                summary = credentials.issue_pending(
                    session,
                    issuer,
                    actor=cli_actor(),
                    base_url=settings.public_base_url,
                    progress=lambda n: progress.advance(task, n),
                )
    finally:
        engine.dispose()
    table = Table(title="Skills passport credentials")
    table.add_column("", style="bold")
    table.add_column("Records", justify="right")
    for label, count in (
        ("Issued", summary.issued),
        ("Holders created", summary.holders_created),
        ("Not linked to a person", summary.not_linked),
        ("Not achieved (yet)", summary.not_achieved),
        ("Refused", len(summary.refused)),
    ):
        table.add_row(label, f"{count:,}")
    console.print(table)
    for record_id, reason in summary.refused:
        console.print(f"Refused {record_id}: {escape(reason)}", soft_wrap=True, highlight=False)


@passport_app.command("revoke")
def revoke_command(
    credential_id: Annotated[str, typer.Argument(help="The credential's id (urn:uuid:... too)")],
    reason: Annotated[str, typer.Option(help="Why it is revoked (recorded in the ledger)")],
) -> None:
    """Revoke one credential: its status bit is set and the status list re-signed."""
    from onestory.exchange.ingest_cli import cli_actor
    from onestory.passport import credentials
    from onestory.passport.tables import PassportCredential
    from onestory.store import session_factory

    settings = get_settings()
    wanted = credential_id.strip().removeprefix("urn:uuid:")
    engine = open_database(settings)
    issuer = load_issuer(settings.ensure_data_dir(), settings.public_base_url)
    try:
        with session_factory(engine)() as session:
            credential = session.scalar(
                select(PassportCredential).where(PassportCredential.id == wanted)
            )
            if credential is None:
                raise CommandError(f"no credential {wanted} in this instance's database")
            try:
                credentials.revoke(
                    session,
                    issuer,
                    credential,
                    actor=cli_actor(),
                    reason=reason,
                    base_url=settings.public_base_url,
                )
            except credentials.PassportError as exc:
                raise CommandError(str(exc)) from exc
            session.commit()
            achievement = credential.achievement
            where = credentials.status_list_url(settings.public_base_url, credential.status_list)
    finally:
        engine.dispose()
    console.print(
        f"Revoked {wanted} ({escape(achievement)}); status list {where} re-signed.",
        soft_wrap=True,
        highlight=False,
    )


@passport_app.command("did")
def did_command() -> None:
    """Print this instance's DID and the DID document to serve for it."""
    settings = get_settings()
    issuer = load_issuer(settings.ensure_data_dir(), settings.public_base_url)
    console.print(issuer.did, highlight=False, soft_wrap=True)
    console.print_json(json.dumps(issuer.did_document()))
