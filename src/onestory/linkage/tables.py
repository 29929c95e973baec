"""The person index: who each agency record really is (filled in by the linkage work)."""

from __future__ import annotations
