"""Choosing a channel from the settings, and errors that name the setting to fix."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from pydantic import SecretStr

from onestory.config import ConfigurationError, Settings
from onestory.notify.channels import (
    FileChannel,
    GovukNotifyChannel,
    SmtpChannel,
    channel_from_settings,
)

KEY = f"live-{uuid.uuid4()}-{uuid.uuid4()}"


def test_the_file_channel_writes_under_the_data_directory(tmp_path: Path) -> None:
    channel = channel_from_settings(Settings(notify_channel="file", data_dir=tmp_path))
    assert isinstance(channel, FileChannel) and channel.directory == tmp_path / "outbox"


def test_smtp_from_settings() -> None:
    settings = Settings(
        notify_channel="smtp",
        smtp_host="mail.example",
        smtp_port=587,
        smtp_username="u",
        smtp_password=SecretStr("p"),
        smtp_starttls=True,
    )
    channel = channel_from_settings(settings)
    assert isinstance(channel, SmtpChannel)
    assert (channel.host, channel.port, channel.starttls, channel.password) == (
        "mail.example",
        587,
        True,
        "p",
    )


def test_smtp_with_a_username_needs_a_password() -> None:
    with pytest.raises(ConfigurationError, match="ONESTORY_SMTP_PASSWORD must be set"):
        channel_from_settings(Settings(notify_channel="smtp", smtp_username="u"))


def test_notify_needs_an_api_key() -> None:
    with pytest.raises(ConfigurationError, match="ONESTORY_GOVUK_NOTIFY_API_KEY must be set"):
        channel_from_settings(Settings(notify_channel="govuk_notify"))


def test_notify_needs_an_email_template() -> None:
    settings = Settings(notify_channel="govuk_notify", govuk_notify_api_key=SecretStr(KEY))
    with pytest.raises(ConfigurationError, match="ONESTORY_GOVUK_NOTIFY_EMAIL_TEMPLATE_ID"):
        channel_from_settings(settings)


def test_notify_from_settings() -> None:
    settings = Settings(
        notify_channel="govuk_notify",
        govuk_notify_api_key=SecretStr(KEY),
        govuk_notify_email_template_id="e",
    )
    channel = channel_from_settings(settings)
    assert isinstance(channel, GovukNotifyChannel)
    assert channel.template_ids == {"email": "e", "sms": None}
