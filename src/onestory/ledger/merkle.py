"""The ledger's Merkle tree: RFC 9162 hashing, proof plans, and proof verification.

The tree is the one Certificate Transparency uses (RFC 9162 §2.1, unchanged from RFC 6962):
SHA-256, a leaf is ``HASH(0x00 || entry)``, an interior node is ``HASH(0x01 || left || right)``,
and a tree of ``n > 1`` leaves splits at ``k``, the largest power of two smaller than ``n``. The
prefixes keep a leaf from ever being passed off as a node, or a node as a leaf.

**Nodes.** A :data:`NodeId` ``(level, index)`` names the perfect subtree over leaves
``[index * 2**level, (index + 1) * 2**level)``. Once the log has that many leaves the node's hash
never changes, so the database stores every perfect node once, when it is completed
(:func:`append_nodes`). Every hash a proof needs is either such a node or the hash of a range that
MTH's recursion makes, and such a range is a few perfect nodes combined right to left
(:func:`subtree_nodes`, :func:`range_hash`). So a proof at any size is: ask the plan which nodes it
needs (:func:`inclusion_proof_plan`, :func:`consistency_proof_plan`), fetch those rows in one query,
and assemble (:func:`build_proof`). Nothing is rebuilt. An element that is itself a perfect node
is a one-node list, and all elements are but one at most: the range along the tree's ragged right
edge, which takes a node per 1 bit of its width. A plan names fewer than 2·log₂ n nodes in all.

**Verification** follows RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency) step by step
and raises :class:`VerificationError`, saying what failed, for every check that fails, including
arguments no honest proof could come with (a leaf index outside the tree, sizes out of order).
Leaf hashes and proof elements must be :data:`HASH_SIZE` bytes: they are concatenated before
hashing, and an element of another length would let a proof shift the boundary between two
hashes. Roots are the verifier's own trusted values and are only compared, never parsed; a root
of the wrong length matches nothing a proof computes.

**A root does not commit to its tree's size.** The root of 8 leaves is also what a "7-leaf tree"
would have if its last three leaves hashed to the 8-leaf tree's right half, so a proof that
verifies at one size also verifies at every size where RFC 9162 assembles the root from the same
pieces (index 0 of 8 and of 7, say). Proofs are therefore only meaningful against a size and root
taken together from one signed checkpoint, never a size from anywhere else. A different leaf
index, by contrast, always fails (unless the same entry also sits at that index).

**Consistency from size 0 is rejected**, by :func:`verify_consistency` (every size-0 case, even
``0 → 0``) and by :func:`consistency_proof_plan` (``ValueError``). A proof "from nothing" proves
nothing: every tree extends the empty tree, so a client that accepted it would learn nothing and
might believe it had checked something. OneStory never publishes a checkpoint of the empty log, so
no honest client holds one to prove from. This is also what the transparency-dev test vectors
require (older CT code accepted ``0 → 0``).

**Equal sizes** (``old_size == new_size > 0``): the proof must be empty (RFC 9162's
``SUBPROOF(m, D[m], true) = {}``) and the two roots must be equal, compared as given.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Final, TypeAlias

LEAF_PREFIX: Final = b"\x00"
"""RFC 9162 §2.1.1: the byte before an entry when hashing a leaf."""

NODE_PREFIX: Final = b"\x01"
"""RFC 9162 §2.1.1: the byte before two child hashes when hashing an interior node."""

HASH_SIZE: Final = 32
"""Bytes in a SHA-256 digest, so in every leaf hash, node hash, proof element and root."""

EMPTY_ROOT: Final = hashlib.sha256(b"").digest()
"""RFC 9162 §2.1.1: the root of the empty tree, the hash of the empty string."""

NodeId: TypeAlias = tuple[int, int]
"""``(level, index)``: the perfect subtree over leaves ``[index << level, (index+1) << level)``."""


class VerificationError(Exception):
    """A proof, or the arguments it came with, failed a check; the message says which."""


def hash_leaf(entry: bytes) -> bytes:
    """The leaf hash of one entry: ``SHA-256(0x00 || entry)``."""
    return hashlib.sha256(LEAF_PREFIX + entry).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node: ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def root_from_leaf_hashes(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over the whole list, computed straight from RFC 9162's recursive definition.

    This is the reference the rest of the module is tested against, not the fast path: it hashes
    every interior node of the tree.
    """

    def mth(begin: int, end: int) -> bytes:
        if end - begin == 1:
            return leaf_hashes[begin]
        middle = begin + _split(end - begin)
        return hash_children(mth(begin, middle), mth(middle, end))

    if not leaf_hashes:
        return EMPTY_ROOT
    return mth(0, len(leaf_hashes))


def subtree_nodes(begin: int, end: int) -> list[NodeId]:
    """The perfect subtrees that MTH splits leaves ``[begin, end)`` into, left to right.

    They are the powers of two of ``end - begin``, largest first; for ``[0, n)`` that is the
    binary decomposition of ``n``. ``begin`` must be a multiple of the largest of them, as it is
    for every range MTH's recursion produces; otherwise the pieces would not be stored nodes and
    ``ValueError`` is raised.
    """
    if not 0 <= begin <= end:
        raise ValueError(f"[{begin}, {end}) is not a range of leaves")
    width = end - begin
    if width and begin % (1 << (width.bit_length() - 1)):
        raise ValueError(
            f"[{begin}, {end}) does not start on a boundary of its largest perfect subtree"
        )
    nodes: list[NodeId] = []
    position = begin
    for level in range(width.bit_length() - 1, -1, -1):
        if width >> level & 1:
            nodes.append((level, position >> level))
            position += 1 << level
    return nodes


def range_hash(hashes: Sequence[bytes]) -> bytes:
    """MTH of a range, from the hashes of its :func:`subtree_nodes` in order.

    MTH takes the largest perfect subtree as the left child and recurses on the rest, so the
    pieces fold from the right. No pieces is the empty range, whose MTH is :data:`EMPTY_ROOT`.
    """
    if not hashes:
        return EMPTY_ROOT
    accumulated = hashes[-1]
    for position in range(len(hashes) - 2, -1, -1):
        accumulated = hash_children(hashes[position], accumulated)
    return accumulated


def root_plan(size: int) -> list[NodeId]:
    """The nodes whose :func:`range_hash` is the root of the tree of ``size`` leaves."""
    return subtree_nodes(0, size)


def root_from_nodes(size: int, nodes: Mapping[NodeId, bytes]) -> bytes:
    """The root of the tree of ``size`` leaves from stored nodes (``KeyError`` if one is absent)."""
    return range_hash([nodes[node] for node in root_plan(size)])


def inclusion_proof_plan(index: int, size: int) -> list[list[NodeId]]:
    """For each element of the inclusion proof of leaf ``index``, the nodes it is made of.

    The elements are those of RFC 9162 §2.1.3.1 ``PATH(index, D[size])``, in its order: bottom-up,
    the leaf's sibling first.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    plan: list[list[NodeId]] = []
    begin, end = 0, size
    # PATH recurses into the half holding the leaf and appends the other half's MTH after the
    # deeper part of the path, so walking down collects the elements top-down.
    while end - begin > 1:
        middle = begin + _split(end - begin)
        if index < middle:
            plan.append(subtree_nodes(middle, end))
            end = middle
        else:
            plan.append(subtree_nodes(begin, middle))
            begin = middle
    plan.reverse()
    return plan


def consistency_proof_plan(old_size: int, new_size: int) -> list[list[NodeId]]:
    """For each element of the consistency proof from ``old_size`` to ``new_size``, its nodes.

    The elements are those of RFC 9162 §2.1.4.1 ``SUBPROOF(old_size, D[new_size], true)``, in its
    order. Equal sizes give an empty proof; ``old_size`` 0 is refused (see the module docstring).
    """
    if old_size == 0:
        raise ValueError("a consistency proof from the empty tree proves nothing")
    if not 0 < old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to size {new_size}")
    plan: list[list[NodeId]] = []
    begin, end = 0, new_size
    old_end = old_size
    # Whether MTH(D[begin:old_end]) is the old root the verifier already holds. It stays true
    # only while the old tree is a prefix of the left-hand subtrees walked into.
    known = True
    while old_end != end:
        middle = begin + _split(end - begin)
        if old_end <= middle:
            plan.append(subtree_nodes(middle, end))
            end = middle
        else:
            plan.append(subtree_nodes(begin, middle))
            begin = middle
            known = False
    if not known:
        plan.append(subtree_nodes(begin, end))
    plan.reverse()
    return plan


def build_proof(plan: Sequence[Sequence[NodeId]], nodes: Mapping[NodeId, bytes]) -> list[bytes]:
    """The proof a plan describes, from stored nodes (``KeyError`` names a missing node)."""
    return [range_hash([nodes[node] for node in element]) for element in plan]


def append_nodes(
    old_size: int, frontier: Mapping[NodeId, bytes], leaf_hashes: Sequence[bytes]
) -> dict[NodeId, bytes]:
    """Every perfect node that appending ``leaf_hashes`` to a tree of ``old_size`` completes.

    ``frontier`` holds the hashes of ``root_plan(old_size)`` (other entries are ignored): the
    old tree's right edge is all that new nodes can combine with. The result holds each new leaf
    as a level-0 node and each completed parent, each exactly once, and none of the frontier. It
    costs one hash per new node, O(len(leaf_hashes) + log old_size) in all; the new frontier is
    ``root_plan(old_size + len(leaf_hashes))`` looked up in the frontier and the result.
    """
    if old_size < 0:
        raise ValueError(f"a tree cannot have {old_size} leaves")
    # The stack is the right edge: perfect subtrees, levels strictly decreasing from the bottom.
    stack: list[tuple[int, bytes]] = []
    for node in root_plan(old_size):
        if node not in frontier:
            raise ValueError(f"frontier of a tree of size {old_size} lacks node {node}")
        _require_node_hash(f"frontier node {node}", frontier[node])
        stack.append((node[0], frontier[node]))
    new_nodes: dict[NodeId, bytes] = {}
    for offset, leaf_hash in enumerate(leaf_hashes):
        _require_node_hash(f"leaf hash {offset}", leaf_hash)
        position = old_size + offset
        level, digest = 0, leaf_hash
        new_nodes[(0, position)] = digest
        # A subtree on the edge as tall as the one just finished is its left sibling: merge
        # them, as a binary counter carries.
        while stack and stack[-1][0] == level:
            digest = hash_children(stack.pop()[1], digest)
            level += 1
            new_nodes[(level, position >> level)] = digest
        stack.append((level, digest))
    return new_nodes


def root_from_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """The root that an inclusion proof leads to, by RFC 9162 §2.1.3.2 steps 1 to 4.

    Raises :class:`VerificationError` if the proof cannot be a proof for that index and size,
    without comparing against any root; :func:`verify_inclusion` does that too.
    """
    if not 0 <= index < size:
        raise VerificationError(f"leaf index {index} is not in a tree of size {size}")
    _require_proof_hash("leaf hash", leaf_hash)
    expected = _inclusion_proof_length(index, size)
    if len(proof) != expected:
        raise VerificationError(
            f"inclusion proof for leaf {index} of {size} has {len(proof)} elements, not {expected}"
        )
    for position, element in enumerate(proof):
        _require_proof_hash(f"proof element {position}", element)
    # RFC 9162 §2.1.3.2. fn walks up from the leaf and sn from the last leaf; where sn's path
    # runs along the right edge of a tree that is not perfect, levels are skipped.
    fn, sn = index, size - 1
    result = leaf_hash
    for element in proof:
        if sn == 0:
            raise VerificationError("inclusion proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            result = hash_children(element, result)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            result = hash_children(result, element)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError("inclusion proof is shorter than the path to the root")
    return result


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``proof`` shows ``leaf_hash`` at ``index`` in the tree of ``size`` and ``root``.

    RFC 9162 §2.1.3.2. Returns nothing; raises :class:`VerificationError` on any failure.
    """
    computed = root_from_inclusion(leaf_hash, index, size, proof)
    if not hmac.compare_digest(computed, root):
        raise VerificationError(
            f"inclusion proof for leaf {index} of {size} does not lead to the expected root"
        )


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of ``new_size`` with ``new_root`` extends the one of ``old_size``.

    RFC 9162 §2.1.4.2, with OneStory's rules for size 0 (always rejected) and equal sizes (empty
    proof, equal roots) from the module docstring. Raises :class:`VerificationError` on any
    failure.
    """
    if old_size < 0 or old_size > new_size:
        raise VerificationError(f"no consistency proof from size {old_size} to size {new_size}")
    if old_size == 0:
        raise VerificationError("a consistency proof from the empty tree proves nothing")
    if old_size == new_size:
        if proof:
            raise VerificationError(
                f"consistency proof between equal sizes must be empty, not {len(proof)} elements"
            )
        if not hmac.compare_digest(old_root, new_root):
            raise VerificationError(f"two different roots for the same size {old_size}")
        return
    expected = _consistency_proof_length(old_size, new_size)
    if len(proof) != expected:
        raise VerificationError(
            f"consistency proof from {old_size} to {new_size} has {len(proof)} elements, "
            f"not {expected}"
        )
    for position, element in enumerate(proof):
        _require_proof_hash(f"proof element {position}", element)

    # RFC 9162 §2.1.4.2. When the old tree is perfect it is a node of the new tree, and its root
    # is the starting point that the proof leaves out.
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    old_result = new_result = path[0]
    for element in path[1:]:
        if sn == 0:
            raise VerificationError("consistency proof is longer than the trees need")
        if fn & 1 or fn == sn:
            old_result = hash_children(element, old_result)
            new_result = hash_children(element, new_result)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            new_result = hash_children(new_result, element)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError("consistency proof is shorter than the trees need")
    if not hmac.compare_digest(old_result, old_root):
        raise VerificationError(
            f"consistency proof from {old_size} to {new_size} does not lead to the old root"
        )
    if not hmac.compare_digest(new_result, new_root):
        raise VerificationError(
            f"consistency proof from {old_size} to {new_size} does not lead to the new root"
        )


def _split(width: int) -> int:
    """The largest power of two smaller than ``width`` (at least 2): where MTH splits."""
    return 1 << ((width - 1).bit_length() - 1)


def _inclusion_proof_length(index: int, size: int) -> int:
    # Below the level where the paths to the leaf and to the last leaf meet, every level gives
    # one sibling; above it, the leaf sits in a left subtree exactly where index has a 1 bit,
    # and only those subtrees have a sibling, the rest being right-edge levels that are skipped.
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def _consistency_proof_length(old_size: int, new_size: int) -> int:
    # The same walk as consistency_proof_plan, counting instead of collecting.
    length = 0
    begin, end, old_end = 0, new_size, old_size
    known = True
    while old_end != end:
        middle = begin + _split(end - begin)
        if old_end <= middle:
            end = middle
        else:
            begin = middle
            known = False
        length += 1
    return length + (0 if known else 1)


def _require_proof_hash(what: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise VerificationError(f"{what} is {len(value)} bytes, not {HASH_SIZE}")


def _require_node_hash(what: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise ValueError(f"{what} is {len(value)} bytes, not {HASH_SIZE}")
