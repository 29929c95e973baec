"""Jinja templates: ours, each context's, and the GOV.UK Frontend macros, with one render helper.

Templates are found in ``web/templates`` first, then under a prefix: ``govuk_frontend_jinja/...``
for the GOV.UK Frontend macros, and a context's own prefix once it calls ``add_template_package``
(for example ``victims/story.html`` from ``onestory/victims/templates/story.html``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    PrefixLoader,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context
from markupsafe import Markup

from onestory.web.csrf import FORM_FIELD, csrf_token
from onestory.web.identity import user_for_display

TEMPLATES_DIR = Path(__file__).parent / "templates"

_prefixed: dict[str, BaseLoader] = {
    "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja", "templates"),
}


@pass_context
def csrf_field(context: Context) -> Markup:
    """The hidden input every POST form needs: ``{{ csrf_field() }}``."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(
        FORM_FIELD, context["csrf_token"]
    )


def _build_environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(TEMPLATES_DIR), PrefixLoader(_prefixed)]),
        autoescape=select_autoescape(default=True, default_for_string=True),
        # Templates ship inside the package and change only with a new release; not checking
        # their files on every render halves the cost of a small page.
        auto_reload=False,
    )
    env.globals["csrf_field"] = csrf_field
    return env


templates = _build_environment()


def templating_prefixes() -> frozenset[str]:
    """The template prefixes registered so far."""
    return frozenset(_prefixed)


def add_template_package(prefix: str, package: str, directory: str = "templates") -> None:
    """Let templates be found as ``<prefix>/<name>`` in ``package``'s ``directory``."""
    if prefix in _prefixed:
        raise ValueError(f"template prefix {prefix!r} is already taken")
    _prefixed[prefix] = PackageLoader(package, directory)


def render(
    request: Request,
    template_name: str,
    context: Mapping[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a page, adding what every page needs: the CSP nonce, the CSRF token, the
    signed-in user and the current path. ``context`` may set ``current_user`` and
    ``csrf_token`` itself (the error page does, so as not to touch a failing database)."""
    nonce = getattr(request.state, "csp_nonce", None)
    values: dict[str, Any] = {
        "request": request,
        "csp_nonce": nonce,
        "cspNonce": nonce,
        "current_path": request.url.path,
    }
    values.update(context or {})
    if "csrf_token" not in values:
        values["csrf_token"] = csrf_token(request)
    if "current_user" not in values:
        values["current_user"] = user_for_display(request)
    html = templates.get_template(template_name).render(values)
    # Pages may show personal data: keep them out of shared and browser caches.
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})
