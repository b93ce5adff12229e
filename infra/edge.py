"""The ingest edge: an EventBridge event as text or object, read into a validated event or a rejection.

Kept apart from the ticket service because it is the one place that may refuse input: what passes here is
stored and later folded, so every check of the contract (SPEC section 3) and its bounds lives here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sla.events import SOURCE, EventDetail, InvalidEvent, parse_detail


@dataclass(frozen=True)
class EdgeRejection:
    """Input refused at the edge, with the id to keep it under and the reason (field and problem)."""

    event_id: str
    reason: str
    raw: str


@dataclass(frozen=True)
class EdgeEvent:
    detail_type: str
    event: EventDetail
    raw: str


def read_text(body: str, now: int, fallback_id: str) -> EdgeEvent | EdgeRejection:
    """One EventBridge event as JSON text, received at `now` (epoch seconds)."""
    try:
        envelope = json.loads(body)
    except json.JSONDecodeError as error:
        return EdgeRejection(fallback_id, f"body: not JSON ({error.msg} at char {error.pos})", body)
    if not isinstance(envelope, dict):
        return EdgeRejection(fallback_id, "body: an EventBridge event must be a JSON object", body)
    return read_envelope(envelope, now, fallback_id, body)


def read_envelope(
    envelope: dict[str, Any], now: int, fallback_id: str, raw: str | None = None
) -> EdgeEvent | EdgeRejection:
    """One EventBridge event as an object, received at `now` (epoch seconds)."""
    raw = raw if raw is not None else json.dumps(envelope)
    detail = envelope.get("detail")
    event_id = detail.get("event_id") if isinstance(detail, dict) else None
    event_id = event_id if isinstance(event_id, str) and event_id else str(envelope.get("id") or fallback_id)
    if envelope.get("source") != SOURCE:
        return EdgeRejection(event_id, f"source: expected {SOURCE!r}, got {envelope.get('source')!r}", raw)
    detail_type = envelope.get("detail-type")
    if not isinstance(detail_type, str):
        return EdgeRejection(event_id, "detail-type: missing", raw)
    if not isinstance(detail, dict):
        return EdgeRejection(event_id, "detail: missing or not an object", raw)
    try:
        event = parse_detail(detail_type, detail)
    except InvalidEvent as invalid:
        return EdgeRejection(event_id, invalid.reason, raw)
    return EdgeEvent(detail_type, event, raw)
