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

Personal data the engine never reads again is not stored (README, "Personal data"): `NOT_STORED` names
the fields the edge validates and the codec then drops, the `subject` of a Ticket Opened, the
`acknowledged_by` of an Alert Acknowledged, the `comment` of a Satisfaction Rated and the `reason` of a
Ticket Escalated. Decoding drops them too, from text stored before they were
left out, so a decoded event never carries them (they read as None). The refused input kept for an
operator goes through `redact_payload`: e-mail addresses replaced, free text removed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

from pydantic import ValidationError

from sla.events import STORED, EventDetail, describe_validation_error, excerpt
from sla.incidents import STORED_MODELS

VERSION: Final = 1

NOT_STORED: Final[Mapping[str, tuple[str, ...]]] = {
    "Ticket Opened": ("subject",),
    "Alert Acknowledged": ("acknowledged_by",),
    "Satisfaction Rated": ("comment",),  # the customer's own words: no figure reads them
    "Ticket Escalated": ("reason",),  # an agent's note on the ticket, free text: nothing reads it
}
"""Fields validated at the edge and then dropped: nothing reads them after the edge (personal data)."""
_STAND_IN: Final = "-"  # satisfies a dropped field's constraints while the rest of the event is validated


class UndecodableEvent(ValueError):
    """A stored event that cannot be read back at all: an unknown type or version, or broken text.

    Not an input error to reject: the table holds something this code cannot read, which an operator fixes.
    """


def encode_event(event: EventDetail) -> str:
    """The stored text of an accepted event.

    pydantic writes the detail's JSON itself: the text `json.dumps` gives of its `model_dump(mode="json")`
    with `ensure_ascii=False` and compact separators (tests/test_codec.py compares the two), without the
    dict in between."""
    dropped = NOT_STORED.get(event.detail_type)
    detail = event.model_dump_json(exclude_unset=True, exclude=set(dropped) if dropped else None)
    return f'{{"v":{VERSION},"detail":{detail}}}'


def decode_event(detail_type: str, text: str) -> EventDetail:
    """A stored event read back, in the version 1 format or the legacy one, checked for structure only."""
    model = STORED_MODELS.get(detail_type)  # the contract's events and the engine's incident notices
    if model is None:
        raise UndecodableEvent(f"stored event of unknown type {excerpt(detail_type)}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise UndecodableEvent(f"stored {detail_type}: not JSON ({error.msg} at char {error.pos})") from None
    detail = _detail_of(detail_type, data)
    dropped = NOT_STORED.get(detail_type, ())
    detail = {key: value for key, value in detail.items() if key not in dropped}
    # A dropped field the model still requires is validated with a stand-in, then set to None and unset.
    required = {name for name in dropped if model.model_fields[name].is_required()}
    try:
        event = model.model_validate({**detail, **dict.fromkeys(required, _STAND_IN)}, context={STORED: True})
    except ValidationError as error:
        raise UndecodableEvent(f"stored {detail_type}: {describe_validation_error(error)}") from None
    if not required:
        return event
    values = {name: getattr(event, name) for name in model.model_fields}
    values.update(dict.fromkeys(required))
    return model.model_construct(_fields_set=event.model_fields_set - required, **values)


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


# -- refused input, as an operator may inspect it ----------------------------------------------------------

REMOVED_KEYS: Final = frozenset(
    {
        "subject",
        "body",
        "message",
        "text",
        "comment",
        "comments",
        "content",
        "description",
        "note",
        "notes",
        "title",
        "summary",
        "reason",
        "html",
        "signature",
        "acknowledged_by",
        "name",
        "first_name",
        "last_name",
        "display_name",
        "author_name",
        "phone",
    }
)
"""Fields whose value a kept payload never shows (free text, names), whatever event they are found in."""
EMAIL_MARK: Final = "[e-mail]"
_DELIMITERS = re.compile(r"([\s\"'`<>()\[\]{},;\\]+)")  # what ends an e-mail address
_TEXT_KEYS = "|".join(sorted(REMOVED_KEYS))
# A removed field's value in text that is not (or no longer, once cut) JSON: `"subject": "..."`, up to its
# closing quote or the end of the text.
_FIELD_IN_TEXT = re.compile(
    rf'("(?:{_TEXT_KEYS}|[A-Za-z_-]*(?:mail|phone)[A-Za-z_-]*)"\s*:\s*)"(?:[^"\\]|\\.)*(?:"|\\?$)',
    re.IGNORECASE,
)


def redact_text(text: str) -> str:
    """`text` without e-mail addresses (anything around an `@` up to a delimiter) or removed fields' values."""
    text = _FIELD_IN_TEXT.sub(lambda match: f'{match.group(1)}"[removed]"', text)
    if "@" not in text:
        return text
    # Split at the delimiters and mark each piece holding an `@`: linear in the text, where a pattern
    # around the `@` would try every start position of a long run without one (235 KB took minutes).
    parts = _DELIMITERS.split(text)
    return "".join(EMAIL_MARK if index % 2 == 0 and "@" in part else part for index, part in enumerate(parts))


def redact_payload(raw: str) -> str:
    """Refused input as it may be kept: JSON keeps its structure, without free text or e-mail addresses.

    A field named in REMOVED_KEYS, or whose name speaks of mail or a phone, keeps only its length; every
    other string (and key) has its e-mail addresses replaced. Text that is not JSON (cut short, broken)
    is redacted as text: removed fields' values up to their closing quote, then addresses.
    """
    try:
        return json.dumps(_redacted(json.loads(raw)), ensure_ascii=False, separators=(",", ":"))
    except (json.JSONDecodeError, RecursionError):  # not JSON, or nested deeper than it is worth reading
        return redact_text(raw)


def _removed(key: str) -> bool:
    lowered = key.lower()
    return lowered in REMOVED_KEYS or "mail" in lowered or "phone" in lowered


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, list):
        return [_redacted(item) for item in value]
    if isinstance(value, dict):
        return {
            redact_text(key): (_removal_mark(item) if _removed(key) and item is not None else _redacted(item))
            for key, item in value.items()
        }
    return value


def _removal_mark(value: Any) -> str:
    return f"[removed: {len(value)} characters]" if isinstance(value, str) else "[removed]"
