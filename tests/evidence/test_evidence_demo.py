"""The demo's evidence: a real PNG, PDF and CSV through the service, shared with the prosecutor,
and nothing added twice when the demo runs again."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onestory.config import Settings
from onestory.demo import ensure_demo_accounts
from onestory.evidence import custody
from onestory.evidence.blobs import store_for
from onestory.evidence.demo import _pdf, _png, add_demo_evidence, ensure_defence_firm
from onestory.evidence.tables import EvidenceGrant, EvidenceItem
from onestory.sharing.policy import load_policies
from onestory.sharing.tables import Organisation


def test_the_demo_png_is_a_well_formed_image() -> None:
    data = _png(width=40, height=20)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (40, 20)
    idat_at = data.index(b"IDAT")
    (idat_length,) = struct.unpack(">I", data[idat_at - 4 : idat_at])
    pixels = zlib.decompress(data[idat_at + 4 : idat_at + 4 + idat_length])
    assert len(pixels) == height * (1 + 3 * width)
    assert data.endswith(b"IEND\xaeB`\x82")


def test_the_demo_pdf_cross_reference_table_points_at_its_objects() -> None:
    data = _pdf(["A line (with brackets)"])
    start = int(data.rsplit(b"startxref\n", 1)[1].split(b"\n", 1)[0])
    assert data[start:].startswith(b"xref\n0 6\n")
    offsets = [int(line[:10]) for line in data[start:].split(b"\n")[3:8]]
    for number, offset in enumerate(offsets, start=1):
        assert data[offset:].startswith(f"{number} 0 obj".encode())
    assert b"\\(with brackets\\)" in data


def test_the_demo_case_has_evidence_shared_with_the_prosecutor_once(
    session: Session, tmp_path: Path
) -> None:
    session.add_all(
        [
            Organisation(code="POL01", name="Metropolitan Police", kind="police"),
            Organisation(code="CPS01", name="CPS London", kind="cps"),
        ]
    )
    session.commit()
    ensure_defence_firm(session)
    ensure_demo_accounts(session, tmp_path)
    policies = load_policies(Settings().policies_dir)
    store = store_for(tmp_path)
    urn = add_demo_evidence(session, policies=policies, store=store)
    assert urn is not None and urn.startswith("01")
    items = session.scalars(select(EvidenceItem).where(EvidenceItem.case_urn == urn)).all()
    assert sorted(i.exhibit_reference for i in items) == ["PO/1", "PO/1A", "PO/2", "PO/3"]
    copy = next(i for i in items if i.exhibit_reference == "PO/1A")
    original = next(i for i in items if i.exhibit_reference == "PO/1")
    assert copy.derived_from_id == original.id
    history = custody.history(session, [original.id])[original.id]
    assert [r.action for r in history] == ["acquired", "uploaded", "derived", "shared"]
    assert all(store.has(i.sha256) for i in items)
    assert add_demo_evidence(session, policies=policies, store=store) == urn
    assert session.scalar(select(func.count()).select_from(EvidenceItem)) == 4
    assert session.scalar(select(func.count()).select_from(EvidenceGrant)) == 1
