"""The demo shows what the engine sends (issue 10): for a few moments of the week, the page as PagerDuty and
Slack received it and the customer's e-mail as the customer reads it, in its language and zone, taken from
the local engine's recorded deliveries rather than rendered again by the demo; and the timeline's alerts
read as the on-call topic received them, not as "(at risk)" beside a page that says "at 50% of target".
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.demo import alert_subjects, chosen_moments
from cli.demo_scenario import HORIZON, scenario_events
from cli.main import app
from local.replay import Message, replay, replay_with_messages

runner = CliRunner(env={"SLA_CATALOG_PATH": None})


@pytest.fixture(scope="module")
def sent() -> tuple[dict[str, Any], list[Message]]:
    return replay_with_messages([json.dumps(event) for event in scenario_events()], HORIZON)


@pytest.fixture(scope="module")
def table_output() -> str:
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    return result.stdout


def flat(text: str) -> str:
    """The output without the panels' borders and line breaks: a folded sentence reads whole again."""
    return " ".join(text.replace("│", " ").split())


def test_the_document_is_the_replays_own(sent: tuple[dict[str, Any], list[Message]]) -> None:
    document, _ = sent
    assert document == replay([json.dumps(event) for event in scenario_events()], HORIZON)


def test_every_alert_was_published_and_every_email_notification_sent(
    sent: tuple[dict[str, Any], list[Message]],
) -> None:
    document, messages = sent
    subjects = alert_subjects(document, messages)
    # A grouped page (storm control) is recorded, not sent: another ticket of its incident paged.
    assert [
        a for a, s in zip(document["alerts"], subjects, strict=True) if s is None and a["kind"] != "grouped"
    ] == []
    emailed = [n for n in document["notifications"] if "email" in n["channel"]]
    assert len([m for m in messages if m.channel == "email"]) == len(emailed)


def test_a_few_moments_cover_each_channel_and_each_customers_language(
    sent: tuple[dict[str, Any], list[Message]],
) -> None:
    _, messages = sent
    moments = chosen_moments(messages)
    assert {m.channel for m in moments} == {"sns", "pagerduty", "slack", "email"}
    subjects = [m.subject for m in moments if m.channel == "email"]
    assert any(s.startswith("[Ticket T-201] Nous avons") for s in subjects)  # French, Paris
    assert any(s.startswith("[Заявка T-30") for s in subjects)  # Russian, Moscow
    assert any(s.startswith("[Ticket T-401] We have") for s in subjects)  # English, New York
    assert [m.at for m in moments] == sorted(m.at for m in moments)


def test_the_table_shows_the_pages_and_emails_as_sent(table_output: str) -> None:
    text = flat(table_output)
    section = text[text.index("What the channels received") : text.index("The week's figures")]
    # PagerDuty's summary and Slack's text, as infra.notify built them.
    assert (
        "[business] T-302 first_response breached, due 20:30 UTC — page 1/2 oncall-l1 for oncall-l2"
        in section
    )
    assert "event_action: trigger, dedup_key: T-302/first_response/demo-022" in section
    assert ":rotating_light: [enterprise] T-402 first_response breached, due 03:15 UTC" in section
    # The customer's e-mail, in the customer's language, with the due time in the customer's zone.
    assert "e-mail to support@atelier-lumiere.example — Fri 03 15:30 UTC · Fri 03 17:30 CEST" in section
    assert "Subject: [Ticket T-201] Nous avons bien reçu votre demande" in section
    assert "au plus tard le mardi 7 avril 2026 à 09:30 (Europe/Paris)" in section
    assert "An engineer will respond by Monday, 6 April 2026 at 09:30 (America/New_York)" in section
    assert "Мы обязались ответить на ваше обращение T-302" in section  # the apology, in Russian


def test_the_timeline_says_what_the_page_says(table_output: str) -> None:
    text = flat(table_output)
    timeline = text[text.index("Timeline") : text.index("Tickets and their SLA clocks")]
    assert "(at risk)" not in text
    assert (
        "warning: “[enterprise] T-401 first_response at 50% of target, due 13:15 UTC - oncall-l2”" in timeline
    )
    assert (
        # 23:30 in Moscow: the second line is off duty, its fallback is paged (SPEC section 10)
        "trigger: “[business] T-302 first_response breached, due 20:30 UTC - page 1/2 oncall-l1 for oncall-l2”"
        in timeline
    )


def test_the_demo_ends_with_the_weeks_figures_after_the_messages(table_output: str) -> None:
    assert table_output.index("What the channels received") < table_output.index("The week's figures")
    assert "SLA compliance (met / decided in the period)" in table_output
    assert all(len(line) <= 120 for line in table_output.splitlines())


def test_the_page_shown_is_the_one_sent_not_rendered_again(monkeypatch: pytest.MonkeyPatch) -> None:
    from infra.notify import slack

    monkeypatch.setattr(slack, "message_for", lambda alert, summary: {"text": f"SENT-MARK {summary}"})

    result = runner.invoke(app, ["demo"])

    assert result.exit_code == 0, result.output
    assert "SENT-MARK [enterprise] T-402 first_response breached" in flat(result.stdout)
