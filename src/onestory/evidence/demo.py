"""The demo's evidence: one case with a photograph, its redacted copy, a PDF statement and a call
log, held by the demo police force and shared with the demo prosecutor.

The files are made here, from code, so the demo needs no media of anyone's: a small PNG drawn
pixel by pixel, a one-page PDF written by hand, a CSV. Everything goes through the service, so the
custody record is exactly what a real intake would leave.
"""

from __future__ import annotations

import io
import struct
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from onestory.evidence import service
from onestory.evidence.blobs import BlobStore, stage, store_for
from onestory.evidence.bundle import bundles_dir, make_bundle, scope_for
from onestory.evidence.tables import EvidenceGrant, EvidenceItem
from onestory.exchange.tables import AgencyRecord
from onestory.ledger.note import NoteSigner
from onestory.sharing.accounts import account_actor
from onestory.sharing.policy import PolicySet
from onestory.sharing.tables import Organisation, UserAccount

DEFENCE_FIRM = ("DEF0001", "Example Defence Solicitors LLP")
GRANT_DAYS = 30


def ensure_defence_firm(session: Session) -> None:
    """A defence firm for the demo's defence lawyer (agency extracts have none)."""
    code, name = DEFENCE_FIRM
    if session.scalar(select(Organisation.id).where(Organisation.code == code)) is None:
        session.add(Organisation(code=code, name=name, kind="defence"))
        session.commit()


def _png(width: int = 240, height: int = 160, *, redacted: bool = False) -> bytes:
    """A small PNG: a street scene in blocks of colour; ``redacted`` blacks out a 'face'."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter: none
        for x in range(width):
            if y > height * 2 // 3:
                pixel = (90, 90, 95)  # the road
            elif 150 <= x <= 190 and 40 <= y <= 100:
                pixel = (200, 160, 130)  # a figure
            else:
                pixel = (120 + x // 4, 160 + y // 8, 210)  # the sky and shop fronts
            if redacted and 155 <= x <= 185 and 40 <= y <= 62:
                pixel = (0, 0, 0)
            rows += bytes(pixel)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + chunk(b"IEND", b"")
    )


def _pdf(lines: list[str]) -> bytes:
    """A one-page PDF of plain text lines (Helvetica), with a correct cross-reference table."""
    text = (
        "BT /F1 12 Tf 72 760 Td 16 TL "
        + " ".join(
            "(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") '"
            for line in lines
        )
        + " ET"
    )
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length "
        + str(len(text)).encode()
        + b" >>\nstream\n"
        + text.encode()
        + b"\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()


def _call_log() -> bytes:
    rows = [
        "time,direction,number,duration_seconds",
        "2026-03-02T13:58:10Z,outgoing,07700 900123,42",
        "2026-03-02T14:05:47Z,incoming,07700 900456,0",
        "2026-03-02T14:21:03Z,outgoing,999,185",
    ]
    return ("\n".join(rows) + "\n").encode()


def demo_case_urn(session: Session, police_code: str) -> str:
    """A case of the demo force from the ingested world, or a made-up one of its own."""
    force = police_code.removeprefix("POL")[:2]
    found = session.scalar(
        select(AgencyRecord.case_urn)
        .where(AgencyRecord.agency == police_code, AgencyRecord.case_urn.like(f"{force}%"))
        .order_by(AgencyRecord.case_urn)
        .limit(1)
    )
    return found or f"{force}DM0000126"


def add_demo_evidence(
    session: Session, *, policies: PolicySet, store: BlobStore, seized_at: datetime | None = None
) -> str | None:
    """Give the demo police force a case with evidence shared with the demo prosecutor.

    Returns the case URN, or None when the demo accounts are missing. Running it again adds
    nothing: the case's items are already there.
    """
    officer = session.scalar(
        select(UserAccount).where(UserAccount.email == "police@demo.onestory.test")
    )
    prosecutor = session.scalar(
        select(UserAccount).where(UserAccount.email == "cps@demo.onestory.test")
    )
    if officer is None or officer.organisation is None or prosecutor is None:
        return None
    urn = demo_case_urn(session, officer.organisation.code)
    if session.scalar(select(EvidenceItem.id).where(EvidenceItem.case_urn == urn).limit(1)):
        return urn
    actor = account_actor(officer)
    when = seized_at or datetime.now(UTC) - timedelta(days=3)
    common = {"case_urn": urn, "seized_by": officer.display_name, "seized_at": when}
    files: list[tuple[bytes, dict[str, object]]] = [
        (
            _png(),
            {
                "exhibit_reference": "PO/1",
                "description": "Still from the shop's CCTV showing the suspect at the till",
                "seized_from": "Corner Shop, 1 High Street",
                "device": "Shop CCTV recorder",
                "method": "Exported to USB by the shop owner; officer present",
                "media_type": "image/png",
                "filename": "cctv-still.png",
            },
        ),
        (
            _pdf(
                [
                    "Witness statement (Criminal Justice Act 1967, s9)",
                    "I saw a man take the cash box from behind the till at about 2pm.",
                    "This statement is true to the best of my knowledge and belief.",
                ]
            ),
            {
                "exhibit_reference": "PO/2",
                "description": "Witness statement of the shop assistant",
                "seized_from": "Taken at the scene",
                "method": "Written statement, scanned",
                "media_type": "application/pdf",
                "filename": "statement.pdf",
            },
        ),
        (
            _call_log(),
            {
                "exhibit_reference": "PO/3",
                "description": "Call log from the victim's phone for the afternoon",
                "seized_from": "The victim's mobile phone, with consent",
                "device": "Mobile phone (handset make recorded on the exhibit label)",
                "method": "Logical extraction of the call log only",
                "media_type": "text/csv",
                "filename": "call-log.csv",
            },
        ),
    ]
    items = []
    for content, fields in files:
        details = service.ItemDetails.model_validate({**common, **fields})
        items.append(
            service.add_item(
                session,
                policies=policies,
                store=store,
                actor=actor,
                staged=stage(store, io.BytesIO(content)),
                details=details,
                via="demo",
            )
        )
    service.add_item(
        session,
        policies=policies,
        store=store,
        actor=actor,
        staged=stage(store, io.BytesIO(_png(redacted=True))),
        details=service.ItemDetails.model_validate(
            {
                **common,
                "exhibit_reference": "PO/1A",
                "description": "Copy of PO/1 with a bystander's face blacked out, for disclosure",
                "media_type": "image/png",
                "filename": "cctv-still-redacted.png",
                "method": "Redacted copy of PO/1",
            }
        ),
        via="demo",
        derived_from=items[0],
        derivation="a bystander's face blacked out",
    )
    already = session.scalar(
        select(EvidenceGrant.id).where(
            EvidenceGrant.case_urn == urn, EvidenceGrant.grantee_user_id == prosecutor.id
        )
    )
    if already is None:
        service.grant_access(
            session,
            policies=policies,
            actor=actor,
            case_urn=urn,
            item=None,
            grantee=prosecutor,
            expires_at=datetime.now(UTC) + timedelta(days=GRANT_DAYS),
        )
    session.commit()
    return urn


DEMO_BUNDLE = "demo-bundle.zip"


def write_demo_bundle(
    sessions: sessionmaker[Session],
    *,
    data_dir: Path,
    policies: PolicySet,
    signer: NoteSigner,
    case_urn: str,
) -> Path:
    """The demo case's disclosure bundle, made as the demo police officer would make it, at
    ``DATA_DIR/evidence/demo-bundle.zip`` (replaced on each run)."""
    with sessions() as session:
        officer = session.scalars(
            select(UserAccount).where(UserAccount.email == "police@demo.onestory.test")
        ).one()
        actor = account_actor(officer)
        scope = scope_for(session, policies=policies, actor=actor, case_urn=case_urn)
        made = make_bundle(
            session,
            sessions=sessions,
            store=store_for(data_dir),
            signer=signer,
            items=scope.items,
            case_urn=case_urn,
            actor=actor.user_or_client_id,
            actor_org=actor.organisation_code,
            purpose=scope.purpose,
            work_dir=bundles_dir(data_dir),
        )
    target = data_dir / "evidence" / DEMO_BUNDLE
    made.path.replace(target)
    return target
