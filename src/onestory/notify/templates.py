"""Plain-language messages, one text file per template and language, rendered with Jinja2.

Each file is ``templates/<language>/<name>.txt``: a first line ``Subject: ...``, a blank line,
then the body. Subjects never say what a message is about (someone else may see the person's
inbox or lock screen); the details wait behind sign-in. English and Welsh both exist for every
template, with the same placeholders, and there is no fallback from one to the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

import jinja2
from jinja2 import meta

TEMPLATE_NAMES = (
    "story-received",
    "story-shared",
    "hearing-listed",
    "hearing-outcome",
    "charge-decided",
    "case-outcome",
    "sentence-passed",
    "offender-release",
    "vcs-referral",
    "complaint-received",
    "sign-in-link",
    "timeline-update",
)
LANGUAGES = ("en", "cy")
_SUBJECT_PREFIX = "Subject: "

# Plain text, never HTML: escaping would turn "O'Brien" into "O&#39;Brien" in an email.
_ENV = jinja2.Environment(
    undefined=jinja2.StrictUndefined,
    autoescape=False,  # noqa: S701 - text messages, never HTML
    keep_trailing_newline=False,
)


class TemplateError(ValueError):
    """A message that cannot be rendered; the message names the template and what is wrong."""


@dataclass(frozen=True)
class Rendered:
    """A message as the person will read it."""

    subject: str
    body: str


@dataclass(frozen=True)
class _Compiled:
    subject: jinja2.Template
    body: jinja2.Template
    placeholders: frozenset[str]


def render(template: str, language: str, personalisation: Mapping[str, object]) -> Rendered:
    """Render ``template`` in ``language``; every placeholder must be in ``personalisation``."""
    compiled = _compiled(template, language)
    missing = sorted(compiled.placeholders - set(personalisation))
    if missing:
        raise TemplateError(
            f"template {template!r} ({language}) needs personalisation field"
            f"{'s' if len(missing) > 1 else ''} {', '.join(repr(m) for m in missing)}"
        )
    values = dict(personalisation)
    try:
        return Rendered(
            subject=compiled.subject.render(values).strip(),
            body=compiled.body.render(values).strip() + "\n",
        )
    except jinja2.UndefinedError as exc:  # an attribute of a field, say; still name the template
        raise TemplateError(f"template {template!r} ({language}): {exc.message}") from exc


def placeholders(template: str, language: str) -> frozenset[str]:
    """The personalisation fields ``template`` uses in ``language``."""
    return _compiled(template, language).placeholders


@cache
def _compiled(template: str, language: str) -> _Compiled:
    if language not in LANGUAGES:
        raise TemplateError(
            f"no language {language!r} for template {template!r}; use one of {', '.join(LANGUAGES)}"
        )
    if template not in TEMPLATE_NAMES:
        raise TemplateError(
            f"no template {template!r}; the templates are {', '.join(TEMPLATE_NAMES)}"
        )
    source = _source(template, language)
    name = f"{language}/{template}.txt"
    first, _, rest = source.partition("\n")
    if not first.startswith(_SUBJECT_PREFIX) or not rest.startswith("\n"):
        raise TemplateError(
            f"template file {name} must start with a 'Subject: ...' line and then a blank line"
        )
    subject_source, body_source = first[len(_SUBJECT_PREFIX) :], rest[1:]
    try:
        fields = meta.find_undeclared_variables(_ENV.parse(subject_source))
        fields |= meta.find_undeclared_variables(_ENV.parse(body_source))
        return _Compiled(
            subject=_ENV.from_string(subject_source),
            body=_ENV.from_string(body_source),
            placeholders=frozenset(fields),
        )
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template file {name}: {exc.message} (line {exc.lineno})") from exc


def _source(template: str, language: str) -> str:
    path = resources.files("onestory.notify").joinpath("templates", language, f"{template}.txt")
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise TemplateError(
            f"template {template!r} has no {language!r} text: add "
            f"src/onestory/notify/templates/{language}/{template}.txt"
        ) from exc
