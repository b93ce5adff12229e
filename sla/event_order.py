"""The total order of a ticket's events (SPEC section 5) and the choice between two events under one id."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sla.events import EventDetail

_E = TypeVar("_E", bound=EventDetail)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def in_order(events: Iterable[_E]) -> list[tuple[int, _E]]:
    """Events, one per `event_id`, in the order of SPEC section 5, each with its instant in epoch seconds.

    `event_id` is the idempotency key: a redelivery is the same event and counts once. Two different events
    under one id are a producer's bug, but the fold must still give one answer whatever their arrival
    order, so the first in SPEC order (then by content) is kept; contents are compared only when an id
    repeats. The sort key is `EventDetail.order_key` with the instant as a timedelta since the epoch: the
    same order (exact to the microsecond), cheaper to compare than aware datetimes, and the epoch seconds
    fall out of it. The subtraction is the costly part (a call into the event's tzinfo), done once an event.
    """
    rows: dict[str, tuple[timedelta, int, str, _E]] = {}
    for event in events:
        event_id = event.event_id
        seen = rows.get(event_id)
        if seen is not None and keeps(seen[3], event):
            continue
        rows[event_id] = (*order_row(event), event)
    keyed = sorted(rows.values())  # ids are unique here, so a comparison never reaches the event itself
    return [(since.days * 86_400 + since.seconds, event) for since, _, _, event in keyed]


def order_row(event: EventDetail) -> tuple[timedelta, int, str]:
    """`EventDetail.order_key` as `in_order` sorts by it."""
    return event.occurred_at - _EPOCH, -1 if event.sequence is None else event.sequence, event.event_id


def keeps(held: EventDetail, other: EventDetail) -> bool:
    """Whether `in_order` keeps `held` over `other`, another delivery under the same id."""
    return held is other or same_event(held, other) or _rank(held) <= _rank(other)


def same_event(one: EventDetail, other: EventDetail) -> bool:
    """The same event: equal fields, and the same fields given (an explicit null is not an absent field)."""
    return one == other and one.model_fields_set == other.model_fields_set


def _rank(event: EventDetail) -> tuple[tuple[datetime, int, str], str, str]:
    return event.order_key(), type(event).__name__, event.model_dump_json(exclude_unset=True)
