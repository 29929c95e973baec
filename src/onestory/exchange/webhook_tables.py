"""Outbound webhooks: subscriptions and deliveries (filled in by the webhooks work)."""

from __future__ import annotations
