"""Sharing fixtures: the real policy folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from onestory.sharing.policy import PolicySet, load_policies

POLICIES = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture(scope="session")
def policies() -> PolicySet:
    return load_policies(POLICIES)
