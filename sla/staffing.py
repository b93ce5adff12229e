"""How many agents each hour of the week needs to answer tickets within a catalog's first-response targets.

Measured from the history, then dimensioned by Erlang C (`sla.erlang`):

- **Arrivals**: tickets opened in the period, counted by hour of the week (Monday 00:00 to Sunday 23:00, in
  the zone asked for) and divided by how many times that hour occurs in the period, so a period of any
  length, whole weeks or not, gives tickets per hour.
- **Handling time**: what a ticket costs an agent. Events say when an agent's message was posted, not when
  the agent started writing it; the agent cannot have started before the ticket's previous event (the
  opening, the customer's message, the agent's own previous note), so the time since that event is an upper
  bound of the work on that message. A gap longer than `SITTING` is waiting (in the queue, overnight), not
  one sitting of work, so at most `SITTING` counts. A ticket's handling time is the sum over its agent
  messages, public and internal; the desk's is the mean over the tickets opened in the period. An upper
  bound makes the staffing err on the side of enough agents; an operator with a time tracker gives the
  measured figure instead (`handling` of `staffing`).
- **Target**: each ticket is owed the first-response target of its level and severity at opening, under
  the catalog version in force then. An hour needs the least agents that, in one first-come-first-served
  queue, take the share asked (80 %: "80 % of tickets answered within their promise") of that hour's
  tickets within each one's own target, weighted by how many tickets of each target arrived in that hour
  (`sla.erlang.agents_for_mix`). So a tighter target for one level moves the staffing by that level's share
  of the traffic. Conservative twice: targets are counted as wall-clock time (a ticket opened out of its
  level's hours has until they start), and a desk that takes critical tickets first needs fewer agents.
- **Shifts**: a roster's shift needs the most agents any hour it covers needs: 12-hour shifts (day 08-20,
  night 20-08) and 8-hour ones (00-08, 08-16, 16-24), as 24/7 hosting desks run them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from sla.erlang import agents_for_mix
from sla.events import AnyTicketEvent, TicketMessagePosted
from sla.kpis import Period

HOUR: Final = 3600
HOURS_OF_WEEK: Final = 7 * 24
DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SITTING: Final = 30 * 60
"""The longest gap before an agent's message that counts as work on it (see the module's docstring)."""
ROSTERS: Final[dict[str, tuple[tuple[str, int, int], ...]]] = {
    "12h": (("08-20", 8, 12), ("20-08", 20, 12)),
    "8h": (("00-08", 0, 8), ("08-16", 8, 8), ("16-24", 16, 8)),
}
"""Each roster's shifts of a day: (name, first hour, length in hours); a night shift runs into the next day."""


@dataclass(frozen=True, slots=True)
class Arrival:
    """A ticket opened in the period, with the first-response target it was owed under each catalog."""

    opened_at: int
    targets: tuple[int | None, ...]  # seconds per catalog (current, proposed); None: no target promised


def handling_work(events: Iterable[AnyTicketEvent], until: int) -> tuple[int, int]:
    """(seconds of work, agent messages) of one ticket's events before `until`, by the rule of the module's
    docstring.

    Events are taken in SPEC section 5's order, each event id once (a redelivered event is not a second
    message); what happened after the period is not known to it, as to the fold."""
    unique = {event.event_id: event for event in events if event.occurred_at.timestamp() < until}
    ordered = sorted(unique.values(), key=lambda event: event.order_key())
    work = messages = 0
    previous: datetime | None = None
    for event in ordered:
        if isinstance(event, TicketMessagePosted) and event.author == "agent" and previous is not None:
            work += min(SITTING, max(0, int((event.occurred_at - previous).total_seconds())))
            messages += 1
        previous = event.occurred_at
    return work, messages


def slot_of(at: int, zone: ZoneInfo) -> int:
    """The hour of the week of an instant in `zone`: 0 is Monday 00:00-01:00, 167 Sunday 23:00-24:00."""
    local = datetime.fromtimestamp(at, zone)
    return local.weekday() * 24 + local.hour


def occurrences(period: Period, zone: ZoneInfo) -> list[int]:
    """How many times each hour of the week starts in the period (its hours counted from its start)."""
    counts = [0] * HOURS_OF_WEEK
    for start in range(period.start, period.end, HOUR):
        counts[slot_of(start, zone)] += 1
    return counts


@dataclass(frozen=True, slots=True)
class Hour:
    """One hour of the week: its arrivals, load and the agents each catalog's targets need."""

    slot: int
    arrivals: int  # tickets opened in this hour over the period
    rate: float  # tickets per hour, averaged over the times this hour occurs in the period
    load: float  # Erlangs: rate × handling time
    targets: tuple[Counter[int], ...]  # per catalog: first-response target (seconds) -> tickets owed it
    agents: tuple[int, ...]  # per catalog


@dataclass(frozen=True, slots=True)
class Staffing:
    timezone: str
    probability: float
    handling_seconds: float
    handling_measured: bool  # False: given by the operator
    tickets: int  # opened in the period
    messages: int  # agent messages on them (the handling time's measure)
    hours: tuple[Hour, ...]  # 168, Monday 00:00 first

    def shifts(self, roster: str, catalog: int) -> list[tuple[str, str, int]]:
        """(day, shift, agents) for each shift of the week: the most agents an hour of the shift needs."""
        needs = [hour.agents[catalog] for hour in self.hours]
        return [
            (day, name, max(needs[(index * 24 + first + h) % HOURS_OF_WEEK] for h in range(length)))
            for index, day in enumerate(DAYS)
            for name, first, length in ROSTERS[roster]
        ]

    def agent_hours(self, catalog: int, roster: str | None = None) -> int:
        """Agent-hours a week: hour by hour (the least any roster can do), or as `roster`'s shifts."""
        if roster is None:
            return sum(hour.agents[catalog] for hour in self.hours)
        lengths = {name: length for name, _, length in ROSTERS[roster]}
        return sum(agents * lengths[name] for _, name, agents in self.shifts(roster, catalog))


def staffing(
    arrivals: Sequence[Arrival],
    work: tuple[int, int],
    period: Period,
    timezone: str,
    probability: float,
    handling: float | None = None,
) -> Staffing:
    """The agents per hour of the week for each catalog's targets (see the module's docstring).

    `work` is the (seconds, agent messages) of the tickets opened in the period; `handling` (seconds) replaces
    the measured mean when given. With no work measured and none given, the load is 0 and no agent is needed.
    """
    zone = ZoneInfo(timezone)
    seen = occurrences(period, zone)
    catalogs = len(arrivals[0].targets) if arrivals else 2
    counts = [0] * HOURS_OF_WEEK
    owed: list[tuple[Counter[int], ...]] = [tuple(Counter() for _ in range(catalogs)) for _ in counts]
    for arrival in arrivals:
        slot = slot_of(arrival.opened_at, zone)
        counts[slot] += 1
        for index, target in enumerate(arrival.targets):
            if target is not None:
                owed[slot][index][target] += 1
    measured = handling is None
    mean = (work[0] / len(arrivals) if arrivals else 0.0) if handling is None else handling
    hours = []
    for slot in range(HOURS_OF_WEEK):
        rate = counts[slot] / seen[slot] if seen[slot] else 0.0
        load = rate * mean / HOUR
        agents = tuple(
            agents_for_mix(load, mean, tuple(mix.items()), probability) if mix and load > 0 else 0
            for mix in owed[slot]
        )
        hours.append(Hour(slot, counts[slot], rate, load, owed[slot], agents))
    return Staffing(timezone, probability, mean, measured, len(arrivals), work[1], tuple(hours))
