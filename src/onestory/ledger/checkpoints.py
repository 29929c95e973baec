"""Signed checkpoints: cutting them, keeping them, and the signing key they are made with.

A checkpoint is only published if the tree it signs is consistent with the previous
checkpoint's tree: the service proves that to itself, from its stored nodes, before signing.
"""

from __future__ import annotations

import base64
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestory.ledger import merkle
from onestory.ledger.log import LedgerError, _lock_head, consistency_proof, root_hash
from onestory.ledger.note import Checkpoint, NoteSigner, sign_checkpoint
from onestory.ledger.tables import LedgerCheckpoint
from onestory.store.base import utcnow

SIGNING_KEY_FILE = "ledger-signing-key"
VERIFIER_KEY_FILE = "ledger-verifier-key.txt"


def load_or_create_signer(data_dir: Path, origin: str) -> NoteSigner:
    """The ledger's Ed25519 signing key, created in the data directory on first use.

    The public verifier key is written beside it (``ledger-verifier-key.txt``) for publishing.
    """
    path = data_dir / SIGNING_KEY_FILE
    if path.exists():
        try:
            raw = base64.b64decode(path.read_text(encoding="ascii").strip(), validate=True)
            signer = NoteSigner.from_private_bytes(origin, raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise LedgerError(
                f"{path} does not hold a valid Ed25519 key ({exc}); restore it from backup — "
                "a new key would not match the checkpoints already published"
            ) from exc
    else:
        data_dir.mkdir(parents=True, exist_ok=True)
        signer = NoteSigner.generate(origin)
        path.write_text(base64.b64encode(signer.private_bytes()).decode() + "\n", encoding="ascii")
        path.chmod(0o600)
    (data_dir / VERIFIER_KEY_FILE).write_text(signer.verifier_key() + "\n", encoding="ascii")
    return signer


def latest_checkpoint(session: Session) -> LedgerCheckpoint | None:
    """The newest checkpoint, if any."""
    return session.scalar(select(LedgerCheckpoint).order_by(LedgerCheckpoint.size.desc()).limit(1))


def checkpoint_at(session: Session, size: int) -> LedgerCheckpoint:
    """The checkpoint of the tree of ``size`` entries."""
    found = session.get(LedgerCheckpoint, size)
    if found is None:
        raise LedgerError(f"there is no checkpoint of size {size}")
    return found


def cut_checkpoint(session: Session, signer: NoteSigner) -> LedgerCheckpoint:
    """Sign the current tree, unless it is already signed; the caller commits.

    Refuses when the log is empty (nothing to sign) or when the current tree is not consistent
    with the previous checkpoint (which would mean the stored tree was altered).
    """
    size = _lock_head(session, 0)
    if size == 0:
        raise LedgerError("the ledger is empty: there is nothing to sign yet")
    previous = latest_checkpoint(session)
    if previous is not None and previous.size == size:
        return previous
    root = root_hash(session, size)
    if previous is not None:
        if previous.size > size:
            raise LedgerError(
                f"the ledger holds {size} entries but checkpoint {previous.size} was published: "
                "entries have been removed"
            )
        proof = consistency_proof(session, previous.size, size)
        try:
            merkle.verify_consistency(previous.size, size, bytes(previous.root_hash), root, proof)
        except merkle.VerificationError as exc:
            raise LedgerError(
                f"refusing to publish: the tree of {size} entries is not consistent with "
                f"checkpoint {previous.size} ({exc})"
            ) from exc
    note = sign_checkpoint(signer, Checkpoint(signer.name, size, root))
    checkpoint = LedgerCheckpoint(size=size, root_hash=root, note=note, created_at=utcnow())
    session.add(checkpoint)
    session.flush()
    return checkpoint
