"""Messages to people (email and text), queued with the change they report and sent later.

``enqueue`` in the caller's transaction; ``deliver_due`` from a worker; a channel chosen by
``ONESTORY_NOTIFY_CHANNEL``. See docs/notify.md.
"""

from onestory.notify.channels import (
    Channel,
    FileChannel,
    GovukNotifyChannel,
    SendResult,
    SmtpChannel,
    channel_from_settings,
)
from onestory.notify.contact import ContactWindow, ContactWindowError, is_allowed, next_allowed
from onestory.notify.outbox import OutboxError, enqueue
from onestory.notify.tables import NotifyMessage
from onestory.notify.templates import Rendered, TemplateError, render
from onestory.notify.worker import (
    MAX_ATTEMPTS,
    DeliveryHook,
    DeliveryReport,
    deliver_due,
    deliver_every,
    register_delivery_hook,
)

__all__ = [
    "MAX_ATTEMPTS",
    "Channel",
    "ContactWindow",
    "ContactWindowError",
    "DeliveryHook",
    "DeliveryReport",
    "FileChannel",
    "GovukNotifyChannel",
    "NotifyMessage",
    "OutboxError",
    "Rendered",
    "SendResult",
    "SmtpChannel",
    "TemplateError",
    "channel_from_settings",
    "deliver_due",
    "deliver_every",
    "enqueue",
    "is_allowed",
    "next_allowed",
    "register_delivery_hook",
    "render",
]
