"""Access history and subject access export, on SQLite and PostgreSQL, and the `sar` command."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from onestory.clitools import open_database
from onestory.config import get_settings
from onestory.ledger.entries import Subject
from onestory.ledger.log import append, erase_payload
from onestory.sharing.authorize import DECISION, Actor, RecordRef, authorize
from onestory.sharing.consent import grant_consent
from onestory.sharing.policy import PolicySet
from onestory.sharing.sar import parse_subject, render_sar_text, sar, subject_access_export
from onestory.sharing.tables import Organisation
from onestory.sharing.transparency import access_history
from onestory.store import session_factory

OFFICER = Actor("officer-1", "police_officer", "P01", "police")


def _world(session: Session, policies: PolicySet) -> dict[str, int]:
    """Entries about victim v1, about others, and about v1 among others; returns their seqs."""
    session.add(Organisation(code="P01", name="Northshire Police", kind="police"))
    seqs: dict[str, int] = {}
    seqs["read"] = append(
        session,
        entry_type="case.read",
        actor="officer-2",
        actor_org="P99",
        purpose="investigation",
        subjects=[Subject("victim", "v1")],
    ).seq
    append(session, entry_type="case.read", actor="x", subjects=[Subject("victim", "v2")])
    # Same id, other kind; and an id that v1 is a prefix of: neither is about victim v1.
    append(session, entry_type="case.read", actor="x", subjects=[Subject("person", "v1")])
    append(session, entry_type="case.read", actor="x", subjects=[Subject("victim", "v10")])
    seqs["both"] = append(
        session,
        entry_type="case.linked",
        actor="system",
        subjects=[Subject("case", "c1"), Subject("victim", "v1")],
        payload={"note": "linked"},
    ).seq
    decision = authorize(
        session,
        actor=OFFICER,
        action="read",
        record=RecordRef("victim", "v1"),
        purpose="investigation",
        justification="statement review",
        policies=policies,
    )
    assert decision.allowed
    seqs["decision"] = seqs["both"] + 1
    refused = authorize(
        session,
        actor=OFFICER,
        action="read",
        record=RecordRef("victim", "v1"),
        purpose="statistics",
        policies=policies,
    )
    assert not refused.allowed
    seqs["refused"] = seqs["decision"] + 1
    erase_payload(session, seq=seqs["both"], actor="retention", reason="retention ended")
    session.commit()
    return seqs


def test_access_history_is_exactly_the_entries_about_the_subject(
    session: Session, policies: PolicySet
) -> None:
    seqs = _world(session, policies)

    history = access_history(session, subject_kind="victim", subject_id="v1")

    assert [r.seq for r in history] == [
        seqs["refused"],
        seqs["decision"],
        seqs["both"],
        seqs["read"],
    ]
    refused, allowed, both, read = history
    assert allowed.entry_type == DECISION
    assert allowed.description == "Asked to use your record"
    assert allowed.organisation == "Northshire Police (P01)"
    assert allowed.actor == "officer-1"
    assert allowed.purpose == "investigation"
    assert (allowed.action, allowed.allowed, allowed.outcome) == ("read", True, "read: allowed")
    assert (refused.purpose, refused.outcome) == ("statistics", "read: refused")
    assert both.details_erased and both.outcome == "details erased"
    assert read.organisation == "P99"  # an organisation not held here is shown by its code
    assert read.outcome is None and not read.details_erased
    assert read.proof_url == f"/api/ledger/proofs/inclusion?seq={seqs['read']}"
    assert access_history(session, subject_kind="victim", subject_id="nobody") == []


def test_subject_ids_are_compared_as_values_not_patterns(session: Session) -> None:
    odd = 'v"1%_\\é'
    mine = append(session, entry_type="case.read", actor="x", subjects=[Subject("victim", odd)])
    append(session, entry_type="case.read", actor="x", subjects=[Subject("victim", "vx1")])
    session.commit()
    assert [r.seq for r in access_history(session, subject_kind="victim", subject_id=odd)] == [
        mine.seq
    ]
    assert access_history(session, subject_kind="victim", subject_id="v%") == []


def test_subject_access_export_holds_entries_consents_and_history(
    session: Session, policies: PolicySet
) -> None:
    seqs = _world(session, policies)
    grant_consent(
        session,
        actor=OFFICER,
        subject_id="p7",
        organisation_kind="victim_support",
        purpose="victim_support",
    )
    session.commit()

    export = subject_access_export(session, subject_kind="victim", subject_id="v1")

    assert export["subject"] == {"kind": "victim", "id": "v1"}
    entries = {e["seq"]: e for e in export["ledgerEntries"]}
    assert sorted(entries) == sorted(seqs.values())
    assert entries[seqs["both"]]["payload"] is None and entries[seqs["both"]]["payloadErased"]
    decision = entries[seqs["decision"]]
    assert decision["payload"]["justification"] == "statement review"
    assert decision["payload"]["allowed"] is True
    assert [r["seq"] for r in export["accessHistory"]] == sorted(seqs.values(), reverse=True)
    assert export["consents"] == []  # consent is recorded about people, not victims
    json.dumps(export)  # machine-readable as it stands

    person = subject_access_export(session, subject_kind="person", subject_id="p7")
    assert [(c["organisationKind"], c["granted"]) for c in person["consents"]] == [
        ("victim_support", True)
    ]
    assert person["accessHistory"][0]["description"] == "Consent given"

    text = render_sar_text(export)
    assert "Information held about victim v1" in text
    assert "Northshire Police (P01)" in text
    assert "(read: allowed)" in text and "(read: refused)" in text
    assert "erased at the end of the retention period" in text


def test_the_query_finds_what_a_scan_of_every_entry_finds(session: Session) -> None:
    # Ids chosen to trip up JSON and pattern matching: quotes, escapes, LIKE wildcards,
    # non-ASCII, prefixes of each other, and the same id under another kind.
    ids = ["v1", "v10", 'v"1', "v%", "v_", "v\\1", "é", "\u2028", "1"]
    kinds = ["victim", "person", "user"]
    rng = random.Random(7)
    written: list[tuple[int, list[Subject]]] = []
    for _ in range(60):
        subjects = [Subject(rng.choice(kinds), rng.choice(ids)) for _ in range(rng.randint(0, 3))]
        written.append(
            (append(session, entry_type="t", actor="x", subjects=subjects).seq, subjects)
        )
    session.commit()
    for kind in kinds:
        for subject_id in ids:
            expected = [seq for seq, s in reversed(written) if Subject(kind, subject_id) in s]
            found = access_history(session, subject_kind=kind, subject_id=subject_id)
            assert [r.seq for r in found] == expected, (kind, subject_id)


@given(
    kind=st.from_regex(r"[a-z_]{1,20}", fullmatch=True),
    subject_id=st.text(min_size=1).filter(lambda s: s == s.strip()),
)
def test_parse_subject_reads_back_what_was_written(kind: str, subject_id: str) -> None:
    assert parse_subject(f"{kind}:{subject_id}") == (kind, subject_id)


@pytest.mark.parametrize("bad", ["victim", "victim:", ":v1", ""])
def test_parse_subject_refuses_what_is_not_kind_colon_id(bad: str) -> None:
    with pytest.raises(ValueError, match="KIND:ID"):
        parse_subject(bad)


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.command()(sar)
    # A second command keeps Typer from folding the one command into the app itself.
    app.command("noop")(lambda: None)
    return app


def _migrated_database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Engine:
    """The SQLite database the command will open, migrated as `onestory db upgrade` would."""
    monkeypatch.setenv("ONESTORY_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ONESTORY_DATABASE_URL", raising=False)
    return open_database(get_settings())


def test_sar_command_prints_json_and_ledgers_the_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _migrated_database(monkeypatch, tmp_path)
    with session_factory(engine)() as session:
        read = append(
            session, entry_type="case.read", actor="x", subjects=[Subject("victim", "v1")]
        )
        session.commit()
    engine.dispose()

    result = CliRunner().invoke(_cli(), ["sar", "victim:v1"])

    assert result.exit_code == 0, result.output
    export = json.loads(result.stdout)
    types = [(e["seq"], e["type"]) for e in export["ledgerEntries"]]
    assert types == [(read.seq + 1, "sharing.subject_access.exported"), (read.seq, "case.read")]


def test_sar_command_writes_text_to_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _migrated_database(monkeypatch, tmp_path).dispose()
    out = tmp_path / "sar.txt"

    result = CliRunner().invoke(_cli(), ["sar", "person:p7", "--text", "--out", str(out)])

    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("Information held about person p7\n")


def test_sar_command_refuses_a_bad_subject_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONESTORY_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(_cli(), ["sar", "v123"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "Error: the subject must be KIND:ID, e.g. victim:v123 (got 'v123')"
    ]
