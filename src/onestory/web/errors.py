"""Error pages in the GOV.UK pattern wording, and JSON errors under ``/api/``."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from onestory.web.csrf import CsrfError
from onestory.web.identity import SignInRequired
from onestory.web.security import apply_security_headers, new_nonce
from onestory.web.templating import render

_PAGES: dict[int, tuple[str, list[str]]] = {
    403: (
        "You do not have permission to see this page",
        ["If you think you should have access, contact your administrator."],
    ),
    404: (
        "Page not found",
        [
            "If you typed the web address, check it is correct.",
            "If you pasted the web address, check you copied the entire address.",
        ],
    ),
    405: (
        "Sorry, there is a problem with the service",
        ["This page cannot be used in that way. Go back and try again."],
    ),
    500: ("Sorry, there is a problem with the service", ["Try again later."]),
}
_OTHER = ("Sorry, there is a problem with the service", ["Go back and try again."])


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error_page(request: Request, status_code: int, **context: object) -> Response:
    heading, paragraphs = _PAGES.get(status_code, _OTHER)
    return render(
        request,
        "error.html",
        {"heading": heading, "paragraphs": paragraphs, **context},
        status_code=status_code,
    )


async def http_error(request: Request, exc: Exception) -> Response:
    """404, 403 and the rest: a page for people, JSON for the API."""
    assert isinstance(exc, StarletteHTTPException)
    if _wants_json(request):
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )
    response = _error_page(request, exc.status_code)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def csrf_error(request: Request, exc: Exception) -> Response:
    """A form without its security token: say what probably happened and what to do."""
    assert isinstance(exc, CsrfError)
    if _wants_json(request):
        return JSONResponse({"detail": f"CSRF check failed: {exc.reason}"}, status_code=403)
    return render(
        request,
        "error.html",
        {
            "heading": "Your form could not be sent",
            "paragraphs": [
                "OneStory could not check that the form came from this service, so it did not "
                "act on it. This happens if the page was open for a long time, or if you signed "
                "in or out in another tab.",
                "Go back, reload the page and try again.",
            ],
        },
        status_code=403,
    )


async def sign_in_required(request: Request, exc: Exception) -> Response:
    """Send the browser to sign in, and back to the page afterwards."""
    assert isinstance(exc, SignInRequired)
    if _wants_json(request):
        return JSONResponse({"detail": "Sign in required"}, status_code=401)
    return RedirectResponse(f"/sign-in?{urlencode({'next': exc.next_path})}", status_code=303)


async def server_error(request: Request, exc: Exception) -> Response:
    """An unexpected failure.

    Starlette calls this outside every middleware, so the security headers are added here, and
    the page does not look up the signed-in user: the database may be what failed.
    """
    nonce = getattr(request.state, "csp_nonce", None) or new_nonce()
    request.state.csp_nonce = nonce
    if _wants_json(request):
        response: Response = JSONResponse({"detail": "Internal server error"}, status_code=500)
    else:
        response = _error_page(request, 500, current_user=None, csrf_token="")
    production = request.app.state.settings.env == "production"
    apply_security_headers(response.headers, nonce, production=production)
    return response
