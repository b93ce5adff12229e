"""Customer notices and on-call summaries: the customer's language, the customer's wall clock, the zone named."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from sla.effects import Alert, Notification, NotificationKind
from sla.messages import alert_summary, format_instant, render_notification
from sla.vocabulary import Locale


def epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


DUE = epoch("2026-04-07T07:30:00+00:00")  # a Tuesday
AT = epoch("2026-04-07T06:00:00+00:00")

LOCAL_DUE = {
    ("fr", "Europe/Paris"): "mardi 7 avril 2026 à 09:30 (Europe/Paris)",
    ("ru", "Europe/Moscow"): "вторник, 7 апреля 2026 г., 10:30 (Europe/Moscow)",
    ("en", "America/New_York"): "Tuesday, 7 April 2026 at 03:30 (America/New_York)",
}

DATA: dict[NotificationKind, dict[str, str | int | None]] = {
    "acknowledged": {"due_at": DUE, "severity": "high", "support_level": "premium"},
    "hardware_scheduled": {
        "due_at": DUE,
        "server_id": "srv-42",
        "component": "psu",
        "support_level": "premium",
    },
    "breach_apology": {"metric": "first_response", "due_at": DUE, "support_level": "premium"},
    "hardware_completed": {"server_id": "srv-42", "component": "psu", "support_level": "premium"},
    "survey": {"support_level": "premium"},
}


def notification(
    kind: NotificationKind, locale: Locale = "en", timezone: str = "UTC", **data: str | int | None
) -> Notification:
    return Notification(
        effect_id=f"T-3:notify:{kind}:1",
        at=AT,
        ticket_id="T-3",
        customer_id="C-1",
        kind=kind,
        locale=locale,
        timezone=timezone,
        contact_email="client@example.com",
        data={**DATA[kind], **data},
    )


@pytest.mark.parametrize(("locale", "timezone"), list(LOCAL_DUE))
def test_a_due_time_is_shown_on_the_customers_wall_clock_with_the_zone_named(
    locale: Locale, timezone: str
) -> None:
    assert format_instant(DUE, timezone, locale) == LOCAL_DUE[(locale, timezone)]
    message = render_notification(notification("acknowledged", locale, timezone))
    assert LOCAL_DUE[(locale, timezone)] in message.body
    assert message.locale == locale


def test_daylight_saving_time_is_honoured() -> None:
    winter = epoch("2026-01-15T08:00:00+00:00")
    assert "09:00 (Europe/Paris)" in format_instant(winter, "Europe/Paris", "fr")
    assert "10:00 (Europe/Paris)" in format_instant(winter + 182 * 86_400, "Europe/Paris", "fr")


def test_french_writes_the_first_of_the_month_as_1er() -> None:
    assert format_instant(epoch("2026-05-01T10:00:00+00:00"), "Europe/Paris", "fr") == (
        "vendredi 1er mai 2026 à 12:00 (Europe/Paris)"
    )


@pytest.mark.parametrize("locale", ["en", "fr", "ru"])
@pytest.mark.parametrize("kind", list(DATA))
def test_every_kind_renders_in_every_locale_without_gaps(kind: NotificationKind, locale: Locale) -> None:
    message = render_notification(notification(kind, locale, "Europe/Paris"))
    assert "T-3" in message.subject
    assert "T-3" in message.body or "srv-42" in message.body
    text = (message.subject + message.body).replace("How did we do?", "")
    for leftover in ("{", "}", "?", "None"):  # "?" stands for a missing value
        assert leftover not in text, (kind, locale, message)


def test_the_texts_are_in_the_customers_language() -> None:
    fr = render_notification(notification("hardware_scheduled", "fr", "Europe/Paris"))
    ru = render_notification(notification("hardware_scheduled", "ru", "Europe/Moscow"))
    en = render_notification(notification("hardware_scheduled", "en", "America/New_York"))
    assert "Remplacement matériel planifié sur le serveur srv-42" in fr.subject
    assert "« alimentation »" in fr.body and fr.body.startswith("Bonjour,")
    assert "«блок питания»" in ru.body and ru.body.startswith("Здравствуйте!")
    assert "power supply of server srv-42" in en.body
    assert "mardi 7 avril 2026 à 09:30" in fr.body


def test_apologies_name_the_broken_commitment() -> None:
    first = render_notification(notification("breach_apology", "en"))
    assert "respond to your request T-3 by Tuesday, 7 April 2026 at 07:30 (UTC)" in first.body
    hardware = render_notification(
        notification(
            "breach_apology",
            "fr",
            "Europe/Paris",
            metric="hardware_replacement",
            server_id="srv-42",
            component="disk",
        )
    )
    assert "remplacer le composant « disque » du serveur srv-42" in hardware.body


def test_survey_and_completion_show_when_it_happened_locally() -> None:
    survey = render_notification(notification("survey", "ru", "Europe/Moscow"))
    assert "вторник, 7 апреля 2026 г., 09:00 (Europe/Moscow)" in survey.body
    done = render_notification(notification("hardware_completed", "en", "America/New_York"))
    assert "completed on Tuesday, 7 April 2026 at 02:00 (America/New_York)" in done.body


def test_a_stored_iso_due_time_reads_the_same_as_epoch_seconds() -> None:
    stored = notification("acknowledged", "fr", "Europe/Paris", due_at="2026-04-07T07:30:00Z")
    assert render_notification(stored) == render_notification(
        notification("acknowledged", "fr", "Europe/Paris")
    )


def test_without_a_due_time_the_notice_promises_no_date() -> None:
    message = render_notification(notification("acknowledged", "en", due_at=None))
    assert "as soon as possible" in message.body


def test_unknown_locale_and_zone_fall_back_to_english_and_utc() -> None:
    odd = dataclasses.replace(notification("acknowledged"), locale="de", timezone="Mars/Olympus")  # type: ignore[arg-type]
    message = render_notification(odd)
    assert message.locale == "en"
    assert "Tuesday, 7 April 2026 at 07:30 (UTC)" in message.body


# -- on-call ---------------------------------------------------------------------------------------------


def alert(**changes: object) -> Alert:
    base = Alert(
        effect_id="T-3:first_response:1:trigger:0",
        at=epoch("2026-04-07T12:16:00+00:00"),
        ticket_id="T-3",
        metric="first_response",
        cycle=1,
        kind="trigger",
        route="oncall-l2",
        dedup_key="T-3/first_response/1",
        step=0,
        due_at=epoch("2026-04-07T12:15:00+00:00"),
        support_level="enterprise",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_trigger_summary_names_level_clock_due_time_and_ladder_step() -> None:
    assert (
        alert_summary(alert(), 3)
        == "[enterprise] T-3 first_response breached, due 12:15 UTC — page 1/3 oncall-l2"
    )
    assert alert_summary(alert(step=1, route="duty-manager")).endswith("page 2 duty-manager")


def test_warning_summary_shows_the_fraction_in_percent() -> None:
    warning = alert(kind="warning", fraction=0.75, at=epoch("2026-04-07T12:04:00+00:00"))
    assert (
        alert_summary(warning)
        == "[enterprise] T-3 first_response at 75% of target, due 12:15 UTC — oncall-l2"
    )


def test_acknowledge_and_resolve_summaries() -> None:
    assert (
        alert_summary(alert(kind="acknowledge"))
        == "[enterprise] T-3 first_response breach acknowledged — oncall-l2"
    )
    assert (
        alert_summary(alert(kind="resolve")) == "[enterprise] T-3 first_response breach resolved — oncall-l2"
    )


def test_a_due_time_on_another_day_carries_its_date_and_later_cycles_their_number() -> None:
    late = alert(metric="next_response", cycle=2, at=epoch("2026-04-08T00:10:00+00:00"))
    assert alert_summary(late) == (
        "[enterprise] T-3 next_response #2 breached, due 2026-04-07 12:15 UTC — page 1 oncall-l2"
    )
    assert datetime.fromtimestamp(late.at, UTC).day == 8
