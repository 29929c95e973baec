"""``onestory demo`` end to end (without serving): generate, load, sign-ins; re-run reuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import func, select

from onestory.cli import main
from onestory.exchange.tables import AgencyRecord, StoredEvent
from onestory.linkage.tables import Person, PersonMember
from onestory.passport.tables import PassportCredential, PassportHolder
from onestory.sharing.passwords import verify_password
from onestory.sharing.tables import UserAccount
from onestory.store import create_engine_for, session_factory


def test_demo_builds_a_world_and_reuses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ONESTORY_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ONESTORY_DATABASE_URL", raising=False)
    # The CLI's console was sized when first imported; give it room for the sign-ins table.
    monkeypatch.setattr("onestory.cli.console", Console(width=200))

    assert main(["demo", "--people", "40", "--no-serve"]) == 0
    first = capsys.readouterr().out
    assert "Demo sign-ins" in first
    sign_ins = json.loads((tmp_path / "demo-sign-ins.json").read_text())
    assert {s["role"] for s in sign_ins} >= {"police_officer", "victim", "analyst"}
    for s in sign_ins:
        assert s["email"] in first and s["password"] in first

    engine = create_engine_for(f"sqlite:///{tmp_path / 'onestory.sqlite3'}")
    with session_factory(engine)() as session:
        events = session.scalar(select(func.count()).select_from(StoredEvent))
        assert events and events > 40
        # Every agency's extract came in through the exchange.
        query = select(AgencyRecord.layout, func.count()).group_by(AgencyRecord.layout)
        records: dict[str, int] = {layout: n for layout, n in session.execute(query)}
        # ...and was linked into people, each with records from more than one agency.
        people = session.scalar(select(func.count()).select_from(Person))
        assert people and people < sum(records.values())
        assert session.scalar(select(func.count()).select_from(PersonMember)) == sum(
            records.values()
        )
        assert set(records) == {
            "police-suspects",
            "police-victims",
            "cps-cases",
            "court-cases",
            "prison-custody",
            "probation-orders",
            "education-learning",
        }
        police = session.scalar(select(UserAccount).where(UserAccount.role == "police_officer"))
        assert police is not None and police.organisation is not None
        password = next(s["password"] for s in sign_ins if s["role"] == "police_officer")
        assert verify_password(police.password_hash, password)
        # Every achieved, linked course became a credential; the demo learner holds some.
        credentials = session.scalar(select(func.count()).select_from(PassportCredential))
        assert credentials and credentials >= 1
        learner = session.scalar(
            select(PassportHolder)
            .join(UserAccount, UserAccount.id == PassportHolder.account_id)
            .where(UserAccount.email == "learner@demo.onestory.test")
        )
        assert learner is not None
    written = json.loads((tmp_path / "passport" / "demo-credential.json").read_text())
    assert written["credentialSubject"]["id"] == f"urn:uuid:{learner.id}"
    assert f"onestory passport verify {tmp_path / 'passport' / 'demo-credential.json'}" in first

    assert main(["demo", "--people", "40", "--no-serve"]) == 0
    second = capsys.readouterr().out
    assert "Using the synthetic world already in" in second
    # Every file is recognised by its hash and nothing is taken twice.
    assert second.count("(taken before)") == 8
    assert json.loads((tmp_path / "demo-sign-ins.json").read_text()) == sign_ins
    with session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(StoredEvent)) == events
        assert session.scalar(select(func.count()).select_from(AgencyRecord)) == sum(
            records.values()
        )
        assert session.scalar(select(func.count()).select_from(PassportCredential)) == credentials
    assert "(0 issued now)" in second
    # The first run published statistics; the second, with nothing new, reused them.
    releases = sorted(p.name for p in (tmp_path / "insights" / "releases").iterdir())
    assert len(releases) == 1 and f"Using the statistics release {releases[0]}" in second
    release = json.loads(
        (tmp_path / "insights" / "releases" / releases[0] / "release.json").read_text()
    )
    assert {m["id"] for m in release["measures"]} >= {"victims-code-compliance", "timeliness"}
    engine.dispose()
