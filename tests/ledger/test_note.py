"""Signed notes and checkpoints: interoperability with Go's sumdb/note, tampering, bad input."""

from __future__ import annotations

import base64
import hashlib

import pytest

from onestory.ledger import merkle
from onestory.ledger.note import (
    MAX_SIGNATURES,
    Checkpoint,
    NoteSigner,
    NoteVerifier,
    VerificationError,
    open_checkpoint,
    sign_checkpoint,
)

# Published in the documentation and tests of Go's golang.org/x/mod/sumdb/note. Ed25519 is
# deterministic, so producing these bytes exactly shows that Go's tools accept our notes.
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_PRIVATE_KEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SIGNATURE = (
    "— PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
# EnochRoot's key is the one Go's example derives from an all-zero seed.
ENOCH_VERIFIER_KEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
ENOCH_SIGNATURE = (
    "— EnochRoot "
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
)

ORIGIN = "onestory.example/ledger"
ROOT = hashlib.sha256(b"a root").digest()


def peter() -> NoteSigner:
    seed = base64.b64decode(PETER_PRIVATE_KEY.split("+", 4)[4])[1:]
    return NoteSigner.from_private_bytes("PeterNeumann", seed)


@pytest.fixture(scope="module")
def signer() -> NoteSigner:
    return NoteSigner.generate(ORIGIN)


@pytest.fixture(scope="module")
def verifier(signer: NoteSigner) -> NoteVerifier:
    return NoteVerifier.from_verifier_key(signer.verifier_key())


# --- interoperability ----------------------------------------------------------------------


def test_signing_reproduces_go_sumdb_note_byte_for_byte() -> None:
    signer = peter()
    assert signer.key_id == bytes.fromhex("c74f20a3")
    assert signer.verifier_key() == PETER_VERIFIER_KEY
    assert signer.sign(GO_TEXT) == GO_TEXT + "\n" + PETER_SIGNATURE


def test_go_keys_verify_a_note_signed_by_both() -> None:
    note = GO_TEXT + "\n" + PETER_SIGNATURE + ENOCH_SIGNATURE
    enoch = NoteSigner.from_private_bytes("EnochRoot", bytes(32))
    assert enoch.verifier_key() == ENOCH_VERIFIER_KEY
    assert NoteVerifier.from_verifier_key(PETER_VERIFIER_KEY).verify(note) == GO_TEXT
    assert NoteVerifier.from_verifier_key(ENOCH_VERIFIER_KEY).verify(note) == GO_TEXT
    assert NoteVerifier.from_verifier_key(ENOCH_VERIFIER_KEY).verify(note.encode()) == GO_TEXT


def test_the_c2sp_checkpoint_example_parses_and_reads_back() -> None:
    body = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    checkpoint = Checkpoint.parse_body(body)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert checkpoint.extensions == ()
    assert checkpoint.body() == body


# --- keys ----------------------------------------------------------------------------------


def test_key_id_is_the_specified_hash(signer: NoteSigner) -> None:
    public = base64.b64decode(signer.verifier_key().split("+", 2)[2])
    assert public[:1] == b"\x01"
    expected = hashlib.sha256(ORIGIN.encode() + b"\n" + public).digest()[:4]
    assert signer.key_id == expected
    assert signer.verifier_key() == f"{ORIGIN}+{expected.hex()}+{base64.b64encode(public).decode()}"


def test_verifier_key_round_trips(signer: NoteSigner, verifier: NoteVerifier) -> None:
    assert verifier.name == signer.name
    assert verifier.key_id == signer.key_id
    assert verifier.verifier_key() == signer.verifier_key()
    assert signer.verifier().verifier_key() == signer.verifier_key()


def test_private_bytes_round_trip(signer: NoteSigner) -> None:
    again = NoteSigner.from_private_bytes(signer.name, signer.private_bytes())
    assert again.verifier_key() == signer.verifier_key()
    assert len(signer.private_bytes()) == 32


def test_repr_shows_no_key_material(signer: NoteSigner) -> None:
    text = repr(signer)
    assert signer.key_id.hex() in text
    assert signer.private_bytes().hex() not in text
    assert base64.b64encode(signer.private_bytes()).decode() not in text


def test_a_mismatched_key_id_is_rejected(signer: NoteSigner) -> None:
    name, key_id, key = signer.verifier_key().split("+", 2)
    wrong = f"{int(key_id, 16) ^ 1:08x}"
    with pytest.raises(ValueError, match=f"key id {wrong} does not match the key and name"):
        NoteVerifier.from_verifier_key(f"{name}+{wrong}+{key}")
    # The key ID covers the name, so the same key under another name is another key.
    with pytest.raises(ValueError, match=r"does not match the key and name 'other\.example/log'"):
        NoteVerifier.from_verifier_key(f"other.example/log+{key_id}+{key}")


@pytest.mark.parametrize(
    ("vkey", "message"),
    [
        ("PeterNeumann", "must have the form <name>\\+<key id>\\+<key>"),
        ("PeterNeumann+c74f20a3", "must have the form"),
        ("PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "not 8 hexadecimal"),
        ("PeterNeumann+c74f20g3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "not 8 hexadecimal"),
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T", "not valid base64"),
        ("PeterNeumann+c74f20a3+Apc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWA", "not an Ed25519"),
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy", "is 32 bytes, not 29"),
        ("+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "key name '' must be"),
        ("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "key name"),
    ],
)
def test_malformed_verifier_keys_are_rejected(vkey: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        NoteVerifier.from_verifier_key(vkey)


@pytest.mark.parametrize(
    "name", ["", "a b", "a+b", "a\nb", "a\u00a0b", "a\u2003b", "a\x01b", "\ud800"]
)
def test_key_names_follow_the_specification(name: str) -> None:
    with pytest.raises(ValueError, match="key name"):
        NoteSigner.generate(name)


def test_a_private_key_must_be_a_32_byte_seed() -> None:
    with pytest.raises(ValueError, match="32 bytes, not 31"):
        NoteSigner.from_private_bytes(ORIGIN, bytes(31))


# --- signing and verifying -----------------------------------------------------------------


def test_sign_and_verify_round_trip(signer: NoteSigner, verifier: NoteVerifier) -> None:
    body = "any text\n\nwith a blank line — and an em dash\n"
    note = signer.sign(body)
    assert note.startswith(body + "\n— " + ORIGIN + " ")
    assert note.endswith("\n")
    assert verifier.verify(note) == body
    assert verifier.verify(note.encode("utf-8")) == body


def test_a_changed_text_does_not_verify(signer: NoteSigner, verifier: NoteVerifier) -> None:
    note = signer.sign("some text\n")
    with pytest.raises(VerificationError, match=f"signature by {ORIGIN} does not verify"):
        verifier.verify(note.replace("some", "same", 1))


def test_a_changed_signature_does_not_verify(signer: NoteSigner, verifier: NoteVerifier) -> None:
    body = "some text\n"
    note = signer.sign(body)
    line = note[len(body) + 1 :]
    raw = bytearray(base64.b64decode(line.split(" ")[2]))
    raw[-1] ^= 0x01
    forged = body + "\n" + f"— {ORIGIN} {base64.b64encode(bytes(raw)).decode()}\n"
    with pytest.raises(VerificationError, match=f"signature by {ORIGIN} does not verify"):
        verifier.verify(forged)
    truncated = body + "\n" + f"— {ORIGIN} {base64.b64encode(bytes(raw[:40])).decode()}\n"
    with pytest.raises(VerificationError, match=f"signature by {ORIGIN} does not verify"):
        verifier.verify(truncated)


def test_another_key_is_not_ours(verifier: NoteVerifier) -> None:
    impostor = NoteSigner.generate(ORIGIN)  # same name, other key, so other key ID
    with pytest.raises(VerificationError, match=f"^no signature by {ORIGIN}$"):
        verifier.verify(impostor.sign("text\n"))
    with pytest.raises(VerificationError, match="no signature by"):
        verifier.verify(peter().sign("text\n"))


def test_other_signers_lines_are_ignored(signer: NoteSigner, verifier: NoteVerifier) -> None:
    body = "text\n"
    witness = NoteSigner.generate("witness.example/w1")
    ours = signer.sign(body)
    theirs = witness.sign(body)[len(body) + 1 :]
    garbage = f"— stranger.example/x {base64.b64encode(b'1234' + bytes(64)).decode()}\n"
    assert verifier.verify(ours + theirs) == body
    assert verifier.verify(body + "\n" + theirs + garbage + ours[len(body) + 1 :]) == body
    # And the witness sees its own line among ours.
    assert witness.verifier().verify(ours + theirs) == body


def test_every_line_by_our_key_must_verify(signer: NoteSigner, verifier: NoteVerifier) -> None:
    body = "text\n"
    good = signer.sign(body)
    bad = signer.sign("other text\n")[len("other text\n") + 1 :]
    with pytest.raises(VerificationError, match="does not verify"):
        verifier.verify(good + bad)


@pytest.mark.parametrize(
    ("note", "message"),
    [
        ("text\n\n— a AAAA\n".removesuffix("\n"), "does not end with a newline"),
        ("text\n— a AAAAAAAA\n", "no blank line before the signatures"),
        ("text\n\n", "no signature lines"),
        ("text\r\n\n— a AAAAAAAA\n", "contains a control character"),
        ("te\txt\n\n— a AAAAAAAA\n", "contains a control character"),
        ("text\n\n- a AAAAAAAA\n", "signature line 1 does not start with an em dash"),
        ("text\n\n—a AAAAAAAA\n", "signature line 1 does not start with an em dash"),
        ("text\n\n— a AAAAAAAA\n— a  AAAAAAAA\n", "signature line 2 is not a key name and a sig"),
        ("text\n\n— AAAAAAAA\n", "signature line 1 is not a key name and a signature"),
        ("text\n\n— a+b AAAAAAAA\n", "signature line 1 has an invalid key name"),
        ("text\n\n— a AAAA!AAA\n", "signature line 1: signature is not valid base64"),
        ("text\n\n— a AAAAAAB=\n", "signature line 1: signature is not canonical base64"),
        ("text\n\n— a AAAAAA==\n", "signature line 1 has a signature too short"),
        ("text\n\n\n", "no signature lines"),
        ("text\ud800\n\n— a AAAAAAAA\n", "not valid UTF-8"),
    ],
)
def test_malformed_notes_are_rejected_saying_why(
    verifier: NoteVerifier, note: str, message: str
) -> None:
    with pytest.raises(VerificationError, match=f"^malformed note: .*{message}"):
        verifier.verify(note)


def test_invalid_utf8_bytes_are_rejected(verifier: NoteVerifier) -> None:
    with pytest.raises(VerificationError, match="malformed note: not valid UTF-8"):
        verifier.verify(b"text \xff\n\n\xe2\x80\x94 a AAAAAAAA\n")


def test_the_number_of_signature_lines_is_limited(
    signer: NoteSigner, verifier: NoteVerifier
) -> None:
    body = "text\n"
    ours = signer.sign(body)[len(body) + 1 :]
    witnesses = [NoteSigner.generate(f"w{i}.example") for i in range(2)]
    lines = [w.sign(body)[len(body) + 1 :] for w in witnesses] * (MAX_SIGNATURES // 2)
    assert verifier.verify(body + "\n" + "".join(lines[: MAX_SIGNATURES - 1]) + ours) == body
    with pytest.raises(VerificationError, match=f"{MAX_SIGNATURES + 1} signature lines, more"):
        verifier.verify(body + "\n" + "".join(lines) + ours)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("no newline", "must end with a newline"),
        ("", "must end with a newline"),
        ("carriage\r\n", "control characters"),
        ("surrogate \udc80\n", "not valid UTF-8"),
    ],
)
def test_sign_refuses_text_that_would_not_read_back(
    signer: NoteSigner, body: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        signer.sign(body)


# --- checkpoints ---------------------------------------------------------------------------


def test_checkpoint_body_is_the_c2sp_format() -> None:
    checkpoint = Checkpoint(ORIGIN, 1_000_000, ROOT)
    assert checkpoint.body() == f"{ORIGIN}\n1000000\n{base64.b64encode(ROOT).decode()}\n"


def test_checkpoint_round_trip_with_extension_lines(
    signer: NoteSigner, verifier: NoteVerifier
) -> None:
    checkpoint = Checkpoint(ORIGIN, 42, ROOT, ("Timestamp: 1700000000", "extra — ünïcode"))
    note = sign_checkpoint(signer, checkpoint)
    assert note.startswith(
        f"{ORIGIN}\n42\n{base64.b64encode(ROOT).decode()}\nTimestamp: 1700000000\n"
        "extra — ünïcode\n\n— "
    )
    assert open_checkpoint(verifier, note) == checkpoint
    assert open_checkpoint(verifier, note, origin=ORIGIN) == checkpoint
    assert Checkpoint.parse_body(checkpoint.body()) == checkpoint


def test_the_empty_tree_checkpoint() -> None:
    checkpoint = Checkpoint(ORIGIN, 0, merkle.EMPTY_ROOT)
    assert Checkpoint.parse_body(checkpoint.body()) == checkpoint
    with pytest.raises(ValueError, match="size 0 must have the empty tree's root"):
        Checkpoint(ORIGIN, 0, ROOT)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (f"{ORIGIN}\n", f"{ORIGIN}x\n"),
        ("\n42\n", "\n43\n"),
        ("\n42\n", "\n042\n"),
        (base64.b64encode(ROOT).decode(), base64.b64encode(ROOT[::-1]).decode()),
        ("Timestamp: 1700000000", "Timestamp: 1700000001"),
    ],
)
def test_a_tampered_checkpoint_does_not_open(
    signer: NoteSigner, verifier: NoteVerifier, old: str, new: str
) -> None:
    note = sign_checkpoint(signer, Checkpoint(ORIGIN, 42, ROOT, ("Timestamp: 1700000000",)))
    assert old in note
    with pytest.raises(VerificationError, match=f"signature by {ORIGIN} does not verify"):
        open_checkpoint(verifier, note.replace(old, new, 1))


def test_a_checkpoint_from_another_key_does_not_open(verifier: NoteVerifier) -> None:
    other = NoteSigner.generate(ORIGIN)
    with pytest.raises(VerificationError, match=f"no signature by {ORIGIN}"):
        open_checkpoint(verifier, sign_checkpoint(other, Checkpoint(ORIGIN, 1, ROOT)))


def test_open_checkpoint_checks_the_text_after_the_signature(
    signer: NoteSigner, verifier: NoteVerifier
) -> None:
    with pytest.raises(VerificationError, match=r"signed note is not a checkpoint: .*fewer than"):
        open_checkpoint(verifier, signer.sign("just a note\n"))
    note = sign_checkpoint(signer, Checkpoint("other.example/log", 1, ROOT))
    with pytest.raises(VerificationError, match=r"is for origin 'other\.example/log', not"):
        open_checkpoint(verifier, note, origin=ORIGIN)


ROOT_B64 = base64.b64encode(ROOT).decode()
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# 32 bytes leave two unused bits in the last character; setting one spells the same bytes anew.
NON_CANONICAL_ROOT_B64 = ROOT_B64[:-2] + _ALPHABET[_ALPHABET.index(ROOT_B64[-2]) ^ 1] + "="


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"{ORIGIN}\n1\n{ROOT_B64}", "does not end with a newline"),
        (f"{ORIGIN}\n1\n", "2 lines, fewer than origin, size and root hash"),
        (f"{ORIGIN}\n1\n{ROOT_B64}\n\nextension\n", "line 4 is empty"),
        (f"\n1\n{ROOT_B64}\n", "line 1 is empty"),
        (f"{ORIGIN}\n01\n{ROOT_B64}\n", "size '01' is not a decimal number"),
        (f"{ORIGIN}\n+1\n{ROOT_B64}\n", "size '\\+1' is not"),
        (f"{ORIGIN}\n-1\n{ROOT_B64}\n", "size '-1' is not"),
        (f"{ORIGIN}\n 1\n{ROOT_B64}\n", "size ' 1' is not"),
        (f"{ORIGIN}\n1_0\n{ROOT_B64}\n", "size '1_0' is not"),
        (f"{ORIGIN}\n\u0661\n{ROOT_B64}\n", "is not a decimal number"),
        (f"{ORIGIN}\n{2**64}\n{ROOT_B64}\n", f"size {2**64} is larger than"),
        (f"{ORIGIN}\n1\n{ROOT_B64.rstrip('=')}\n", "root hash is not valid base64"),
        (f"{ORIGIN}\n1\n{NON_CANONICAL_ROOT_B64}\n", "root hash is not canonical base64"),
        (f"{ORIGIN}\n1\n{base64.b64encode(ROOT[:31]).decode()}\n", "root hash is 31 bytes"),
        (f"{ORIGIN}\n1\n{ROOT_B64}\r\n", "contains a control character"),
        (f"{ORIGIN}\n0\n{ROOT_B64}\n", "size 0 must have the empty tree's root hash"),
    ],
)
def test_malformed_checkpoints_are_rejected_saying_why(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^malformed checkpoint: .*{message}"):
        Checkpoint.parse_body(text)


@pytest.mark.parametrize(
    ("origin", "size", "root", "extensions", "message"),
    [
        ("", 1, ROOT, (), "origin must be a non-empty str"),
        ("a\nb", 1, ROOT, (), "origin must be one line"),
        (ORIGIN, -1, ROOT, (), "size -1 is not between 0 and"),
        (ORIGIN, 2**64, ROOT, (), "is not between 0 and"),
        (ORIGIN, True, ROOT, (), "size must be an int, not bool"),
        (ORIGIN, 1, ROOT[:31], (), "root hash must be 32 bytes"),
        (ORIGIN, 1, ROOT, ("",), "extension line 1 must be a non-empty str"),
        (ORIGIN, 1, ROOT, ("ok", "a\nb"), "extension line 2 must be one line"),
    ],
)
def test_impossible_checkpoints_cannot_be_made(
    origin: str, size: int, root: bytes, extensions: tuple[str, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Checkpoint(origin, size, root, extensions)


def test_verification_errors_are_the_merkle_modules() -> None:
    # One type to catch for a checkpoint and the proofs checked against it.
    assert VerificationError is merkle.VerificationError
