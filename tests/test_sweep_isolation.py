"""A ticket whose re-fold fails must not stall the sweep: the other due tickets still fire this minute."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from infra.errors import TransientStoreError
from infra.store import DueTimer
from infra.sweep import sweep
from infra.ticket_service import TicketService


@dataclass
class FakeStore:
    claims: list[str] = field(default_factory=list)

    def claim_timer(self, timer: DueTimer, now: int, lease_seconds: int) -> bool:
        self.claims.append(timer.ticket_id)
        return True


@dataclass
class FakeService:
    """Three due tickets; the middle one's re-fold raises."""

    store: FakeStore = field(default_factory=FakeStore)
    refolded: list[str] = field(default_factory=list)

    def due_timers(self, now: int, limit: int, start_after: str | None = None) -> tuple[list[DueTimer], None]:
        return [DueTimer(t, f"{now:012d}#{t}", now) for t in ("T-1", "T-2", "T-3")], None

    def refold(self, ticket_id: str, now: int) -> tuple[Any, ...]:
        if ticket_id == "T-2":
            raise TransientStoreError("still conflicting")
        self.refolded.append(ticket_id)
        return ()


def test_a_failing_ticket_is_reported_and_the_others_are_still_refolded() -> None:
    service = FakeService()
    report = sweep(cast(TicketService, service), 1_000, page_size=10, max_pages=1, lease_seconds=120)
    assert service.refolded == ["T-1", "T-3"]
    assert report.failed == [("T-2", "TransientStoreError")]
    assert report.claimed == 3
