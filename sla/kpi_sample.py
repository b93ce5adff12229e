"""The quality sample (SPEC section 9, ispmanager's quality centre): N closed tickets per agent to grade.

An agent's candidates are the tickets closed in [from, to) on which they posted a public message. The draw
is seeded per agent (`seed` and the agent's id), so the same seed gives the same sample, and an agent's
sample does not change when another agent's tickets are added to or removed from the history.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sla.kpi_records import TicketRecord
from sla.kpis import Period


@dataclass(frozen=True, slots=True)
class AgentSample:
    agent_id: str
    closed: int  # the agent's candidates: tickets closed in the period on which they posted publicly
    tickets: tuple[TicketRecord, ...]  # the draw, by closing time then ticket id


def closed_by_agent(tickets: Iterable[TicketRecord], period: Period) -> dict[str, list[TicketRecord]]:
    """Each agent's tickets closed in the period, in ticket_id order."""
    found: defaultdict[str, list[TicketRecord]] = defaultdict(list)
    for ticket in sorted(tickets, key=lambda t: t.ticket_id):
        if ticket.closed_at is None or ticket.closed_at not in period:
            continue
        for agent in ticket.agents:
            found[agent].append(ticket)
    return dict(found)


def quality_sample(
    tickets: Iterable[TicketRecord], period: Period, per_agent: int, seed: str
) -> list[AgentSample]:
    """Up to `per_agent` of each agent's closed tickets, drawn without replacement; agents by id."""
    if per_agent < 0:
        raise ValueError("per_agent must not be negative")
    samples = []
    for agent, candidates in sorted(closed_by_agent(tickets, period).items()):
        # random.Random seeded with a str hashes it (SHA-512): the same draw on every platform and run.
        draw = random.Random(f"{seed}\x00{agent}").sample(candidates, min(per_agent, len(candidates)))
        ordered = tuple(sorted(draw, key=lambda t: (t.closed_at or 0, t.ticket_id)))
        samples.append(AgentSample(agent, len(candidates), ordered))
    return samples
