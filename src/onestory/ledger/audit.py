"""Proof files, and checking them offline with nothing but a checkpoint and a public key.

This is what an outside auditor, a court or a defence expert runs: it touches no database and
trusts nothing OneStory says except what the checkpoint's signature covers.

Proof files are JSON:

- inclusion: ``{"type": "inclusion", "treeSize", "leafIndex", "leafHash", "proof": [...]}``
  plus, where the holder may see it, ``"entry"``: the entry document whose RFC 8785 canonical
  bytes are the leaf (its hash is then recomputed rather than taken on trust);
- consistency: ``{"type": "consistency", "oldSize", "newSize", "oldRoot", "newRoot",
  "proof": [...]}``.

Hashes are standard base64, as in checkpoints.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any

from onestory.ledger import merkle
from onestory.ledger.entries import canonical_json
from onestory.ledger.note import NoteVerifier, open_checkpoint


def b64(data: bytes) -> str:
    """Standard base64 text."""
    return base64.b64encode(data).decode("ascii")


def unb64(text: object, what: str) -> bytes:
    """Decode base64, naming the field when it is not."""
    if not isinstance(text, str):
        raise merkle.VerificationError(f"{what} must be a base64 string")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise merkle.VerificationError(f"{what} is not valid base64") from exc


def inclusion_document(
    *,
    seq: int,
    size: int,
    leaf_hash: bytes,
    proof: Sequence[bytes],
    entry: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An inclusion proof file."""
    document: dict[str, Any] = {
        "type": "inclusion",
        "treeSize": size,
        "leafIndex": seq,
        "leafHash": b64(leaf_hash),
        "proof": [b64(p) for p in proof],
    }
    if entry is not None:
        document["entry"] = dict(entry)
    return document


def consistency_document(
    *, old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> dict[str, Any]:
    """A consistency proof file."""
    return {
        "type": "consistency",
        "oldSize": old_size,
        "newSize": new_size,
        "oldRoot": b64(old_root),
        "newRoot": b64(new_root),
        "proof": [b64(p) for p in proof],
    }


def _int(document: Mapping[str, Any], key: str) -> int:
    value = document.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise merkle.VerificationError(f"proof file: {key} must be a non-negative integer")
    return value


def check(
    *,
    checkpoint_note: str,
    verifier_key: str,
    proof: Mapping[str, Any],
    old_checkpoint_note: str | None = None,
) -> str:
    """Verify a proof file against a signed checkpoint; return what was shown, or raise.

    Raises ``merkle.VerificationError`` (or ``ValueError`` for a malformed key or note) with a
    message that says which check failed.
    """
    verifier = NoteVerifier.from_verifier_key(verifier_key)
    checkpoint = open_checkpoint(verifier, checkpoint_note)
    kind = proof.get("type")
    steps = [unb64(p, f"proof[{i}]") for i, p in enumerate(proof.get("proof") or [])]
    if kind == "inclusion":
        size, index = _int(proof, "treeSize"), _int(proof, "leafIndex")
        if size != checkpoint.size:
            raise merkle.VerificationError(
                f"the proof is for a tree of {size} entries; the checkpoint signs {checkpoint.size}"
            )
        leaf = unb64(proof.get("leafHash"), "leafHash")
        entry = proof.get("entry")
        if entry is not None:
            if not isinstance(entry, Mapping) or entry.get("seq") != index:
                raise merkle.VerificationError("the entry in the proof file is not entry leafIndex")
            if merkle.hash_leaf(canonical_json(dict(entry))) != leaf:
                raise merkle.VerificationError(
                    "the entry in the proof file does not hash to leafHash"
                )
        merkle.verify_inclusion(leaf, index, size, steps, checkpoint.root_hash)
        shown = f"entry {index} is in the log {checkpoint.origin} of {size} entries"
        return shown + (" (entry recomputed from its contents)" if entry is not None else "")
    if kind == "consistency":
        old_size, new_size = _int(proof, "oldSize"), _int(proof, "newSize")
        if new_size != checkpoint.size:
            raise merkle.VerificationError(
                f"the proof ends at {new_size} entries; the checkpoint signs {checkpoint.size}"
            )
        if old_checkpoint_note is not None:
            old = open_checkpoint(verifier, old_checkpoint_note)
            if old.size != old_size:
                raise merkle.VerificationError(
                    f"the proof starts at {old_size} entries; the old checkpoint signs {old.size}"
                )
            old_root, source = old.root_hash, "the old checkpoint"
        else:
            old_root, source = unb64(proof.get("oldRoot"), "oldRoot"), "oldRoot in the proof file"
        merkle.verify_consistency(old_size, new_size, old_root, checkpoint.root_hash, steps)
        return (
            f"the log {checkpoint.origin} of {new_size} entries extends the tree of {old_size} "
            f"entries (old root from {source})"
        )
    raise merkle.VerificationError(f"proof file: unknown type {kind!r}")
