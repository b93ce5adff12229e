"""Support lines, route coverage and limited-support periods as catalog data (SPEC section 10).

The default catalog's lines, calendars and routes against the SPEC; the refusals an operator sees, each
naming its field (a fallback loop names the loop); and who is on duty at an instant, table-driven across
the Moscow and Paris offsets and Paris's DST changes (Moscow keeps UTC+3 all year).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from sla.calendar import to_epoch
from sla.catalog import Catalog, parse_catalog
from sla.duty import on_duty, paged_route
from sla.lines import pickup_calendar
from tests.fold_helpers import LIMITED, default_catalog, default_catalog_toml

H = 3600
CATALOG = default_catalog()


def at(text: str) -> int:
    return to_epoch(datetime.fromisoformat(text))


def test_the_default_lines_are_the_specs_three() -> None:
    assert CATALOG.entry_line == "l1"
    lines = {name: (line.route, line.pickup, line.coverage) for name, line in CATALOG.lines.items()}
    assert lines == {
        "l1": ("oncall-l1", None, None),
        "l2": ("oncall-l2", 30 * 60, "l2_hours"),
        "l3": ("oncall-l3", 4 * H, "office_hours"),
    }
    assert {name: (r.coverage, r.fallback) for name, r in CATALOG.routes.items()} == {
        "oncall-l2": ("l2_hours", "oncall-l1")
    }
    assert CATALOG.limited_support == ()


def test_the_provider_calendars_carry_their_own_zone() -> None:
    l2, office = CATALOG.calendars["l2_hours"], CATALOG.calendars["office_hours"]
    assert (l2.timezone, l2.country, l2.public_holidays) == ("Europe/Moscow", None, False)
    assert l2.weekly_seconds() == ((((4 * H, 22 * H),),) * 7)
    assert (office.timezone, office.country, office.public_holidays) == ("Europe/Paris", "FR", True)
    day = ((9 * H, 18 * H),)
    assert office.weekly_seconds() == (day, day, day, day, day, (), ())


# -- who is on duty: Moscow is UTC+3 all year, Paris UTC+1 in winter and UTC+2 in summer ---------------------
COVERAGE_CASES = [
    # (instant, oncall-l2 paged as, why)
    ("2026-01-12T00:59:59Z", "oncall-l1", "03:59:59 MSK: before the second line opens"),
    ("2026-01-12T01:00:00Z", "oncall-l2", "04:00 MSK: it opens"),
    ("2026-01-12T18:59:59Z", "oncall-l2", "21:59:59 MSK: its last second"),
    ("2026-01-12T19:00:00Z", "oncall-l1", "22:00 MSK: closed at closing time"),
    ("2026-01-12T04:00:00+03:00", "oncall-l2", "the same opening written in Moscow time"),
    ("2026-01-12T01:59:59+01:00", "oncall-l1", "Paris winter: 03:59:59 MSK"),
    ("2026-07-13T02:59:59+02:00", "oncall-l1", "Paris summer: still 03:59:59 MSK, an hour later in Paris"),
    ("2026-07-13T03:00:00+02:00", "oncall-l2", "Paris summer: 04:00 MSK"),
    ("2026-03-29T02:59:59+02:00", "oncall-l1", "Paris spring-forward night: 03:59:59 MSK"),
    ("2026-03-29T03:00:00+02:00", "oncall-l2", "right after Paris skipped an hour: 04:00 MSK"),
    ("2026-10-25T02:00:00+01:00", "oncall-l2", "Paris fall-back (the second 02:00): 04:00 MSK"),
    ("2026-10-25T02:59:59+02:00", "oncall-l1", "Paris fall-back (the first 02:59:59): 03:59:59 MSK"),
    (
        "2026-10-25T20:00:00+01:00",
        "oncall-l1",
        "Sunday 22:00 MSK: the second line works every day, not later",
    ),
    ("2026-05-09T12:00:00+03:00", "oncall-l2", "a Russian holiday: l2_hours observes none"),
]


@pytest.mark.parametrize(("instant", "paged", "why"), COVERAGE_CASES, ids=[c[2] for c in COVERAGE_CASES])
def test_oncall_l2_is_paged_only_on_duty(instant: str, paged: str, why: str) -> None:
    assert paged_route(CATALOG, "oncall-l2", at(instant)) == paged, why
    assert on_duty(CATALOG, "oncall-l2", at(instant)) is (paged == "oncall-l2")


@pytest.mark.parametrize("route", ["oncall-l1", "duty-manager", "account-manager", "oncall-l3"])
@pytest.mark.parametrize("instant", ["2026-01-12T00:30:00Z", "2026-07-13T12:00:00Z"])
def test_a_route_without_coverage_is_always_on_duty(route: str, instant: str) -> None:
    assert paged_route(CATALOG, route, at(instant)) == route


PICKUP_CASES = [
    # (line, escalated at, due, why)
    ("l2", "2026-01-12T10:00:00+03:00", "2026-01-12T10:30:00+03:00", "inside Moscow hours"),
    ("l2", "2026-01-12T23:00:00+03:00", "2026-01-13T04:30:00+03:00", "overnight: counted from 04:00 MSK"),
    (
        "l2",
        "2026-01-12T21:40:00+03:00",
        "2026-01-13T04:10:00+03:00",
        "20 min before closing, 10 after opening",
    ),
    ("l2", "2026-01-12T21:30:00+03:00", "2026-01-12T22:00:00+03:00", "used up at closing: due at closing"),
    ("l3", "2026-04-03T16:00:00+02:00", "2026-04-07T11:00:00+02:00", "Friday, then Easter Monday off in FR"),
    ("l3", "2026-03-27T17:00:00+01:00", "2026-03-30T12:00:00+02:00", "across Paris's spring-forward weekend"),
    ("l3", "2026-10-23T16:00:00+02:00", "2026-10-26T11:00:00+01:00", "across Paris's fall-back weekend"),
]


@pytest.mark.parametrize(("line", "start", "due", "why"), PICKUP_CASES, ids=[c[3] for c in PICKUP_CASES])
def test_a_pickup_counts_on_the_lines_own_hours(line: str, start: str, due: str, why: str) -> None:
    spec = CATALOG.lines[line]
    assert spec.pickup is not None
    assert pickup_calendar(CATALOG, spec).after(at(start), spec.pickup) == at(due), why


# -- chains of fallbacks ------------------------------------------------------------------------------------
CHAIN = """
[calendars.day]
timezone = "Europe/Paris"
weekly_hours = { mon = ["08:00-20:00"], tue = ["08:00-20:00"], wed = ["08:00-20:00"], thu = ["08:00-20:00"], fri = ["08:00-20:00"] }

[calendars.evening]
timezone = "Europe/Paris"
weekly_hours = { mon = ["18:00-23:00"], tue = ["18:00-23:00"], wed = ["18:00-23:00"], thu = ["18:00-23:00"], fri = ["18:00-23:00"] }

[routes.oncall-l2]
coverage = "day"
fallback = "oncall-evening"

[routes.oncall-evening]
coverage = "evening"
fallback = "oncall-l1"
"""


def with_routes(extra: str) -> Catalog:
    return parse_catalog(_without_routes(default_catalog_toml()) + extra)


def _without_routes(text: str) -> str:
    head, _, _ = text.partition("[routes.oncall-l2]")
    return head


@pytest.mark.parametrize(
    ("instant", "paged"),
    [
        ("2026-01-12T12:00:00+01:00", "oncall-l2"),  # day: on duty
        ("2026-01-12T21:00:00+01:00", "oncall-evening"),  # day off, evening on
        ("2026-01-12T19:00:00+01:00", "oncall-l2"),  # both on: the route itself
        ("2026-01-12T23:30:00+01:00", "oncall-l1"),  # both off: down the chain to the route without coverage
        ("2026-01-17T12:00:00+01:00", "oncall-l1"),  # Saturday: the whole ladder off duty still pages someone
    ],
)
def test_fallback_is_followed_down_the_chain(instant: str, paged: str) -> None:
    assert paged_route(with_routes(CHAIN), "oncall-l2", at(instant)) == paged


def rejected(text: str) -> str:
    with pytest.raises(ValidationError) as caught:
        parse_catalog(text)
    return str(caught.value)


LOOP = CHAIN.replace('fallback = "oncall-l1"', 'fallback = "oncall-l2"')


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (LOOP, "routes: fallback loop oncall-l2 -> oncall-evening -> oncall-l2"),
        (
            '[routes.oncall-l2]\ncoverage = "l2_hours"\nfallback = "oncall-l2"\n',
            "routes: fallback loop oncall-l2 -> oncall-l2",
        ),
        ('[routes.oncall-l2]\ncoverage = "l2_hours"\n', "routes.oncall-l2.fallback\n  Field required"),
        ('[routes.oncall-l2]\nfallback = "oncall-l1"\n', "routes.oncall-l2.coverage\n  Field required"),
        (
            '[routes.oncall-l2]\ncoverage = "night"\nfallback = "oncall-l1"\n',
            "routes.oncall-l2.coverage: unknown calendar 'night'",
        ),
        (
            '[routes.oncall-l2]\ncoverage = "business_hours"\nfallback = "oncall-l1"\n',
            "routes.oncall-l2.coverage: calendar 'business_hours' has no timezone of its own",
        ),
    ],
    ids=[
        "loop of two",
        "loop of one",
        "coverage without fallback",
        "fallback without coverage",
        "unknown calendar",
        "a customer-zone calendar",
    ],
)
def test_a_bad_route_is_refused_naming_it(extra: str, message: str) -> None:
    assert message in rejected(_without_routes(default_catalog_toml()) + extra)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('entry_line = "l1"', 'entry_line = "l0"', "entry_line: unknown line 'l0'; known: l1, l2, l3"),
        ('entry_line = "l1"', "", "entry_line: required when the catalog defines lines"),
        (
            'coverage = "l2_hours"\n\n[lines.l3]',
            'coverage = "l9"\n\n[lines.l3]',
            "lines.l2.coverage: unknown calendar 'l9'",
        ),
        ('pickup = "4h"', 'pickup = "0m"', "lines.l3.pickup"),
        ('route = "oncall-l1"', 'route = ""', "lines.l1.route"),
        ('timezone = "Europe/Moscow"', 'timezone = "Europe/Moskva"', "calendars.l2_hours.timezone"),
        ('country = "FR"', 'country = "France"', "calendars.office_hours.country"),
        ('country = "FR"\n', "", "country: a provider's calendar with public_holidays needs its country"),
    ],
    ids=[
        "unknown entry line",
        "no entry line",
        "unknown line calendar",
        "zero pickup",
        "empty route",
        "unknown zone",
        "unknown country",
        "holidays without a country",
    ],
)
def test_a_bad_line_or_provider_calendar_is_refused_naming_its_field(
    old: str, new: str, message: str
) -> None:
    text = default_catalog_toml()
    assert old in text
    assert message in rejected(text.replace(old, new, 1))


def test_a_limited_support_period_is_read_as_the_spec_writes_it() -> None:
    (period,) = parse_catalog(default_catalog_toml() + LIMITED).limited_support
    assert period.levels == ("standard", "premium")
    assert period.first_response.for_severity("critical") == 600
    assert period.next_response.for_severity("low") == 72 * H
    assert period.covers("premium", at("2026-09-13T00:00:00+03:00"))
    assert not period.covers("premium", at("2026-09-12T23:59:59+03:00"))
    assert not period.covers("premium", at("2026-09-23T00:00:00+03:00"))  # [from, to)
    assert not period.covers("business", at("2026-09-15T00:00:00+03:00"))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'levels = ["standard", "premium"]',
            'levels = ["gold"]',
            "limited_support[0].levels: unknown level 'gold'",
        ),
        (
            'to = "2026-09-23T00:00:00+03:00"',
            'to = "2026-09-13T00:00:00+03:00"',
            "to: 2026-09-13T00:00:00+03:00 must be after from",
        ),
        ('from = "2026-09-13T00:00:00+03:00"', 'from = "2026-09-13T00:00:00"', "limited_support.0.from"),
        (
            'next_response = { critical = "10m", high = "72h", medium = "72h", low = "72h" }\n',
            "",
            "limited_support.0.next_response",
        ),
    ],
    ids=["unknown level", "empty period", "naive instant", "missing targets"],
)
def test_a_bad_limited_period_is_refused_naming_its_field(old: str, new: str, message: str) -> None:
    assert message in rejected(default_catalog_toml() + LIMITED.replace(old, new))


def test_a_catalog_without_lines_is_still_a_catalog() -> None:
    """An operator's catalog written before lines existed: no line, no routes, every ticket's line null."""
    text = default_catalog_toml()
    bare = text.replace('entry_line = "l1"', "").split("[lines.l1]")[0]
    catalog = parse_catalog(bare)
    assert (catalog.entry_line, catalog.lines, catalog.routes) == (None, {}, {})


# -- the catalog's documents: `plans`, `due --at-line`, /v1/plans and /v1/due share them ----------------------


def test_plans_shows_lines_routes_and_limited_periods() -> None:
    from sla.catalog_views import plans_document

    document = plans_document(parse_catalog(default_catalog_toml() + LIMITED))
    assert document["entry_line"] == "l1"
    assert document["lines"]["l2"] == {
        "route": "oncall-l2",
        "pickup": {"seconds": 1800, "human": "30m"},
        "coverage": {"calendar": "l2_hours", "description": "Mon–Sun 04:00–22:00 Europe/Moscow"},
    }
    assert document["lines"]["l1"]["coverage"] == {"calendar": None, "description": "24/7"}
    assert document["routes"] == {
        "oncall-l2": {
            "coverage": {"calendar": "l2_hours", "description": "Mon–Sun 04:00–22:00 Europe/Moscow"},
            "fallback": "oncall-l1",
        }
    }
    (period,) = document["limited_support"]
    assert (period["from"], period["to"], period["levels"]) == (
        "2026-09-12T21:00:00Z",
        "2026-09-22T21:00:00Z",
        ["standard", "premium"],
    )
    assert period["first_response"]["critical"] == {"seconds": 600, "human": "10m"}


@pytest.mark.parametrize(
    ("line", "opened", "on_duty", "paged", "pickup_due"),
    [
        ("l2", "2026-04-06T23:30:00+03:00", False, "oncall-l1", "2026-04-07T01:30:00Z"),
        ("l2", "2026-04-06T12:00:00+03:00", True, "oncall-l2", "2026-04-06T09:30:00Z"),
        ("l1", "2026-04-06T23:30:00+03:00", True, "oncall-l1", None),
        ("l3", "2026-04-06T12:00:00+02:00", True, "oncall-l3", "2026-04-07T11:00:00Z"),  # Easter Monday off
    ],
)
def test_due_at_line_says_who_is_paged_then(
    line: str, opened: str, on_duty: bool, paged: str, pickup_due: str | None
) -> None:
    from sla.catalog_views import line_document

    document = line_document(CATALOG, line, datetime.fromisoformat(opened))
    assert (document["on_duty"], document["paged_route"], document["pickup_due"]) == (
        on_duty,
        paged,
        pickup_due,
    )


def test_the_command_line_shows_the_paged_route_and_refuses_an_unknown_line() -> None:
    from typer.testing import CliRunner

    from cli.main import app

    runner = CliRunner(env={"SLA_CATALOG_PATH": None})
    base = ["due", "--level", "business", "--severity", "high", "--opened", "2026-04-06T23:30:00+03:00"]
    text = runner.invoke(app, [*base, "--at-line", "l2"])
    assert text.exit_code == 0, text.output
    assert "line:         l2 (l2_hours: Mon–Sun 04:00–22:00 Europe/Moscow)" in text.stdout
    assert "paged route:  oncall-l1 (oncall-l2 is off duty at --opened)" in text.stdout
    assert "pickup due:   2026-04-07T01:30:00Z (30m of the line's hours)" in text.stdout
    unknown = runner.invoke(app, [*base, "--at-line", "l7"])
    assert unknown.exit_code == 2
    assert "--at-line: unknown line 'l7'; known: l1, l2, l3" in unknown.stderr
    pickup = runner.invoke(app, [*base, "--metric", "line_pickup"])
    assert pickup.exit_code == 2 and "--metric" in pickup.stderr  # a line's target, not a level's
    plans = runner.invoke(app, ["plans"])
    assert "Support lines" in plans.stdout and "Routes on duty" in plans.stdout


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=at("2024-01-01T00:00:00Z"), max_value=at("2030-12-31T23:59:59Z")))
def test_oncall_l2_is_on_duty_exactly_during_moscow_hours(instant: int) -> None:
    """Against a referee that reads the Moscow wall clock: the compiled calendar and the route agree."""
    moscow = datetime.fromtimestamp(instant, ZoneInfo("Europe/Moscow"))
    seconds = moscow.hour * 3600 + moscow.minute * 60 + moscow.second
    expected = "oncall-l2" if 4 * H <= seconds < 22 * H else "oncall-l1"
    assert paged_route(CATALOG, "oncall-l2", instant) == expected


def test_a_country_the_holidays_library_does_not_know_is_refused_by_the_cli_and_ignored_by_the_fold(
    tmp_path: Path,
) -> None:
    """The model checks the code's shape only (a deployed function must not import holidays at cold start);
    the CLI checks it against the library, and the fold counts such a calendar without holidays."""
    from typer.testing import CliRunner

    from cli.main import app
    from sla.catalog import unknown_countries

    text = default_catalog_toml().replace('country = "FR"', 'country = "XX"')
    catalog = parse_catalog(text)
    assert unknown_countries(catalog) == [
        "calendars.office_hours.country: unknown country 'XX'; expected an ISO 3166-1 alpha-2 code with known "
        "holidays, like 'FR'"
    ]
    path = tmp_path / "catalog.toml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner(env={"SLA_CATALOG_PATH": None}).invoke(app, ["plans", "--catalog", str(path)])
    assert result.exit_code == 2
    assert "calendars.office_hours.country: unknown country 'XX'" in result.stderr
    # Counted without holidays: Easter Monday 2026, a French holiday, is then a working day of the line.
    spec = catalog.lines["l3"]
    assert pickup_calendar(catalog, spec).after(at("2026-04-06T09:00:00+02:00"), 3600) == at(
        "2026-04-06T10:00:00+02:00"
    )
