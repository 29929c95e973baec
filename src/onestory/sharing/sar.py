"""Subject access: everything OneStory holds about one person, as JSON and as text.

DPA 2018 s45 (and UK GDPR art 15) give a person the right to a copy of the data held about
them and to know who it was disclosed to. The export gathers the ledger entries about the
subject with their details where retention has not yet erased them, their consent choices, and
the access history; ``onestory sar KIND:ID`` prints it. Producing the export is itself a
disclosure, so the command ledgers it (s62) before reading.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session

from onestory.ledger.entries import Subject, format_time
from onestory.ledger.log import append, entry_json
from onestory.sharing.consent_tables import EVERY_ORGANISATION, Consent
from onestory.sharing.transparency import (
    SUBJECT_ACCESS_EXPORTED,
    access_history,
    entries_about,
    payloads_of,
)
from onestory.store.base import utcnow

EXPORTED = SUBJECT_ACCESS_EXPORTED
EXPORT_FORMAT_VERSION = 1
# Consent is recorded about people (see sharing.consent); other kinds of subject have none.
CONSENT_SUBJECT_KIND = "person"
LEGAL_BASIS = (
    "Data Protection Act 2018 s45 (right of access by the data subject) and UK GDPR Article 15"
)


def subject_access_export(
    session: Session, *, subject_kind: str, subject_id: str
) -> dict[str, Any]:
    """Everything held about the subject, as one JSON-ready document."""
    entries = entries_about(session, subject_kind=subject_kind, subject_id=subject_id)
    payloads = payloads_of(session, (e.seq for e in entries if e.digest is not None))
    ledger = []
    for entry in entries:
        document = entry_json(entry)
        document["payload"] = payloads.get(entry.seq)
        document["payloadErased"] = entry.digest is not None and entry.seq not in payloads
        ledger.append(document)
    consents: list[dict[str, Any]] = []
    if subject_kind == CONSENT_SUBJECT_KIND:
        rows = session.scalars(
            select(Consent).where(Consent.subject_id == subject_id).order_by(Consent.id)
        )
        consents = [
            {
                "organisationKind": row.organisation_kind,
                "organisationCode": row.organisation_code or None,
                "everyOrganisationOfKind": row.organisation_code == EVERY_ORGANISATION,
                "purpose": row.purpose,
                "granted": row.granted,
                "changedAt": format_time(row.changed_at),
                "changedBy": row.changed_by,
            }
            for row in rows
        ]
    history = access_history(session, subject_kind=subject_kind, subject_id=subject_id)
    return {
        "format": "onestory-subject-access",
        "version": EXPORT_FORMAT_VERSION,
        "subject": {"kind": subject_kind, "id": subject_id},
        "generatedAt": format_time(utcnow()),
        "legalBasis": LEGAL_BASIS,
        "ledgerEntries": ledger,
        "consents": consents,
        "accessHistory": [record.as_dict() for record in history],
    }


def ledgered_export(
    session: Session, *, actor: str, subject_kind: str, subject_id: str, text: bool = False
) -> dict[str, Any]:
    """Ledger the disclosure, then export; the caller commits both together.

    Ledgered first: the export is a disclosure, and on SQLite a transaction must write before
    it reads (see ledger.log).
    """
    append(
        session,
        entry_type=EXPORTED,
        actor=actor,
        purpose="own_access",
        subjects=[Subject(subject_kind, subject_id)],
        payload={"format": "onestory-subject-access", "text": text},
    )
    return subject_access_export(session, subject_kind=subject_kind, subject_id=subject_id)


def render_sar_text(export: dict[str, Any]) -> str:
    """The export as plain text a person can read."""
    subject = export["subject"]
    lines = [
        f"Information held about {subject['kind']} {subject['id']}",
        f"Produced {export['generatedAt']} under {export['legalBasis']}.",
        "",
        f"Who has used your records ({len(export['accessHistory'])})",
    ]
    for record in export["accessHistory"]:
        who = record["actor"]
        if record["organisationName"]:
            who += f" of {record['organisationName']} ({record['organisationCode']})"
        elif record["organisationCode"]:
            who += f" of {record['organisationCode']}"
        line = f"- {record['recordedAt']}: {record['description']}, by {who}"
        if record["purpose"]:
            line += f", for {record['purpose'].replace('_', ' ')}"
        if record["detailsErased"]:
            line += " (details erased)"
        elif record["action"] is not None:
            outcome = "allowed" if record["allowed"] else "refused"
            line += f" ({record['action']}: {outcome})"
        lines.append(line + f" [ledger entry {record['seq']}]")
    if not export["accessHistory"]:
        lines.append("- Nobody.")
    lines += ["", f"Your consent choices ({len(export['consents'])})"]
    for consent in export["consents"]:
        where = consent["organisationCode"] or f"every {consent['organisationKind']} organisation"
        answer = "yes" if consent["granted"] else "no"
        lines.append(
            f"- {where}, for {consent['purpose'].replace('_', ' ')}: {answer} "
            f"(changed {consent['changedAt']})"
        )
    if not export["consents"]:
        lines.append("- None recorded.")
    lines += ["", f"Ledger entries about you ({len(export['ledgerEntries'])})"]
    for entry in export["ledgerEntries"]:
        lines.append(f"- Entry {entry['seq']}, {entry['time']}, {entry['type']}")
        if entry["payloadErased"]:
            lines.append("  Details: erased at the end of the retention period")
        elif entry["payload"] is not None:
            details = json.dumps(entry["payload"], sort_keys=True, ensure_ascii=False)
            lines.append(f"  Details: {details}")
    return "\n".join(lines) + "\n"


def parse_subject(text: str) -> tuple[str, str]:
    """``KIND:ID`` as (kind, id); raise ``ValueError`` saying what is wrong."""
    kind, sep, subject_id = text.strip().partition(":")
    if not sep or not kind or not subject_id:
        raise ValueError(f"the subject must be KIND:ID, e.g. victim:v123 (got {text!r})")
    return kind, subject_id


def _fail(message: str) -> SystemExit:
    Console(stderr=True).print(f"Error: {message}", highlight=False, soft_wrap=True, markup=False)
    # SystemExit, not typer.Exit: the onestory entry point runs commands outside standalone
    # mode, where typer.Exit becomes a return value (see synth.cli).
    return SystemExit(2)


def _operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name (some containers): still say it was the CLI
        return "cli"


def sar(
    subject: Annotated[str, typer.Argument(help="KIND:ID, e.g. victim:v123")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Write to this file instead of printing")
    ] = None,
    text: Annotated[bool, typer.Option("--text", help="Plain text instead of JSON")] = False,
) -> None:
    """Export everything held about one subject (DPA 2018 s45 subject access)."""
    from onestory.clitools import CommandError, open_database
    from onestory.config import ConfigurationError, get_settings
    from onestory.store import session_factory

    try:
        kind, subject_id = parse_subject(subject)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    if out is not None and out.is_dir():
        raise _fail(f"--out {out} is a directory; give a file name")
    try:
        engine = open_database(get_settings())
    except (CommandError, ConfigurationError) as exc:
        raise _fail(str(exc)) from None
    try:
        with session_factory(engine)() as session:
            export = ledgered_export(
                session, actor=_operator(), subject_kind=kind, subject_id=subject_id, text=text
            )
            session.commit()
    finally:
        engine.dispose()
    output = render_sar_text(export) if text else json.dumps(export, indent=2, ensure_ascii=False)
    if out is None:
        typer.echo(output.rstrip("\n"))
        return
    try:
        out.write_text(output.rstrip("\n") + "\n", encoding="utf-8")
    except OSError as exc:
        raise _fail(f"cannot write {out}: {exc.strerror or exc}") from None
    Console(stderr=True).print(f"Wrote the subject access export to {out}.", highlight=False)
