"""events/: every detail-type has a raw and an SQS sample, and every sample satisfies the contract.

The samples of the other functions' triggers (the sweeper's schedule, the notifier's stream batch) are
checked in tests/test_function_samples.py."""

from __future__ import annotations

import hashlib
import json

import pytest

from infra.schemas import kebab
from sla.events import DETAIL_MODELS, SOURCE, TicketEvent, parse_detail
from tests.samples import EVENTS_DIR, load_sample, sqs_event

STEMS = [kebab(detail_type) for detail_type in DETAIL_MODELS]
# One sample per function besides IngestFunction's (tests/test_function_samples.py, tests/test_report_function.py).
FUNCTION_SAMPLES = {"sweeper-scheduled-event", "notifier-outbox-insert", "report-scheduled-event"}


def test_every_detail_type_has_a_raw_and_an_sqs_sample_and_nothing_else() -> None:
    committed = {path.stem for path in EVENTS_DIR.glob("*.json")}
    assert committed == set(STEMS) | {f"sqs-{stem}" for stem in STEMS} | FUNCTION_SAMPLES


@pytest.mark.parametrize("detail_type", DETAIL_MODELS)
def test_raw_sample_is_a_full_eventbridge_event_whose_detail_parses(detail_type: str) -> None:
    event = load_sample(kebab(detail_type))
    assert set(event) == {"version", "id", "detail-type", "source", "account", "time", "region", "resources",
                          "detail"}  # fmt: skip
    assert event["source"] == SOURCE
    assert event["detail-type"] == detail_type
    detail = parse_detail(event["detail-type"], event["detail"])
    assert type(detail) is DETAIL_MODELS[detail_type]
    assert detail.occurred_at.utcoffset() is not None


@pytest.mark.parametrize("detail_type", DETAIL_MODELS)
def test_sqs_sample_wraps_the_raw_sample(detail_type: str) -> None:
    stem = kebab(detail_type)
    batch = load_sample(f"sqs-{stem}")
    (record,) = batch["Records"]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"].startswith("arn:aws:sqs:")
    assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()
    assert json.loads(record["body"]) == load_sample(stem)
    assert batch == sqs_event(load_sample(stem))


def test_samples_tell_one_story_of_ticket_t1001_of_customer_c42() -> None:
    details = [parse_detail(d, load_sample(kebab(d))["detail"]) for d in DETAIL_MODELS]
    assert {getattr(detail, "customer_id", None) for detail in details} <= {"C-42", None}
    assert {detail.ticket_id for detail in details if isinstance(detail, TicketEvent)} == {"T-1001"}
    assert len({detail.event_id for detail in details}) == len(details)


def test_sqs_event_batches_several_events_with_distinct_message_ids() -> None:
    events = [load_sample("ticket-opened"), load_sample("ticket-message-posted")]
    records = sqs_event(*events)["Records"]
    assert [json.loads(record["body"]) for record in records] == events
    assert len({record["messageId"] for record in records}) == 2
