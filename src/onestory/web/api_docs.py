"""``/api/docs``: the API's endpoints, listed from the OpenAPI document on a page of our own.

FastAPI's built-in Swagger UI page loads its script and styles from a CDN. OneStory runs where
there may be no internet (and its demo runs offline), and that page would also need the CSP
relaxed for a third-party origin and for inline script. So instead of loosening the policy,
this page lists every operation with the layout every other page uses, and links to
``/api/openapi.json`` for tools (Swagger UI, Redoc, client generators) to read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from onestory.web.templating import render

router = APIRouter(include_in_schema=False)

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    responses: str


def operations(openapi: dict[str, Any]) -> list[Operation]:
    """Every operation in an OpenAPI document, in path order."""
    found = []
    for path, item in sorted(openapi.get("paths", {}).items()):
        for method in HTTP_METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    summary=operation.get("summary") or operation.get("description") or "",
                    responses=", ".join(sorted(operation.get("responses", {}))),
                )
            )
    return found


@router.get("/api/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    openapi = request.app.openapi()
    return render(
        request,
        "api_docs.html",
        {
            "operations": operations(openapi),
            "api_version": openapi.get("info", {}).get("version", ""),
            "openapi_url": request.app.openapi_url,
        },
    )
