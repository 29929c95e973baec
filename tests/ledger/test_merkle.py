"""The Merkle tree against RFC 9162's definitions, known roots, and the transparency-dev vectors."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from onestory.ledger import merkle
from onestory.ledger.merkle import (
    EMPTY_ROOT,
    VerificationError,
    append_nodes,
    build_proof,
    consistency_proof_plan,
    hash_children,
    hash_leaf,
    inclusion_proof_plan,
    range_hash,
    root_from_inclusion,
    root_from_leaf_hashes,
    root_from_nodes,
    root_plan,
    subtree_nodes,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).resolve().parents[1] / "data" / "merkle" / "testdata"

# The leaves of the RFC 6962 test tree used by Certificate Transparency implementations and by
# the vectors below (whose roots and proofs are over these leaves).
RFC6962_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
RFC6962_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
RFC6962_LEAF_HASHES = [hash_leaf(leaf) for leaf in RFC6962_LEAVES]


def leaf_hashes(count: int) -> list[bytes]:
    return [hash_leaf(i.to_bytes(4, "big")) for i in range(count)]


# Straight transcriptions of RFC 9162 §2.1.3.1 PATH and §2.1.4.1 SUBPROOF, to check the plans.
def reference_path(m: int, hashes: list[bytes]) -> list[bytes]:
    n = len(hashes)
    if n <= 1:
        return []
    k = 1 << ((n - 1).bit_length() - 1)
    if m < k:
        return [*reference_path(m, hashes[:k]), root_from_leaf_hashes(hashes[k:])]
    return [*reference_path(m - k, hashes[k:]), root_from_leaf_hashes(hashes[:k])]


def reference_subproof(m: int, hashes: list[bytes], complete: bool) -> list[bytes]:
    n = len(hashes)
    if m == n:
        return [] if complete else [root_from_leaf_hashes(hashes)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*reference_subproof(m, hashes[:k], complete), root_from_leaf_hashes(hashes[k:])]
    return [*reference_subproof(m - k, hashes[k:], False), root_from_leaf_hashes(hashes[:k])]


# --- hashing -------------------------------------------------------------------------------


def test_prefixes_and_sizes_are_rfc_9162s() -> None:
    assert merkle.LEAF_PREFIX == b"\x00"
    assert merkle.NODE_PREFIX == b"\x01"
    assert merkle.HASH_SIZE == 32
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT
    assert hash_leaf(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert (
        hash_children(b"L" * 32, b"R" * 32)
        == hashlib.sha256(b"\x01" + b"L" * 32 + b"R" * 32).digest()
    )


def test_a_leaf_hash_is_never_a_node_hash_of_the_same_bytes() -> None:
    left, right = b"a" * 32, b"b" * 32
    assert hash_leaf(left + right) != hash_children(left, right)


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_of_the_rfc_6962_test_tree(size: int) -> None:
    hashes = RFC6962_LEAF_HASHES[:size]
    assert root_from_leaf_hashes(hashes).hex() == RFC6962_ROOTS[size - 1]
    assert root_from_nodes(size, append_nodes(0, {}, hashes)).hex() == RFC6962_ROOTS[size - 1]


def test_empty_tree() -> None:
    assert root_from_leaf_hashes([]) == EMPTY_ROOT
    assert root_plan(0) == []
    assert range_hash([]) == EMPTY_ROOT
    assert root_from_nodes(0, {}) == EMPTY_ROOT
    assert append_nodes(0, {}, []) == {}


# --- nodes and plans -----------------------------------------------------------------------


def test_root_plan_is_the_binary_decomposition_of_the_size() -> None:
    assert root_plan(1) == [(0, 0)]
    assert root_plan(8) == [(3, 0)]
    assert root_plan(7) == [(2, 0), (1, 2), (0, 6)]
    assert root_plan(1_000_000) == [
        (level, (1_000_000 >> (level + 1)) << 1)
        for level in range(19, -1, -1)
        if 1_000_000 >> level & 1
    ]


def test_subtree_nodes_of_ranges_that_mth_makes() -> None:
    assert subtree_nodes(4, 7) == [(1, 2), (0, 6)]
    assert subtree_nodes(8, 13) == [(2, 2), (0, 12)]
    assert subtree_nodes(5, 5) == []


@pytest.mark.parametrize(("begin", "end"), [(1, 3), (2, 6), (3, 8), (-1, 2), (5, 4)])
def test_subtree_nodes_refuses_ranges_that_are_not_stored_nodes(begin: int, end: int) -> None:
    with pytest.raises(ValueError, match=r"\[-?\d+, \d+\)"):
        subtree_nodes(begin, end)


def test_nodes_cover_the_leaves_they_name() -> None:
    hashes = leaf_hashes(13)
    nodes = append_nodes(0, {}, hashes)
    for (level, index), digest in nodes.items():
        begin, end = index << level, (index + 1) << level
        assert digest == root_from_leaf_hashes(hashes[begin:end])
    # Every perfect node of a 13-leaf tree, and nothing else.
    assert len(nodes) == 13 + 6 + 3 + 1


def test_plans_match_rfc_9162_for_every_index_and_size_up_to_64() -> None:
    for size in range(1, 65):
        hashes = leaf_hashes(size)
        nodes = append_nodes(0, {}, hashes)
        for index in range(size):
            plan = inclusion_proof_plan(index, size)
            assert build_proof(plan, nodes) == reference_path(index, hashes), (index, size)
        for old in range(1, size + 1):
            plan = consistency_proof_plan(old, size)
            assert build_proof(plan, nodes) == reference_subproof(old, hashes, True), (old, size)


def test_plans_at_a_million_leaves_are_small() -> None:
    size = 1_000_000
    for index in (0, 1, 499_999, 999_935, 999_999):
        plan = inclusion_proof_plan(index, size)
        assert len(plan) <= 20
        # Every element but the one along the ragged right edge is one stored node.
        assert sum(len(element) > 1 for element in plan) <= 1
        assert sum(map(len, plan)) < 2 * 20
    for old in (1, 2, 3, 524_288, 999_999):
        plan = consistency_proof_plan(old, size)
        assert sum(len(element) > 1 for element in plan) <= 1
        assert sum(map(len, plan)) < 2 * 20


def test_perfect_proof_elements_are_one_node() -> None:
    assert inclusion_proof_plan(0, 8) == [[(0, 1)], [(1, 1)], [(2, 1)]]
    assert inclusion_proof_plan(6, 7) == [[(1, 2)], [(2, 0)]]
    assert inclusion_proof_plan(0, 7) == [[(0, 1)], [(1, 1)], [(1, 2), (0, 6)]]
    assert consistency_proof_plan(3, 7) == [[(0, 2)], [(0, 3)], [(1, 0)], [(1, 2), (0, 6)]]
    assert consistency_proof_plan(4, 7) == [[(1, 2), (0, 6)]]
    assert consistency_proof_plan(5, 5) == []


@pytest.mark.parametrize(("index", "size"), [(0, 0), (-1, 5), (5, 5), (6, 5)])
def test_inclusion_plan_refuses_a_leaf_outside_the_tree(index: int, size: int) -> None:
    with pytest.raises(ValueError, match="is not in a tree of size"):
        inclusion_proof_plan(index, size)


def test_consistency_plan_refuses_size_zero_and_sizes_out_of_order() -> None:
    with pytest.raises(ValueError, match="from the empty tree proves nothing"):
        consistency_proof_plan(0, 5)
    with pytest.raises(ValueError, match="from the empty tree proves nothing"):
        consistency_proof_plan(0, 0)
    with pytest.raises(ValueError, match="from size 6 to size 5"):
        consistency_proof_plan(6, 5)
    with pytest.raises(ValueError, match="from size -1 to size 5"):
        consistency_proof_plan(-1, 5)


def test_build_proof_names_a_missing_node() -> None:
    nodes = append_nodes(0, {}, leaf_hashes(8))
    del nodes[(1, 1)]
    with pytest.raises(KeyError, match=r"\(1, 1\)"):
        build_proof(inclusion_proof_plan(0, 8), nodes)


# --- appending -----------------------------------------------------------------------------


def test_append_nodes_returns_each_new_node_once_and_no_old_one() -> None:
    hashes = leaf_hashes(11)
    first = append_nodes(0, {}, hashes[:5])
    frontier = {node: first[node] for node in root_plan(5)}
    second = append_nodes(5, frontier, hashes[5:])
    assert not first.keys() & second.keys()
    assert {**first, **second} == append_nodes(0, {}, hashes)
    # Leaf 5 completes (1, 2) with leaf 4 and nothing above it; leaves 6 and 7 complete (3, 0).
    assert set(second) == {
        (0, 5), (0, 6), (0, 7), (0, 8), (0, 9), (0, 10),
        (1, 2), (1, 3), (1, 4), (2, 1), (3, 0),
    }  # fmt: skip


def test_append_nodes_ignores_extra_frontier_entries() -> None:
    hashes = leaf_hashes(6)
    everything = append_nodes(0, {}, hashes[:3])
    assert append_nodes(3, everything, hashes[3:]) == {
        node: digest
        for node, digest in append_nodes(0, {}, hashes).items()
        if node not in everything
    }


def test_append_nodes_checks_its_inputs() -> None:
    hashes = leaf_hashes(3)
    nodes = append_nodes(0, {}, hashes)
    with pytest.raises(ValueError, match=r"lacks node \(0, 2\)"):
        append_nodes(3, {(1, 0): nodes[(1, 0)]}, [hashes[0]])
    with pytest.raises(ValueError, match="leaf hash 1 is 3 bytes, not 32"):
        append_nodes(0, {}, [hashes[0], b"abc"])
    with pytest.raises(ValueError, match=r"frontier node \(0, 0\) is 1 bytes"):
        append_nodes(1, {(0, 0): b"x"}, [])
    with pytest.raises(ValueError, match="cannot have -1 leaves"):
        append_nodes(-1, {}, [])


# --- verification --------------------------------------------------------------------------


def test_inclusion_round_trip_and_root_from_inclusion() -> None:
    hashes = RFC6962_LEAF_HASHES
    nodes = append_nodes(0, {}, hashes)
    root = bytes.fromhex(RFC6962_ROOTS[7])
    for index in range(8):
        proof = build_proof(inclusion_proof_plan(index, 8), nodes)
        assert root_from_inclusion(hashes[index], index, 8, proof) == root
        verify_inclusion(hashes[index], index, 8, proof, root)


def test_inclusion_failures_say_what_failed() -> None:
    hashes = leaf_hashes(5)
    nodes = append_nodes(0, {}, hashes)
    root = root_from_nodes(5, nodes)
    proof = build_proof(inclusion_proof_plan(1, 5), nodes)
    verify_inclusion(hashes[1], 1, 5, proof, root)
    with pytest.raises(VerificationError, match="leaf index 5 is not in a tree of size 5"):
        verify_inclusion(hashes[1], 5, 5, proof, root)
    with pytest.raises(VerificationError, match="leaf index -1 is not in a tree of size 5"):
        verify_inclusion(hashes[1], -1, 5, proof, root)
    with pytest.raises(VerificationError, match="has 2 elements, not 3"):
        verify_inclusion(hashes[1], 1, 5, proof[:2], root)
    with pytest.raises(VerificationError, match="has 4 elements, not 3"):
        verify_inclusion(hashes[1], 1, 5, [*proof, proof[0]], root)
    with pytest.raises(VerificationError, match="proof element 1 is 31 bytes, not 32"):
        verify_inclusion(hashes[1], 1, 5, [proof[0], proof[1][:31], proof[2]], root)
    with pytest.raises(VerificationError, match="leaf hash is 0 bytes, not 32"):
        verify_inclusion(b"", 1, 5, proof, root)
    with pytest.raises(VerificationError, match="does not lead to the expected root"):
        verify_inclusion(hashes[2], 1, 5, proof, root)


def test_consistency_failures_say_what_failed() -> None:
    hashes = leaf_hashes(7)
    nodes = append_nodes(0, {}, hashes)
    old_root, new_root = root_from_nodes(3, nodes), root_from_nodes(7, nodes)
    proof = build_proof(consistency_proof_plan(3, 7), nodes)
    verify_consistency(3, 7, old_root, new_root, proof)
    with pytest.raises(VerificationError, match="does not lead to the old root"):
        verify_consistency(3, 7, new_root, new_root, proof)
    with pytest.raises(VerificationError, match="does not lead to the new root"):
        verify_consistency(3, 7, old_root, old_root, proof)
    with pytest.raises(VerificationError, match="has 3 elements, not 4"):
        verify_consistency(3, 7, old_root, new_root, proof[1:])
    with pytest.raises(VerificationError, match="proof element 3 is 33 bytes, not 32"):
        verify_consistency(3, 7, old_root, new_root, [*proof[:3], proof[3] + b"!"])
    with pytest.raises(VerificationError, match="no consistency proof from size 7 to size 3"):
        verify_consistency(7, 3, new_root, old_root, proof)


def test_consistency_from_size_zero_is_always_rejected() -> None:
    for new_size, new_root in ((0, EMPTY_ROOT), (1, RFC6962_LEAF_HASHES[0])):
        with pytest.raises(VerificationError, match="from the empty tree proves nothing"):
            verify_consistency(0, new_size, EMPTY_ROOT, new_root, [])


def test_consistency_between_equal_sizes_needs_an_empty_proof_and_equal_roots() -> None:
    root = bytes.fromhex(RFC6962_ROOTS[4])
    verify_consistency(5, 5, root, root, [])
    with pytest.raises(VerificationError, match="two different roots for the same size 5"):
        verify_consistency(5, 5, root, EMPTY_ROOT, [])
    with pytest.raises(VerificationError, match="between equal sizes must be empty"):
        verify_consistency(5, 5, root, root, [root])


# --- the transparency-dev/merkle vectors ---------------------------------------------------


def vector_files(kind: str) -> list[Path]:
    return sorted((VECTORS / kind).rglob("*.json"))


def b64(value: str) -> bytes:
    return base64.b64decode(value)


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_every_vector_folder_is_found() -> None:
    # If the copy were lost or moved the parametrised tests would silently shrink to nothing.
    assert len(vector_files("inclusion")) == 98
    assert len(vector_files("consistency")) == 98


@pytest.mark.parametrize(
    "path", vector_files("inclusion"), ids=lambda p: str(p.relative_to(VECTORS))
)
def test_inclusion_vector(path: Path) -> None:
    vector = load(path)
    proof = [b64(element) for element in vector["proof"] or []]

    def check() -> None:
        verify_inclusion(
            b64(vector["leafHash"]),
            vector["leafIdx"],
            vector["treeSize"],
            proof,
            b64(vector["root"]),
        )

    if vector["wantErr"]:
        with pytest.raises(VerificationError):
            check()
    else:
        check()


@pytest.mark.parametrize(
    "path", vector_files("consistency"), ids=lambda p: str(p.relative_to(VECTORS))
)
def test_consistency_vector(path: Path) -> None:
    vector = load(path)
    proof = [b64(element) for element in vector["proof"] or []]

    def check() -> None:
        verify_consistency(
            vector["size1"], vector["size2"], b64(vector["root1"]), b64(vector["root2"]), proof
        )

    if vector["wantErr"]:
        with pytest.raises(VerificationError):
            check()
    else:
        check()


def test_the_vectors_proofs_are_the_ones_we_build() -> None:
    # The happy paths are over the RFC 6962 test leaves, so our plans must produce them exactly.
    nodes = append_nodes(0, {}, RFC6962_LEAF_HASHES)
    checked = 0
    for path in vector_files("inclusion"):
        vector = load(path)
        if path.name == "happy-path.json" and vector["treeSize"] <= 8:
            plan = inclusion_proof_plan(vector["leafIdx"], vector["treeSize"])
            assert build_proof(plan, nodes) == [b64(p) for p in vector["proof"] or []], path
            assert root_from_nodes(vector["treeSize"], nodes) == b64(vector["root"])
            checked += 1
    for path in vector_files("consistency"):
        vector = load(path)
        if path.name == "happy-path.json" and vector["size2"] <= 8:
            plan = consistency_proof_plan(vector["size1"], vector["size2"])
            assert build_proof(plan, nodes) == [b64(p) for p in vector["proof"] or []], path
            assert root_from_nodes(vector["size1"], nodes) == b64(vector["root1"])
            assert root_from_nodes(vector["size2"], nodes) == b64(vector["root2"])
            checked += 1
    assert checked == 10
