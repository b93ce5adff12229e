"""The input of the KPIs: flat records of what a ticket did, each with the attributes it is grouped by.

Two kinds, so that a deployed report can be fed without folding every ticket again:
- `CycleRecord`: one decided clock cycle (met at its `stopped_at`, breached at its breach instant), written
  once it is decided; this is what a decided-cycle index in the store would hold.
- `TicketRecord`: a ticket's own figures (first reply, first answer, ratings, resolutions, closing, the
  agents who answered it, escalations).

Both are made here from a fold's output (`records_of`); the KPIs (`sla.kpis`) read only records, never the
fold, so the CLI (a fold of an events file) and a deployed function (records read from the store) compute
the same figures.

Every record carries a `Key`: the ticket's level, severity, line, agent and customer *at the instant it
counts* (a cycle when it was decided, a reply when it was posted, a rating when it was given), so a ticket
re-targeted from high to critical counts its later cycles as critical, and a cycle met by an agent counts
for that agent. The agent and line are those of the latest agent reply at or before that instant that
names one (the agent on the ticket then); none yet is `None`.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from typing import Literal, NamedTuple, get_args

from sla.clocks import Clock
from sla.folded import Folded, clock_key
from sla.kpi_facts import FirstResponse, Reply, TicketFacts
from sla.vocabulary import COMPONENT_CLASS, Component, ComponentClass, Metric, Severity

Dimension = Literal["level", "severity", "line", "agent", "customer"]
DIMENSIONS: tuple[Dimension, ...] = get_args(Dimension)
Outcome = Literal["met", "breached"]


class Key(NamedTuple):
    """What a counted item is grouped by (SPEC section 9's `--by` dimensions), in DIMENSIONS order."""

    level: str
    severity: Severity
    line: str | None
    agent: str | None
    customer: str


@dataclass(frozen=True, slots=True)
class CycleRecord:
    """A clock cycle once decided: compliance, hardware, credits and line pickups count these."""

    clock_key: str  # the cycle's identity (ticket, metric, the event that started it): an index's sort key
    ticket_id: str
    metric: Metric
    outcome: Outcome
    decided_at: int  # stopped_at when met, the breach instant when breached
    started_at: int
    due_at: int | None
    stopped_at: int | None  # None: still open (a breached clock not yet answered)
    component_class: ComponentClass | None
    key: Key


@dataclass(frozen=True, slots=True)
class Response:
    """A ticket's first reply or first answer: wall-clock seconds since opening, and working seconds."""

    at: int
    seconds: int
    working_seconds: int
    key: Key


@dataclass(frozen=True, slots=True)
class Rating:
    at: int
    rating: int
    key: Key


@dataclass(frozen=True, slots=True)
class Mark:
    """Something that happened to a ticket at an instant (a resolution, an escalation to `line`)."""

    at: int
    key: Key
    line: str | None = None


@dataclass(frozen=True, slots=True)
class TicketRecord:
    ticket_id: str
    customer_id: str
    support_level: str
    opened_at: int
    opened_key: Key  # a ticket still waiting for a reply counts under its attributes at opening
    closed_at: int | None
    reaction: Response | None  # the first public agent message
    useful_response: Response | None  # the first public agent message of kind `answer`
    ratings: tuple[Rating, ...]
    resolutions: tuple[Mark, ...]
    agents: tuple[str, ...]  # agents who posted a public message on it, sorted
    escalations: tuple[Mark, ...] = ()  # each Ticket Escalated the fold applied, with the line it went to


@dataclass(frozen=True, slots=True)
class Records:
    tickets: tuple[TicketRecord, ...]
    cycles: tuple[CycleRecord, ...]


class _Attributes:
    """A ticket's attributes at any instant, from the facts the fold recorded.

    Looked up by bisection over the replies and severity changes (both in the fold's order, so by instant):
    a long conversation with a thousand decided cycles costs a thousand lookups, not a million steps.
    """

    def __init__(self, inputs: RecordInputs) -> None:
        facts = inputs.facts
        self.inputs = inputs
        self.severity_at = [at for at, _ in facts.severities]
        self.severities = [severity for _, severity in facts.severities]
        self.reply_at = [reply.at for reply in facts.replies]
        self.agents: list[str | None] = []  # the agent on the ticket once each reply was posted
        self.lines: list[str | None] = []  # and the line
        agent: str | None = None
        line: str | None = None
        for reply in facts.replies:
            if reply.public and reply.agent_id is not None:
                agent = reply.agent_id
            if reply.line is not None:
                line = reply.line
            self.agents.append(agent)
            self.lines.append(line)

    def severity(self, at: int) -> Severity:
        index = bisect_right(self.severity_at, at) - 1
        return self.severities[index] if index >= 0 else self.inputs.severity

    def key(self, at: int, level: str | None = None) -> Key:
        index = bisect_right(self.reply_at, at) - 1
        agent, line = (self.agents[index], self.lines[index]) if index >= 0 else (None, None)
        inputs = self.inputs
        return Key(level or inputs.support_level, self.severity(at), line, agent, inputs.customer_id)


def decided(clock: Clock) -> tuple[Outcome, int] | None:
    """A cycle's outcome and the instant it was decided, or None while it is undecided or was cancelled."""
    if clock.state == "met" and clock.stopped_at is not None:
        return "met", clock.stopped_at
    if clock.state == "breached" and clock.breached_at is not None:
        return "breached", clock.breached_at
    return None


class DecidedCycle(NamedTuple):
    """What a cycle's record reads of its decided clock (`cycle_records`)."""

    metric: Metric
    cause: str
    outcome: Outcome
    decided_at: int
    started_at: int
    due_at: int | None
    stopped_at: int | None
    component: Component | None
    support_level: str
    line: str | None


class RecordInputs(NamedTuple):
    """All that a folded ticket's records are made of, and nothing else (`records_from` reads only these).

    Far smaller than the fold (no running clock, no effect, no event): the memory store keeps a ticket's
    latest inputs until it makes the ticket's index items from them (local.memory.report_index).
    """

    ticket_id: str
    customer_id: str
    support_level: str
    severity: Severity
    opened_at: int
    facts: TicketFacts
    cycles: tuple[DecidedCycle, ...]


def record_inputs(folded: Folded) -> RecordInputs | None:
    """The inputs of a folded ticket's records; None for a ticket not opened (yet) at the fold's `now`."""
    state, facts = folded.state, folded.facts
    if state is None or facts is None:
        return None
    cycles = []
    for clock in state.clocks:
        verdict = decided(clock)
        if verdict is not None:
            cycles.append(
                DecidedCycle(
                    clock.metric,
                    clock.cause,
                    *verdict,
                    clock.started_at,
                    clock.due_at,
                    clock.stopped_at,
                    clock.component,
                    clock.support_level,
                    clock.line,
                )
            )
    return RecordInputs(
        state.ticket_id,
        state.customer_id,
        state.support_level,
        state.severity,
        state.opened_at,
        facts,
        tuple(cycles),
    )


def cycle_records(attributes: _Attributes) -> tuple[CycleRecord, ...]:
    """The decided cycles of a folded ticket."""
    ticket_id = attributes.inputs.ticket_id
    return tuple(
        CycleRecord(
            clock_key(ticket_id, cycle.metric, cycle.cause),
            ticket_id,
            cycle.metric,
            cycle.outcome,
            cycle.decided_at,
            cycle.started_at,
            cycle.due_at,
            cycle.stopped_at,
            COMPONENT_CLASS[cycle.component] if cycle.component is not None else None,
            _cycle_key(attributes.key(cycle.decided_at, cycle.support_level), cycle.line),
        )
        for cycle in attributes.inputs.cycles
    )


def _cycle_key(key: Key, line: str | None) -> Key:
    """A line_pickup cycle counts for the line it was owed by (sla.kpis' lines), whoever answered last."""
    return key if line is None else key._replace(line=line)


def ticket_record(attributes: _Attributes) -> TicketRecord:
    inputs, facts = attributes.inputs, attributes.inputs.facts
    opened = inputs.opened_at

    def response(first: FirstResponse | None) -> Response | None:
        if first is None:
            return None
        return Response(first.at, first.at - opened, first.working_seconds, attributes.key(first.at))

    closed_at = next((at for at, status in facts.statuses if status == "closed"), None)
    return TicketRecord(
        ticket_id=inputs.ticket_id,
        customer_id=inputs.customer_id,
        support_level=inputs.support_level,
        opened_at=opened,
        opened_key=attributes.key(opened),
        closed_at=closed_at,
        reaction=response(facts.first_reply),
        useful_response=response(facts.first_answer),
        ratings=tuple(Rating(at, rating, attributes.key(at)) for at, rating in facts.ratings),
        resolutions=tuple(
            Mark(at, attributes.key(at)) for at, status in facts.statuses if status == "resolved"
        ),
        agents=_agents(facts.replies),
        escalations=tuple(Mark(at, attributes.key(at), line) for at, line in facts.escalations),
    )


def _agents(replies: tuple[Reply, ...]) -> tuple[str, ...]:
    return tuple(sorted({r.agent_id for r in replies if r.public and r.agent_id is not None}))


def records_of(folded: Folded) -> tuple[TicketRecord, tuple[CycleRecord, ...]] | None:
    """A folded ticket's records; None for a ticket not opened (yet) at the fold's `now`."""
    inputs = record_inputs(folded)
    return records_from(inputs) if inputs is not None else None


def records_from(inputs: RecordInputs) -> tuple[TicketRecord, tuple[CycleRecord, ...]]:
    """A ticket's records from their inputs (`record_inputs`)."""
    attributes = _Attributes(inputs)  # once: both records look the attributes up
    return ticket_record(attributes), cycle_records(attributes)
