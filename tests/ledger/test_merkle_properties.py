"""Properties of the Merkle tree on random trees: incremental building, proofs, and tampering."""

from __future__ import annotations

from itertools import pairwise
from typing import TypeAlias

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onestory.ledger.merkle import (
    NodeId,
    VerificationError,
    append_nodes,
    build_proof,
    consistency_proof_plan,
    hash_leaf,
    inclusion_proof_plan,
    root_from_leaf_hashes,
    root_from_nodes,
    root_plan,
    verify_consistency,
    verify_inclusion,
)

MAX_LEAVES = 300


@st.composite
def trees(draw: st.DrawFn, distinct: bool = False) -> tuple[list[bytes], dict[NodeId, bytes]]:
    """Leaf hashes and the node map built from them in random batches, as appends would.

    With ``distinct``, no two entries are equal: a proof of an entry at one index is also a
    proof at another index holding the same entry, which is true but not what is being tested.
    """
    entries = st.lists(st.binary(max_size=40), min_size=1, max_size=MAX_LEAVES, unique=distinct)
    hashes = [hash_leaf(entry) for entry in draw(entries)]
    cuts = sorted(draw(st.sets(st.integers(0, len(hashes)), max_size=12)) | {0, len(hashes)})
    nodes: dict[NodeId, bytes] = {}
    for start, stop in pairwise(cuts):
        frontier = {node: nodes[node] for node in root_plan(start)}
        added = append_nodes(start, frontier, hashes[start:stop])
        assert not added.keys() & nodes.keys(), "a node was produced twice"
        nodes.update(added)
    return hashes, nodes


def flipped(value: bytes, bit: int) -> bytes:
    changed = bytearray(value)
    changed[bit // 8] ^= 1 << (bit % 8)
    return bytes(changed)


def every_bit_flip(value: bytes) -> list[bytes]:
    return [flipped(value, bit) for bit in range(len(value) * 8)]


# What a root is, as an expression over the leaf hash, the old root and proof elements (by
# position), straight from RFC 9162's definitions of MTH, PATH and SUBPROOF. Two claims with the
# same expression are indistinguishable to any verifier.
Formula: TypeAlias = str | int | tuple["Formula", "Formula"]


def _split(size: int) -> int:
    return 1 << ((size - 1).bit_length() - 1)


def inclusion_formula(index: int, size: int) -> tuple[Formula, int]:
    if size == 1:
        return "leaf", 0
    k = _split(size)
    if index < k:
        below, used = inclusion_formula(index, k)
        return (below, used), used + 1
    below, used = inclusion_formula(index - k, size - k)
    return (used, below), used + 1


def consistency_formulas(
    old_size: int, new_size: int, complete: bool = True
) -> tuple[Formula, Formula, int]:
    if old_size == new_size:
        return ("old root", "old root", 0) if complete else (0, 0, 1)
    k = _split(new_size)
    if old_size <= k:
        old, new, used = consistency_formulas(old_size, k, complete)
        return old, (new, used), used + 1
    old, new, used = consistency_formulas(old_size - k, new_size - k, False)
    return (used, old), (used, new), used + 1


@settings(max_examples=150, deadline=None)
@given(trees())
def test_appending_in_any_batches_builds_the_reference_tree(
    tree: tuple[list[bytes], dict[NodeId, bytes]],
) -> None:
    hashes, nodes = tree
    size = len(hashes)
    assert root_from_nodes(size, nodes) == root_from_leaf_hashes(hashes)
    # Every prefix's root is available too: that is what consistency proofs start from.
    for prefix in {1, size // 2 or 1, size - 1 or 1}:
        assert root_from_nodes(prefix, nodes) == root_from_leaf_hashes(hashes[:prefix])
    # Exactly the perfect nodes: 2n - popcount(n) of them.
    assert len(nodes) == 2 * size - size.bit_count()


@settings(max_examples=60, deadline=None)
@given(trees())
def test_every_inclusion_proof_verifies(tree: tuple[list[bytes], dict[NodeId, bytes]]) -> None:
    hashes, nodes = tree
    size = len(hashes)
    root = root_from_leaf_hashes(hashes)
    for index, leaf_hash in enumerate(hashes):
        proof = build_proof(inclusion_proof_plan(index, size), nodes)
        verify_inclusion(leaf_hash, index, size, proof, root)


@settings(max_examples=60, deadline=None)
@given(trees(), st.data())
def test_any_changed_bit_breaks_an_inclusion_proof(
    tree: tuple[list[bytes], dict[NodeId, bytes]], data: st.DataObject
) -> None:
    hashes, nodes = tree
    size = len(hashes)
    index = data.draw(st.integers(0, size - 1), label="index")
    root = root_from_leaf_hashes(hashes)
    proof = build_proof(inclusion_proof_plan(index, size), nodes)
    for bad_leaf in every_bit_flip(hashes[index]):
        with pytest.raises(VerificationError):
            verify_inclusion(bad_leaf, index, size, proof, root)
    for bad_root in every_bit_flip(root):
        with pytest.raises(VerificationError):
            verify_inclusion(hashes[index], index, size, proof, bad_root)
    for position, element in enumerate(proof):
        for bad_element in every_bit_flip(element):
            bad_proof = [*proof[:position], bad_element, *proof[position + 1 :]]
            with pytest.raises(VerificationError):
                verify_inclusion(hashes[index], index, size, bad_proof, root)


@settings(max_examples=100, deadline=None)
@given(trees(distinct=True), st.data())
def test_an_inclusion_proof_fails_at_any_other_index(
    tree: tuple[list[bytes], dict[NodeId, bytes]], data: st.DataObject
) -> None:
    hashes, nodes = tree
    size = len(hashes)
    index = data.draw(st.integers(0, size - 1), label="index")
    root = root_from_leaf_hashes(hashes)
    proof = build_proof(inclusion_proof_plan(index, size), nodes)
    other_index = data.draw(st.integers(-1, 2 * size).filter(lambda i: i != index), label="other")
    with pytest.raises(VerificationError):
        verify_inclusion(hashes[index], other_index, size, proof, root)


@settings(max_examples=150, deadline=None)
@given(trees(distinct=True), st.data())
def test_an_inclusion_proof_holds_at_another_size_only_where_the_tree_has_the_same_shape(
    tree: tuple[list[bytes], dict[NodeId, bytes]], data: st.DataObject
) -> None:
    # A root does not commit to its tree's size: the root of 8 leaves is also the root of "7
    # leaves" whose right half hashes to what the 8-leaf tree's right half does. So a proof
    # verifies at exactly the sizes where RFC 9162 builds the same root from the same pieces,
    # and nowhere else; the checkpoint's signature is what binds the size to the root.
    hashes, nodes = tree
    size = len(hashes)
    index = data.draw(st.integers(0, size - 1), label="index")
    root = root_from_leaf_hashes(hashes)
    proof = build_proof(inclusion_proof_plan(index, size), nodes)
    other_size = data.draw(st.integers(0, 2 * size).filter(lambda n: n != size), label="size")
    same_shape = index < other_size and inclusion_formula(index, other_size) == inclusion_formula(
        index, size
    )
    if same_shape:
        verify_inclusion(hashes[index], index, other_size, proof, root)
    else:
        with pytest.raises(VerificationError):
            verify_inclusion(hashes[index], index, other_size, proof, root)


@settings(max_examples=100, deadline=None)
@given(trees(), st.data())
def test_consistency_proofs_verify_and_any_changed_bit_breaks_them(
    tree: tuple[list[bytes], dict[NodeId, bytes]], data: st.DataObject
) -> None:
    hashes, nodes = tree
    new_size = len(hashes)
    old_size = data.draw(st.integers(1, new_size), label="old size")
    old_root = root_from_leaf_hashes(hashes[:old_size])
    new_root = root_from_leaf_hashes(hashes)
    proof = build_proof(consistency_proof_plan(old_size, new_size), nodes)
    verify_consistency(old_size, new_size, old_root, new_root, proof)
    if old_size == new_size:
        assert proof == []
    for bad_root in every_bit_flip(old_root):
        with pytest.raises(VerificationError):
            verify_consistency(old_size, new_size, bad_root, new_root, proof)
    for bad_root in every_bit_flip(new_root):
        with pytest.raises(VerificationError):
            verify_consistency(old_size, new_size, old_root, bad_root, proof)
    for position, element in enumerate(proof):
        for bad_element in every_bit_flip(element):
            bad_proof = [*proof[:position], bad_element, *proof[position + 1 :]]
            with pytest.raises(VerificationError):
                verify_consistency(old_size, new_size, old_root, new_root, bad_proof)


@settings(max_examples=150, deadline=None)
@given(trees(distinct=True), st.data())
def test_a_consistency_proof_holds_for_other_sizes_only_where_the_trees_have_the_same_shape(
    tree: tuple[list[bytes], dict[NodeId, bytes]], data: st.DataObject
) -> None:
    hashes, nodes = tree
    new_size = len(hashes)
    old_size = data.draw(st.integers(1, new_size), label="old size")
    old_root = root_from_leaf_hashes(hashes[:old_size])
    new_root = root_from_leaf_hashes(hashes)
    proof = build_proof(consistency_proof_plan(old_size, new_size), nodes)
    other_old = data.draw(st.integers(0, new_size + 2), label="other old size")
    other_new = data.draw(st.integers(0, 2 * new_size), label="other new size")
    same_shape = (
        1 <= other_old <= other_new
        and consistency_formulas(other_old, other_new) == consistency_formulas(old_size, new_size)
        and (other_old < other_new or old_root == new_root)
    )
    if same_shape:
        verify_consistency(other_old, other_new, old_root, new_root, proof)
    else:
        with pytest.raises(VerificationError):
            verify_consistency(other_old, other_new, old_root, new_root, proof)
