"""The outbox: the effects a commit decided, as items the table stream hands to the NotifierFunction."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from infra.views import effect_view
from sla.effects import Effect


def outbox_items(ticket_id: str, effects: Iterable[Effect], now: int) -> list[dict[str, Any]]:
    """The items that carry `effects` (in the order they were decided) to the notifier."""
    return [
        {
            "pk": f"EFFECT#{effect.effect_id}",
            "sk": "EFFECT",
            "kind": "effect",
            "ticket_id": ticket_id,
            "emitted_at": now,
            "payload": json.dumps(effect_view(effect)),
        }
        for effect in effects
    ]
