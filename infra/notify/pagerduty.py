"""PagerDuty Events API v2: one incident per breached clock, opened, acknowledged and resolved by dedup key.

The dedup key is the clock's (ticket, metric, cycle), the same at every step of the ladder, so a repeated
trigger updates the open incident instead of opening a second one, and a resolve closes the incident
whichever step paged it. Acknowledge and resolve carry nothing but the key: PagerDuty ignores a payload
on them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from infra.notify.http import JsonPoster
from infra.settings import PAGERDUTY_EVENTS_URL
from sla.effects import Alert

SOURCE = "sla-engine"
MAX_SUMMARY = 1024  # the API's limit on payload.summary


def _iso(epoch: int | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_for(alert: Alert, routing_key: str, summary: str) -> dict[str, Any]:
    """The Events API v2 body for an alert; warnings (when a route opts in) open low-urgency incidents."""
    if alert.kind in ("acknowledge", "resolve"):
        return {"routing_key": routing_key, "event_action": alert.kind, "dedup_key": alert.dedup_key}
    details: dict[str, Any] = {
        "ticket_id": alert.ticket_id,
        "metric": alert.metric,
        "cycle": alert.cycle,
        "support_level": alert.support_level,
        "route": alert.route,
        "paged_route": alert.delivered_to,
        "due_at": _iso(alert.due_at),
    }
    if alert.kind == "trigger":
        details["escalation_step"] = alert.step + 1
    if alert.fraction is not None:
        details["fraction_of_target"] = alert.fraction
    payload: dict[str, Any] = {
        "summary": summary[:MAX_SUMMARY],
        "source": SOURCE,
        "severity": "critical" if alert.kind == "trigger" else "warning",
        "timestamp": _iso(alert.at),
        "component": alert.metric,
        "class": "sla_breach" if alert.kind == "trigger" else "sla_warning",
        "custom_details": details,
    }
    if alert.support_level:
        payload["group"] = alert.support_level
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": alert.dedup_key,
        "client": SOURCE,
        "payload": payload,
    }


class PagerDutyClient:
    def __init__(self, poster: JsonPoster, endpoint: str = PAGERDUTY_EVENTS_URL) -> None:
        self.poster = poster
        self.endpoint = endpoint

    def send(self, alert: Alert, routing_key: str, summary: str) -> None:
        """Enqueue the event; PagerDuty answers 202 once it has accepted it."""
        self.poster.post(self.endpoint, event_for(alert, routing_key, summary), "pagerduty")
