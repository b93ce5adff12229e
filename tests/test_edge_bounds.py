"""The edge bounds `occurred_at` by the receipt time and keeps every rejection small (SPEC sections 3 and 5).

An instant out of the bounds is a clock skew or a producer bug: refused with its reason, never raised (year
1 and year 9999 included), since what passes the edge is stored and folded. A rejection quotes at most a
short, escaped excerpt of a bad value and is kept under a bounded id, so no input can make an item that
DynamoDB refuses and that SQS would then retry into the DLQ.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.edge import EdgeEvent, EdgeRejection, read_envelope, read_text
from infra.schemas import kebab
from sla.events import (
    DETAIL_MODELS,
    EXCERPT_CHARS,
    MAX_EVENT_AGE,
    MAX_EVENT_LEAD,
    SOURCE,
    InvalidEvent,
    excerpt,
    parse_detail,
)
from tests.conftest import Pipeline, epoch
from tests.samples import load_sample, sqs_event

NOW = epoch("2026-04-07T09:00:00Z")
RECEIVED = datetime.fromtimestamp(NOW, UTC)
HUGE = 235_000  # characters: echoed whole, one value made a > 400 KB rejection item
REASON_BOUND = 1_000


def status_changed(occurred_at: str, **envelope: Any) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "0d4c1f7e-2b7a-4c1e-9f1e-6a1d2b3c4d5e",
        "detail-type": "Ticket Status Changed",
        "source": SOURCE,
        "account": "123456789012",
        "time": "2026-04-07T09:00:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": {
            "event_id": "cp-evt-when",
            "occurred_at": occurred_at,
            "ticket_id": "T-7",
            "customer_id": "C-7",
            "status": "pending_customer",
        },
        **envelope,
    }


def iso(instant: datetime) -> str:
    return instant.isoformat()


def rejection(pipeline: Pipeline, event_id: str) -> dict[str, Any]:
    """The rejection item kept under `event_id`, whatever its sort key."""
    (item,) = [item for (pk, _), item in pipeline.scan().items() if pk == f"REJECTED#{event_id}"]
    return item


# ----- bounds of occurred_at ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "occurred",
    [RECEIVED - MAX_EVENT_AGE, RECEIVED, RECEIVED + MAX_EVENT_LEAD],
    ids=["30 days before", "at receipt", "5 minutes after"],
)
def test_an_event_within_the_bounds_is_accepted(occurred: datetime) -> None:
    read = read_envelope(status_changed(iso(occurred)), NOW, "m-1")
    assert isinstance(read, EdgeEvent)
    assert read.event.occurred_at == occurred


@pytest.mark.parametrize(
    ("occurred", "problem"),
    [
        (RECEIVED - MAX_EVENT_AGE - timedelta(seconds=1), "30 days 1 s before"),
        (RECEIVED - timedelta(days=400), "400 days before"),
        (RECEIVED + MAX_EVENT_LEAD + timedelta(seconds=1), "5 min 1 s after"),
        (RECEIVED + timedelta(days=2, hours=3), "2 days 3 h after"),
    ],
    ids=["a second too old", "a year too old", "a second too early", "days ahead"],
)
def test_an_event_out_of_the_bounds_is_rejected_naming_occurred_at_and_how_far(
    occurred: datetime, problem: str
) -> None:
    read = read_envelope(status_changed(iso(occurred)), NOW, "m-1")
    assert isinstance(read, EdgeRejection)
    assert read.event_id == "cp-evt-when"
    assert read.reason.startswith("occurred_at: "), read.reason
    assert problem in read.reason
    assert "2026-04-07T09:00:00+00:00" in read.reason  # the receipt time it was measured against


@pytest.mark.parametrize(
    "occurred_at",
    [
        "0001-01-01T00:00:00+00:00",
        "0001-01-01T00:00:00+14:00",  # before year 1 in UTC
        "0001-01-01T00:00:00-12:00",
        "1900-01-01T00:00:00Z",
        "9999-12-31T23:59:59+00:00",
        "9999-12-31T23:59:59-12:00",  # after year 9999 in UTC
        "9999-12-31T23:59:59+14:00",
    ],
)
def test_an_instant_at_the_edges_of_the_calendar_is_a_clean_rejection(occurred_at: str) -> None:
    body = json.dumps(status_changed(occurred_at))

    read = read_text(body, NOW, "m-1")

    assert isinstance(read, EdgeRejection)
    assert read.reason.startswith("occurred_at: ")
    assert ("before the engine received" in read.reason) or ("after the engine received" in read.reason)


def test_a_year_that_does_not_parse_is_a_rejection_too() -> None:
    read = read_envelope(status_changed("0000-01-01T00:00:00Z"), NOW, "m-1")
    assert isinstance(read, EdgeRejection)
    assert read.reason.startswith("occurred_at: ")


def test_without_a_receipt_time_parse_detail_does_not_bound_so_folds_and_history_still_read() -> None:
    detail = status_changed("2020-01-01T00:00:00Z")["detail"]
    event = parse_detail("Ticket Status Changed", detail)
    assert event.occurred_at.year == 2020
    with pytest.raises(InvalidEvent, match=r"^occurred_at: .* 2 days after"):
        parse_detail("Ticket Status Changed", detail, received_at=datetime(2019, 12, 30, tzinfo=UTC))


def test_a_naive_receipt_time_is_a_programming_error() -> None:
    detail = status_changed("2026-04-07T09:00:00Z")["detail"]
    with pytest.raises(ValueError, match="offset"):
        parse_detail("Ticket Status Changed", detail, received_at=datetime(2026, 4, 7))  # noqa: DTZ001


def test_an_out_of_bounds_event_through_the_handler_is_recorded_as_rejected_not_retried(
    pipeline: Pipeline,
) -> None:
    pipeline.now = NOW
    batch = sqs_event(status_changed("0001-01-01T00:00:00+14:00"), status_changed("2026-04-07T10:00:00Z"))
    batch["Records"][1]["body"] = batch["Records"][1]["body"].replace("cp-evt-when", "cp-evt-ahead")

    assert pipeline.handle(batch) == {"batchItemFailures": []}
    assert "739712 days 23 h before" in rejection(pipeline, "cp-evt-when")["reason"]
    assert "1 h after" in rejection(pipeline, "cp-evt-ahead")["reason"]
    assert pipeline.item("TICKET#T-7", "STATE") is None


# ----- excerpts -------------------------------------------------------------------------------------------


def test_a_short_value_is_quoted_whole() -> None:
    assert excerpt("controlpanel.billing") == "'controlpanel.billing'"
    assert excerpt(None) == "None"
    assert excerpt(42) == "42"


def test_a_long_value_is_cut_and_says_how_long_it_was() -> None:
    shown = excerpt("x" * HUGE)
    assert shown == f"'{'x' * EXCERPT_CHARS}'…({HUGE} chars)"


def test_control_characters_are_escaped_and_count_at_their_escaped_width() -> None:
    shown = excerpt("\x00\n" * HUGE)
    assert "\n" not in shown and "\x00" not in shown
    assert shown.startswith("'\\x00\\n\\x00")
    assert shown.endswith(f"…({2 * HUGE} chars)")
    assert len(shown) <= EXCERPT_CHARS + 2 + len(f"…({2 * HUGE} chars)")


def test_a_long_value_of_another_type_is_cut_by_its_repr() -> None:
    value = list(range(HUGE))
    shown = excerpt(value)
    assert shown.startswith("[0, 1, 2")
    assert shown.endswith(f"…({len(repr(value))} chars)")
    assert len(shown) < 100


def test_a_huge_source_is_rejected_with_a_short_reason() -> None:
    read = read_envelope(status_changed("2026-04-07T09:00:00Z", source="s" * HUGE), NOW, "m-1")
    assert isinstance(read, EdgeRejection)
    assert read.reason.startswith("source: expected 'controlpanel.support', got 'sss")
    assert read.reason.endswith(f"…({HUGE} chars)")
    assert len(read.reason) < 200


def test_a_huge_detail_type_is_rejected_with_a_short_reason() -> None:
    read = read_envelope({**status_changed("2026-04-07T09:00:00Z"), "detail-type": "T" * HUGE}, NOW, "m-1")
    assert isinstance(read, EdgeRejection)
    assert read.reason.startswith("detail-type: unknown type 'TTT")
    assert f"…({HUGE} chars)" in read.reason
    assert len(read.reason) < 500  # the known types are listed after it


@pytest.mark.parametrize("detail_type", DETAIL_MODELS)
def test_every_field_huge_at_once_still_gives_a_bounded_reason(detail_type: str) -> None:
    sample = load_sample(kebab(detail_type))
    detail = {key: "\x00" * HUGE for key in sample["detail"]}
    detail |= {"timezone": "Z" * HUGE, "country": "Q" * HUGE, "contact_email": "@" * HUGE}

    read = read_envelope({**sample, "detail": detail}, NOW, "m-1")

    assert isinstance(read, EdgeRejection)
    assert len(read.reason) < REASON_BOUND * len(detail), read.reason[:2000]
    assert all(len(part) < REASON_BOUND for part in read.reason.split("; "))


def test_a_huge_time_zone_is_quoted_as_an_excerpt() -> None:
    sample = load_sample("support-plan-changed")
    sample["detail"] |= {"timezone": "Europe/" + "x" * HUGE, "occurred_at": "2026-04-07T09:00:00Z"}

    read = read_envelope(sample, NOW, "m-1")

    assert isinstance(read, EdgeRejection)
    assert read.reason.startswith("timezone: ")
    assert "'Europe/xxx" in read.reason and f"…({HUGE + 7} chars) is not an IANA time zone" in read.reason
    assert len(read.reason) < 200


# ----- the id a rejection is kept under -------------------------------------------------------------------


def test_a_rejection_is_kept_under_the_detail_event_id_when_it_is_a_valid_identifier() -> None:
    read = read_envelope(status_changed("2026-04-07T09:00:00Z", source="other"), NOW, "m-1")
    assert isinstance(read, EdgeRejection)
    assert read.event_id == "cp-evt-when"


@pytest.mark.parametrize("event_id", ["e" * HUGE, "has space", "", 42, None, "line\nbreak"])
def test_an_event_id_that_is_not_an_identifier_falls_back_to_the_envelope_id(event_id: Any) -> None:
    envelope = status_changed("2026-04-07T09:00:00Z", source="other")
    envelope["detail"]["event_id"] = event_id

    read = read_envelope(envelope, NOW, "m-1")

    assert isinstance(read, EdgeRejection)
    assert read.event_id == envelope["id"]


def test_with_no_usable_id_anywhere_the_rejection_is_kept_under_the_message_id() -> None:
    envelope = status_changed("2026-04-07T09:00:00Z", id="i" * HUGE)
    envelope["detail"]["event_id"] = {"nested": "object"}

    read = read_envelope(envelope, NOW, "m-1")

    assert isinstance(read, EdgeRejection)
    assert read.event_id == "m-1"


def test_a_huge_invalid_event_through_the_handler_is_recorded_as_rejected_not_retried(
    pipeline: Pipeline,
) -> None:
    pipeline.now = NOW
    envelope = status_changed("2026-04-07T09:00:00Z", source="s" * HUGE)
    envelope["detail"]["event_id"] = "e" * HUGE
    batch = sqs_event(status_changed("2026-04-07T09:00:00Z"))
    batch["Records"][0]["body"] = json.dumps(envelope)

    assert pipeline.handle(batch) == {"batchItemFailures": []}
    assert len(rejection(pipeline, envelope["id"])["reason"]) < 200
