"""What happens when an agency event arrives, wherever it comes from.

An event can come through the API, a staff page or a bulk file (``onestory ingest events``);
each path ends in ``exchange.intake.receive_event``, which calls the subscribers in the event's
own transaction. The web application and the command line both connect the same ones here, so
an event loaded from a file moves a victim's timeline and reaches subscribed agency systems
exactly as one posted to the API does.
"""

from __future__ import annotations

from onestory.exchange import webhooks
from onestory.exchange.intake import subscribe
from onestory.sharing.policy import PolicySet
from onestory.victims import timeline


def connect_event_subscribers(policies: PolicySet) -> None:
    """Victims' timelines and duty clocks follow events; subscribed systems get webhooks.

    The Victims' Code rules are checked first, so a broken rule file stops start-up rather than
    the first event. Connecting twice is harmless.
    """
    timeline.check_rules()
    subscribe(timeline.on_event)
    webhooks.use_policies(policies)
    subscribe(webhooks.on_event)
