"""The contract additions of SPEC section 3 for the KPIs, and what the fold does with them.

`Satisfaction Rated` (a rating 1-5 and the customer's optional comment) and the message fields `agent_id`,
`line` and `kind`. A holding reply is a public agent message: it meets the response clocks (SPEC section 4),
and only the useful-response figure waits for an answer (section 9). A rating starts and stops no clock, is
accepted after the ticket is closed (surveys are answered late), and its comment is never stored.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest
from pydantic import ValidationError

from infra.store.codec import decode_event, encode_event, redact_payload
from sla.catalog import parse_catalog
from sla.events import InvalidEvent, SatisfactionRated, TicketMessagePosted, parse_detail
from sla.fold import fold
from sla.kpi_facts import FirstResponse, Reply
from tests.fold_helpers import CUSTOMER, TICKET, default_catalog, epoch, opened, status
from tests.samples import load_sample

AT = "2026-04-13T10:00:00Z"  # a Monday, and not Easter Monday (a French holiday)


def rated(at: str, rating: Any = 5, customer: str = CUSTOMER, **extra: Any) -> SatisfactionRated:
    detail = {"event_id": f"r-{at}-{rating}", "occurred_at": at, "ticket_id": TICKET, "customer_id": customer}
    event = parse_detail("Satisfaction Rated", {**detail, "rating": rating, **extra})
    assert isinstance(event, SatisfactionRated)
    return event


def posted(at: str, **fields: Any) -> TicketMessagePosted:
    detail = {
        "event_id": f"p-{at}-{fields.get('kind', '')}",
        "occurred_at": at,
        "ticket_id": TICKET,
        "customer_id": CUSTOMER,
        "author": "agent",
        "visibility": "public",
        "message_id": f"m-{at}",
        **fields,
    }
    event = parse_detail("Ticket Message Posted", detail)
    assert isinstance(event, TicketMessagePosted)
    return event


# -- the contract -----------------------------------------------------------------------------------------


def test_the_committed_sample_is_a_rating_with_a_comment() -> None:
    event = load_sample("satisfaction-rated")
    detail = parse_detail(event["detail-type"], event["detail"])
    assert isinstance(detail, SatisfactionRated)
    assert detail.rating == 5 and detail.comment


@pytest.mark.parametrize("rating", [0, 6, -1, "5", 4.0, True, None])
def test_a_rating_is_a_json_integer_from_1_to_5(rating: Any) -> None:
    with pytest.raises(InvalidEvent, match="rating"):
        rated(AT, rating)


def test_a_rating_needs_no_comment_and_a_comment_is_bounded() -> None:
    assert rated(AT, 1).comment is None
    with pytest.raises(InvalidEvent, match="comment"):
        rated(AT, 3, comment="x" * 10_001)


def test_message_kind_defaults_to_answer_and_knows_holding() -> None:
    plain = posted(AT)
    assert (plain.kind, plain.agent_id, plain.line) == ("answer", None, None)
    holding = posted(AT, kind="holding", agent_id="A-7", line="l2")
    assert (holding.kind, holding.agent_id, holding.line) == ("holding", "A-7", "l2")
    with pytest.raises(InvalidEvent, match="kind"):
        posted(AT, kind="maybe")
    with pytest.raises(InvalidEvent, match="agent_id"):
        posted(AT, agent_id="no spaces allowed")


def test_the_comment_is_never_stored_and_never_kept_in_a_rejection() -> None:
    secret = "my password is hunter2, call me on +33 6 12 34 56 78"
    event = rated(AT, 2, comment=secret)
    text = encode_event(event)
    assert secret not in text and "comment" not in text
    back = decode_event("Satisfaction Rated", text)
    assert isinstance(back, SatisfactionRated)
    assert (back.rating, back.comment) == (2, None)
    raw = json.dumps({"detail-type": "Satisfaction Rated", "detail": {"rating": 9, "comment": secret}})
    assert secret not in redact_payload(raw)


# -- the fold ---------------------------------------------------------------------------------------------


OPENED = opened(AT, "high")


def folded(*events: Any, now: str = "2026-04-17T00:00:00Z") -> Any:
    return fold(TICKET, [OPENED, *events], [], default_catalog(), epoch(now))


def test_a_holding_reply_meets_first_response_as_spec_section_4_says() -> None:
    result = folded(posted("2026-04-13T10:20:00Z", kind="holding", agent_id="A-1"))
    first = next(c for c in result.state.clocks if c.metric == "first_response")
    assert (first.state, first.stopped_at) == ("met", epoch("2026-04-13T10:20:00Z"))
    facts = result.facts
    assert facts.first_reply == FirstResponse(epoch("2026-04-13T10:20:00Z"), 20 * 60)
    assert facts.first_answer is None  # a holding reply is not a useful response


def test_the_first_answer_after_a_holding_reply_is_the_useful_response() -> None:
    result = folded(
        posted("2026-04-13T10:20:00Z", kind="holding", agent_id="A-1", line="l1"),
        posted("2026-04-13T11:00:00Z", agent_id="A-2", line="l2"),
    )
    facts = result.facts
    assert facts.first_reply is not None and facts.first_reply.working_seconds == 20 * 60
    assert facts.first_answer == FirstResponse(epoch("2026-04-13T11:00:00Z"), 60 * 60)
    assert [r.agent_id for r in facts.replies] == ["A-1", "A-2"]
    assert facts.replies[0] == Reply(epoch("2026-04-13T10:20:00Z"), "A-1", "l1", "holding", True)


def test_working_seconds_count_on_the_levels_coverage_calendar() -> None:
    # Standard (no plan): Mon-Fri 08:00-18:00 Europe/Paris. Opened Monday 10:00Z (12:00 local), answered
    # Tuesday 07:00Z (09:00 local): 6 h on Monday and 1 h on Tuesday.
    result = folded(posted("2026-04-14T07:00:00Z"))
    assert result.facts.first_reply == FirstResponse(epoch("2026-04-14T07:00:00Z"), 7 * 3600)


def test_a_rating_changes_no_clock_and_counts_after_the_ticket_is_closed() -> None:
    without = folded(status("2026-04-13T11:00:00Z", "closed"))
    with_rating = folded(status("2026-04-13T11:00:00Z", "closed"), rated("2026-04-13T12:00:00Z", 4))
    assert with_rating.rejected == ()
    assert with_rating.state == without.state
    assert with_rating.effects == without.effects
    assert with_rating.facts.ratings == ((epoch("2026-04-13T12:00:00Z"), 4),)


def test_a_rating_of_another_customer_is_rejected() -> None:
    result = folded(rated("2026-04-13T12:00:00Z", 1, customer="C-OTHER"))
    assert [r.reason.split(":")[0] for r in result.rejected] == ["customer_id"]
    assert result.facts.ratings == ()


def test_a_rating_stamped_before_the_ticket_was_opened_is_refused() -> None:
    early = rated("2026-04-13T09:00:00Z", 5)
    result = fold(TICKET, [early], [], default_catalog(), epoch("2026-04-17T00:00:00Z"))
    assert result.state is None and result.facts is None
    late = folded(early)
    assert [r.event_id for r in late.rejected] == [early.event_id]
    assert late.facts.ratings == ()


def test_internal_notes_give_the_line_but_are_no_reply() -> None:
    note = posted("2026-04-13T10:05:00Z", visibility="internal", agent_id="A-3", line="l2")
    result = folded(note)
    assert result.facts.first_reply is None
    assert result.facts.replies == (Reply(epoch("2026-04-13T10:05:00Z"), "A-3", "l2", "answer", False),)


# -- credit terms in the catalog --------------------------------------------------------------------------


def test_the_default_catalog_carries_the_credits_of_spec_section_9() -> None:
    terms = {name: level.credit for name, level in default_catalog().levels.items()}
    assert terms["standard"] is None
    assert {name: (t.percent_per_hour, t.cap_percent) for name, t in terms.items() if t is not None} == {
        "premium": (2.5, 25),
        "business": (5, 50),
        "enterprise": (10, 100),
    }


@pytest.mark.parametrize(
    ("credit", "field"),
    [
        ("{ percent_per_hour = 2.5, cap_percent = 120 }", "cap_percent"),
        ("{ percent_per_hour = 0, cap_percent = 25 }", "percent_per_hour"),
        ('{ percent_per_hour = "lots", cap_percent = 25 }', "percent_per_hour"),
        ("{ percent_per_hour = 2.5 }", "cap_percent"),
        ("{ percent_per_hour = 2.5, cap_percent = 25, currency = 1 }", "currency"),
    ],
)
def test_bad_credit_terms_are_refused_naming_the_field(credit: str, field: str) -> None:
    text = resources.files("sla").joinpath("catalog.toml").read_text(encoding="utf-8")
    line = "credit = { percent_per_hour = 2.5, cap_percent = 25 }"
    assert line in text
    with pytest.raises(ValidationError) as error:
        parse_catalog(text.replace(line, f"credit = {credit}"))
    assert f"levels.premium.credit.{field}" in str(error.value).replace("\n", ".").replace(" ", "")
