"""The event contract's JSON types are the ones SPEC section 3 names, and every instant it admits folds.

`occurred_at` is a JSON string holding an ISO 8601 instant with its offset (never epoch seconds), `sequence`
a JSON integer within what every JSON producer holds exactly (never a boolean, a string or 10**30), and the
ids are bounded strings; each refusal names its field and reason (SPEC section 5). Instants are bounded
absolutely as well (1970 up to 2100), so that replay, the CLI and the fold, which have no receipt time to
bound them by, never meet an instant that overflows a calendar past year 9999.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from infra.edge import EdgeEvent, EdgeRejection, read_envelope, read_text
from sla.calendar import to_epoch
from sla.events import (
    EARLIEST_INSTANT,
    IDENTIFIER_MAX_CHARS,
    LATEST_INSTANT,
    MAX_SEQUENCE,
    SOURCE,
    STORED,
    SUBJECT_MAX_CHARS,
    InvalidEvent,
    TicketOpened,
    parse_detail,
)
from sla.plans import explain_due
from sla.vocabulary import COMPONENTS, METRICS, SEVERITIES
from tests.fold_helpers import default_catalog, hw_requested, message, opened, plan, run, status

OPENED = {
    "event_id": "evt-1",
    "occurred_at": "2026-04-03T17:30:00+02:00",
    "ticket_id": "T-1",
    "customer_id": "C-1",
    "severity": "high",
    "subject": "Server down",
}
RECEIVED = datetime(2026, 4, 3, 15, 31, tzinfo=UTC)


def reason(detail: dict[str, Any], received_at: datetime | None = None) -> str:
    with pytest.raises(InvalidEvent) as refused:
        parse_detail("Ticket Opened", detail, received_at)
    return refused.value.reason


def opened_with(**fields: Any) -> dict[str, Any]:
    return {**OPENED, **fields}


# -- occurred_at: a JSON string, an ISO 8601 instant with its offset ------------------------------------------


@pytest.mark.parametrize(
    ("value", "given"),
    [
        (12345, "the number 12345"),
        (1775230200, "the number 1775230200"),
        (1775230200.5, "the number 1775230200.5"),
        (True, "the boolean true"),
        (None, "null"),
        ({"iso": "2026-04-03T17:30:00Z"}, "an object"),
        (["2026-04-03T17:30:00Z"], "an array"),
    ],
)
def test_an_occurred_at_that_is_not_a_json_string_is_refused_naming_its_type(value: Any, given: str) -> None:
    for received_at in (None, RECEIVED):
        text = reason(opened_with(occurred_at=value), received_at)
        assert text.startswith("occurred_at: expected an ISO 8601 instant as a JSON string"), text
        assert text.endswith(f"got {given}"), text


@pytest.mark.parametrize("value", ["12345", "1775230200", "1775230200.5", "yesterday", "", "2026"])
def test_a_string_that_is_not_an_iso_8601_instant_is_refused_not_read_as_epoch_seconds(value: str) -> None:
    text = reason(opened_with(occurred_at=value))
    assert text.startswith("occurred_at: "), text
    assert "is not an ISO 8601 instant like 2026-04-03T17:30:00+02:00" in text, text


def test_a_naive_occurred_at_is_refused_saying_to_add_an_offset() -> None:
    text = reason(opened_with(occurred_at="2026-04-03T17:30:00"))
    assert text.startswith("occurred_at: "), text
    assert "without an offset (add one, like +02:00 or Z)" in text, text


@given(
    st.one_of(st.integers(), st.floats(allow_nan=False), st.booleans(), st.none(), st.lists(st.integers()))
)
def test_no_json_value_but_a_string_is_ever_taken_for_an_instant(value: Any) -> None:
    assert reason(opened_with(occurred_at=value)).startswith("occurred_at: expected an ISO 8601 instant")


# -- sequence: a JSON integer, 0 to 2**53 - 1 ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (True, "Input should be a valid integer, got the boolean true"),
        (False, "Input should be a valid integer, got the boolean false"),
        ("3", "Input should be a valid integer, got the string '3'"),
        (3.0, "Input should be a valid integer, got the number 3.0"),
        (-1, "greater than or equal to 0, got the number -1"),
        (10**30, f"{10**30} is more than {MAX_SEQUENCE} (2**53 - 1)"),
        (MAX_SEQUENCE + 1, f"{MAX_SEQUENCE + 1} is more than {MAX_SEQUENCE}"),
    ],
)
def test_a_sequence_that_is_not_a_json_integer_in_bounds_is_refused(value: Any, problem: str) -> None:
    text = reason(opened_with(sequence=value))
    assert text.startswith("sequence: "), text
    assert problem in text, text


@given(st.integers(0, MAX_SEQUENCE))
def test_every_sequence_in_bounds_is_accepted_as_given(value: int) -> None:
    event = parse_detail("Ticket Opened", opened_with(sequence=value))
    assert event.sequence == value


@given(st.one_of(st.integers(max_value=-1), st.integers(min_value=MAX_SEQUENCE + 1), st.booleans()))
def test_every_sequence_out_of_bounds_or_boolean_is_refused_naming_sequence(value: int) -> None:
    assert reason(opened_with(sequence=value)).startswith("sequence: ")


def test_a_stored_sequence_over_the_bound_still_reads_since_accepted_history_stays_readable() -> None:
    detail = opened_with(sequence=10**30, occurred_at="9999-12-31T23:00:00Z")
    event = TicketOpened.model_validate(detail, context={STORED: True})
    assert event.sequence == 10**30


# -- ids: bounded strings --------------------------------------------------------------------------------------


def test_a_300000_character_event_id_is_refused_naming_the_field_the_bound_and_its_length() -> None:
    text = reason(opened_with(event_id="x" * 300_000), RECEIVED)
    assert text == f"event_id: String should have at most {IDENTIFIER_MAX_CHARS} characters, got 300000"


@pytest.mark.parametrize("field", ["event_id", "ticket_id", "customer_id"])
def test_an_id_that_is_a_number_is_refused_not_turned_into_a_string(field: str) -> None:
    assert reason(opened_with(**{field: 42})) == f"{field}: Input should be a valid string, got the number 42"


def test_the_edge_keeps_the_rejection_of_a_huge_event_id_under_the_envelope_id_with_its_reason() -> None:
    envelope = {
        "id": "env-1",
        "source": SOURCE,
        "detail-type": "Ticket Opened",
        "detail": opened_with(event_id="x" * 300_000),
    }
    read = read_envelope(envelope, to_epoch(RECEIVED), "m-1")
    assert isinstance(read, EdgeRejection)
    assert read.event_id == "env-1"
    assert read.reason.startswith("event_id: String should have at most 128 characters, got 300000")


# -- the instants the engine takes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("occurred_at", "problem"),
    [
        ("9999-12-31T23:00:00Z", "is not before 2100-01-01T00:00:00Z"),
        ("9999-12-31T23:59:59-12:00", "is not before 2100-01-01T00:00:00Z"),  # after year 9999 in UTC
        ("2100-01-01T00:00:00Z", "is not before 2100-01-01T00:00:00Z"),
        ("2100-01-01T00:59:59+01:00", ""),  # 2099-12-31T23:59:59Z: the last instant taken
        ("1970-01-01T00:00:00Z", ""),
        ("1970-01-01T00:30:00+01:00", "is before 1970-01-01T00:00:00Z"),
        ("0001-01-01T00:00:00Z", "is before 1970-01-01T00:00:00Z"),
        ("0001-01-01T00:00:00+14:00", "is before 1970-01-01T00:00:00Z"),  # before year 1 in UTC
    ],
)
def test_without_a_receipt_time_an_instant_out_of_the_engines_range_is_refused(
    occurred_at: str, problem: str
) -> None:
    detail = opened_with(occurred_at=occurred_at)
    if not problem:
        assert parse_detail("Ticket Opened", detail).occurred_at == datetime.fromisoformat(occurred_at)
        return
    text = reason(detail)
    assert text.startswith("occurred_at: "), text
    assert problem in text, text


def test_received_in_year_9999_as_in_replay_an_event_of_year_9999_is_refused_at_the_edge() -> None:
    """Replay delivers an event at its own time, so the receipt bounds pass: the absolute ones refuse it."""
    far = datetime(9999, 12, 31, 23, tzinfo=UTC)
    envelope = {
        "id": "env-far",
        "source": SOURCE,
        "detail-type": "Ticket Opened",
        "detail": opened_with(event_id="evt-far", occurred_at="9999-12-31T23:00:00Z"),
    }
    read = read_envelope(envelope, to_epoch(far), "m-1")
    assert isinstance(read, EdgeRejection)
    assert read.event_id == "evt-far"
    assert read.reason.startswith("occurred_at: 9999-12-31T23:00:00+00:00 is not before 2100-01-01T00:00:00Z")


def test_the_receipt_time_bounds_are_checked_first_and_still_say_how_far() -> None:
    text = reason(opened_with(occurred_at="9999-12-31T23:00:00Z"), RECEIVED)
    assert "after the engine received the event" in text


def test_an_event_at_the_last_instant_taken_passes_the_edge_when_received_then() -> None:
    last = LATEST_INSTANT - timedelta(seconds=1)
    envelope = {
        "id": "env-last",
        "source": SOURCE,
        "detail-type": "Ticket Opened",
        "detail": opened_with(occurred_at=last.isoformat()),
    }
    assert isinstance(read_envelope(envelope, to_epoch(last), "m-1"), EdgeEvent)


# -- every instant the contract admits folds and falls due, without OverflowError -----------------------------

FIRST = to_epoch(EARLIEST_INSTANT)
LAST = to_epoch(LATEST_INSTANT) - 1
ZONES = ("Europe/Paris", "Pacific/Kiritimati", "Pacific/Pago_Pago", "America/New_York", "Asia/Tokyo")
COUNTRIES = ("FR", "DE", "US", "JP")


SPAN = 240  # seconds from the first event of the test ticket to its last


@settings(max_examples=30, deadline=None)
@given(
    at=st.integers(FIRST, LAST - SPAN),
    level=st.sampled_from(("standard", "premium", "business", "enterprise")),
    zone=st.sampled_from(ZONES),
    country=st.sampled_from(COUNTRIES),
    later=st.integers(0, 60 * 86_400),
)
@example(at=FIRST, level="premium", zone="Pacific/Pago_Pago", country="US", later=0)
@example(at=LAST - SPAN, level="premium", zone="Pacific/Kiritimati", country="JP", later=60 * 86_400)
@example(at=LAST - SPAN, level="standard", zone="Europe/Paris", country="FR", later=0)
def test_a_ticket_at_any_admitted_instant_folds_without_overflow(
    at: int, level: str, zone: str, country: str, later: int
) -> None:
    events = [
        opened(at, "high"),
        message(at + 60, "customer"),
        status(at + 120, "pending_customer"),
        status(at + 180, "open"),
        hw_requested(at + SPAN),
    ]
    plans = [plan(at, level, timezone=zone, country=country)]
    folded = run(events, plans, now=at + SPAN + later)
    assert folded.state is not None
    assert all(clock.started_at is not None for clock in folded.state.clocks)


@settings(max_examples=30, deadline=None)
@given(at=st.integers(FIRST, LAST), zone=st.sampled_from(ZONES), country=st.sampled_from(COUNTRIES))
@example(at=FIRST, zone="Pacific/Pago_Pago", country="US")
@example(at=LAST, zone="Pacific/Kiritimati", country="JP")
def test_every_promise_falls_due_for_any_admitted_instant(at: int, zone: str, country: str) -> None:
    catalog = default_catalog()
    start = datetime.fromtimestamp(at, UTC).astimezone(timezone(timedelta(hours=-12)))
    for level_name, level in catalog.levels.items():
        for metric in METRICS:
            for severity in SEVERITIES:
                component = COMPONENTS[0] if metric == "hardware_replacement" else None
                if level.target(metric, severity, component) is None:
                    continue
                due = explain_due(catalog, level_name, metric, severity, start, zone, country, component)
                assert due.at >= start


# -- bodies that are not an event object, at the edge ----------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('{"a": 1,,}', "body: not JSON (Expecting property name enclosed in double quotes at column 9)"),
        ('{\n"a":\n}', "body: not JSON (Expecting value at line 3, column 1)"),
        ("[1, 2]", "body: an EventBridge event must be a JSON object, got an array"),
        ("12345", "body: an EventBridge event must be a JSON object, got the number 12345"),
        ("[" * 100_000, "body: JSON nested too deeply to be an EventBridge event"),
    ],
    ids=["bad-json", "bad-json-multiline", "array", "number", "deeply-nested"],
)
def test_a_body_that_is_not_an_event_object_is_a_rejection_naming_where(body: str, reason: str) -> None:
    read = read_text(body, to_epoch(RECEIVED), "m-1")
    assert isinstance(read, EdgeRejection)
    assert (read.event_id, read.reason) == ("m-1", reason)


def _opened_with_subject(subject: object) -> dict[str, object]:
    return {
        "event_id": "e-1",
        "occurred_at": "2026-04-03T09:00:00Z",
        "ticket_id": "T-1",
        "customer_id": "C-1",
        "severity": "high",
        "subject": subject,
    }


@pytest.mark.parametrize(
    ("subject", "stored"),
    [
        ("x" * 500, "x" * 500),
        ("x" * 501, "x" * 499 + "…"),
        ("é" * 10_000, "é" * 499 + "…"),
        ("", "(no subject)"),
        ("   ", "(no subject)"),
    ],
)
def test_a_subject_too_long_or_empty_is_fitted_not_refused(subject: str, stored: str) -> None:
    """Refusing the Ticket Opened would refuse every later event of the ticket: the title never costs a ticket."""
    event = parse_detail("Ticket Opened", _opened_with_subject(subject))
    assert isinstance(event, TicketOpened)
    assert event.subject == stored
    assert len(event.subject) <= SUBJECT_MAX_CHARS


def test_a_subject_must_still_be_text() -> None:
    with pytest.raises(InvalidEvent, match="subject"):
        parse_detail("Ticket Opened", _opened_with_subject(42))
