"""What a ticket's figures are made of, recorded by the fold as it applies the ticket's events.

The figures of SPEC section 9 need more than the clocks: when the first reply and the first real answer came
(and how much working time that was on the level's coverage calendar), who answered from which line, the
ticket's severity and status over time, and the customer's ratings. The fold is the one place that knows
which events count (an event of another customer, or on a closed ticket, does not) and in which order, so it
records these facts as it goes rather than have the KPIs re-read the events with rules of their own.

Facts are plain data in epoch seconds: they are the same whether the fold ran for `sla-engine report` or
in a deployed function, and a store can keep them beside the decided cycles.
"""

from __future__ import annotations

from dataclasses import dataclass

from sla.calendar import Calendar
from sla.events import TicketMessagePosted
from sla.vocabulary import MessageKind, Severity, Status


@dataclass(frozen=True, slots=True)
class Reply:
    """An agent's message as the fold applied it; internal notes count for the line, not for the customer."""

    at: int
    agent_id: str | None
    line: str | None
    kind: MessageKind
    public: bool


@dataclass(frozen=True, slots=True)
class FirstResponse:
    """When a ticket first got a reply (or a real answer), and the working time it took on the coverage
    calendar of the ticket's level, in the customer's zone and country, as its first_response clock counts."""

    at: int
    working_seconds: int


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """A ticket's history as the KPIs read it, each list in the order the fold applied it."""

    replies: tuple[Reply, ...] = ()
    severities: tuple[tuple[int, Severity], ...] = ()  # the opening severity, then each change
    statuses: tuple[tuple[int, Status], ...] = ()  # each change of status that changed it
    ratings: tuple[tuple[int, int], ...] = ()  # (at, rating 1-5)
    first_reply: FirstResponse | None = None  # the first public agent message, of any kind
    first_answer: FirstResponse | None = None  # the first public agent message of kind `answer`
    escalations: tuple[tuple[int, str], ...] = ()  # (at, line) of each Ticket Escalated the fold applied


class FactsRecorder:
    """The fold's notebook: appended to as events are applied, frozen into `TicketFacts` at the end."""

    __slots__ = (
        "calendar",
        "escalations",
        "first_answer",
        "first_reply",
        "opened_at",
        "ratings",
        "replies",
        "severities",
        "statuses",
    )

    def __init__(self) -> None:
        self.calendar: Calendar | None = None
        self.opened_at = 0
        self.replies: list[Reply] = []
        self.severities: list[tuple[int, Severity]] = []
        self.statuses: list[tuple[int, Status]] = []
        self.ratings: list[tuple[int, int]] = []
        self.first_reply: FirstResponse | None = None
        self.first_answer: FirstResponse | None = None
        self.escalations: list[tuple[int, str]] = []

    def open(self, at: int, severity: Severity, calendar: Calendar | None) -> None:
        """`calendar` is the ticket's first_response calendar: the level's coverage in the customer's zone."""
        self.opened_at = at
        self.calendar = calendar
        self.severities.append((at, severity))

    def reply(self, event: TicketMessagePosted, at: int) -> None:
        public = event.visibility == "public"
        self.replies.append(Reply(at, event.agent_id, event.line, event.kind, public))
        if not public:
            return
        if self.first_reply is None:
            self.first_reply = self._response(at)
        if self.first_answer is None and event.kind == "answer":
            self.first_answer = self._response(at)

    def _response(self, at: int) -> FirstResponse:
        calendar = self.calendar
        working = calendar.within(self.opened_at, at) if calendar is not None else at - self.opened_at
        return FirstResponse(at, max(0, working))

    def severity(self, at: int, severity: Severity) -> None:
        self.severities.append((at, severity))

    def status(self, at: int, status: Status) -> None:
        self.statuses.append((at, status))

    def escalate(self, at: int, line: str) -> None:
        self.escalations.append((at, line))

    def rate(self, at: int, rating: int) -> None:
        self.ratings.append((at, rating))

    def freeze(self) -> TicketFacts:
        return TicketFacts(
            tuple(self.replies),
            tuple(self.severities),
            tuple(self.statuses),
            tuple(self.ratings),
            self.first_reply,
            self.first_answer,
            tuple(self.escalations),
        )
