"""How late the replay's alerts act against their due instants: the sweeper runs every 60 s, so a breach
page should act within one interval of the clock's due time, and each ladder step within one interval of
due + k × ack timeout. Measured on the demo's week (two breaches, one full ladder) and the sample scenario.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from cli.demo_scenario import HORIZON, scenario_events
from local.replay import replay
from sla.catalog import parse_catalog

SCENARIO = Path(__file__).resolve().parents[1] / "events" / "scenario.jsonl"
CATALOG = parse_catalog(
    (Path(__file__).resolve().parents[1] / "sla" / "catalog.toml").read_text(encoding="utf-8")
)


def _seconds(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def lags(document: dict[str, Any]) -> list[int]:
    """Seconds between each page's scheduled instant and the simulated time at which the engine sent it."""
    clocks = {
        (ticket["ticket_id"], clock["metric"], clock["cycle"]): (ticket["support_level"], clock)
        for ticket in document["tickets"]
        for clock in ticket["clocks"]
    }
    found = []
    for alert in document["alerts"]:
        if alert["kind"] != "trigger":
            continue
        level, clock = clocks[(alert["ticket_id"], alert["metric"], alert["cycle"])]
        step = CATALOG.levels[level].ladder.index(alert["route"])
        scheduled = _seconds(clock["due_at"]) + step * CATALOG.levels[level].ack_timeout
        found.append(_seconds(alert["at"]) - scheduled)
    return found


def _event(detail_type: str, detail: dict[str, Any]) -> str:
    return json.dumps({"source": "controlpanel.support", "detail-type": detail_type, "detail": detail})


def off_minute_breaches() -> list[str]:
    """Enterprise tickets opened at odd seconds and never answered: due instants fall between sweeps."""
    lines = [
        _event(
            "Support Plan Changed",
            {
                "event_id": "p",
                "occurred_at": "2026-04-06T00:00:00Z",
                "customer_id": "C-E",
                "support_level": "enterprise",
            },
        )
    ]
    for n, second in enumerate((7, 19, 31, 44, 59)):
        lines.append(
            _event(
                "Ticket Opened",
                {
                    "event_id": f"o{n}",
                    "occurred_at": f"2026-04-06T12:{n * 7:02d}:{second:02d}Z",
                    "ticket_id": f"T-{n}",
                    "customer_id": "C-E",
                    "severity": "critical",
                    "subject": "Down",
                },
            )
        )
    return lines


def run() -> None:
    demo_lines = [json.dumps(event) for event in scenario_events()]
    for name, lines, until in (
        ("demo week", demo_lines, HORIZON),
        ("events/scenario.jsonl", SCENARIO.read_text(encoding="utf-8").splitlines(), None),
        (
            "5 enterprise breaches due at odd seconds",
            off_minute_breaches(),
            datetime.fromisoformat("2026-04-06T14:00:00+00:00"),
        ),
    ):
        document = replay(lines, until)
        found = lags(document)
        print(
            f"{name}: {len(found)} pages; lag after the scheduled instant: min {min(found)} s, max {max(found)} s"
        )
        print(
            f"  goal: every page within one sweep interval (60 s): {'met' if max(found) < 60 else 'NOT met'}"
        )
