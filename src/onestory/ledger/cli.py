"""``onestory ledger ...``: verify the log, cut checkpoints, print proofs, check them offline."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from onestory.clitools import CommandError, console, open_database, progress_bar
from onestory.config import get_settings

ledger_app = typer.Typer(
    help="The tamper-evident ledger: verify, checkpoint, prove.", no_args_is_help=True
)
prove_app = typer.Typer(help="Print proofs as JSON.", no_args_is_help=True)
ledger_app.add_typer(prove_app, name="prove")


def _signer() -> Any:
    from onestory.ledger.checkpoints import load_or_create_signer

    settings = get_settings()
    return load_or_create_signer(settings.ensure_data_dir(), settings.ledger_origin)


def _sessions() -> Any:
    from onestory.store import session_factory

    return session_factory(open_database(get_settings()))


@ledger_app.command("verify")
def verify() -> None:
    """Recompute every leaf, node and checkpoint; exit non-zero naming the first problem."""
    from onestory.ledger.log import tree_size
    from onestory.ledger.note import NoteVerifier
    from onestory.ledger.verify import verify_ledger

    verifier = NoteVerifier.from_verifier_key(_signer().verifier_key())
    with _sessions()() as session, progress_bar() as progress:
        task = progress.add_task("Verifying the ledger", total=tree_size(session))
        report = verify_ledger(session, verifier, progress=lambda n: progress.advance(task, n))
    rate = report.entries / report.seconds if report.seconds else 0.0
    console.print(
        f"Checked {report.entries} entries, {report.payloads} payloads, {report.nodes} nodes "
        f"and {report.checkpoints} checkpoints in {report.seconds:.1f} s ({rate:,.0f} entries/s)."
    )
    if not report.ok:
        for message in report.problems:
            console.print(f"[red]Problem:[/red] {message}", highlight=False)
        raise CommandError(f"the ledger does not verify: {report.problems[0]}")
    console.print("[green]The ledger verifies.[/green]")


@ledger_app.command("checkpoint")
def checkpoint(
    every: Annotated[
        int, typer.Option(help="Keep cutting one every this many seconds (0: once)", min=0)
    ] = 0,
) -> None:
    """Sign the current tree (if it has grown) and print the checkpoint."""
    from onestory.ledger.checkpoints import cut_checkpoint

    signer, sessions = _signer(), _sessions()
    while True:
        with sessions() as session:
            cut = cut_checkpoint(session, signer)
            session.commit()
            # Machine-readable output is written plainly: Rich would wrap long lines.
            typer.echo(cut.note, nl=False)
        if not every:
            return
        time.sleep(every)


@ledger_app.command("key")
def key() -> None:
    """Print the ledger's public verifier key (C2SP note verifier key)."""
    typer.echo(_signer().verifier_key())


def _checkpoint_size(session: Any, size: int | None) -> int:
    from onestory.ledger.checkpoints import checkpoint_at, latest_checkpoint

    if size is not None:
        return int(checkpoint_at(session, size).size)
    latest = latest_checkpoint(session)
    if latest is None:
        raise CommandError("no checkpoint yet; cut one with `onestory ledger checkpoint`")
    return int(latest.size)


@prove_app.command("inclusion")
def prove_inclusion(
    entry: Annotated[int, typer.Argument(help="Sequence number of the entry")],
    checkpoint_size: Annotated[
        int | None,
        typer.Option("--checkpoint", help="Tree size of the checkpoint (default: latest)"),
    ] = None,
) -> None:
    """Print the proof that ENTRY is in a checkpoint's tree, with the entry itself."""
    from onestory.ledger import log
    from onestory.ledger.audit import inclusion_document
    from onestory.ledger.tables import LedgerEntry

    with _sessions()() as session:
        size = _checkpoint_size(session, checkpoint_size)
        stored = session.get(LedgerEntry, entry)
        if stored is None or entry >= size:
            raise CommandError(f"entry {entry} is not in the checkpoint of {size} entries")
        document = inclusion_document(
            seq=entry,
            size=size,
            leaf_hash=log.leaf_hash(session, entry),
            proof=log.inclusion_proof(session, entry, size),
            entry=log.entry_json(stored),
        )
    typer.echo(json.dumps(document, indent=2))


@prove_app.command("consistency")
def prove_consistency(
    old: Annotated[int, typer.Argument(help="Tree size of the older checkpoint")],
    new: Annotated[int, typer.Argument(help="Tree size of the newer checkpoint")],
) -> None:
    """Print the proof that checkpoint OLD's tree is a prefix of checkpoint NEW's."""
    from onestory.ledger import log
    from onestory.ledger.audit import consistency_document
    from onestory.ledger.checkpoints import checkpoint_at

    with _sessions()() as session:
        old_cp, new_cp = checkpoint_at(session, old), checkpoint_at(session, new)
        document = consistency_document(
            old_size=old,
            new_size=new,
            old_root=bytes(old_cp.root_hash),
            new_root=bytes(new_cp.root_hash),
            proof=log.consistency_proof(session, old, new),
        )
    typer.echo(json.dumps(document, indent=2))


@ledger_app.command("check")
def check(
    checkpoint_file: Annotated[Path, typer.Option("--checkpoint", help="Signed checkpoint file")],
    key_file: Annotated[Path, typer.Option("--key", help="Verifier key file")],
    proof_file: Annotated[Path, typer.Option("--proof", help="Proof JSON file")],
    old_checkpoint_file: Annotated[
        Path | None, typer.Option("--old-checkpoint", help="For consistency: the older checkpoint")
    ] = None,
) -> None:
    """Verify a proof offline, with only a checkpoint and the public key (no database)."""
    from onestory.ledger.audit import check as check_proof
    from onestory.ledger.merkle import VerificationError

    try:
        proof = json.loads(proof_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CommandError(f"{proof_file}: not JSON ({exc.msg} at line {exc.lineno})") from exc
    try:
        shown = check_proof(
            checkpoint_note=checkpoint_file.read_text(encoding="utf-8"),
            verifier_key=key_file.read_text(encoding="utf-8").strip(),
            proof=proof,
            old_checkpoint_note=(
                old_checkpoint_file.read_text(encoding="utf-8") if old_checkpoint_file else None
            ),
        )
    except VerificationError as exc:
        raise CommandError(f"proof does not verify: {exc}") from exc
    console.print(f"[green]Verified:[/green] {shown}.", highlight=False)
