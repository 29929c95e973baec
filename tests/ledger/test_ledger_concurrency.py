"""Several processes appending at once get gap-free sequence numbers and one consistent tree."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

from sqlalchemy import Engine, select

from onestory.ledger.log import tree_size
from onestory.ledger.note import NoteVerifier
from onestory.ledger.tables import LedgerEntry
from onestory.ledger.verify import verify_ledger
from onestory.sharing.tables import Organisation
from onestory.store import session_factory

WORKER = Path(__file__).with_name("append_worker.py")
PROCESSES, TRANSACTIONS = 4, 40


def test_concurrent_appenders(engine: Engine, db_url: str, verifier: NoteVerifier) -> None:
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), db_url, str(w), str(TRANSACTIONS)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(PROCESSES)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err
    committed = TRANSACTIONS - TRANSACTIONS // 5
    with session_factory(engine)() as session:
        seqs = list(session.scalars(select(LedgerEntry.seq).order_by(LedgerEntry.seq)))
        assert seqs == list(range(PROCESSES * committed))
        assert tree_size(session) == len(seqs)
        by_worker = Counter(session.scalars(select(LedgerEntry.actor)))
        assert by_worker == {f"worker:{w}": committed for w in range(PROCESSES)}
        organisations = Counter(
            code.split("-")[0] for code in session.scalars(select(Organisation.code))
        )
        assert organisations == {f"W{w}": committed for w in range(PROCESSES)}
        report = verify_ledger(session, verifier)
        assert report.ok, report.problems
