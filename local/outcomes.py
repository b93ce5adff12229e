"""What `sla-engine invoke` shows of an IngestFunction run: each record's outcome, which the handler logs and
counts but does not answer (SQS hears only of the records to redeliver).

The local engine hands the handler the ticket service wrapped in an OutcomeRecorder: the handler stays as
deployed, and the recorder notes, while `recording`, what the service answered each record (accepted,
duplicate, rejected with its reason) or that it raised (retried: SQS would redeliver it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from infra.views import effect_view

if TYPE_CHECKING:
    from infra.ticket_service import TicketService
    from sla.effects import Effect

RecordStatus = Literal["accepted", "duplicate", "rejected", "retried"]


@dataclass(frozen=True)
class RecordOutcome:
    message_id: str
    status: RecordStatus
    event_id: str | None = None
    ticket_id: str | None = None
    reason: str | None = None
    effects: tuple[Effect, ...] = ()

    def view(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "outcome": self.status,
            "event_id": self.event_id,
            "ticket_id": self.ticket_id,
            "reason": self.reason,
            "effects": [effect_view(effect) for effect in self.effects],
        }


class OutcomeRecorder:
    """The ticket service as the IngestFunction's dependencies hold it; every other attribute is the
    service's own."""

    def __init__(self, service: TicketService) -> None:
        self._service = service
        self._outcomes: list[RecordOutcome] | None = None  # None: not recording (a replay keeps nothing)

    def accept_raw(self, body: str, now: int, fallback_id: str) -> Any:
        try:
            outcome = self._service.accept_raw(body, now, fallback_id=fallback_id)
        except Exception as error:
            if self._outcomes is not None:
                reason = f"{type(error).__name__}: {error}"
                self._outcomes.append(RecordOutcome(fallback_id, "retried", reason=reason))
            raise
        if self._outcomes is not None:
            self._outcomes.append(
                RecordOutcome(
                    fallback_id,
                    outcome.status,
                    outcome.event_id,
                    outcome.ticket_id,
                    outcome.reason,
                    tuple(outcome.effects),
                )
            )
        return outcome

    def __getattr__(self, name: str) -> Any:
        return getattr(self._service, name)

    @contextmanager
    def recording(self) -> Iterator[list[RecordOutcome]]:
        """The outcomes of the records taken meanwhile, in the order the handler took them."""
        outcomes: list[RecordOutcome] = []
        self._outcomes = outcomes
        try:
            yield outcomes
        finally:
            self._outcomes = None
