"""The default catalog against the tables of SPEC section 2, and the errors an operator sees for a bad one.

The expected figures are copied from the SPEC tables, not derived from the catalog file, so that a change to
either shows up here as a disagreement to resolve.
"""

from importlib import resources
from typing import cast

import pytest
from pydantic import ValidationError

from sla.catalog import DEFAULT_LEVEL, parse_catalog
from sla.vocabulary import (
    COMPONENT_CLASS,
    COMPONENTS,
    SEVERITIES,
    Component,
    ComponentClass,
    Metric,
    Severity,
)

M = 60
H = 3600

DEFAULT_TEXT = resources.files("sla").joinpath("catalog.toml").read_text(encoding="utf-8")
CATALOG = parse_catalog(DEFAULT_TEXT)
LEVELS = ("standard", "premium", "business", "enterprise")

# SPEC section 2, first-response table; next-response is "the same table as first response".
RESPONSE = {
    "standard": {"critical": 4 * H, "high": 8 * H, "medium": 24 * H, "low": 48 * H},
    "premium": {"critical": 1 * H, "high": 2 * H, "medium": 8 * H, "low": 24 * H},
    "business": {"critical": 30 * M, "high": 1 * H, "medium": 4 * H, "low": 24 * H},
    "enterprise": {"critical": 15 * M, "high": 30 * M, "medium": 2 * H, "low": 24 * H},
}
# SPEC section 2, hardware replacement windows, counted 24/7 for every level.
HARDWARE = {
    "standard": {"hot_swap": 24 * H, "cold_swap": 48 * H, "board": 72 * H},
    "premium": {"hot_swap": 12 * H, "cold_swap": 24 * H, "board": 48 * H},
    "business": {"hot_swap": 4 * H, "cold_swap": 8 * H, "board": 12 * H},
    "enterprise": {"hot_swap": 2 * H, "cold_swap": 4 * H, "board": 6 * H},
}
COMPONENTS_BY_CLASS: dict[ComponentClass, tuple[Component, ...]] = {
    "hot_swap": ("disk", "ssd", "nvme", "psu", "fan"),
    "cold_swap": ("ram", "nic", "raid_controller", "gpu"),
    "board": ("motherboard", "cpu", "chassis"),
}
# SPEC section 2, warnings and escalation.
ESCALATION = {
    "standard": ([0.75], ["oncall-l2"], 60 * M),
    "premium": ([0.75], ["oncall-l2", "duty-manager"], 30 * M),
    "business": ([0.5, 0.75], ["oncall-l2", "duty-manager"], 15 * M),
    "enterprise": ([0.5, 0.75, 0.9], ["oncall-l2", "duty-manager", "account-manager"], 10 * M),
}
COVERAGE = {
    "standard": "business_hours",
    "premium": "business_hours",
    "business": "always",
    "enterprise": "always",
}


def assert_target(level_name: str, metric: Metric, key: str, expected_seconds: int | None) -> None:
    """One cell of a SPEC table: `key` is a severity, a component class or a component, as the metric needs."""
    level = CATALOG.level(level_name)
    if metric == "hardware_replacement" and key in COMPONENTS_BY_CLASS:
        actual: int | None = level.hardware_replacement.for_class(key)
    elif metric == "hardware_replacement":
        # A replacement window depends on the component only, never on the ticket's severity.
        answers = {level.target(metric, severity, cast(Component, key)) for severity in SEVERITIES}
        assert len(answers) == 1, f"{level_name}.{metric}.{key} varies with severity: {answers}"
        actual = answers.pop()
    else:
        actual = level.target(metric, cast(Severity, key))
    assert actual == expected_seconds, (
        f"{level_name}.{metric}.{key}: {actual} s, SPEC says {expected_seconds} s"
    )


# -- the default catalog is SPEC section 2 ----------------------------------------------------------------


def test_the_four_levels_and_standard_as_default() -> None:
    assert tuple(CATALOG.levels) == LEVELS
    assert DEFAULT_LEVEL == "standard"


@pytest.mark.parametrize(
    ("level", "metric", "severity", "seconds"),
    [
        (level, metric, severity, seconds)
        for level, row in RESPONSE.items()
        for metric in ("first_response", "next_response")
        for severity, seconds in row.items()
    ],
)
def test_response_targets(level: str, metric: Metric, severity: Severity, seconds: int) -> None:
    assert_target(level, metric, severity, seconds)


@pytest.mark.parametrize(
    ("level", "component_class", "seconds"),
    [(level, cls, seconds) for level, row in HARDWARE.items() for cls, seconds in row.items()],
)
def test_hardware_windows_by_component_class(level: str, component_class: str, seconds: int) -> None:
    assert_target(level, "hardware_replacement", component_class, seconds)


@pytest.mark.parametrize(
    ("level", "component", "seconds"),
    [
        (level, component, HARDWARE[level][cls])
        for level in LEVELS
        for cls, components in COMPONENTS_BY_CLASS.items()
        for component in components
    ],
)
def test_hardware_windows_by_component(level: str, component: str, seconds: int) -> None:
    assert_target(level, "hardware_replacement", component, seconds)


def test_every_component_has_its_spec_class() -> None:
    assert {c: cls for cls, cs in COMPONENTS_BY_CLASS.items() for c in cs} == COMPONENT_CLASS
    assert sorted(COMPONENTS) == sorted(COMPONENT_CLASS)


@pytest.mark.parametrize("level", LEVELS)
def test_no_resolution_target_by_default(level: str) -> None:
    for severity in SEVERITIES:
        assert_target(level, "resolution", severity, None)


@pytest.mark.parametrize("level", LEVELS)
def test_warnings_ladders_and_ack_timeouts(level: str) -> None:
    warn_at, ladder, ack_timeout = ESCALATION[level]
    assert CATALOG.level(level).warn_at == warn_at
    assert CATALOG.level(level).ladder == ladder
    assert CATALOG.level(level).ack_timeout == ack_timeout


@pytest.mark.parametrize("level", LEVELS)
def test_coverage_and_hardware_calendars(level: str) -> None:
    plan = CATALOG.level(level)
    assert plan.coverage == COVERAGE[level]
    assert plan.hardware_calendar == "always"
    for metric in ("first_response", "next_response", "resolution"):
        assert plan.calendar_name(metric) == COVERAGE[level]
    assert plan.calendar_name("hardware_replacement") == "always"


def test_the_coverage_calendars() -> None:
    assert set(CATALOG.calendars) == {"business_hours", "always", "l2_hours", "office_hours"}
    office = CATALOG.calendars["business_hours"]
    assert office.timezone is None  # the customer's zone: a level's promise
    assert not office.always
    assert office.public_holidays
    assert office.closed_dates == ()
    day = ((8 * H, 18 * H),)
    assert office.weekly_seconds() == (day, day, day, day, day, (), ())
    always = CATALOG.calendars["always"]
    assert always.always
    assert not always.public_holidays


def test_an_unknown_level_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown support level 'gold'; known: standard, premium"):
        CATALOG.level("gold")


def test_a_hardware_target_needs_a_component() -> None:
    with pytest.raises(ValueError, match="needs a component"):
        CATALOG.level("standard").target("hardware_replacement", "high")


def test_the_catalog_is_frozen() -> None:
    with pytest.raises(ValidationError, match="frozen"):
        CATALOG.level("standard").ack_timeout = 1  # type: ignore[misc]


# -- an operator's mistakes name their field ----------------------------------------------------------------


def edited(section: str, old: str, new: str) -> str:
    """The default catalog with `old` replaced by `new` inside one [section] only."""
    start = DEFAULT_TEXT.index(f"[{section}]")
    end = DEFAULT_TEXT.find("\n[", start + 1)
    end = len(DEFAULT_TEXT) if end < 0 else end
    block = DEFAULT_TEXT[start:end]
    assert block.count(old) == 1, f"{old!r} should occur once in [{section}]"
    return DEFAULT_TEXT[:start] + block.replace(old, new) + DEFAULT_TEXT[end:]


def rejected(text: str) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        parse_catalog(text)
    return caught.value


def paths(error: ValidationError) -> set[str]:
    return {".".join(str(part) for part in detail["loc"]) for detail in error.errors()}


@pytest.mark.parametrize(
    ("section", "old", "new", "path", "message"),
    [
        pytest.param(
            "levels.standard",
            'ack_timeout = "60m"',
            'ack_timout = "60m"',
            "levels.standard.ack_timout",
            "Extra inputs are not permitted",
            id="typo'd key",
        ),
        pytest.param(
            "levels.standard",
            'first_response = { critical = "4h"',
            'first_response = { urgent = "1h", critical = "4h"',
            "levels.standard.first_response.urgent",
            "Extra inputs are not permitted",
            id="unknown severity",
        ),
        pytest.param(
            "levels.premium",
            'next_response = { critical = "1h", high = "2h", medium = "8h", low = "24h" }',
            'next_response = { critical = "1h", high = "2h", medium = "8h" }',
            "levels.premium.next_response.low",
            "Field required",
            id="missing severity",
        ),
        pytest.param(
            "levels.business",
            'hardware_replacement = { hot_swap = "4h"',
            'hardware_replacement = { warm_swap = "6h", hot_swap = "4h"',
            "levels.business.hardware_replacement.warm_swap",
            "Extra inputs are not permitted",
            id="unknown component class",
        ),
        pytest.param(
            "levels.premium",
            'first_response = { critical = "1h"',
            'first_response = { critical = "0h"',
            "levels.premium.first_response.critical",
            "'0h' must be a positive duration",
            id="zero duration",
        ),
        pytest.param(
            "levels.standard",
            'next_response = { critical = "4h"',
            'next_response = { critical = "-4h"',
            "levels.standard.next_response.critical",
            "'-4h' is not a duration",
            id="negative duration",
        ),
        pytest.param(
            "levels.enterprise",
            'ack_timeout = "10m"',
            'ack_timeout = "10 minutes"',
            "levels.enterprise.ack_timeout",
            "is not a duration",
            id="unparsable duration",
        ),
        pytest.param(
            "levels.enterprise",
            'ack_timeout = "10m"',
            "ack_timeout = 600",
            "levels.enterprise.ack_timeout",
            "must be a duration string",
            id="bare number duration",
        ),
        pytest.param(
            "calendars.business_hours",
            'mon = ["08:00-18:00"]',
            'mon = ["08:00-25:00"]',
            "calendars.business_hours.weekly_hours.mon",
            "'08:00-25:00' is not a valid time of day span",
            id="hour out of range",
        ),
        pytest.param(
            "calendars.business_hours",
            'tue = ["08:00-18:00"]',
            'tue = ["8-18"]',
            "calendars.business_hours.weekly_hours.tue",
            "'8-18' is not a span like '08:00-18:00'",
            id="span not hh:mm",
        ),
        pytest.param(
            "calendars.business_hours",
            'wed = ["08:00-18:00"]',
            'wed = ["18:00-08:00"]',
            "calendars.business_hours.weekly_hours.wed",
            "must end after it starts",
            id="span backwards",
        ),
        pytest.param(
            "calendars.business_hours",
            'thu = ["08:00-18:00"]',
            'thu = ["08:00-12:30", "12:00-18:00"]',
            "calendars.business_hours.weekly_hours.thu",
            "overlap",
            id="spans overlap",
        ),
        pytest.param(
            "calendars.business_hours",
            'fri = ["08:00-18:00"]',
            'friday = ["08:00-18:00"]',
            "calendars.business_hours.weekly_hours.friday.[key]",
            "Input should be 'mon', 'tue', 'wed', 'thu', 'fri', 'sat' or 'sun'",
            id="unknown weekday",
        ),
        pytest.param(
            "levels.business",
            "warn_at = [0.5, 0.75]",
            "warn_at = [0.5, 1.0]",
            "levels.business.warn_at",
            "warning fraction 1.0 must be between 0 and 1",
            id="warning at the target",
        ),
        pytest.param(
            "levels.premium",
            'ladder = ["oncall-l2", "duty-manager"]',
            "ladder = []",
            "levels.premium.ladder",
            "List should have at least 1 item",
            id="empty ladder",
        ),
    ],
)
def test_a_field_error_names_its_path(section: str, old: str, new: str, path: str, message: str) -> None:
    error = rejected(edited(section, old, new))
    assert path in paths(error)
    assert path in str(error)
    assert message in str(error)


@pytest.mark.parametrize(
    ("section", "old", "new", "message"),
    [
        pytest.param(
            "levels.standard",
            'coverage = "business_hours"',
            'coverage = "night_hours"',
            "levels.standard.coverage: unknown calendar 'night_hours'",
            id="unknown coverage calendar",
        ),
        pytest.param(
            "levels.enterprise",
            'hardware_calendar = "always"',
            'hardware_calendar = "datacenter"',
            "levels.enterprise.hardware_calendar: unknown calendar 'datacenter'",
            id="unknown hardware calendar",
        ),
        pytest.param(
            "levels.standard",
            "[levels.standard]",
            "[levels.basic]",
            "levels: the default level 'standard' must be defined",
            id="missing standard level",
        ),
    ],
)
def test_a_cross_reference_error_names_its_path(section: str, old: str, new: str, message: str) -> None:
    # These are checked across the whole catalog, so pydantic reports them at the top level: the path is
    # in the message itself.
    assert message in str(rejected(edited(section, old, new)))


def test_a_calendar_that_is_both_always_and_weekly_is_refused() -> None:
    error = rejected(edited("calendars.always", "always = true", "always = true\npublic_holidays = true"))
    assert "calendars.always" in paths(error)
    assert "an 'always' calendar takes no weekly_hours" in str(error)


def test_a_calendar_with_no_hours_is_refused() -> None:
    error = rejected(edited("calendars.always", "always = true", "always = false"))
    assert "calendars.always" in paths(error)
    assert "weekly_hours needs at least one span" in str(error)


def test_every_mistake_is_reported_at_once() -> None:
    # An operator fixes a catalog in one pass, not one error per deploy.
    text = edited("levels.standard", 'ack_timeout = "60m"', 'ack_timeout = "0m"')
    text = text.replace(
        '[levels.premium]\ncoverage = "business_hours"',
        '[levels.premium]\ncoverage = "business_hours"\ncolour = "red"',
    )
    error = rejected(text)
    assert {"levels.standard.ack_timeout", "levels.premium.colour"} <= paths(error)


def test_an_operator_catalog_with_other_figures_is_accepted() -> None:
    text = edited(
        "levels.standard", 'first_response = { critical = "4h"', 'first_response = { critical = "1h30m"'
    )
    catalog = parse_catalog(text)
    assert catalog.level("standard").target("first_response", "critical") == 90 * M
    assert catalog.level("standard").target("next_response", "critical") == 4 * H


def test_a_level_may_define_resolution_targets() -> None:
    text = edited(
        "levels.premium",
        'ack_timeout = "30m"',
        'ack_timeout = "30m"\nresolution = { critical = "1d", high = "2d", medium = "5d", low = "10d" }',
    )
    premium = parse_catalog(text).level("premium")
    assert premium.target("resolution", "critical") == 24 * H
    assert premium.target("resolution", "low") == 10 * 24 * H
    assert premium.calendar_name("resolution") == "business_hours"
