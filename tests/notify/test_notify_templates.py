"""Templates: both languages, the same placeholders, discreet subjects, clear errors."""

from __future__ import annotations

import re

import pytest

from onestory.notify.templates import LANGUAGES, TEMPLATE_NAMES, TemplateError, placeholders, render

SAMPLE = {
    "reference": "OS-2024-0001",
    "organisation": "Cymorth i Ddioddefwyr Cymru",
    "court": "Cardiff Crown Court",
    "date": "Tuesday 4 June 2024",
    "time": "10:00am",
    "decision": "no further action",
    "sentence": "2 years' imprisonment",
    "sentence_meaning": "they will serve up to half of it in prison",
    "event": "a parole hearing has been set",
    "reply_due": "20 June 2024",
    "link": "https://onestory.example/sign-in/abc",
    "minutes": 15,
    "headline": "Your details have been updated",
}
# Words that would tell whoever sees a lock screen what the message is about, in both languages.
TELLING_WORDS = re.compile(
    r"crime|victim|court|abuse|offen[cs]e|offender|police|hearing|sentence|prison|release|"
    r"charge|domestic|violence|justice|trosedd|dioddef|llys|cam-drin|heddlu|dedfryd|carchar|"
    r"gwrandawiad|cyhuddiad|trais",
    re.IGNORECASE,
)


@pytest.mark.parametrize("template", TEMPLATE_NAMES)
def test_every_template_has_english_and_welsh_with_the_same_placeholders(template: str) -> None:
    assert placeholders(template, "en") == placeholders(template, "cy")
    for language in LANGUAGES:
        rendered = render(template, language, SAMPLE)
        assert rendered.subject and rendered.body.strip()
        assert "{{" not in rendered.body and "{{" not in rendered.subject


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("template", TEMPLATE_NAMES)
def test_subjects_never_say_what_the_message_is_about(template: str, language: str) -> None:
    subject = render(template, language, SAMPLE).subject
    assert not TELLING_WORDS.search(subject), subject


@pytest.mark.parametrize("template", TEMPLATE_NAMES)
def test_every_message_ends_by_saying_how_to_see_the_details(template: str) -> None:
    assert "sign in" in render(template, "en", SAMPLE).body.strip().splitlines()[-1]
    # "mewngofnodi" (sign in) mutates to "fewngofnodi" after "i".
    assert "ewngofnod" in render(template, "cy", SAMPLE).body.strip().splitlines()[-1]


def test_placeholders_are_filled_in_as_plain_text() -> None:
    rendered = render("story-shared", "en", {"organisation": "O'Brien & Daughters <Support>"})
    assert "O'Brien & Daughters <Support>" in rendered.body
    assert rendered.subject == "An update from OneStory"


def test_a_missing_field_is_an_error_naming_the_template_and_the_field() -> None:
    with pytest.raises(TemplateError, match=r"'hearing-listed' \(cy\).*'court'"):
        render("hearing-listed", "cy", {"date": "4 June", "time": "10:00"})


def test_several_missing_fields_are_named_together() -> None:
    with pytest.raises(TemplateError, match=r"fields 'link', 'minutes'"):
        render("sign-in-link", "en", {})


def test_extra_fields_are_allowed_for_callers_that_pass_preferences_through() -> None:
    rendered = render("vcs-referral", "en", {"do_not_leave_messages": True})
    assert "Victim Contact Scheme" in rendered.body


def test_an_unknown_template_or_language_says_what_exists() -> None:
    with pytest.raises(TemplateError, match=r"no template 'story-recieved'.*story-received"):
        render("story-recieved", "en", {})
    with pytest.raises(TemplateError, match=r"no language 'fr'.*en, cy"):
        render("story-received", "fr", {"reference": "x"})
