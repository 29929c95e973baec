"""Signed checkpoints of the ledger: C2SP signed notes and tlog checkpoints, with Ed25519.

A checkpoint (c2sp.org/tlog-checkpoint) is the text ``origin\\nsize\\nbase64(root)\\n`` with
optional extension lines, and it is published as a signed note (c2sp.org/signed-note): the
text, a blank line, then one line per signature, ``— <key name> base64(key ID || signature)``.
The format is the one Go's checksum database, Sigstore's Rekor and the transparency-dev witnesses
use, so their tools can check OneStory's log without knowing anything else about it.

Only Ed25519 (signature type ``0x01``) is implemented. A key is named (a schema-less URL such as
``onestory.example/ledger``; for checkpoints it SHOULD be the origin), and its key ID is the first
four bytes of ``SHA-256(name || 0x0A || 0x01 || public key)``. A verifier is configured with a
verifier key, ``<name>+<key ID in hex>+base64(0x01 || public key)``, the text format of Go's
``sumdb/note`` package.

Verifying a note follows the specification: a note that is not well formed is rejected; lines
from other keys (another name, or another key ID under the same name) are ignored, which is what
lets witnesses add cosignatures and logs rotate keys; every line from the configured key must
verify; and at least one must be there. The body is returned only after that, because the text
of a note means nothing until its signature has been checked.

:class:`VerificationError` is raised for every note that fails verification, for whatever
reason. It is :class:`onestory.ledger.merkle.VerificationError`, re-exported: the Merkle module is
the one import from OneStory here (it is as pure as this one), so that a caller checking a
checkpoint and the proofs against it catches one error type. Arguments that are wrong before
any verification (a bad key name, a malformed verifier key, a checkpoint with impossible fields)
raise ``ValueError``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from onestory.ledger.merkle import EMPTY_ROOT, HASH_SIZE
from onestory.ledger.merkle import VerificationError as VerificationError

SIGNATURE_TYPE_ED25519: Final = b"\x01"
"""c2sp.org/signed-note: the identifier byte for Ed25519, in key IDs and verifier keys."""

KEY_ID_SIZE: Final = 4
"""Bytes of key ID before each signature (a big-endian uint32 in the specification)."""

ED25519_PUBLIC_KEY_SIZE: Final = 32
ED25519_SEED_SIZE: Final = 32
ED25519_SIGNATURE_SIZE: Final = 64

SIGNATURE_LINE_PREFIX: Final = "\u2014 "
"""An em dash and a space: how every signature line starts."""

MAX_SIGNATURES: Final = 100
"""Signature lines accepted in one note. The specification requires at least 16; the limit
bounds the work an attacker can make a verifier do, while leaving room for many witnesses."""

MAX_TREE_SIZE: Final = 2**64 - 1
"""The largest size a checkpoint can state: RFC 9162 sizes are unsigned 64-bit integers."""

_CONTROL_CHARACTER: Final = re.compile(r"[\x00-\x09\x0b-\x1f]")
_TREE_SIZE: Final = re.compile(r"0|[1-9][0-9]*", re.ASCII)
_KEY_ID_HEX: Final = re.compile(r"[0-9a-fA-F]{8}", re.ASCII)


@dataclass(frozen=True)
class Checkpoint:
    """A log's state at one size, as c2sp.org/tlog-checkpoint writes it.

    Construction checks the fields (``ValueError``): a non-empty single-line origin, a size
    between 0 and 2**64 - 1, a 32-byte root hash (that of the empty tree when the size is 0), and
    extension lines that are non-empty single lines.
    """

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line("origin", self.origin)
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise ValueError(f"checkpoint size must be an int, not {type(self.size).__name__}")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise ValueError(f"checkpoint size {self.size} is not between 0 and {MAX_TREE_SIZE}")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != HASH_SIZE:
            raise ValueError(f"checkpoint root hash must be {HASH_SIZE} bytes")
        if self.size == 0 and self.root_hash != EMPTY_ROOT:
            # An empty tree has exactly one root; any other is a mistake or a lie.
            raise ValueError("a checkpoint of size 0 must have the empty tree's root hash")
        if not isinstance(self.extensions, tuple):
            raise ValueError("checkpoint extensions must be a tuple of lines")
        for number, extension in enumerate(self.extensions, start=1):
            _check_line(f"extension line {number}", extension)

    def body(self) -> str:
        """The note text: origin, size, base64 root hash and any extension lines, each ending
        in a newline."""
        lines = [self.origin, str(self.size), _b64encode(self.root_hash), *self.extensions]
        return "".join(f"{line}\n" for line in lines)

    @classmethod
    def parse_body(cls, text: str) -> Checkpoint:
        """The checkpoint a note text states, read strictly (``ValueError`` saying what is wrong).

        Only canonical text is accepted, so that ``parse_body(text).body() == text``: a size in
        plain ASCII digits without leading zeros, a root hash in padded standard base64.
        """
        if not isinstance(text, str):
            raise ValueError(f"checkpoint text must be a str, not {type(text).__name__}")
        if not text.endswith("\n"):
            raise ValueError("malformed checkpoint: text does not end with a newline")
        if _CONTROL_CHARACTER.search(text):
            raise ValueError("malformed checkpoint: text contains a control character")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise ValueError(
                f"malformed checkpoint: {len(lines)} lines, fewer than origin, size and root hash"
            )
        for number, line in enumerate(lines, start=1):
            if not line:
                raise ValueError(f"malformed checkpoint: line {number} is empty")
        origin, size_text, root_text, *extensions = lines
        if not _TREE_SIZE.fullmatch(size_text):
            raise ValueError(
                f"malformed checkpoint: size {size_text!r} is not a decimal number "
                "without leading zeros"
            )
        size = int(size_text)
        if size > MAX_TREE_SIZE:
            raise ValueError(f"malformed checkpoint: size {size} is larger than {MAX_TREE_SIZE}")
        root_hash = _b64decode(root_text, "malformed checkpoint: root hash")
        if len(root_hash) != HASH_SIZE:
            raise ValueError(
                f"malformed checkpoint: root hash is {len(root_hash)} bytes, not {HASH_SIZE}"
            )
        try:
            return cls(origin, size, root_hash, tuple(extensions))
        except ValueError as exc:
            raise ValueError(f"malformed checkpoint: {exc}") from None


class NoteSigner:
    """An Ed25519 key that signs notes under a name.

    The private key never appears in ``repr`` or in any message; :meth:`private_bytes` is the
    only way out, for storing the key in the secret store.
    """

    __slots__ = ("_private_key", "_public_bytes", "key_id", "name")

    name: str
    key_id: bytes
    _private_key: Ed25519PrivateKey
    _public_bytes: bytes

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        _check_key_name(name)
        self.name = name
        self._private_key = private_key
        self._public_bytes = private_key.public_key().public_bytes_raw()
        self.key_id = _key_id(name, self._public_bytes)

    @classmethod
    def generate(cls, name: str) -> NoteSigner:
        """A signer with a new random key."""
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_private_bytes(cls, name: str, raw: bytes) -> NoteSigner:
        """The signer for a stored key: the 32-byte Ed25519 seed of RFC 8032."""
        if len(raw) != ED25519_SEED_SIZE:
            raise ValueError(f"an Ed25519 private key is {ED25519_SEED_SIZE} bytes, not {len(raw)}")
        return cls(name, Ed25519PrivateKey.from_private_bytes(raw))

    def private_bytes(self) -> bytes:
        """The 32-byte seed, for :meth:`from_private_bytes`. Keep it secret."""
        return self._private_key.private_bytes_raw()

    def verifier(self) -> NoteVerifier:
        """The verifier for this signer's signatures."""
        return NoteVerifier(self.name, self._public_bytes)

    def verifier_key(self) -> str:
        """The public verifier key to give to anyone who checks this signer's notes."""
        return _verifier_key(self.name, self.key_id, self._public_bytes)

    def sign(self, body: str) -> str:
        """The signed note: ``body``, a blank line, and this key's signature line.

        ``body`` must be non-empty, end with a newline and contain no control character other
        than newline (``ValueError`` otherwise), so that the note reads back to exactly it.
        """
        text = _note_text_bytes(body)
        signature = self._private_key.sign(text)
        encoded = _b64encode(self.key_id + signature)
        return f"{body}\n{SIGNATURE_LINE_PREFIX}{self.name} {encoded}\n"

    def __repr__(self) -> str:
        return f"NoteSigner(name={self.name!r}, key_id={self.key_id.hex()!r})"


class NoteVerifier:
    """Checks notes for a signature by one named Ed25519 public key."""

    __slots__ = ("_public_bytes", "_public_key", "key_id", "name")

    name: str
    key_id: bytes
    _public_key: Ed25519PublicKey
    _public_bytes: bytes

    def __init__(self, name: str, public_key: bytes) -> None:
        _check_key_name(name)
        if len(public_key) != ED25519_PUBLIC_KEY_SIZE:
            raise ValueError(
                f"an Ed25519 public key is {ED25519_PUBLIC_KEY_SIZE} bytes, not {len(public_key)}"
            )
        self.name = name
        self._public_bytes = bytes(public_key)
        self._public_key = Ed25519PublicKey.from_public_bytes(self._public_bytes)
        self.key_id = _key_id(name, self._public_bytes)

    @classmethod
    def from_verifier_key(cls, vkey: str) -> NoteVerifier:
        """The verifier for a verifier key ``<name>+<key ID hex>+<base64 key>``.

        Raises ``ValueError`` if the text is malformed, the key is not Ed25519, or the key ID is
        not the one the name and key give: a key ID that does not match means the key was
        copied wrongly or belongs to another name.
        """
        # The name cannot contain "+" but base64 can, so only the first two separate fields.
        name, _, rest = vkey.partition("+")
        key_id_hex, separator, key_data = rest.partition("+")
        if not separator:
            raise ValueError("verifier key must have the form <name>+<key id>+<key>")
        if not _KEY_ID_HEX.fullmatch(key_id_hex):
            raise ValueError(f"verifier key id {key_id_hex!r} is not 8 hexadecimal digits")
        raw = _b64decode(key_data, "verifier key")
        if raw[:1] != SIGNATURE_TYPE_ED25519:
            raise ValueError("verifier key is not an Ed25519 key (signature type 0x01)")
        verifier = cls(name, raw[1:])
        if verifier.key_id != bytes.fromhex(key_id_hex):
            raise ValueError(
                f"verifier key id {key_id_hex.lower()} does not match the key and name "
                f"{name!r} (expected {verifier.key_id.hex()})"
            )
        return verifier

    def verifier_key(self) -> str:
        """This verifier's key in text form, as :meth:`from_verifier_key` reads it."""
        return _verifier_key(self.name, self.key_id, self._public_bytes)

    def verify(self, note: str | bytes) -> str:
        """The note's text, once a signature by this key has been checked.

        ``note`` may be the text or its UTF-8 bytes. Raises :class:`VerificationError` if the note
        is malformed, has no line by this key (``"no signature by <name>"``), or has one that
        does not verify (``"signature by <name> does not verify"``).
        """
        text, signatures = _parse_note(note)
        message = text.encode("utf-8")
        found = False
        for name, key_id, signature in signatures:
            if name != self.name or key_id != self.key_id:
                continue
            found = True
            try:
                if len(signature) != ED25519_SIGNATURE_SIZE:
                    raise InvalidSignature
                self._public_key.verify(signature, message)
            except InvalidSignature:
                raise VerificationError(f"signature by {self.name} does not verify") from None
        if not found:
            raise VerificationError(f"no signature by {self.name}")
        return text

    def __repr__(self) -> str:
        return f"NoteVerifier(name={self.name!r}, key_id={self.key_id.hex()!r})"


def sign_checkpoint(signer: NoteSigner, checkpoint: Checkpoint) -> str:
    """The checkpoint as a note signed by ``signer``."""
    return signer.sign(checkpoint.body())


def open_checkpoint(
    verifier: NoteVerifier, note: str | bytes, *, origin: str | None = None
) -> Checkpoint:
    """The checkpoint in a signed note, after checking the signature and then the text.

    With ``origin``, the checkpoint must also be that log's, so that a key shared by two logs
    cannot pass one log's checkpoint off as the other's. Raises :class:`VerificationError`.
    """
    text = verifier.verify(note)
    try:
        checkpoint = Checkpoint.parse_body(text)
    except ValueError as exc:
        raise VerificationError(f"signed note is not a checkpoint: {exc}") from None
    if origin is not None and checkpoint.origin != origin:
        raise VerificationError(f"checkpoint is for origin {checkpoint.origin!r}, not {origin!r}")
    return checkpoint


def _parse_note(note: str | bytes) -> tuple[str, list[tuple[str, bytes, bytes]]]:
    """The text of a note and its signatures as (name, key ID, signature), checked for form."""
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise VerificationError("malformed note: not valid UTF-8") from None
    elif not isinstance(note, str):
        raise VerificationError(f"malformed note: a {type(note).__name__}, not text")
    else:
        _require_utf8(note, VerificationError("malformed note: not valid UTF-8"))
    if _CONTROL_CHARACTER.search(note):
        raise VerificationError("malformed note: contains a control character")
    if not note.endswith("\n"):
        raise VerificationError("malformed note: does not end with a newline")
    # The text may itself contain blank lines; the signatures start after the last one.
    split = note.rfind("\n\n")
    if split < 0:
        raise VerificationError("malformed note: no blank line before the signatures")
    text, signature_block = note[: split + 1], note[split + 2 :]
    lines = signature_block.split("\n")[:-1]
    if not lines:
        raise VerificationError("malformed note: no signature lines")
    if len(lines) > MAX_SIGNATURES:
        raise VerificationError(
            f"malformed note: {len(lines)} signature lines, more than {MAX_SIGNATURES}"
        )
    signatures = []
    for number, line in enumerate(lines, start=1):
        problem = f"malformed note: signature line {number}"
        if not line.startswith(SIGNATURE_LINE_PREFIX):
            raise VerificationError(f"{problem} does not start with an em dash and a space")
        fields = line[len(SIGNATURE_LINE_PREFIX) :].split(" ")
        if len(fields) != 2:
            raise VerificationError(f"{problem} is not a key name and a signature")
        name, encoded = fields
        if not _is_key_name(name):
            raise VerificationError(f"{problem} has an invalid key name")
        try:
            raw = _b64decode(encoded, "signature")
        except ValueError as exc:
            raise VerificationError(f"{problem}: {exc}") from None
        if len(raw) <= KEY_ID_SIZE:
            raise VerificationError(f"{problem} has a signature too short to hold a key id")
        signatures.append((name, raw[:KEY_ID_SIZE], raw[KEY_ID_SIZE:]))
    return text, signatures


def _note_text_bytes(body: str) -> bytes:
    if not isinstance(body, str):
        raise ValueError(f"note text must be a str, not {type(body).__name__}")
    if not body.endswith("\n"):
        raise ValueError("note text must end with a newline")
    if _CONTROL_CHARACTER.search(body):
        raise ValueError("note text must not contain control characters other than newline")
    return _require_utf8(body, ValueError("note text is not valid UTF-8"))


def _key_id(name: str, public_key: bytes) -> bytes:
    material = name.encode("utf-8") + b"\n" + SIGNATURE_TYPE_ED25519 + public_key
    return hashlib.sha256(material).digest()[:KEY_ID_SIZE]


def _verifier_key(name: str, key_id: bytes, public_key: bytes) -> str:
    return f"{name}+{key_id.hex()}+{_b64encode(SIGNATURE_TYPE_ED25519 + public_key)}"


def _is_key_name(name: str) -> bool:
    # The specification forbids Unicode spaces and "+", which separate the fields of signature
    # lines and verifier keys; control characters are barred from notes as a whole.
    return (
        bool(name)
        and "+" not in name
        and not any(character.isspace() for character in name)
        and not _CONTROL_CHARACTER.search(name)
        and _is_utf8(name)
    )


def _check_key_name(name: str) -> None:
    if not isinstance(name, str) or not _is_key_name(name):
        raise ValueError(
            f"key name {name!r} must be non-empty UTF-8 without spaces, plus signs or "
            "control characters"
        )


def _check_line(what: str, value: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"checkpoint {what} must be a non-empty str")
    if "\n" in value or _CONTROL_CHARACTER.search(value):
        raise ValueError(f"checkpoint {what} must be one line without control characters")
    _require_utf8(value, ValueError(f"checkpoint {what} is not valid UTF-8"))


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _require_utf8(text: str, error: Exception) -> bytes:
    # A str can hold lone surrogates, which have no UTF-8 encoding.
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise error from None


def _b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _b64decode(text: str, what: str) -> bytes:
    # Canonical standard base64 only: a second spelling of the same bytes (stray padding bits,
    # missing padding, other characters) would make two different texts carry one value.
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise ValueError(f"{what} is not valid base64") from None
    if _b64encode(raw) != text:
        raise ValueError(f"{what} is not canonical base64")
    return raw
