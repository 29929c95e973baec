"""The public ledger API: checkpoint, verifier key and proofs (no entries revealed)."""

from __future__ import annotations

import base64

from fastapi import FastAPI
from page_checks import PageCheckingClient
from sqlalchemy.orm import Session

from onestory.ledger import merkle
from onestory.ledger.checkpoints import cut_checkpoint, load_or_create_signer
from onestory.ledger.entries import NewEntry, Subject
from onestory.ledger.log import append_many
from onestory.ledger.note import NoteVerifier, open_checkpoint


def fill(session: Session, count: int) -> None:
    append_many(
        session,
        [
            NewEntry("sharing.read", "user:1", subjects=(Subject("victim", f"v{i}"),))
            for i in range(count)
        ],
    )
    session.commit()


def test_checkpoint_and_proofs_verify_with_the_published_key(
    client: PageCheckingClient, app: FastAPI, session: Session
) -> None:
    assert client.get("/api/ledger/checkpoint").status_code == 404
    settings = app.state.settings
    signer = load_or_create_signer(settings.data_dir, settings.ledger_origin)
    fill(session, 5)
    cut_checkpoint(session, signer)
    session.commit()
    fill(session, 4)
    cut_checkpoint(session, signer)
    session.commit()

    key = client.get("/api/ledger/verifier-key").text.strip()
    note = client.get("/api/ledger/checkpoint")
    assert note.headers["content-type"].startswith("text/plain")
    checkpoint = open_checkpoint(NoteVerifier.from_verifier_key(key), note.text)
    assert checkpoint.size == 9

    proof = client.get("/api/ledger/proofs/inclusion", params={"seq": 3}).json()
    assert "entry" not in proof
    merkle.verify_inclusion(
        base64.b64decode(proof["leafHash"]),
        proof["leafIndex"],
        proof["treeSize"],
        [base64.b64decode(p) for p in proof["proof"]],
        checkpoint.root_hash,
    )
    older = client.get("/api/ledger/proofs/inclusion", params={"seq": 3, "treeSize": 5}).json()
    assert older["treeSize"] == 5

    consistency = client.get("/api/ledger/proofs/consistency", params={"old": 5, "new": 9}).json()
    merkle.verify_consistency(
        5,
        9,
        base64.b64decode(consistency["oldRoot"]),
        checkpoint.root_hash,
        [base64.b64decode(p) for p in consistency["proof"]],
    )
    missing = client.get("/api/ledger/proofs/inclusion", params={"seq": 3, "treeSize": 6})
    assert missing.status_code == 404
    assert client.get("/api/ledger/proofs/inclusion", params={"seq": 9}).status_code == 404


def test_start_page_links_to_the_signed_checkpoint(
    client: PageCheckingClient, app: FastAPI, session: Session
) -> None:
    settings = app.state.settings
    fill(session, 3)
    cut_checkpoint(session, load_or_create_signer(settings.data_dir, settings.ledger_origin))
    session.commit()
    page = client.get("/")
    assert 'href="/api/ledger/checkpoint">signed checkpoint of 3</a>' in page.text
    assert client.get("/api/ledger/checkpoint").text.splitlines()[1] == "3"
