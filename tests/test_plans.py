"""sla.plans: which schedule a clock counts in, and when it falls due, for the catalog as shipped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from infra.catalog_source import load_catalog
from sla.calendar import Schedule
from sla.catalog import Catalog, check_country, check_timezone, parse_catalog
from sla.plans import due_at, explain_due, schedule_for

OFFICE_HOURS = (28_800, 64_800)  # 08:00-18:00 in seconds since local midnight
MON_FRI = ((OFFICE_HOURS,),) * 5 + ((), ())


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.mark.parametrize("metric", ["first_response", "next_response", "resolution", "hardware_replacement"])
@pytest.mark.parametrize("level", ["business", "enterprise"])
def test_round_the_clock_levels_share_one_schedule_whatever_the_zone(
    catalog: Catalog, level: str, metric: str
) -> None:
    paris = schedule_for(catalog, level, metric, "Europe/Paris", "FR")  # type: ignore[arg-type]
    tokyo = schedule_for(catalog, level, metric, "Asia/Tokyo", "JP")  # type: ignore[arg-type]
    assert paris == tokyo == Schedule.always()
    assert paris.weekly is None and paris.country is None


def test_premium_in_paris_is_office_hours_with_french_holidays(catalog: Catalog) -> None:
    schedule = schedule_for(catalog, "premium", "first_response", "Europe/Paris", "FR")
    assert schedule == Schedule(zone="Europe/Paris", weekly=MON_FRI, country="FR")


def test_premium_in_moscow_observes_russian_holidays_in_moscow_time(catalog: Catalog) -> None:
    schedule = schedule_for(catalog, "premium", "next_response", "Europe/Moscow", "RU")
    assert schedule.zone == "Europe/Moscow"
    assert schedule.country == "RU"
    assert schedule.weekly == MON_FRI


def test_hardware_replacement_counts_in_the_hardware_calendar_not_the_coverage(catalog: Catalog) -> None:
    assert (
        schedule_for(catalog, "standard", "hardware_replacement", "Europe/Paris", "FR") == Schedule.always()
    )


def test_subdivision_is_kept_only_where_holidays_are_observed(catalog: Catalog) -> None:
    assert schedule_for(catalog, "premium", "first_response", "Europe/Paris", "FR", "57").subdivision == "57"
    assert schedule_for(catalog, "business", "first_response", "Europe/Paris", "FR", "57").subdivision is None


def test_operator_calendar_without_holidays_keeps_closed_dates_and_drops_the_country(
    catalog: Catalog,
) -> None:
    text = """
        [calendars.shop]
        weekly_hours = { sat = ["09:00-12:00", "14:00-18:00"] }
        closed_dates = [2026-12-26]
        [calendars.always]
        always = true
        [levels.standard]
        coverage = "shop"
        hardware_calendar = "always"
        warn_at = [0.5]
        ladder = ["oncall-l2"]
        ack_timeout = "1h"
        first_response = { critical = "1h", high = "2h", medium = "3h", low = "4h" }
        next_response = { critical = "1h", high = "2h", medium = "3h", low = "4h" }
        hardware_replacement = { hot_swap = "1h", cold_swap = "2h", board = "3h" }
    """
    shop = parse_catalog("\n".join(line.strip() for line in text.splitlines()))
    schedule = schedule_for(shop, "standard", "first_response", "America/New_York", "US")
    assert schedule.country is None
    assert schedule.closed_dates == frozenset({datetime(2026, 12, 26, tzinfo=UTC).date()})
    assert schedule.weekly == ((), (), (), (), (), ((32_400, 43_200), (50_400, 64_800)), ())
    # Saturday 2026-12-19 11:00 New York: 1h left in the morning, then 1h after lunch.
    opened = datetime.fromisoformat("2026-12-19T11:00:00-05:00")
    assert due_at(shop, "standard", "first_response", "high", opened, "America/New_York", "US") == datetime(
        2026, 12, 19, 20, 0, tzinfo=UTC
    )


def test_bad_zone_country_level_and_metric_are_refused(catalog: Catalog) -> None:
    with pytest.raises(ValueError, match="time zone 'Europe/Pariss'"):
        schedule_for(catalog, "business", "first_response", "Europe/Pariss", "FR")
    with pytest.raises(ValueError, match="country 'XX'"):
        schedule_for(catalog, "premium", "first_response", "Europe/Paris", "XX")
    with pytest.raises(ValueError, match="subdivision 'ZZ' of FR"):
        schedule_for(catalog, "premium", "first_response", "Europe/Paris", "FR", "ZZ")
    with pytest.raises(ValueError, match="unknown support level 'gold'"):
        schedule_for(catalog, "gold", "first_response", "Europe/Paris", "FR")
    with pytest.raises(ValueError, match="unknown metric 'speed'"):
        schedule_for(catalog, "premium", "speed", "Europe/Paris", "FR")  # type: ignore[arg-type]


def test_country_is_not_needed_by_a_round_the_clock_calendar(catalog: Catalog) -> None:
    # The fold must not pay for importing holidays on 24/7 levels; user-facing callers use check_country.
    assert schedule_for(catalog, "business", "first_response", "Europe/Paris", "XX") == Schedule.always()
    with pytest.raises(ValueError):
        check_country("XX")
    assert check_country("FR") == "FR"
    assert check_timezone("Asia/Tokyo") == "Asia/Tokyo"


def test_friday_evening_premium_ticket_waits_for_easter_tuesday(catalog: Catalog) -> None:
    opened = datetime.fromisoformat("2026-04-03T17:30:00+02:00")
    due = due_at(catalog, "premium", "first_response", "high", opened)
    assert due == datetime(2026, 4, 7, 7, 30, tzinfo=UTC)
    assert due.utcoffset() == timedelta(0)


def test_moselle_also_observes_good_friday(catalog: Catalog) -> None:
    opened = datetime.fromisoformat("2026-04-03T17:30:00+02:00")
    result = explain_due(catalog, "premium", "first_response", "high", opened, subdivision="57")
    assert result.at == datetime(2026, 4, 7, 8, 0, tzinfo=UTC)


def test_business_hours_follow_daylight_saving_in_the_customer_zone(catalog: Catalog) -> None:
    # Friday 17:30 CET, 30 min left; Monday after the switch to CEST opens at 08:00+02:00.
    opened = datetime.fromisoformat("2026-03-27T17:30:00+01:00")
    assert due_at(catalog, "premium", "first_response", "critical", opened) == datetime(
        2026, 3, 30, 6, 30, tzinfo=UTC
    )


def test_moscow_customer_counts_in_moscow_hours_and_holidays(catalog: Catalog) -> None:
    # Friday 8 May 2026 09:00 MSK, 48 working hours: 9h on Friday, Monday 11 May is Victory Day moved from
    # Saturday, then 10h a day from Tuesday: due Friday 15 May at 17:00 MSK.
    opened = datetime.fromisoformat("2026-05-08T09:00:00+03:00")
    due = due_at(catalog, "standard", "first_response", "low", opened, "Europe/Moscow", "RU")
    assert due == datetime(2026, 5, 15, 14, 0, tzinfo=UTC)


def test_round_the_clock_critical_runs_through_the_weekend(catalog: Catalog) -> None:
    opened = datetime.fromisoformat("2026-04-04T23:45:00+02:00")
    assert due_at(catalog, "business", "first_response", "critical", opened) == datetime(
        2026, 4, 4, 22, 15, tzinfo=UTC
    )


def test_hardware_replacement_window_comes_from_the_component_class(catalog: Catalog) -> None:
    opened = datetime.fromisoformat("2026-04-04T23:00:00+02:00")
    result = explain_due(catalog, "premium", "hardware_replacement", "low", opened, component="motherboard")
    assert result.target_seconds == 48 * 3600
    assert result.calendar == "always"
    assert result.at == datetime(2026, 4, 6, 21, 0, tzinfo=UTC)


def test_due_at_refuses_what_it_cannot_answer(catalog: Catalog) -> None:
    opened = datetime.fromisoformat("2026-04-03T17:30:00+02:00")
    with pytest.raises(ValueError, match="no resolution target"):
        due_at(catalog, "premium", "resolution", "high", opened)
    with pytest.raises(ValueError, match="needs a component"):
        due_at(catalog, "premium", "hardware_replacement", "high", opened)
    with pytest.raises(ValueError, match="only applies to hardware_replacement"):
        due_at(catalog, "premium", "first_response", "high", opened, component="disk")
    with pytest.raises(ValueError, match="no UTC offset"):
        due_at(catalog, "premium", "first_response", "high", opened.replace(tzinfo=None))
    with pytest.raises(ValueError, match="unknown severity"):
        due_at(catalog, "premium", "first_response", "urgent", opened)  # type: ignore[arg-type]
