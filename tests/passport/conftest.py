"""Shared fixtures for the passport tests: learners as the exchange and the person index leave them,
the staff who work with them, and a did:key issuer.

Fixture names start with ``passport_`` so that a test module's own ``app`` or ``client`` is never
shadowed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from passport_helpers import Learner, add_learner, add_organisations_and_staff
from sqlalchemy.orm import Session

from onestory.passport.issuer import Issuer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))


@pytest.fixture
def passport_issuer() -> Issuer:
    """A throwaway issuer identified by did:key."""
    return Issuer.generate_did_key()


@pytest.fixture
def passport_learner(session: Session) -> Learner:
    """Staff and one linked learner with two achieved courses and one in progress, committed."""
    add_organisations_and_staff(session)
    learner = add_learner(session)
    session.commit()
    return learner
