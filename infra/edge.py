"""The ingest edge: an EventBridge event as text or object, read into a validated event or a rejection.

Kept apart from the ticket service because it is the one place that may refuse input: what passes here is
stored and later folded, so every check of the contract (SPEC section 3) and its bounds lives here: the
receipt time `now` bounds `occurred_at`, which stored events are never checked against again.

A rejection is kept under an id and with a reason, both bounded whatever the input: the id is the detail's
`event_id` only when it is a valid identifier (else the envelope's `id`, else the SQS message id), and a
reason quotes at most a short excerpt of a bad value, so a hostile or broken event cannot make an item
DynamoDB refuses (a key over its size limit, an item over 400 KB) and so retry forever.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sla.events import (
    SOURCE,
    EventDetail,
    InvalidEvent,
    excerpt,
    is_identifier,
    json_kind,
    parse_detail,
)


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
        where = f"line {error.lineno}, column {error.colno}" if "\n" in body else f"column {error.colno}"
        return EdgeRejection(fallback_id, f"body: not JSON ({error.msg} at {where})", body)
    except RecursionError:  # nested thousands deep: no event is
        return EdgeRejection(fallback_id, "body: JSON nested too deeply to be an EventBridge event", body)
    if not isinstance(envelope, dict):
        problem = f"body: an EventBridge event must be a JSON object, got {json_kind(envelope)}"
        return EdgeRejection(fallback_id, problem, body)
    return read_envelope(envelope, now, fallback_id, body)


def read_envelope(
    envelope: dict[str, Any], now: int, fallback_id: str, raw: str | None = None
) -> EdgeEvent | EdgeRejection:
    """One EventBridge event as an object, received at `now` (epoch seconds)."""
    raw = raw if raw is not None else json.dumps(envelope)
    detail = envelope.get("detail")
    event_id = _usable_id(detail.get("event_id") if isinstance(detail, dict) else None)
    event_id = event_id or _usable_id(envelope.get("id")) or fallback_id
    source = envelope.get("source")
    if source != SOURCE:
        return EdgeRejection(event_id, f"source: expected {SOURCE!r}, got {excerpt(source)}", raw)
    detail_type = envelope.get("detail-type")
    if not isinstance(detail_type, str):
        return EdgeRejection(event_id, "detail-type: missing", raw)
    if not isinstance(detail, dict):
        return EdgeRejection(event_id, "detail: missing or not an object", raw)
    try:
        event = parse_detail(detail_type, detail, received_at=datetime.fromtimestamp(now, UTC))
    except InvalidEvent as invalid:
        return EdgeRejection(event_id, invalid.reason, raw)
    return EdgeEvent(detail_type, event, raw)


def _usable_id(value: object) -> str | None:
    """An id to keep a rejection under, if `value` is one the contract allows: an item key has a size limit."""
    return value if is_identifier(value) else None
