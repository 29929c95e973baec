"""``onestory evidence add``: take files into the vault from the server's own disk.

For the operator with a phone download or a CCTV export already on the server: no upload, no
size limit beyond the disk. Each file is copied into the blob store's staging area and hashed
in one pass (a progress bar by bytes), then becomes an item held by the named police force,
with its ``acquired`` and ``uploaded`` custody entries. The operator is trusted as the ingest
command is (the ledger names them ``cli:<user>``); no sharing decision is asked for.

Several files get consecutive exhibit references (``JS/1``, ``JS/2``...) that the case does not
already use. A file identical to one already held is stored once: the new item points at the
same content address.
"""

from __future__ import annotations

import hashlib
import mimetypes
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from onestory.clitools import CommandError, bytes_bar, console, err_console, open_database
from onestory.config import get_settings
from onestory.domain.identifiers import CaseURN
from onestory.evidence import retention, service
from onestory.evidence.blobs import (
    BLOCK,
    BlobError,
    BlobStore,
    Staged,
    check_sha256,
    new_staging_path,
    store_for,
)
from onestory.evidence.tables import EvidenceItem
from onestory.exchange.ingest_cli import cli_actor
from onestory.sharing.tables import Organisation
from onestory.store import session_factory

POLICE = "police"


@dataclass(frozen=True)
class Added:
    """One file taken in: a row of the command's table."""

    exhibit: str
    file: str
    size: int
    sha256: str
    item_id: str
    already_held: bool


def initials(name: str) -> str:
    """The default exhibit prefix: the first letter of each word of the seizing officer's name
    ("Jo Smith" -> "JS"); words that do not start with a letter (a collar number) are skipped."""
    letters = "".join(word[0] for word in name.split() if word[0].isalpha()).upper()
    return letters or "EX"


def next_references(used: set[str], prefix: str, count: int) -> list[str]:
    """``count`` references ``PREFIX/1``, ``PREFIX/2``... skipping those the case already has."""
    found: list[str] = []
    number = 1
    while len(found) < count:
        reference = f"{prefix}/{number}"
        if reference not in used:
            found.append(reference)
        number += 1
    return found


def stage_file(store: BlobStore, path: Path, advance: Callable[[int], object]) -> Staged:
    """Copy a file into the staging area and hash it in one pass, a block at a time."""
    target = new_staging_path(store)
    hasher = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as source, target.open("wb") as out:
            while block := source.read(BLOCK):
                hasher.update(block)
                out.write(block)
                size += len(block)
                advance(len(block))
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return Staged(target, hasher.hexdigest(), size)


def _police_force(session: Session, code: str) -> Organisation:
    organisation = session.scalar(select(Organisation).where(Organisation.code == code))
    if organisation is None:
        raise CommandError(f"--organisation {code}: no organisation has that code")
    if organisation.kind != POLICE:
        raise CommandError(
            f"--organisation {code}: {organisation.name} is a {organisation.kind} organisation; "
            "evidence is held by the police force that seized it"
        )
    return organisation


def _seized_at(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"--seized-at {value!r} is not a date and time such as 2026-11-01T10:30:00+00:00"
        ) from None
    if moment.tzinfo is None:
        raise CommandError(f"--seized-at {value!r}: give the offset from UTC, e.g. +00:00")
    return moment


def _details(**values: object) -> service.ItemDetails:
    try:
        return service.ItemDetails.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise CommandError(f"the item's details are not usable: {problems}") from None


def add(
    case: Annotated[str, typer.Argument(help="The case URN, e.g. 61GD7528225")],
    files: Annotated[list[Path], typer.Argument(help="The files to take in")],
    organisation: Annotated[
        str, typer.Option("--organisation", help="Code of the police force that holds them")
    ],
    seized_by: Annotated[
        str,
        typer.Option("--seized-by", help="Who seized or produced them, e.g. 'PC 4521 Jo Smith'"),
    ],
    seized_at: Annotated[
        str | None,
        typer.Option("--seized-at", help="When, ISO 8601 with offset (default: now)"),
    ] = None,
    seized_from: Annotated[str | None, typer.Option("--from", help="Where, or from whom")] = None,
    device: Annotated[
        str | None, typer.Option("--device", help="The device they came from")
    ] = None,
    method: Annotated[
        str | None, typer.Option("--method", help="How they were acquired (tool and version)")
    ] = None,
    description: Annotated[
        str | None, typer.Option("--description", help="What they are (default: the file name)")
    ] = None,
    exhibit_ref: Annotated[
        str | None, typer.Option("--exhibit-ref", help="The exhibit reference (one file only)")
    ] = None,
    exhibit_prefix: Annotated[
        str | None,
        typer.Option(
            "--exhibit-prefix",
            help="References PREFIX/1, PREFIX/2... (default: the seizing officer's initials)",
        ),
    ] = None,
    sha256: Annotated[
        str | None,
        typer.Option("--sha256", help="The hash taken at acquisition, checked (one file only)"),
    ] = None,
    retention_schedule: Annotated[
        str, typer.Option("--retention", help="The retention schedule")
    ] = retention.DEFAULT_SCHEDULE,
) -> None:
    """Take files into the evidence vault as items of a case, each with its SHA-256."""
    expected = _check_arguments(files, exhibit_ref, exhibit_prefix, sha256)
    try:
        urn = str(CaseURN.parse(case))
    except ValueError as exc:
        raise CommandError(f"CASE {case!r}: {exc}") from None
    moment = _seized_at(seized_at)
    try:
        retention.schedule(retention_schedule)
    except retention.RetentionError as exc:
        raise CommandError(f"--retention: {exc}") from None
    settings = get_settings()
    sessions = session_factory(open_database(settings))
    store = store_for(settings.data_dir)
    actor = cli_actor()
    with sessions() as session:
        force = _police_force(session, organisation)
        used = set(
            session.scalars(
                select(EvidenceItem.exhibit_reference).where(EvidenceItem.case_urn == urn)
            )
        )
    if exhibit_ref is not None:
        references = [exhibit_ref.strip()]
    else:
        references = next_references(used, exhibit_prefix or initials(seized_by), len(files))
    # Every file's details are checked before any is copied: a typo costs nothing.
    planned = [
        (
            path,
            _details(
                case_urn=urn,
                exhibit_reference=reference,
                description=description or path.name,
                seized_by=seized_by,
                seized_at=moment,
                seized_from=seized_from,
                device=device,
                method=method,
                media_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream",
                filename=path.name,
                retention_schedule=retention_schedule,
            ),
        )
        for path, reference in zip(files, references, strict=True)
    ]
    added: list[Added] = []
    for path, details in planned:
        with bytes_bar() as progress:
            task = progress.add_task(f"Adding {path.name}", total=path.stat().st_size)
            staged = stage_file(store, path, partial(progress.advance, task))
        try:
            added.append(_take_in(sessions, store, staged, details, force, actor, expected))
        except service.HashMismatch as exc:
            err_console.print(f"Error: {path}: {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        finally:
            staged.path.unlink(missing_ok=True)
    console.print(_table(urn, added))
    for note in _notes(added):
        console.print(note)


def _check_arguments(
    files: list[Path], exhibit_ref: str | None, exhibit_prefix: str | None, sha256: str | None
) -> str | None:
    for path in files:
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
    if exhibit_ref is not None and exhibit_prefix is not None:
        raise CommandError("give --exhibit-ref or --exhibit-prefix, not both")
    if exhibit_ref is not None and len(files) > 1:
        raise CommandError(
            f"--exhibit-ref names one exhibit but {len(files)} files were given; use "
            "--exhibit-prefix to number them"
        )
    if sha256 is None:
        return None
    if len(files) > 1:
        raise CommandError(f"--sha256 is the hash of one file, but {len(files)} were given")
    try:
        return check_sha256(sha256.strip().lower())
    except BlobError as exc:
        raise CommandError(f"--sha256: {exc}") from None


def _take_in(
    sessions: sessionmaker[Session],
    store: BlobStore,
    staged: Staged,
    details: service.ItemDetails,
    force: Organisation,
    actor: str,
    expected: str | None,
) -> Added:
    if expected is not None and expected != staged.sha256:
        raise service.HashMismatch(expected, staged.sha256)
    already_held = store.has(staged.sha256)
    with sessions() as session:
        try:
            item = service.create_item(
                session,
                store=store,
                item_id=str(uuid.uuid4()),
                staged=staged,
                details=details,
                organisation=force.code,
                actor=actor,
                actor_org=force.code,
                expected_sha256=expected,
                via="cli",
            )
            session.commit()
        except service.EvidenceError as exc:
            raise CommandError(str(exc)) from exc
        return Added(
            details.exhibit_reference,
            details.filename,
            staged.size,
            staged.sha256,
            item.id,
            already_held,
        )


def _table(case_urn: str, added: list[Added]) -> Table:
    table = Table(title=f"Evidence added to case {case_urn}")
    table.add_column("Exhibit", overflow="fold")
    table.add_column("File", overflow="fold")
    table.add_column("Size", justify="right")
    # Hashes and ids are copied from here: never folded across lines.
    table.add_column("SHA-256", no_wrap=True, min_width=64)
    table.add_column("Item id", no_wrap=True, min_width=36)
    for row in added:
        table.add_row(row.exhibit, row.file, f"{row.size:,}", row.sha256, row.item_id)
    return table


def _notes(added: list[Added]) -> list[str]:
    return [
        f"{row.exhibit}: the same content was already held; it is stored once"
        for row in added
        if row.already_held
    ]


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``onestory evidence``."""
    app.command("add")(add)
