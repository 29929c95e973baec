"""Digital evidence items, described as the ACPO principles and ISO/IEC 27037 ask."""

from __future__ import annotations

from pydantic import AwareDatetime, Field, NonNegativeInt

from onestory.domain.base import Record
from onestory.domain.identifiers import CaseURN


class EvidenceItem(Record):
    """One exhibit: what it is, where it came from, and its hash at acquisition."""

    exhibit_reference: str = Field(min_length=1, description="e.g. 'JS/1'")
    case_urn: CaseURN
    description: str
    seized_by: str = Field(description="Who seized or produced it")
    seized_at: AwareDatetime
    seized_from: str | None = Field(default=None, description="Place or person")
    device: str | None = None
    method: str | None = Field(default=None, description="How it was acquired")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size_bytes: NonNegativeInt
    media_type: str = "application/octet-stream"
