"""Routes for this part of issue 6 (filled in by the work on it)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
