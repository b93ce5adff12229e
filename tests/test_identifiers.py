"""The identifier character set (sla/events.py): letters and digits of any script, their marks, `._:@/+=-`.

A ticket id with an accent used to refuse its Ticket Opened, and every later event of the ticket with it: a
customer's outage went untracked because of how the control panel numbers tickets. The rule is now one,
stated beside IDENTIFIER_PATTERN, and held by the model (pydantic's Rust regex) and by `is_identifier` (the
edge's check of a raw value) alike.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from local.replay import replay
from sla.events import IDENTIFIER_MAX_CHARS, Identifier, InvalidEvent, is_identifier, parse_detail
from tests.conftest import eventbridge

_IDENTIFIER = TypeAdapter(Identifier)

ACCEPTED = [
    ("ascii", "T-1042"),
    ("every punctuation taken", "cp.evt_1:a@b/c+d=e-f"),
    ("an accent, composed (NFC)", "dépannage-7"),
    ("an accent, decomposed (NFD)", unicodedata.normalize("NFD", "dépannage-7")),
    ("Cyrillic", "тикет-42"),
    ("Greek and CJK", "αβγ-工单-9"),
    ("Arabic-Indic digits", "٣٤٥"),
    ("the longest", "x" * IDENTIFIER_MAX_CHARS),
]

REFUSED = [
    ("the table's key separator", "T#1"),
    ("a space", "T 1"),
    ("a tab", "T\t1"),
    ("a line break", "T\n1"),
    ("a zero-width space", "T\u200b1"),
    ("an emoji", "T-🔥"),
    ("empty", ""),
    ("one over the bound", "x" * (IDENTIFIER_MAX_CHARS + 1)),
]


@pytest.mark.parametrize(("case", "value"), ACCEPTED, ids=[c for c, _ in ACCEPTED])
def test_an_identifier_of_the_documented_set_is_taken(case: str, value: str) -> None:
    assert _IDENTIFIER.validate_python(value) == value
    assert is_identifier(value)


@pytest.mark.parametrize(("case", "value"), REFUSED, ids=[c for c, _ in REFUSED])
def test_a_value_outside_the_documented_set_is_refused(case: str, value: str) -> None:
    with pytest.raises(ValidationError):
        _IDENTIFIER.validate_python(value)
    assert not is_identifier(value)


@pytest.mark.parametrize("value", [42, None, True, ["T-1"]])
def test_only_a_string_is_an_identifier(value: Any) -> None:
    assert not is_identifier(value)


@given(st.text(max_size=IDENTIFIER_MAX_CHARS + 2))
def test_the_edge_check_and_the_model_agree_on_every_string(value: str) -> None:
    try:
        _IDENTIFIER.validate_python(value)
        taken = True
    except ValidationError:
        taken = False
    assert is_identifier(value) == taken


@pytest.mark.parametrize("code", range(128))
def test_the_ascii_shortcut_takes_exactly_the_letters_digits_and_punctuation(code: int) -> None:
    character = chr(code)
    documented = character in "._:@/+=-" or unicodedata.category(character)[0] in "LMN"
    assert is_identifier(f"a{character}b") is documented
    assert is_identifier(f"é{character}b") is documented  # the same answer off the shortcut


def test_a_ticket_id_with_a_hash_is_refused_naming_the_field() -> None:
    detail = {
        "event_id": "e-1",
        "occurred_at": "2026-04-03T15:30:00Z",
        "ticket_id": "T#1",
        "customer_id": "C-1",
        "severity": "high",
        "subject": "Server down",
    }
    with pytest.raises(InvalidEvent) as refused:
        parse_detail("Ticket Opened", detail)
    assert refused.value.reason.startswith("ticket_id: ")


def test_a_ticket_with_an_accented_id_is_tracked_end_to_end() -> None:
    ticket = "dépannage-тикет-7"
    common = {"ticket_id": ticket, "customer_id": "client-é"}
    lines = [
        eventbridge(
            "Ticket Opened",
            {
                **common,
                "event_id": "évt-1",
                "occurred_at": "2026-04-06T09:00:00+02:00",
                "severity": "high",
                "subject": "Serveur en panne",
            },
        ),
        eventbridge(
            "Ticket Message Posted",
            {
                **common,
                "event_id": "évt-2",
                "occurred_at": "2026-04-06T09:20:00+02:00",
                "author": "agent",
                "visibility": "public",
                "message_id": "msg-é-1",
            },
        ),
    ]

    document = replay([json.dumps(line, ensure_ascii=False) for line in lines])

    assert document["rejected"] == []
    (tracked,) = document["tickets"]
    assert tracked["ticket_id"] == ticket
    first = next(c for c in tracked["clocks"] if c["metric"] == "first_response")
    assert first["state"] == "met"
    assert any(n["ticket_id"] == ticket and n["kind"] == "acknowledged" for n in document["notifications"])
