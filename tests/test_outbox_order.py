"""A ticket's effects reach PagerDuty in the order the engine decided them, whatever the stream does.

DynamoDB Streams keep order per item only: the items of one transaction reach the stream in any order, and
Lambda keeps order per item, not per partition, once a shard is read by parallel batches. A `resolve` that
overtakes its `trigger` leaves an incident open forever. These tests hand the NotifierFunction handler the
records in the orders production can produce (reversed, interleaved, failing and retried, concurrent) and
check what PagerDuty receives, per dedup key, in order, each message once.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions import notifier
from infra.notify.http import HttpResponse
from infra.store.outbox import MAX_EFFECTS_PER_ITEM, outbox_items
from local.engine import FakeLambdaContext, LocalEngine
from local.notifier import build_local_dependencies, stream_event
from local.stack import LocalResources, create_resources
from sla.effects import Alert, Notification

NOW = 1_775_547_000  # 2026-04-07T07:30:00Z
REGION = "eu-west-1"


@dataclass
class PagerDuty:
    """The Events API as the notifier meets it: what it accepted, in order; keys in `down` answer 503."""

    accepted: list[tuple[str, str]] = field(default_factory=list)  # (event_action, dedup_key)
    refused: list[tuple[str, str]] = field(default_factory=list)
    down: set[str] = field(default_factory=set)
    during_next_send: Callable[[], None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> HttpResponse:
        document = json.loads(body)
        if "pagerduty" not in url:
            return HttpResponse(200, b"ok")
        event = (document["event_action"], document["dedup_key"])
        with self._lock:
            if event[1] in self.down:
                self.refused.append(event)
                return HttpResponse(503, b'{"status":"error"}')
            hook, self.during_next_send = self.during_next_send, None
        if hook is not None:
            hook()  # another invocation runs while this request is on the wire
        with self._lock:
            self.accepted.append(event)
        return HttpResponse(202, b'{"status":"success","message":"Event processed"}')

    def actions(self, dedup_key: str) -> list[str]:
        return [action for action, key in self.accepted if key == dedup_key]


@dataclass
class Outbox:
    session: boto3.Session
    resources: LocalResources
    pagerduty: PagerDuty
    versions: dict[str, int] = field(default_factory=dict)

    def commit(self, *effects: Alert | Notification) -> list[dict[str, Any]]:
        """One commit of a ticket deciding `effects` in this order: its outbox items, written to the table."""
        ticket_id = effects[0].ticket_id
        version = self.versions[ticket_id] = self.versions.get(ticket_id, 0) + 1
        items = outbox_items(ticket_id, version, effects, NOW - 60)
        table = self.session.resource("dynamodb").Table(self.resources.table_name)
        for item in items:
            table.put_item(Item=item)
        return items

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        response: dict[str, Any] = notifier.handler(event, FakeLambdaContext("NotifierFunction"))
        return response

    def stored(self, item: Mapping[str, Any]) -> dict[str, Any]:
        table = self.session.resource("dynamodb").Table(self.resources.table_name)
        found: dict[str, Any] = table.get_item(Key={"pk": item["pk"], "sk": item["sk"]}, ConsistentRead=True)[
            "Item"
        ]
        return found


@pytest.fixture
def outbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Outbox]:
    """The notifier on a moto stack of its own (LocalEngine starts its own moto, which must not nest), with
    oncall-l2 paging PagerDuty only: one delivery an alert keeps the large commits quick."""
    for name, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        resources = create_resources(session)
        routes = {"oncall-l2": [{"type": "pagerduty", "secret": "sla-engine/pagerduty/oncall-l2"}]}
        parameter = resources.environment("NotifierFunction")["ROUTES_PARAMETER_NAME"]
        session.client("ssm").put_parameter(Name=parameter, Value=json.dumps(routes), Type="String")
        pagerduty = PagerDuty()
        notifier.configure(build_local_dependencies(session, resources, pagerduty, clock=lambda: NOW))
        try:
            yield Outbox(session, resources, pagerduty)
        finally:
            notifier.configure(None)


def alert(kind: str, ticket: str = "T-1", route: str = "oncall-l2", cycle: int = 1, step: int = 0) -> Alert:
    return Alert(
        effect_id=f"{ticket}:first_response:{cycle}:{kind}:{route}",
        at=NOW - 120,
        ticket_id=ticket,
        metric="first_response",
        cycle=cycle,
        kind=kind,  # type: ignore[arg-type]
        route=route,
        dedup_key=f"{ticket}/first_response/{cycle}",
        step=step,
        due_at=NOW - 300,
        support_level="enterprise",
    )


def records_from(event: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    """Lambda's retry of a partly failed stream batch: every record from the lowest failed one on."""
    failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    records = event["Records"]
    first = min(i for i, r in enumerate(records) if r["dynamodb"]["SequenceNumber"] in failed)
    return {"Records": records[first:]}


# -- one ticket: decided order, whatever the stream order --------------------------------------------------


def test_a_trigger_and_its_resolve_decided_in_one_commit_reach_pagerduty_in_that_order(
    outbox: Outbox,
) -> None:
    items = outbox.commit(alert("trigger"), alert("resolve"))

    assert len(items) == 1  # one commit, one item: its effects in a list, in decided order
    assert outbox.handle(stream_event(items, outbox.resources)) == {"batchItemFailures": []}
    assert outbox.pagerduty.actions("T-1/first_response/1") == ["trigger", "resolve"]


def test_a_resolve_whose_record_overtakes_its_triggers_still_reaches_pagerduty_after_it(
    outbox: Outbox,
) -> None:
    trigger = outbox.commit(alert("trigger"))
    resolve = outbox.commit(alert("resolve"))

    assert outbox.handle(stream_event(resolve + trigger, outbox.resources)) == {"batchItemFailures": []}
    assert outbox.pagerduty.actions("T-1/first_response/1") == ["trigger", "resolve"]
    assert all("delivered_at" in outbox.stored(item) for item in trigger + resolve)


def test_a_failure_on_a_tickets_first_record_holds_back_its_later_records_until_the_retry(
    outbox: Outbox,
) -> None:
    first = outbox.commit(alert("trigger"))
    second = outbox.commit(alert("resolve"))
    other = outbox.commit(alert("trigger", ticket="T-2"))
    outbox.pagerduty.down.add("T-1/first_response/1")
    event = stream_event(first + second + other, outbox.resources)

    response = outbox.handle(event)

    sequence = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
    assert response == {
        "batchItemFailures": [{"itemIdentifier": sequence[0]}, {"itemIdentifier": sequence[1]}]
    }
    assert (
        outbox.pagerduty.refused == [("trigger", "T-1/first_response/1")] * 3
    )  # the poster's three attempts
    assert outbox.pagerduty.accepted == [("trigger", "T-2/first_response/1")]  # held back: T-1's resolve
    assert "delivered_at" not in outbox.stored(first[0]) and "delivered_at" not in outbox.stored(second[0])

    outbox.pagerduty.down.clear()
    assert outbox.handle(records_from(event, response)) == {"batchItemFailures": []}
    assert outbox.pagerduty.accepted == [
        ("trigger", "T-2/first_response/1"),
        ("trigger", "T-1/first_response/1"),
        ("resolve", "T-1/first_response/1"),
    ]  # T-2's record came again with the retry and found its page sent


def test_two_tickets_records_interleave_freely_each_in_its_own_order(outbox: Outbox) -> None:
    a1, a2 = outbox.commit(alert("trigger")), outbox.commit(alert("resolve"))
    b1, b2 = outbox.commit(alert("trigger", ticket="T-2")), outbox.commit(alert("resolve", ticket="T-2"))

    assert outbox.handle(stream_event(b2 + a1 + b1 + a2, outbox.resources)) == {"batchItemFailures": []}

    assert outbox.pagerduty.actions("T-1/first_response/1") == ["trigger", "resolve"]
    assert outbox.pagerduty.actions("T-2/first_response/1") == ["trigger", "resolve"]
    assert outbox.pagerduty.accepted[:2] == [
        ("trigger", "T-2/first_response/1"),
        ("resolve", "T-2/first_response/1"),
    ]


def test_a_parallel_batch_cannot_send_a_later_effect_while_an_earlier_one_is_on_the_wire(
    outbox: Outbox,
) -> None:
    """ParallelizationFactor > 1: two invocations on one ticket at once; the later one waits for the first."""
    trigger = outbox.commit(alert("trigger"))
    resolve = outbox.commit(alert("resolve"))
    service = notifier.dependencies().service
    raised: list[Exception] = []

    def second_invocation() -> None:
        try:
            service.deliver(resolve[0], NOW)
        except Exception as error:  # the unit in progress elsewhere: the record fails and is retried
            raised.append(error)

    outbox.pagerduty.during_next_send = second_invocation
    assert outbox.handle(stream_event(trigger, outbox.resources)) == {"batchItemFailures": []}

    assert [type(e).__name__ for e in raised] == ["IdempotencyAlreadyInProgressError"]
    assert outbox.pagerduty.actions("T-1/first_response/1") == ["trigger"]  # no resolve before its trigger
    assert outbox.handle(stream_event(resolve, outbox.resources)) == {"batchItemFailures": []}  # its retry
    assert outbox.pagerduty.actions("T-1/first_response/1") == ["trigger", "resolve"]


# -- a commit of many effects -------------------------------------------------------------------------------


def test_a_commit_of_60_effects_becomes_three_items_and_each_effect_goes_once_in_order(
    outbox: Outbox,
) -> None:
    effects = [alert("trigger", cycle=n) for n in range(1, 61)]
    items = outbox.commit(*effects)

    assert [len(json.loads(i["effects"])) for i in items] == [MAX_EFFECTS_PER_ITEM, MAX_EFFECTS_PER_ITEM, 10]
    assert [i["sk"] for i in items] == ["000000000001#000", "000000000001#001", "000000000001#002"]
    assert {i["pk"] for i in items} == {"OUTBOX#T-1"}
    # The items of one transaction reach the stream in any order: here the last chunk first.
    event = stream_event(list(reversed(items)), outbox.resources)
    assert outbox.handle(event) == {"batchItemFailures": []}
    assert outbox.handle(event) == {"batchItemFailures": []}  # the stream's at-least-once

    assert outbox.pagerduty.accepted == [("trigger", f"T-1/first_response/{n}") for n in range(1, 61)]
    for item in items:
        stored = outbox.stored(item)
        assert stored["delivered_at"] == NOW
        assert sorted(stored["deliveries"]) == sorted(v["effect_id"] for v in json.loads(item["effects"]))


def test_outbox_items_are_bounded_by_count_and_by_size() -> None:
    big = Notification(
        effect_id="T-1:notify:acknowledged:1",
        at=NOW,
        ticket_id="T-1",
        customer_id="C-1",
        kind="acknowledged",
        locale="en",
        timezone="UTC",
        contact_email=None,
        data={"note": "x" * 40_000},
    )
    many = [alert("warning", cycle=n) for n in range(1, 52)]

    assert [i["sk"] for i in outbox_items("T-1", 7, [big, big, big], NOW)] == [
        "000000000007#000",
        "000000000007#001",
    ]  # 80 KB fit in one item, 120 KB do not
    assert [i["chunks"] for i in outbox_items("T-1", 8, many, NOW)] == [3, 3, 3]
    assert outbox_items("T-1", 9, [], NOW) == []
    with pytest.raises(ValueError, match="positive"):
        outbox_items("T-1", 0, many, NOW)


# -- the local engine ---------------------------------------------------------------------------------------


def test_the_local_engine_hands_items_over_in_stream_order_and_never_sorts_effects() -> None:
    """Decided order, not time order: an effect decided first goes first even if its instant is later."""
    acknowledge = alert("acknowledge")
    late_resolve = dataclasses.replace(alert("resolve"), at=NOW + 600)
    early_warning = dataclasses.replace(alert("warning", cycle=2), at=NOW - 3600)
    with LocalEngine(start=NOW) as engine:
        table = engine.session.resource("dynamodb").Table(engine.resources.table_name)
        for item in outbox_items("T-1", 4, [acknowledge, late_resolve, early_warning], NOW):
            table.put_item(Item=item)
        engine.notify()

        pages = [(r.document["event_action"], r.document["dedup_key"]) for r in engine.http.requests]
        rows = engine.outbox()

    assert pages == [("acknowledge", "T-1/first_response/1"), ("resolve", "T-1/first_response/1")]
    assert [r["effect_id"] for r in rows] == [e.effect_id for e in (acknowledge, late_resolve, early_warning)]
    assert [r["channels"] for r in rows] == [["sns", "pagerduty"], ["sns", "pagerduty"], ["sns"]]
    assert all({"type", "at", "effect_id", "emitted_at", "channels"} <= set(r) for r in rows)
