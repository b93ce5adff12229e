"""JSON views of the domain's state and effects: instants as ISO 8601 UTC with a Z, as SPEC section 7 says.

Every commit writes views (the ticket's open clocks, each new effect), so they are built field by field
from the flat dataclasses rather than by `dataclasses.asdict`, whose deep copy cost more than the fold.
"""

from __future__ import annotations

import time
from dataclasses import fields
from typing import Any

from sla.clocks import Clock
from sla.effects import Alert, Effect, Notification
from sla.folded import TicketState

_INSTANT_FIELDS = frozenset(
    {"at", "started_at", "due_at", "stopped_at", "breached_at", "acknowledged_at", "opened_at", "emitted_at"}
)


def iso(epoch: int | None) -> str | None:
    if epoch is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))  # a third of datetime's cost


def _with_isos(data: dict[str, Any]) -> dict[str, Any]:
    return {key: iso(value) if key in _INSTANT_FIELDS else value for key, value in data.items()}


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _values(instance: Any, leave_out: str = "") -> dict[str, Any]:
    """A dataclass's fields as a dict, shallow: every field of these views holds a plain value."""
    kind = type(instance)
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = tuple(f.name for f in fields(instance))
    return {name: getattr(instance, name) for name in names if name != leave_out}


def clock_view(clock: Clock) -> dict[str, Any]:
    return _with_isos(_values(clock))


def ticket_view(state: TicketState) -> dict[str, Any]:
    data = _with_isos(_values(state, leave_out="clocks"))
    data["clocks"] = [clock_view(clock) for clock in state.clocks]
    return data


def effect_view(effect: Effect) -> dict[str, Any]:
    data = _with_isos(_values(effect))
    if isinstance(effect, Notification):
        data["data"] = {
            k: iso(v) if k == "due_at" and isinstance(v, int) else v for k, v in effect.data.items()
        }
    data["type"] = "alert" if isinstance(effect, Alert) else "notification"
    return data
