"""The persistence codec of events: how a stored event is written and read back (SPEC section 3).

Stored history is read leniently, not with the edge's rules: an event the edge accepted once stays
foldable when a newer tzdata renames a zone or a newer holidays library drops a country, and when the
bounds of `occurred_at` (relative to a receipt long past) no longer hold. So decoding re-validates the
structure under the `stored` validation context of `sla.events`, where those checks do not refuse.

The text is versioned, `{"v": 1, "detail": {...}}`, so the format can change without rewriting the table.
Version 1 keeps only the fields the producer set (`exclude_unset`), so an explicit `null` (a
`Support Plan Changed` clearing `contact_email`) stays distinct from an absent field (keep the address),
and the decoded event's `model_fields_set` is the one that was stored.

Legacy text, a bare `model_dump_json()` of the detail written before this codec, is still read. It wrote
every field, the unset ones as `null`, and was written when a `null` plan field meant "unchanged", so its
`null`s are read as absent: the history means what it meant when it was folded.
"""

from __future__ import annotations

import json
from typing import Any, Final

from pydantic import ValidationError

from sla.events import DETAIL_MODELS, STORED, EventDetail, describe_validation_error, excerpt

VERSION: Final = 1


class UndecodableEvent(ValueError):
    """A stored event that cannot be read back at all: an unknown type or version, or broken text.

    Not an input error to reject: the table holds something this code cannot read, which an operator fixes.
    """


def encode_event(event: EventDetail) -> str:
    """The stored text of an accepted event."""
    detail = event.model_dump(mode="json", exclude_unset=True)
    return json.dumps({"v": VERSION, "detail": detail}, ensure_ascii=False, separators=(",", ":"))


def decode_event(detail_type: str, text: str) -> EventDetail:
    """A stored event read back, in the version 1 format or the legacy one, checked for structure only."""
    model = DETAIL_MODELS.get(detail_type)
    if model is None:
        raise UndecodableEvent(f"stored event of unknown type {excerpt(detail_type)}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise UndecodableEvent(f"stored {detail_type}: not JSON ({error.msg} at char {error.pos})") from None
    detail = _detail_of(detail_type, data)
    try:
        return model.model_validate(detail, context={STORED: True})
    except ValidationError as error:
        raise UndecodableEvent(f"stored {detail_type}: {describe_validation_error(error)}") from None


def _detail_of(detail_type: str, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise UndecodableEvent(f"stored {detail_type}: not a JSON object")
    if "v" not in data:  # legacy: every field, the unset ones as null
        return {key: value for key, value in data.items() if value is not None}
    version, detail = data["v"], data.get("detail")
    if version != VERSION:
        raise UndecodableEvent(f"stored {detail_type}: unknown format version {excerpt(version)}")
    if not isinstance(detail, dict):
        raise UndecodableEvent(f"stored {detail_type}: version {VERSION} without a detail object")
    return detail
