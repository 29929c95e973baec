"""A separate process that makes changes and ledgers them, for the concurrency test.

Usage: python append_worker.py DATABASE_URL WORKER TRANSACTIONS
Each transaction adds an organisation and appends its entry (the change and its entry commit
together); every fifth transaction is rolled back instead, to show rollbacks leave no gap.
Odd-numbered workers queue their entry for the commit (``append_at_commit``) instead of
appending at once.
"""

from __future__ import annotations

import sys

from onestory.ledger.log import append, append_at_commit
from onestory.sharing.tables import Organisation
from onestory.store import create_engine_for, session_factory


def main(url: str, worker: str, transactions: int) -> None:
    engine = create_engine_for(url)
    sessions = session_factory(engine)
    for n in range(transactions):
        with sessions() as session:
            code = f"W{worker}-{n}"
            session.add(Organisation(code=code, name=code, kind="police"))
            session.flush()
            if int(worker) % 2:
                append_at_commit(session, entry_type="organisation.added", actor=f"worker:{worker}")
            else:
                append(session, entry_type="organisation.added", actor=f"worker:{worker}")
            if n % 5 == 4:
                session.rollback()
            else:
                session.commit()
    engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
