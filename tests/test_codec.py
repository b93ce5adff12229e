"""The persistence codec (SPEC section 3): stored events are read back leniently and versioned.

A library upgrade (tzdata renaming a zone, holidays dropping a country) or the passing of time (the bounds
of `occurred_at`) must not make a customer's history unreadable; an explicit `null` must stay distinct from
an absent field; and what is in the table today (bare `model_dump_json()`) must still be read.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.schemas import kebab
from infra.store.codec import NOT_STORED, VERSION, UndecodableEvent, decode_event, encode_event
from sla.events import DETAIL_MODELS, EventDetail, InvalidEvent, SupportPlanChanged, parse_detail
from sla.incidents import IncidentNotice
from tests.samples import load_sample

PLAN = "Support Plan Changed"


def plan_detail(**changes: object) -> dict[str, object]:
    detail: dict[str, object] = load_sample("support-plan-changed")["detail"]
    return {**detail, **changes}


def as_stored(event: EventDetail) -> EventDetail:
    """The event as the table keeps it: without the fields nothing reads after the edge (NOT_STORED)."""
    dropped = set(NOT_STORED.get(event.detail_type, ()))
    values: dict[str, Any] = {
        name: None if name in dropped else getattr(event, name) for name in type(event).model_fields
    }
    return type(event).model_construct(_fields_set=event.model_fields_set - dropped, **values)


def test_a_stored_plan_change_whose_country_and_zone_are_no_longer_known_still_decodes() -> None:
    detail = plan_detail(country="QZ", timezone="Europe/Atlantis")  # dropped by a newer holidays / tzdata
    with pytest.raises(InvalidEvent, match=r"timezone: .*'Europe/Atlantis'.*country: .*'QZ'"):
        parse_detail(PLAN, detail)  # the edge refuses it today
    text = json.dumps({"v": VERSION, "detail": detail})

    decoded = decode_event(PLAN, text)

    assert isinstance(decoded, SupportPlanChanged)
    assert (decoded.country, decoded.timezone) == ("QZ", "Europe/Atlantis")


def test_a_stored_event_far_older_than_the_edge_bounds_decodes() -> None:
    detail = {**load_sample("ticket-opened")["detail"], "occurred_at": "1999-12-31T23:00:00+01:00"}
    decoded = decode_event("Ticket Opened", json.dumps({"v": VERSION, "detail": detail}))
    assert decoded.occurred_at.year == 1999


def test_leniency_is_for_library_data_only_a_broken_structure_is_still_refused() -> None:
    detail = {**load_sample("ticket-opened")["detail"], "severity": "urgent"}
    with pytest.raises(UndecodableEvent, match=r"^stored Ticket Opened: severity: "):
        decode_event("Ticket Opened", json.dumps({"v": VERSION, "detail": detail}))


def test_an_explicit_null_and_an_absent_field_survive_a_round_trip_distinct() -> None:
    cleared = parse_detail(PLAN, plan_detail(contact_email=None))
    kept = parse_detail(PLAN, {k: v for k, v in plan_detail().items() if k != "contact_email"})

    cleared_text, kept_text = encode_event(cleared), encode_event(kept)

    assert json.loads(cleared_text)["detail"]["contact_email"] is None
    assert "contact_email" not in json.loads(kept_text)["detail"]
    cleared_back, kept_back = decode_event(PLAN, cleared_text), decode_event(PLAN, kept_text)
    assert "contact_email" in cleared_back.model_fields_set
    assert "contact_email" not in kept_back.model_fields_set
    assert (cleared_back, kept_back) == (cleared, kept)


def _as_json_dumps_writes_it(event: EventDetail) -> str:
    dropped = set(NOT_STORED.get(event.detail_type, ()))
    detail = event.model_dump(mode="json", exclude_unset=True, exclude=dropped)
    return json.dumps({"v": VERSION, "detail": detail}, ensure_ascii=False, separators=(",", ":"))


@pytest.mark.parametrize("detail_type", DETAIL_MODELS)
def test_the_stored_text_is_json_dumps_of_the_kept_fields(detail_type: str) -> None:
    event = parse_detail(detail_type, load_sample(kebab(detail_type))["detail"])
    assert encode_event(event) == _as_json_dumps_writes_it(event)


@given(st.text())
def test_free_text_is_written_as_json_dumps_writes_it(summary: str) -> None:
    """Escapes, control characters, quotes, non-ASCII: a summary is the one free text the log keeps."""
    notice = IncidentNotice(
        event_id="T-1:incident:I-1:declared",
        occurred_at="2026-03-01T10:00:00Z",
        ticket_id="T-1",
        incident_id="I-1",
        phase="declared",
        source_event_id="e-1",
        summary=summary,
    )
    assert encode_event(notice) == _as_json_dumps_writes_it(notice)


@pytest.mark.parametrize("detail_type", DETAIL_MODELS)
def test_every_sample_round_trips_with_its_fields_set(detail_type: str) -> None:
    event = parse_detail(detail_type, load_sample(kebab(detail_type))["detail"])

    text = encode_event(event)
    decoded = decode_event(detail_type, text)

    assert json.loads(text)["v"] == VERSION
    assert type(decoded) is type(event)
    assert decoded == as_stored(event)  # what nothing reads is not stored (README, "Personal data")
    assert decoded.model_fields_set == event.model_fields_set - set(NOT_STORED.get(detail_type, ()))
    assert decoded.occurred_at.utcoffset() == event.occurred_at.utcoffset()


@pytest.mark.parametrize("detail_type", DETAIL_MODELS)
def test_legacy_text_decodes_to_the_same_event(detail_type: str) -> None:
    event = parse_detail(detail_type, load_sample(kebab(detail_type))["detail"])

    decoded = decode_event(detail_type, event.model_dump_json())  # what the table holds today

    assert decoded == as_stored(event)  # a field no longer stored is dropped from older text too


def test_legacy_nulls_read_as_absent_as_they_meant_when_they_were_folded() -> None:
    # Before this codec a null plan field could not clear anything: it meant "unchanged".
    event = parse_detail(
        PLAN, {k: v for k, v in plan_detail().items() if k not in ("locale", "contact_email")}
    )
    legacy = event.model_dump_json()
    assert '"contact_email":null' in legacy

    decoded = decode_event(PLAN, legacy)

    assert {"locale", "contact_email", "sequence"}.isdisjoint(decoded.model_fields_set)
    assert decoded == event


def test_legacy_text_of_a_zone_no_longer_known_decodes_too() -> None:
    legacy = json.dumps(plan_detail(timezone="Asia/Atlantis", country="QZ"))
    decoded = decode_event(PLAN, legacy)
    assert isinstance(decoded, SupportPlanChanged)
    assert decoded.timezone == "Asia/Atlantis"


@pytest.mark.parametrize(
    ("detail_type", "text", "problem"),
    [
        ("Ticket Teleported", "{}", "unknown type 'Ticket Teleported'"),
        (PLAN, "{not json", "not JSON"),
        (PLAN, "[1, 2]", "not a JSON object"),
        (PLAN, '{"v": 2, "detail": {}}', "unknown format version 2"),
        (PLAN, '{"v": 1, "detail": "text"}', "without a detail object"),
        (PLAN, '{"v": 1, "detail": {}}', "event_id: Field required"),
    ],
)
def test_what_cannot_be_read_back_is_an_undecodable_event(detail_type: str, text: str, problem: str) -> None:
    with pytest.raises(UndecodableEvent, match=problem):
        decode_event(detail_type, text)
