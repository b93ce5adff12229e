"""Personal data (README, "Personal data"): what the engine keeps of it, where, for how long, and never logs.

The control panel sends three kinds of personal data: a customer's contact address (`contact_email` of a
Support Plan Changed), the subject of a ticket (`subject` of a Ticket Opened) and who acknowledged an
alert (`acknowledged_by`, a name or an address). Only the address is read after the edge (notifications
carry it), so only the customer's PLAN item keeps it; an outbox item carries it until the notification is
delivered; refused input is kept redacted; items that hold personal data expire by the table's TTL.

The end-to-end test sends a sentinel address and a sentinel subject through every handler (ingest, valid
and invalid events; the sweeper; the notifier, which mails the sentinel address) with every logger of the
engine and of Powertools at DEBUG, and looks for the sentinels in every log line and every table item.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from infra.settings import IngestSettings, NotifierSettings, SweeperSettings
from infra.store import Store
from infra.store.codec import NOT_STORED, decode_event, encode_event, redact_payload, redact_text
from infra.store.outbox import DEFAULT_RETENTION_DAYS, delivered_effects, outbox_items
from local.engine import REGION, LocalEngine
from sla.effects import Notification
from sla.events import AlertAcknowledged, SupportPlanChanged, TicketEscalated, TicketOpened, parse_detail
from tests.conftest import Pipeline, epoch, eventbridge
from tests.fold_helpers import iso

SENTINEL_EMAIL = "sentinel.pii@example.invalid"
SENTINEL_LOCAL_PART = "sentinel.pii"  # a half-redacted address would still show it
SENTINEL_SUBJECT = "Sentinel subject Qx7vPii of a customer"
SENTINEL_TOKEN = "Qx7vPii"  # a cut subject would still show it
SENTINELS = (SENTINEL_EMAIL, SENTINEL_LOCAL_PART, SENTINEL_SUBJECT, SENTINEL_TOKEN)
DAY = 86_400
MINUTE = 60
T0 = epoch("2026-04-07T09:00:00Z")
CUSTOMER, TICKET = "C-PII", "T-PII"

_ids = itertools.count(1)


def leaks(text: str) -> list[str]:
    return [sentinel for sentinel in SENTINELS if sentinel in text]


# -- the redaction of refused input ---------------------------------------------------------------------------


def envelope(detail_type: str, **detail: Any) -> dict[str, Any]:
    base = {"event_id": f"pii-e{next(_ids):04d}", "occurred_at": iso(T0)}
    return eventbridge(detail_type, {**base, **detail})


def test_a_redacted_payload_keeps_its_structure_without_addresses_or_free_text() -> None:
    raw = json.dumps(
        envelope(
            "Ticket Opened",
            ticket_id="T-1",
            customer_id="C-1",
            severity="urgent",
            subject=SENTINEL_SUBJECT,
            contact={"mail": SENTINEL_EMAIL, "phone": "+33 1 23 45 67 89"},
            body=f"Please write to {SENTINEL_EMAIL} about it",
            notes=[f"cc {SENTINEL_EMAIL}"],
            reply_to=f"Alice <{SENTINEL_EMAIL}>",
        )
    )

    kept = redact_payload(raw)

    assert leaks(kept) == []
    detail = json.loads(kept)["detail"]
    # What an operator needs to see why it was refused stays: ids, the bad value, the shape of the input.
    assert (detail["ticket_id"], detail["customer_id"], detail["severity"]) == ("T-1", "C-1", "urgent")
    assert detail["subject"] == f"[removed: {len(SENTINEL_SUBJECT)} characters]"
    assert detail["body"].startswith("[removed: ")
    assert detail["notes"] == "[removed]"
    assert detail["contact"] == {
        "mail": f"[removed: {len(SENTINEL_EMAIL)} characters]",
        "phone": detail["contact"]["phone"],
    }
    assert "67 89" not in detail["contact"]["phone"]
    assert detail["reply_to"] == "Alice <[e-mail]>"


@pytest.mark.parametrize(
    "cut",
    [
        pytest.param(lambda raw: raw[:-1], id="missing its last brace"),
        pytest.param(
            lambda raw: raw[: raw.index(SENTINEL_TOKEN) + len(SENTINEL_TOKEN)], id="cut in the subject"
        ),
    ],
)
def test_input_that_is_not_json_is_redacted_as_text(cut: Any) -> None:
    raw = json.dumps(
        envelope(
            "Support Plan Changed",
            customer_id="C-1",
            support_level="business",
            contact_email=SENTINEL_EMAIL,
            subject=SENTINEL_SUBJECT,
            comment=f"mail {SENTINEL_EMAIL}",
        )
    )
    broken = cut(raw)
    with pytest.raises(json.JSONDecodeError):
        json.loads(broken)

    kept = redact_payload(broken)

    assert leaks(kept) == []
    assert '"customer_id": "C-1"' in kept  # the rest is kept as it came


def test_a_json_string_inside_the_input_is_redacted_too() -> None:
    inner = json.dumps({"subject": SENTINEL_SUBJECT, "contact_email": SENTINEL_EMAIL})
    kept = redact_payload(json.dumps({"detail-type": "Ticket Opened", "detail": inner}))
    assert leaks(kept) == []


def test_a_reason_that_quotes_an_address_is_kept_without_it() -> None:
    assert redact_text(f"source: expected 'controlpanel.support', got '{SENTINEL_EMAIL}'") == (
        "source: expected 'controlpanel.support', got '[e-mail]'"
    )


# -- what the codec stores ------------------------------------------------------------------------------------


def test_the_subject_and_the_acknowledger_are_validated_at_the_edge_but_not_stored() -> None:
    opened = parse_detail(
        "Ticket Opened",
        {"event_id": "e-1", "occurred_at": iso(T0), "ticket_id": "T-1", "customer_id": "C-1"}
        | {"severity": "high", "subject": SENTINEL_SUBJECT},
    )
    acknowledged = parse_detail(
        "Alert Acknowledged",
        {"event_id": "e-2", "occurred_at": iso(T0), "ticket_id": "T-1", "metric": "first_response"}
        | {"acknowledged_by": SENTINEL_EMAIL},
    )
    assert NOT_STORED == {
        "Ticket Opened": ("subject",),
        "Alert Acknowledged": ("acknowledged_by",),
        "Satisfaction Rated": ("comment",),  # tests/test_kpi_contract.py checks it
        "Ticket Escalated": ("reason",),  # test_an_escalation_reason_is_validated_at_the_edge_but_not_stored
    }

    for event in (opened, acknowledged):
        text = encode_event(event)
        assert leaks(text) == []
        decoded = decode_event(event.detail_type, text)
        assert decoded.event_id == event.event_id
        assert set(NOT_STORED[event.detail_type]).isdisjoint(decoded.model_fields_set)
    assert isinstance(decode := decode_event("Ticket Opened", encode_event(opened)), TicketOpened)
    # None, whatever the model's annotation says (sla.events still declares them required at the edge).
    assert (decode.severity, vars(decode)["subject"]) == ("high", None)
    back = decode_event("Alert Acknowledged", encode_event(acknowledged))
    assert isinstance(back, AlertAcknowledged)
    assert vars(back)["acknowledged_by"] is None


def test_an_escalation_reason_is_validated_at_the_edge_but_not_stored() -> None:
    escalated = parse_detail(
        "Ticket Escalated",
        {"event_id": "e-3", "occurred_at": iso(T0), "ticket_id": "T-1", "customer_id": "C-1"}
        | {"to_line": "l2", "reason": f"customer {SENTINEL_EMAIL} says: {SENTINEL_SUBJECT}"},
    )

    text = encode_event(escalated)

    assert leaks(text) == []
    decoded = decode_event("Ticket Escalated", text)
    assert isinstance(decoded, TicketEscalated)
    assert (decoded.to_line, vars(decoded)["reason"]) == ("l2", None)


def test_events_stored_with_a_subject_before_are_read_without_it() -> None:
    legacy = {"event_id": "e-1", "occurred_at": iso(T0), "ticket_id": "T-1", "customer_id": "C-1"}
    legacy |= {"severity": "high", "subject": SENTINEL_SUBJECT}
    for text in (json.dumps({"v": 1, "detail": legacy}), json.dumps(legacy)):
        decoded = decode_event("Ticket Opened", text)
        assert isinstance(decoded, TicketOpened)
        assert vars(decoded)["subject"] is None
        assert leaks(encode_event(decoded)) == []


def test_the_contact_address_is_stored_for_the_fold_and_an_explicit_null_clears_it() -> None:
    detail = {"event_id": "p-1", "occurred_at": iso(T0), "customer_id": "C-1", "support_level": "business"}
    change = parse_detail("Support Plan Changed", detail | {"contact_email": SENTINEL_EMAIL})
    cleared = parse_detail("Support Plan Changed", detail | {"event_id": "p-2", "contact_email": None})

    back = decode_event("Support Plan Changed", encode_event(change))
    assert isinstance(back, SupportPlanChanged)
    assert back.contact_email == SENTINEL_EMAIL  # the fold reads it: notifications carry it
    assert json.loads(encode_event(cleared))["detail"]["contact_email"] is None  # the right to be forgotten


# -- retention ------------------------------------------------------------------------------------------------


def test_retention_is_read_from_sla_retention_days(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLA_TABLE_NAME", "t")
    monkeypatch.delenv("SLA_RETENTION_DAYS", raising=False)
    assert IngestSettings().retention_days == DEFAULT_RETENTION_DAYS == 30
    monkeypatch.setenv("SLA_RETENTION_DAYS", "7")
    assert IngestSettings().retention_days == 7
    assert SweeperSettings().retention_days == 7
    for name, value in {
        "ONCALL_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:t",
        "ROUTES_PARAMETER_NAME": "/sla-engine/routes",
        "SECRETS_PREFIX": "sla-engine/",
        "SES_SENDER": "noreply@example.com",
        "NOTIFIER_DLQ_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/dlq",
    }.items():
        monkeypatch.setenv(name, value)
    assert NotifierSettings().retention_days == 7
    monkeypatch.setenv("SLA_RETENTION_DAYS", "0")
    with pytest.raises(ValueError, match="retention_days"):
        IngestSettings()


def notification(contact: str | None) -> Notification:
    return Notification(
        "T-1:notify:acknowledged:e-1", T0, "T-1", "C-1", "acknowledged", "en", "UTC", contact, {}
    )


def test_outbox_items_expire_and_lose_the_address_once_delivered() -> None:
    (item,) = outbox_items("T-1", 1, [notification(SENTINEL_EMAIL)], T0, T0 + 7 * DAY)
    assert item["expiration"] == T0 + 7 * DAY
    assert SENTINEL_EMAIL in item["effects"]  # the notifier needs it to send

    kept = delivered_effects(item["effects"])

    assert kept is not None
    assert leaks(kept) == []
    (view,) = json.loads(kept)
    assert "contact_email" not in view
    assert view["effect_id"] == "T-1:notify:acknowledged:e-1"
    assert delivered_effects(kept) is None  # nothing more to drop: the rewrite is idempotent
    (default,) = outbox_items("T-1", 1, [notification(None)], T0)
    assert default["expiration"] == T0 + DEFAULT_RETENTION_DAYS * DAY


def test_a_readable_item_skips_the_parse_only_when_no_view_can_hold_an_address() -> None:
    (item,) = outbox_items("T-1", 1, [notification(SENTINEL_EMAIL)], T0)
    assert leaks(delivered_effects(item["effects"], readable=True) or "") == []
    escaped = f'[{{"contact\\u005femail": "{SENTINEL_EMAIL}", "effect_id": "e"}}]'
    assert json.loads(escaped) == [{"contact_email": SENTINEL_EMAIL, "effect_id": "e"}]
    kept = delivered_effects(escaped, readable=True)
    assert kept is not None and leaks(kept) == []
    assert delivered_effects('[{"effect_id": "e", "type": "alert"}]', readable=True) is None  # an alert's


def test_an_unreadable_outbox_item_loses_its_addresses_as_text() -> None:
    kept = delivered_effects(f'[{{"contact_email": "{SENTINEL_EMAIL}", ')
    assert kept is not None
    assert leaks(kept) == []


# -- every handler at DEBUG ------------------------------------------------------------------------------------


class Capture(logging.Handler):
    """Every record that reaches the root logger, as one line with all its attributes (extras included)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.levels: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self.lines.append(f"{record.name} {text} {json.dumps(vars(record), default=str)}")
        self.levels.add(record.levelname)


@pytest.fixture
def debug_logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Capture]:
    """POWERTOOLS_LOG_LEVEL=DEBUG, the engine's and Powertools' loggers at DEBUG, and every record captured.

    The handler modules' Loggers were made (and took their level) when first imported, maybe by another
    test: their level is set here as the variable would have set it at a cold start. botocore, urllib3 and
    moto stay at their level: their DEBUG output is the wire traffic (README, "Personal data").
    """
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    from functions import ingest, notifier, sweeper

    names = ["aws_lambda_powertools", "infra", "sla", "functions"]
    names += [name for name in logging.root.manager.loggerDict if name.split(".")[0] == ingest.logger.service]
    names.append(ingest.logger.name)
    loggers = {logging.getLogger(name) for name in names}
    loggers |= {module.logger._logger for module in (ingest, notifier, sweeper)}
    saved = [(logger, logger.level) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    capture = Capture()
    # Powertools' own records do not propagate (it discards them unless POWERTOOLS_DEBUG is set): taken
    # where they are made, as POWERTOOLS_DEBUG's handler would print them.
    sources = (logging.root, logging.getLogger("aws_lambda_powertools"))
    for source in sources:
        source.addHandler(capture)
    try:
        yield capture
    finally:
        for source in sources:
            source.removeHandler(capture)
        for logger, level in saved:
            logger.setLevel(level)


def body(detail_type: str, at: int, **detail: Any) -> str:
    """An EventBridge event as the ingest queue's message body, occurred (and sent) at `at`."""
    return json.dumps(
        eventbridge(detail_type, {"event_id": f"pii-e{next(_ids):04d}", "occurred_at": iso(at), **detail})
    )


def deliver(engine: LocalEngine, at: int, *bodies: str) -> dict[str, Any]:
    engine.now = max(engine.now, at)
    response: dict[str, Any] = engine.deliver(list(bodies))
    assert response == {"batchItemFailures": []}
    return response


def scan(engine: LocalEngine) -> dict[tuple[str, str], dict[str, Any]]:
    """Every item of the table, as DynamoDB holds it (attribute values), by key."""
    items: dict[tuple[str, str], dict[str, Any]] = {}
    kwargs: dict[str, Any] = {"TableName": engine.resources.table_name, "ConsistentRead": True}
    while True:
        page = engine.dynamodb.scan(**kwargs)
        for raw in page["Items"]:
            items[(raw["pk"]["S"], raw["sk"]["S"])] = raw
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def invalid_bodies(at: int) -> list[str]:
    """Input the engine refuses, every one with a sentinel in it, and two that are not even JSON."""
    opened = {"ticket_id": "T-PII-2", "customer_id": CUSTOMER, "subject": SENTINEL_SUBJECT}
    plan = {"customer_id": "C-PII-2", "contact_email": SENTINEL_EMAIL}
    broken_opened = body("Ticket Opened", at, **opened, severity="high", contact_email=SENTINEL_EMAIL)[:-1]
    broken_plan = body("Support Plan Changed", at, **plan, support_level="business", subject=SENTINEL_SUBJECT)
    return [
        body("Ticket Opened", at, **opened, severity="urgent"),  # refused by the edge: severity
        body("Ticket Opened", at, **opened, severity="high", category="gossip"),  # refused: category
        body(
            "Ticket Opened",
            at,
            ticket_id=TICKET,
            customer_id="C-OTHER",
            severity="low",
            subject=SENTINEL_SUBJECT,
        ),
        body("Support Plan Changed", at, **plan, support_level="platinum"),  # refused by the service
        body("Support Plan Changed", at, **plan, support_level="business", timezone="Mars/Olympus"),
        body(
            "Support Plan Changed",
            at,
            **(plan | {"contact_email": f"{SENTINEL_EMAIL} and more"}),
            support_level="business",
        ),
        body("Alert Acknowledged", at, ticket_id=TICKET, metric="happiness", acknowledged_by=SENTINEL_EMAIL),
        body(
            "Ticket Message Posted",
            at,
            ticket_id=TICKET,
            customer_id=CUSTOMER,
            author="customer",
            visibility="shouted",
            message_id="m-bad",
            body=f"{SENTINEL_SUBJECT}, write to {SENTINEL_EMAIL}",
        ),
        broken_opened,
        broken_plan[: broken_plan.index(SENTINEL_TOKEN) + len(SENTINEL_TOKEN)],
    ]


def test_no_sentinel_reaches_a_log_line_or_an_item_it_should_not(
    debug_logs: Capture, capfd: pytest.CaptureFixture[str]
) -> None:
    with LocalEngine(start=T0 - DAY) as engine:
        # The customer's plan with the sentinel address, a ticket with the sentinel subject: the notifier
        # mails the address at once (the ticket is acknowledged), then the sweeper fires the clocks.
        deliver(
            engine,
            T0 - DAY,
            body(
                "Support Plan Changed",
                T0 - DAY,
                customer_id=CUSTOMER,
                support_level="enterprise",
                locale="en",
                timezone="UTC",
                contact_email=SENTINEL_EMAIL,
            ),
        )
        deliver(
            engine,
            T0,
            body(
                "Ticket Opened",
                T0,
                ticket_id=TICKET,
                customer_id=CUSTOMER,
                severity="critical",
                subject=SENTINEL_SUBJECT,
                # Extra fields are ignored, and not stored: a body and an address sent along are dropped.
                body=f"Hello, {SENTINEL_SUBJECT}",
                reply_to=SENTINEL_EMAIL,
            ),
        )
        engine.advance_to(T0 + 20 * MINUTE)  # warnings, the breach, the first page
        refused = invalid_bodies(T0 + 20 * MINUTE)
        deliver(
            engine,
            T0 + 20 * MINUTE,
            body(
                "Alert Acknowledged",
                T0 + 20 * MINUTE,
                ticket_id=TICKET,
                metric="first_response",
                acknowledged_by=SENTINEL_EMAIL,
            ),
            body(
                "Ticket Message Posted",
                T0 + 20 * MINUTE,
                ticket_id=TICKET,
                customer_id=CUSTOMER,
                author="agent",
                visibility="public",
                message_id="m-1",
                body=f"Dear customer ({SENTINEL_EMAIL}), about {SENTINEL_SUBJECT}",
            ),
            *refused,
        )
        # A message before its ticket is opened: refused by the fold.
        deliver(
            engine,
            T0 + 21 * MINUTE,
            body(
                "Ticket Message Posted",
                T0 + 21 * MINUTE,
                ticket_id="T-PII-3",
                customer_id=CUSTOMER,
                author="customer",
                visibility="public",
                message_id="m-2",
                body=SENTINEL_SUBJECT,
            ),
        )
        engine.advance_to(T0 + 2 * DAY)
        engine.sweep()
        items = scan(engine)
        sent = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
        engine_logs = engine.logs.getvalue()
    out, err = capfd.readouterr()

    # The run did what it should: the address was mailed, input was refused and kept, DEBUG was on.
    assert any(SENTINEL_EMAIL in address for m in sent for address in m.destinations["ToAddresses"])
    rejections = {key: item for key, item in items.items() if key[0].startswith("REJECTED#")}
    assert len([key for key in rejections if key[1] == "EDGE"]) == len(refused)
    assert [key for key in rejections if key[1] == "FOLD"]
    assert "DEBUG" in debug_logs.levels
    assert '"level":"DEBUG"' in engine_logs or "DEBUG" in debug_logs.levels

    # No log line holds a sentinel: the handlers' JSON logs, every logging record, stdout and stderr.
    lines = [*engine_logs.splitlines(), *debug_logs.lines, *out.splitlines(), *err.splitlines()]
    assert len(lines) > 20
    assert any(TICKET in line and "event handled" in line for line in engine_logs.splitlines())
    assert any("delivered" in line and TICKET in line for line in debug_logs.lines)
    leaked = [(line[:300], leaks(line)) for line in lines if leaks(line)]
    assert leaked == []

    # Only the customer's PLAN item holds the address once everything is delivered; no item the subject.
    outbox = {key: item for key, item in items.items() if key[0].startswith("OUTBOX#")}
    assert outbox
    assert all("delivered_at" in item for item in outbox.values())
    holding = {key: leaks(json.dumps(item)) for key, item in items.items() if leaks(json.dumps(item))}
    assert holding == {(f"CUSTOMER#{CUSTOMER}", "PLAN"): [SENTINEL_EMAIL, SENTINEL_LOCAL_PART]}

    # Rejections and outbox items expire, by the table's TTL, after the retention period.
    for key, item in rejections.items():
        assert int(item["expiration"]["N"]) == int(item["rejected_at"]["N"]) + DEFAULT_RETENTION_DAYS * DAY, (
            key
        )
    for key, item in outbox.items():
        assert int(item["expiration"]["N"]) == int(item["emitted_at"]["N"]) + DEFAULT_RETENTION_DAYS * DAY, (
            key
        )
    # The other items hold no personal data and do not expire: the ticket's history is the engine's truth.
    assert not [key for key, item in items.items() if "expiration" in item and key[0].startswith("TICKET#")]


def test_the_store_takes_its_retention() -> None:
    with LocalEngine(start=T0) as engine:
        store = Store(engine.dynamodb, engine.resources.table_name, retention_days=3)
        store.record_rejection(
            "e-1", f"contact_email: {SENTINEL_EMAIL}", json.dumps({"email": SENTINEL_EMAIL}), T0
        )
        item = engine.dynamodb.get_item(
            TableName=engine.resources.table_name, Key={"pk": {"S": "REJECTED#e-1"}, "sk": {"S": "EDGE"}}
        )["Item"]
    assert int(item["expiration"]["N"]) == T0 + 3 * DAY
    assert leaks(json.dumps(item)) == []
    assert item["reason"]["S"] == "contact_email: [e-mail]"


def test_an_explicit_null_erases_the_address_from_the_whole_plan_history(pipeline: Pipeline) -> None:
    """The customer's right to be forgotten: after `contact_email: null`, no change of the stored history,
    however old, still holds the address (a new address only takes over from the old one)."""
    store = pipeline.store
    detail = {"event_id": "p-1", "occurred_at": iso(T0), "customer_id": "C-9", "support_level": "business"}
    first = parse_detail("Support Plan Changed", detail | {"contact_email": SENTINEL_EMAIL})
    moved = parse_detail("Support Plan Changed", detail | {"event_id": "p-2", "occurred_at": iso(T0 + 60)})
    forget = parse_detail(
        "Support Plan Changed",
        detail | {"event_id": "p-3", "occurred_at": iso(T0 + 120), "contact_email": None},
    )
    for change in (first, moved):
        assert isinstance(change, SupportPlanChanged)
        store.append_plan(store.load_plans("C-9"), change, T0)
    assert SENTINEL_EMAIL in json.dumps(_plan_item(pipeline))  # kept while the customer has not forgotten it

    assert isinstance(forget, SupportPlanChanged)
    store.append_plan(store.load_plans("C-9"), forget, T0)

    assert SENTINEL_EMAIL not in json.dumps(_plan_item(pipeline))
    assert [c.contact_email for c in store.load_plans("C-9").changes] == [None, None, None]


def _plan_item(pipeline: Pipeline) -> dict[str, Any]:
    found = pipeline.client.get_item(
        TableName=pipeline.table_name, Key={"pk": {"S": "CUSTOMER#C-9"}, "sk": {"S": "PLAN"}}
    )
    return dict(found["Item"])
