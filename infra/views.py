"""JSON views of the domain's state and effects: instants as ISO 8601 UTC with a Z, as SPEC section 7 says."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sla.effects import Alert, Effect, Notification
from sla.fold import Clock, TicketState

_INSTANT_FIELDS = frozenset(
    {"at", "started_at", "due_at", "stopped_at", "breached_at", "acknowledged_at", "opened_at", "emitted_at"}
)


def iso(epoch: int | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _with_isos(data: dict[str, Any]) -> dict[str, Any]:
    return {key: iso(value) if key in _INSTANT_FIELDS else value for key, value in data.items()}


def clock_view(clock: Clock) -> dict[str, Any]:
    return _with_isos(asdict(clock))


def ticket_view(state: TicketState) -> dict[str, Any]:
    data = _with_isos({k: v for k, v in asdict(state).items() if k != "clocks"})
    data["clocks"] = [clock_view(clock) for clock in state.clocks]
    return data


def effect_view(effect: Effect) -> dict[str, Any]:
    data = _with_isos(asdict(effect))
    if isinstance(effect, Notification):
        data["data"] = {
            k: iso(v) if k == "due_at" and isinstance(v, int) else v for k, v in effect.data.items()
        }
    data["type"] = "alert" if isinstance(effect, Alert) else "notification"
    return data
