"""Ways a message leaves OneStory: a folder of files, an SMTP server, or GOV.UK Notify.

Every channel is a real implementation chosen by configuration (``ONESTORY_NOTIFY_CHANNEL``);
the file channel is the demo's and the tests', so nothing needs mocking. A channel never
raises for a failed delivery: it answers with a ``SendResult`` in Notify's delivery states,
and the worker decides whether to try again.
"""

from __future__ import annotations

import json
import os
import re
import smtplib
import ssl
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any, Protocol

from onestory.config import ConfigurationError, Settings
from onestory.notify.tables import (
    DELIVERED,
    EMAIL,
    PERMANENT_FAILURE,
    SENDING,
    SMS,
    TECHNICAL_FAILURE,
    TEMPORARY_FAILURE,
    NotifyMessage,
)
from onestory.store.base import utcnow


@dataclass(frozen=True)
class SendResult:
    """What a channel says about a message: its state, the channel's id for it, and why not.

    ``completed_at`` is when the provider says it was delivered, when it says so.
    """

    status: str
    provider_id: str | None = None
    error: str | None = None
    completed_at: datetime | None = None


class Channel(Protocol):
    """Something that can send a message and, if delivery is asynchronous, report on it."""

    def send(self, message: NotifyMessage) -> SendResult:
        """Hand the message over; ``delivered``, ``sending`` (ask later) or a failure state."""
        ...

    def check(self, message: NotifyMessage) -> SendResult:
        """Where a ``sending`` message has got to; ``sending`` with an error if unknown."""
        ...


class FileChannel:
    """Writes each message as ``<id>.json`` in a folder, so a newcomer can read what was sent.

    Idempotent by message id: a message sent twice (a worker died between writing and
    recording) is one file, written once.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path_for(self, message: NotifyMessage) -> Path:
        """The file a message is (or will be) written to."""
        return self.directory / f"{message.id}.json"

    def send(self, message: NotifyMessage) -> SendResult:
        path = self.path_for(message)
        if path.exists():
            return SendResult(DELIVERED, provider_id=path.name)
        document = {
            "id": message.id,
            "channel": message.channel,
            "to": message.address,
            "subject": message.subject,
            "body": message.body,
            "template": message.template,
            "language": message.language,
            "reference": message.reference,
            "writtenAt": utcnow().isoformat(),
        }
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            # Write beside the target and rename: a reader never sees half a message.
            handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    json.dump(document, out, indent=2, ensure_ascii=False)
                    out.write("\n")
                os.replace(temporary, path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as exc:
            return SendResult(
                TECHNICAL_FAILURE, error=f"cannot write {path}: {exc.strerror or exc}"
            )
        return SendResult(DELIVERED, provider_id=path.name)

    def check(self, message: NotifyMessage) -> SendResult:
        if self.path_for(message).exists():
            return SendResult(DELIVERED, provider_id=message.provider_id)
        return SendResult(TECHNICAL_FAILURE, error=f"{self.path_for(message)} has gone")


class SmtpChannel:
    """Email through an SMTP server (a relay, or a local one in development)."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 30.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password, self.starttls = username, password, starttls
        self.timeout = timeout

    def send(self, message: NotifyMessage) -> SendResult:
        if message.channel != EMAIL:
            return SendResult(
                PERMANENT_FAILURE,
                error=f"the SMTP channel sends email only; message {message.id} is "
                f"{message.channel!r} (use ONESTORY_NOTIFY_CHANNEL=govuk_notify for text messages)",
            )
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.address
        email["Subject"] = message.subject
        email["Date"] = formatdate(localtime=False)
        # A stable Message-ID: a message sent twice after a crash is recognisably one message.
        email["Message-ID"] = f"<{message.id}@onestory.notify>"
        email.set_content(message.body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            return _smtp_reply(code, reply, "refused the recipient")
        except smtplib.SMTPResponseException as exc:
            return _smtp_reply(exc.smtp_code, exc.smtp_error, "refused the message")
        except (smtplib.SMTPException, OSError) as exc:
            return SendResult(
                TECHNICAL_FAILURE,
                error=f"cannot reach the SMTP server {self.host}:{self.port}: "
                f"{type(exc).__name__}: {exc}",
            )
        return SendResult(DELIVERED, provider_id=str(email["Message-ID"]))

    def check(self, message: NotifyMessage) -> SendResult:
        # SMTP hands over synchronously: what send said is final.
        return SendResult(message.status, message.provider_id, message.last_error)


def _smtp_reply(code: int, reply: bytes | str, what: str) -> SendResult:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    error = f"the SMTP server {what}: {code} {text}"
    if 400 <= code < 500:
        return SendResult(TEMPORARY_FAILURE, error=error)
    if 500 <= code < 600:
        return SendResult(PERMANENT_FAILURE, error=error)
    return SendResult(TECHNICAL_FAILURE, error=error)


# Notify's states, for email and text messages, in ours. "sent" is a text message to an
# international number: Notify will learn nothing more, so it is as delivered as it gets.
NOTIFY_STATUSES = {
    "created": SENDING,
    "sending": SENDING,
    "pending": SENDING,
    "sent": DELIVERED,
    "delivered": DELIVERED,
    "permanent-failure": PERMANENT_FAILURE,
    "temporary-failure": TEMPORARY_FAILURE,
    "technical-failure": TECHNICAL_FAILURE,
}
_NOT_FAILED = frozenset({"created", "sending", "pending", "sent", "delivered"})
_API_KEY = re.compile(r"^.+-[0-9a-fA-F-]{36}-[0-9a-fA-F-]{36}$")


class GovukNotifyChannel:
    """Email and text messages through GOV.UK Notify, with one generic template per channel.

    The service must create, in Notify, an email template whose subject is ``((subject))`` and
    whose body is ``((body))``, and a text message template whose body is ``((body))``; their
    ids go in ``ONESTORY_GOVUK_NOTIFY_EMAIL_TEMPLATE_ID`` and ``..._SMS_TEMPLATE_ID``. The
    wording lives here, in both languages, not in Notify.
    """

    def __init__(
        self,
        api_key: str,
        base_url: str,
        email_template_id: str | None,
        sms_template_id: str | None,
        timeout: float = 30.0,
    ) -> None:
        if not _API_KEY.match(api_key):
            raise ConfigurationError(
                "ONESTORY_GOVUK_NOTIFY_API_KEY is not a Notify API key "
                "(expected key-name-<service id>-<secret>, as Notify shows it once)"
            )
        self._api_key = api_key
        self.base_url = base_url
        self.template_ids = {EMAIL: email_template_id, SMS: sms_template_id}
        self.timeout = timeout

    def _client(self) -> Any:
        # One client per call: the Notify client is not thread-safe, and calls are not hot.
        from notifications_python_client.notifications import NotificationsAPIClient

        return NotificationsAPIClient(  # type: ignore[no-untyped-call]
            self._api_key, base_url=self.base_url, timeout=self.timeout
        )

    def send(self, message: NotifyMessage) -> SendResult:
        template_id = self.template_ids.get(message.channel)
        if not template_id:
            setting = f"ONESTORY_GOVUK_NOTIFY_{message.channel.upper()}_TEMPLATE_ID"
            return SendResult(
                PERMANENT_FAILURE, error=f"cannot send {message.channel}: {setting} is not set"
            )
        client = self._client()
        personalisation = {"subject": message.subject, "body": message.body}
        try:
            if message.attempts > 1:
                # A retry: an earlier attempt may have reached Notify before the worker died.
                earlier = _accepted_earlier(client, message.idempotency_key)
                if earlier is not None:
                    return earlier
            if message.channel == EMAIL:
                response = client.send_email_notification(
                    email_address=message.address,
                    template_id=template_id,
                    personalisation=personalisation,
                    reference=message.idempotency_key,
                )
            else:
                response = client.send_sms_notification(
                    phone_number=message.address,
                    template_id=template_id,
                    personalisation=personalisation,
                    reference=message.idempotency_key,
                )
        except Exception as exc:  # the client raises its own errors and requests' alike
            return _api_failure(exc, "send the message")
        return SendResult(SENDING, provider_id=str(response["id"]))

    def check(self, message: NotifyMessage) -> SendResult:
        if not message.provider_id:
            return SendResult(SENDING, error="no Notify id to ask about")
        try:
            notification = self._client().get_notification_by_id(message.provider_id)
        except Exception as exc:
            failure = _api_failure(exc, "ask about the message")
            # Not knowing is not a failure of the message: it is still with Notify.
            return SendResult(SENDING, message.provider_id, failure.error)
        return _from_notification(notification)


def _accepted_earlier(client: Any, reference: str) -> SendResult | None:
    found = client.get_all_notifications(reference=reference).get("notifications", [])
    for notification in found:
        if notification.get("status") in _NOT_FAILED:
            return _from_notification(notification)
    return None


def _from_notification(notification: dict[str, Any]) -> SendResult:
    raw = str(notification.get("status"))
    provider_id = str(notification.get("id"))
    status = NOTIFY_STATUSES.get(raw)
    if status is None:
        return SendResult(SENDING, provider_id, f"Notify reported an unknown status {raw!r}")
    completed_at = _parse_time(notification.get("completed_at"))
    error = None if status in (SENDING, DELIVERED) else f"Notify reported {raw}"
    return SendResult(status, provider_id, error, completed_at)


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _api_failure(exc: Exception, doing: str) -> SendResult:
    from notifications_python_client.errors import APIError

    if isinstance(exc, APIError):
        code = exc.status_code
        detail = exc.message
        if isinstance(detail, list):
            detail = "; ".join(f"{e.get('error')}: {e.get('message')}" for e in detail)
        error = f"GOV.UK Notify could not {doing}: HTTP {code}: {detail}"
        # 429 (rate limit) passes with time, like a server error; other 4xx never will.
        if 400 <= code < 500 and code != 429:
            return SendResult(PERMANENT_FAILURE, error=error)
        return SendResult(TECHNICAL_FAILURE, error=error)
    return SendResult(
        TECHNICAL_FAILURE, error=f"GOV.UK Notify could not {doing}: {type(exc).__name__}: {exc}"
    )


def channel_from_settings(settings: Settings) -> Channel:
    """The channel ``ONESTORY_NOTIFY_CHANNEL`` names, built from its settings."""
    if settings.notify_channel == "file":
        return FileChannel(settings.data_dir / "outbox")
    if settings.notify_channel == "smtp":
        if not settings.smtp_host:
            raise ConfigurationError("ONESTORY_SMTP_HOST must be set for the smtp channel")
        if settings.smtp_username and not settings.smtp_password:
            raise ConfigurationError(
                "ONESTORY_SMTP_PASSWORD must be set when ONESTORY_SMTP_USERNAME is"
            )
        return SmtpChannel(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_sender,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            starttls=settings.smtp_starttls,
        )
    if settings.notify_channel == "govuk_notify":
        if not settings.govuk_notify_api_key:
            raise ConfigurationError(
                "ONESTORY_GOVUK_NOTIFY_API_KEY must be set for the govuk_notify channel"
            )
        if not settings.govuk_notify_email_template_id:
            raise ConfigurationError(
                "ONESTORY_GOVUK_NOTIFY_EMAIL_TEMPLATE_ID must be set for the govuk_notify channel "
                "(the id of a Notify email template with subject ((subject)) and body ((body)))"
            )
        return GovukNotifyChannel(
            api_key=settings.govuk_notify_api_key.get_secret_value(),
            base_url=settings.govuk_notify_base_url,
            email_template_id=settings.govuk_notify_email_template_id,
            sms_template_id=settings.govuk_notify_sms_template_id,
        )
    raise ConfigurationError(  # pragma: no cover - the Literal type keeps this out
        f"ONESTORY_NOTIFY_CHANNEL={settings.notify_channel!r} is not file, smtp or govuk_notify"
    )
