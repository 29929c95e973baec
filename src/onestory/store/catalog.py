"""Every module that defines tables, so that migrations and tests see the whole schema.

Each context owns its tables; this list is the one place that names them all. It holds strings,
not imports, so that the storage layer does not depend on the contexts above it.
"""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

TABLE_MODULES = (
    "onestory.sharing.tables",
    "onestory.exchange.tables",
    "onestory.ledger.tables",
    "onestory.sharing.consent_tables",
    "onestory.sharing.client_tables",
    "onestory.sharing.identity_tables",
    "onestory.notify.tables",
    "onestory.victims.tables",
    "onestory.exchange.webhook_tables",
    "onestory.linkage.tables",
    "onestory.evidence.tables",
    "onestory.passport.tables",
)


def load_metadata() -> MetaData:
    """Import every table module and return the complete metadata."""
    for name in TABLE_MODULES:
        importlib.import_module(name)
    from onestory.store.base import Base

    return Base.metadata
