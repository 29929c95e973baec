"""Security headers on every response, with a fresh Content-Security-Policy nonce per request.

The policy allows scripts only from this origin or carrying the request's nonce, styles, fonts
and images only from this origin, and no framing. ``/api/docs`` is a page of our own, rendered
from the OpenAPI document, so the one policy covers it too (see ``web.api_docs``).
"""

from __future__ import annotations

import secrets

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

NONCE_BYTES = 16
HSTS_SECONDS = 365 * 24 * 60 * 60
OWN_POLICY_HEADERS = ("content-security-policy", "x-frame-options")


def content_security_policy(nonce: str) -> str:
    """The CSP header value for a response whose scripts carry ``nonce``."""
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def security_headers(nonce: str, *, production: bool) -> dict[str, str]:
    """Every security header OneStory sends."""
    headers = {
        "Content-Security-Policy": content_security_policy(nonce),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        # Only features Chromium knows: an unknown one is logged as a console error.
        "Permissions-Policy": "camera=(), geolocation=(), microphone=(), payment=(), usb=()",
        "Cross-Origin-Opener-Policy": "same-origin",
        "X-Frame-Options": "DENY",
    }
    if production:
        # Only in production: HSTS sent from a developer's http://127.0.0.1 would be ignored,
        # but sent from a test domain it would pin that domain to HTTPS for a year.
        headers["Strict-Transport-Security"] = f"max-age={HSTS_SECONDS}; includeSubDomains"
    return headers


def apply_security_headers(headers: MutableHeaders, nonce: str, *, production: bool) -> None:
    """Set the security headers on ``headers``, replacing any already there."""
    for name, value in security_headers(nonce, production=production).items():
        headers[name] = value


def new_nonce() -> str:
    """A random nonce for one response."""
    return secrets.token_urlsafe(NONCE_BYTES)


class SecurityHeadersMiddleware:
    """Puts a nonce on ``request.state.csp_nonce`` and the headers on the response.

    A plain ASGI middleware rather than Starlette's ``BaseHTTPMiddleware``, so that streamed
    responses pass through untouched.
    """

    def __init__(self, app: ASGIApp, *, production: bool) -> None:
        self.app = app
        self.production = production

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = new_nonce()
        scope.setdefault("state", {})["csp_nonce"] = nonce

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                # A response that sets its own, stricter policy keeps it with its framing rule:
                # evidence content, which our own item page frames and which never runs scripts.
                own = {
                    name: headers[name]
                    for name in OWN_POLICY_HEADERS
                    if "content-security-policy" in headers and name in headers
                }
                apply_security_headers(headers, nonce, production=self.production)
                for name, value in own.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
