"""Template lookup: our templates, GOV.UK Frontend's macros, and a context's own templates."""

from __future__ import annotations

import pytest

from onestory.web import templating


def test_govuk_macros_are_found_under_their_prefix() -> None:
    template = templating.templates.from_string(
        '{% from "govuk_frontend_jinja/components/tag/macro.html" import govukTag %}'
        "{{ govukTag({'text': 'Alpha & <beta>'}) }}"
    )
    html = template.render()
    assert 'class="govuk-tag"' in html
    assert "Alpha &amp; &lt;beta&gt;" in html  # autoescaped


def test_a_context_can_add_its_own_templates() -> None:
    templating.add_template_package("webcopy", "onestory.web")
    try:
        source = templating.templates.loader.get_source(templating.templates, "webcopy/error.html")
        assert "paragraphs" in source[0]
        with pytest.raises(ValueError, match="already taken"):
            templating.add_template_package("webcopy", "onestory.web")
    finally:
        del templating._prefixed["webcopy"]


def test_csrf_field_renders_an_escaped_hidden_input() -> None:
    html = templating.templates.from_string("{{ csrf_field() }}").render(csrf_token='a"b')
    assert html == '<input type="hidden" name="csrf_token" value="a&#34;b">'
