"""Ledger fixtures: a signing key and its verifier."""

from __future__ import annotations

import pytest
from ledger_helpers import ORIGIN

from onestory.ledger.note import NoteSigner, NoteVerifier


@pytest.fixture(scope="session")
def signer() -> NoteSigner:
    return NoteSigner.generate(ORIGIN)


@pytest.fixture(scope="session")
def verifier(signer: NoteSigner) -> NoteVerifier:
    return NoteVerifier.from_verifier_key(signer.verifier_key())
