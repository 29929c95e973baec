"""Base58btc multibase and did:key for Ed25519 keys.

Data Integrity proofs carry signatures and keys as multibase strings: a one-character
prefix naming the base, here always ``z`` (base58btc, the Bitcoin alphabet). Keys also
carry a multicodec prefix (an unsigned varint) naming the key type, so a key cannot be
read as the wrong kind. Both are small enough to write here rather than take a dependency.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

BASE58BTC_PREFIX = "z"
BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE58_INDEX = {char: value for value, char in enumerate(BASE58_ALPHABET)}

# Multicodec table entries, varint-encoded: ed25519-pub is 0xed, ed25519-priv is 0x1300.
ED25519_PUB_MULTICODEC = b"\xed\x01"
ED25519_PRIV_MULTICODEC = b"\x80\x26"
ED25519_KEY_LENGTH = 32
DID_KEY_PREFIX = "did:key:"


class MultibaseError(ValueError):
    """A multibase, multicodec or did:key value that cannot be decoded."""


def b58encode(data: bytes) -> str:
    """Encode bytes in base58 (Bitcoin alphabet); each leading zero byte becomes '1'."""
    zeros = len(data) - len(data.lstrip(b"\0"))
    number = int.from_bytes(data, "big")
    digits: list[str] = []
    while number:
        number, remainder = divmod(number, 58)
        digits.append(BASE58_ALPHABET[remainder])
    return "1" * zeros + "".join(reversed(digits))


def b58decode(text: str) -> bytes:
    """Decode base58 (Bitcoin alphabet), naming the first character outside the alphabet."""
    number = 0
    for position, char in enumerate(text):
        value = _BASE58_INDEX.get(char)
        if value is None:
            raise MultibaseError(
                f"base58btc: character {char!r} at position {position} is not in the "
                "base58 alphabet (no 0, O, I or l)"
            )
        number = number * 58 + value
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def encode_base58btc(data: bytes) -> str:
    """Multibase base58btc: 'z' followed by the base58 encoding."""
    return BASE58BTC_PREFIX + b58encode(data)


def decode_base58btc(value: str) -> bytes:
    """Decode a multibase base58btc string, refusing any other multibase prefix."""
    if not value.startswith(BASE58BTC_PREFIX):
        shown = repr(value[:1]) if value else "an empty string"
        raise MultibaseError(f"multibase: expected base58btc (prefix 'z'), found {shown}")
    return b58decode(value[1:])


def _strip_codec(data: bytes, codec: bytes, what: str) -> bytes:
    if not data.startswith(codec):
        raise MultibaseError(
            f"{what}: multicodec prefix is {data[:2].hex() or 'missing'}, expected {codec.hex()}"
        )
    key = data[len(codec) :]
    if len(key) != ED25519_KEY_LENGTH:
        raise MultibaseError(
            f"{what}: key is {len(key)} bytes after the multicodec prefix, "
            f"expected {ED25519_KEY_LENGTH}"
        )
    return key


def public_key_to_multibase(key: Ed25519PublicKey) -> str:
    """The Multikey ``publicKeyMultibase`` form of an Ed25519 public key (``z6Mk...``)."""
    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return encode_base58btc(ED25519_PUB_MULTICODEC + raw)


def public_key_from_multibase(value: str) -> Ed25519PublicKey:
    """Read an Ed25519 public key from its Multikey ``publicKeyMultibase`` form."""
    raw = _strip_codec(decode_base58btc(value), ED25519_PUB_MULTICODEC, "Ed25519 public key")
    return Ed25519PublicKey.from_public_bytes(raw)


def private_key_from_multibase(value: str) -> Ed25519PrivateKey:
    """Read an Ed25519 private key (seed) from its Multikey ``secretKeyMultibase`` form."""
    raw = _strip_codec(decode_base58btc(value), ED25519_PRIV_MULTICODEC, "Ed25519 private key")
    return Ed25519PrivateKey.from_private_bytes(raw)


def did_key(key: Ed25519PublicKey) -> str:
    """The did:key identifier of an Ed25519 public key."""
    return DID_KEY_PREFIX + public_key_to_multibase(key)


def did_key_verification_method(key: Ed25519PublicKey) -> str:
    """The did:key verification method URL: the DID, '#', and the key's multibase again."""
    multibase = public_key_to_multibase(key)
    return f"{DID_KEY_PREFIX}{multibase}#{multibase}"


def resolve_did_key(verification_method: str) -> Ed25519PublicKey:
    """Resolve a did:key verification method to its Ed25519 key, with no network.

    A did:key contains its own key, so resolving is decoding; a fragment other than the
    key itself is refused because the did:key method defines no other verification method.
    """
    if not verification_method.startswith(DID_KEY_PREFIX):
        raise MultibaseError(
            f"did:key: {verification_method!r} does not start with {DID_KEY_PREFIX!r}"
        )
    identifier, _, fragment = verification_method[len(DID_KEY_PREFIX) :].partition("#")
    if fragment and fragment != identifier:
        raise MultibaseError(
            f"did:key: fragment #{fragment} in {verification_method!r} is not the key {identifier}"
        )
    return public_key_from_multibase(identifier)
