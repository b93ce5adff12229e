"""`sla-engine replay events/scenario.jsonl --format json` (SPEC section 7), through `local.replay.replay`.

The scenario: T-1 (premium, Paris) opened on Good Friday evening, answered on the Tuesday after Easter
Monday; T-2 (business, Moscow) a disk replaced 24/7 with an hour's pause; T-3 (enterprise) re-targeted to
critical and breached; T-4 still running; a message of another customer and an unknown severity rejected.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from local.replay import replay

SCENARIO = Path(__file__).resolve().parents[1] / "events" / "scenario.jsonl"


@pytest.fixture(scope="module")
def lines() -> list[str]:
    return SCENARIO.read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def document(lines: list[str]) -> dict[str, Any]:
    return replay(lines)


def clock(document: dict[str, Any], ticket_id: str, metric: str, cycle: int = 1) -> dict[str, Any]:
    (ticket,) = [t for t in document["tickets"] if t["ticket_id"] == ticket_id]
    (found,) = [c for c in ticket["clocks"] if (c["metric"], c["cycle"]) == (metric, cycle)]
    return dict(found)


def test_the_scenario_replays_to_its_clocks_due_times_alerts_and_rejections(document: dict[str, Any]) -> None:
    # T-1: opened Friday 3 April 17:30 Paris with 2 h of premium business hours: 30 min that evening,
    # Easter Monday is a holiday, 1 h 30 on Tuesday from 08:00, so due 09:30 Paris; answered at 09:00.
    first = clock(document, "T-1", "first_response")
    assert (first["state"], first["started_at"]) == ("met", "2026-04-03T15:30:00Z")
    assert (first["due_at"], first["stopped_at"]) == ("2026-04-07T07:30:00Z", "2026-04-07T07:00:00Z")
    assert (first["elapsed_seconds"], first["target_seconds"]) == (5400, 7200)
    follow_up = clock(document, "T-1", "next_response")
    assert (follow_up["state"], follow_up["due_at"]) == ("met", "2026-04-07T09:30:00Z")

    # T-2: requested 03:20 UTC, 4 h window (business, hot swap) counted 24/7, paused 04:00-05:00 while
    # pending the customer: due 08:20, met at 08:00 after 3 h 40 of counted time.
    replacement = clock(document, "T-2", "hardware_replacement")
    assert replacement["due_at"] == "2026-04-04T08:20:00Z"
    assert (replacement["state"], replacement["stopped_at"]) == ("met", "2026-04-04T08:00:00Z")
    assert replacement["elapsed_seconds"] == 4 * 3600 + 40 * 60 - 3600

    tickets = {t["ticket_id"]: t for t in document["tickets"]}
    assert sorted(tickets) == ["T-1", "T-2", "T-3", "T-4"]  # T-5 never opened: its severity is unknown
    assert [(t["support_level"], t["status"]) for t in tickets.values()] == [
        ("premium", "resolved"),
        ("business", "closed"),
        ("enterprise", "open"),
        ("standard", "open"),
    ]
    # T-3: re-targeted to critical (enterprise: 15 min) and breached; acknowledged at 12:30.
    breached = clock(document, "T-3", "first_response")
    assert (breached["state"], breached["due_at"]) == ("breached", "2026-04-06T12:15:00Z")
    pages = [(a["at"], a["kind"], a["route"]) for a in document["alerts"] if a["ticket_id"] == "T-3"]
    # A timer fires once the clock is past its instant (every event stamped 12:15:00 is known first): the
    # page for the 12:15 breach goes at the 12:16 sweep, the ladder's 12:25 step at the 12:26 one.
    assert ("2026-04-06T12:16:00Z", "trigger", "oncall-l2") in pages
    assert ("2026-04-06T12:26:00Z", "trigger", "duty-manager") in pages
    assert not [p for p in pages if p[2] == "account-manager"]  # acknowledged before the third step

    reasons = {r["event_id"]: r["reason"] for r in document["rejected"]}
    assert sorted(reasons) == ["evt-010", "evt-023"]
    assert reasons["evt-010"].startswith("customer_id:")
    assert reasons["evt-023"].startswith("severity:")
    assert all(instant.endswith("Z") for instant in _instants(document))


def test_the_file_shuffled_with_lines_repeated_replays_to_the_same_document(
    lines: list[str], document: dict[str, Any]
) -> None:
    repeated = [line for n, line in enumerate(lines) for _ in range(1 + n % 3)]  # once, twice or thrice
    random.Random(7).shuffle(repeated)
    assert len(repeated) > len(lines)
    assert repeated[: len(lines)] != lines
    assert json.dumps(replay(repeated), sort_keys=True) == json.dumps(document, sort_keys=True)


def _instants(document: dict[str, Any]) -> list[str]:
    found = [e["at"] for key in ("alerts", "notifications") for e in document[key]]
    for ticket in document["tickets"]:
        for c in ticket["clocks"]:
            found += [c[k] for k in ("started_at", "due_at", "stopped_at") if c[k] is not None]
    return found
