"""Ticket events in: the IngestFunction handler on the template's table in moto (SPEC sections 3 and 5).

Every test drives `functions.ingest.handler` with SQS batches as the event source mapping delivers them
(or, where threads race, `TicketService.accept_raw`, what the handler calls), at a simulated now, and looks at
the table through the DynamoDB API. Failures are injected with a thin client wrapper that raises a real
botocore ClientError, shaped as DynamoDB (and moto) answer, once, then delegates to the moto client: botocore's
Stubber cannot pass the other calls through to moto.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from functions import ingest
from infra.errors import TransientStoreError
from infra.store import Store, TicketRecord
from infra.ticket_service import TicketService
from tests.conftest import Pipeline, epoch
from tests.samples import load_sample, sqs_event

OK: dict[str, list[Any]] = {"batchItemFailures": []}
Key = tuple[str, str]
Items = dict[Key, dict[str, Any]]

# The samples tell one story: ticket T-1001 of customer C-42 (business level, 24/7), in this order.
STORY = (
    "support-plan-changed",  # 07:00Z  C-42 moves to business, French, with a contact address
    "ticket-opened",  # 08:15Z  high severity: first response within 1 h
    "hardware-replacement-requested",  # 08:20Z  a disk of srv-7: hot swap within 4 h
    "ticket-message-posted",  # 08:40Z  the agent's public reply
    "ticket-severity-changed",  # 09:00Z  now critical
    "alert-acknowledged",  # 12:30Z  on-call acknowledges the replacement's breach (due 12:20Z)
    "hardware-replacement-completed",  # 13:10Z
    "ticket-status-changed",  # 13:30Z  resolved
)
TICKET = "TICKET#T-1001"
PLAN = ("CUSTOMER#C-42", "PLAN")


def occurred(stem: str) -> int:
    return epoch(load_sample(stem)["detail"]["occurred_at"])


def utc(instant: str) -> int:
    return epoch(f"2025-03-10T{instant}:00Z")


@dataclass(frozen=True)
class Step:
    """The table before and after one delivery, and the handler's answer."""

    before: Items
    after: Items
    response: dict[str, Any]

    @property
    def added(self) -> set[Key]:
        return set(self.after) - set(self.before)

    @property
    def changed(self) -> set[Key]:
        return {key for key in set(self.after) & set(self.before) if self.after[key] != self.before[key]}

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = json.loads(self.after[(TICKET, "STATE")]["state"])
        return state

    def clock(self, metric: str, cycle: int = 1) -> dict[str, Any]:
        (clock,) = [c for c in self.state()["clocks"] if (c["metric"], c["cycle"]) == (metric, cycle)]
        return dict(clock)

    def payload(self, effect_id: str) -> dict[str, Any]:
        payload: dict[str, Any] = json.loads(self.after[(f"EFFECT#{effect_id}", "EFFECT")]["payload"])
        return payload


def deliver_sample(pipeline: Pipeline, stem: str, at: int | None = None) -> dict[str, Any]:
    """The committed SQS sample of `stem`, through the handler at its occurred_at (or `at`)."""
    pipeline.now = occurred(stem) if at is None else at
    return pipeline.handle(load_sample(f"sqs-{stem}"))


def story_until(pipeline: Pipeline, stem: str) -> Step:
    """Deliver the story up to `stem`, each event at the time it occurred; the step of `stem` itself."""
    for earlier in STORY[: STORY.index(stem)]:
        assert deliver_sample(pipeline, earlier) == OK
    before = pipeline.scan()
    response = deliver_sample(pipeline, stem)
    return Step(before, pipeline.scan(), response)


def effect(suffix: str) -> Key:
    return (f"EFFECT#T-1001:{suffix}", "EFFECT")


def event(event_id: str) -> Key:
    return (TICKET, f"EVENT#{event_id}")


# ----- each event type, end to end ----------------------------------------------------------------------------


def test_support_plan_changed_lands_in_the_customers_plan_item(pipeline: Pipeline) -> None:
    step = story_until(pipeline, "support-plan-changed")

    assert step.response == OK
    assert step.added == {PLAN}
    plan = step.after[PLAN]
    assert (plan["kind"], plan["version"]) == ("plan", 1)
    (change,) = [json.loads(entry) for entry in plan["history"]]
    assert change["event_id"] == "cp-evt-0001"
    assert change["support_level"] == "business"
    assert (change["timezone"], change["country"], change["locale"]) == ("Europe/Paris", "FR", "fr")
    assert change["contact_email"] == "ops@c42.example"
    assert "tickets" not in plan


def test_ticket_opened_lands_as_event_state_timer_and_acknowledgement(pipeline: Pipeline) -> None:
    step = story_until(pipeline, "ticket-opened")

    assert step.response == OK
    acknowledged = effect("notify:acknowledged:1")
    assert step.added == {event("cp-evt-0002"), (TICKET, "STATE"), (TICKET, "TIMER"), acknowledged}
    assert step.changed == {PLAN}  # the ticket registers with its customer's plan
    assert step.after[PLAN]["tickets"] == {"T-1001"}

    logged = step.after[event("cp-evt-0002")]
    assert (logged["kind"], logged["detail_type"]) == ("event", "Ticket Opened")
    assert logged["occurred_at"] == "2025-03-10T09:15:00+01:00"
    assert logged["received_at"] == pipeline.now == utc("08:15")
    detail = json.loads(logged["detail"])
    assert (detail["ticket_id"], detail["customer_id"], detail["severity"]) == ("T-1001", "C-42", "high")

    state_item = step.after[(TICKET, "STATE")]
    assert (state_item["version"], state_item["owner"]) == (1, "C-42")
    assert state_item["emitted"] == ["T-1001:notify:acknowledged:1"]
    state = step.state()
    assert {k: state[k] for k in ("ticket_id", "customer_id", "support_level", "severity", "status")} == {
        "ticket_id": "T-1001",
        "customer_id": "C-42",
        "support_level": "business",
        "severity": "high",
        "status": "open",
    }
    assert state["opened_at"] == "2025-03-10T08:15:00Z"
    assert [c["metric"] for c in state["clocks"]] == ["first_response"]  # business has no resolution target
    clock = step.clock("first_response")
    assert (clock["state"], clock["support_level"], clock["target_seconds"]) == ("running", "business", 3600)
    assert (clock["started_at"], clock["due_at"]) == ("2025-03-10T08:15:00Z", "2025-03-10T09:15:00Z")

    timer = step.after[(TICKET, "TIMER")]
    assert timer["due_at"] == utc("08:45")  # business warns at half the target
    assert (timer["gsi1pk"], timer["gsi1sk"]) == ("DUE", f"{utc('08:45'):012d}#T-1001")

    notice = step.payload("T-1001:notify:acknowledged:1")
    assert (notice["type"], notice["kind"], notice["customer_id"]) == ("notification", "acknowledged", "C-42")
    assert (notice["locale"], notice["timezone"], notice["contact_email"]) == (
        "fr",
        "Europe/Paris",
        "ops@c42.example",
    )
    assert notice["data"]["due_at"] == "2025-03-10T09:15:00Z"


def test_hardware_replacement_requested_starts_its_clock_and_schedules_the_customer(
    pipeline: Pipeline,
) -> None:
    step = story_until(pipeline, "hardware-replacement-requested")

    assert step.response == OK
    assert step.added == {event("cp-evt-0003"), effect("notify:hardware_scheduled:1")}
    assert step.changed == {(TICKET, "STATE")}  # the next timer is still the first response's warning
    assert step.after[(TICKET, "STATE")]["version"] == 2
    clock = step.clock("hardware_replacement")
    assert (clock["state"], clock["server_id"], clock["component"]) == ("running", "srv-7", "disk")
    assert (clock["started_at"], clock["due_at"]) == ("2025-03-10T08:20:00Z", "2025-03-10T12:20:00Z")
    assert clock["target_seconds"] == 4 * 3600  # hot swap at business
    notice = step.payload("T-1001:notify:hardware_scheduled:1")
    assert notice["data"]["due_at"] == "2025-03-10T12:20:00Z"


def test_ticket_message_posted_by_the_agent_meets_the_first_response(pipeline: Pipeline) -> None:
    step = story_until(pipeline, "ticket-message-posted")

    assert step.response == OK
    assert step.added == {event("cp-evt-0004")}
    assert step.changed == {(TICKET, "STATE"), (TICKET, "TIMER")}
    assert step.after[(TICKET, "STATE")]["version"] == 3
    clock = step.clock("first_response")
    assert (clock["state"], clock["stopped_at"], clock["elapsed_seconds"]) == (
        "met",
        "2025-03-10T08:40:00Z",
        1500,
    )
    assert step.after[(TICKET, "TIMER")]["due_at"] == utc("10:20")  # the replacement's half-way warning


def test_ticket_severity_changed_changes_the_severity_of_the_ticket(pipeline: Pipeline) -> None:
    step = story_until(pipeline, "ticket-severity-changed")

    assert step.response == OK
    assert step.added == {event("cp-evt-0005")}
    assert step.changed == {(TICKET, "STATE")}
    assert step.after[(TICKET, "STATE")]["version"] == 4
    assert step.state()["severity"] == "critical"
    assert step.clock("first_response")["target_seconds"] == 3600  # a met clock is not re-targeted
    assert step.clock("hardware_replacement")["target_seconds"] == 4 * 3600  # by component, not severity


def test_alert_acknowledged_stops_the_ladder_of_the_breach(pipeline: Pipeline) -> None:
    step = story_until(pipeline, "alert-acknowledged")

    assert step.response == OK
    fired = {
        "hardware_replacement:1:warning:0.5",
        "hardware_replacement:1:warning:0.75",
        "hardware_replacement:1:trigger:0",
        "notify:breach_apology:hardware_replacement:1",
        "hardware_replacement:1:acknowledge:oncall-l2",
    }
    assert step.added == {event("cp-evt-0006")} | {effect(suffix) for suffix in fired}
    assert step.changed == {(TICKET, "STATE"), (TICKET, "TIMER")}
    clock = step.clock("hardware_replacement")
    assert (clock["state"], clock["breached_at"], clock["acknowledged_at"]) == (
        "breached",
        "2025-03-10T12:20:00Z",
        "2025-03-10T12:30:00Z",
    )
    page = step.payload("T-1001:hardware_replacement:1:trigger:0")
    assert (page["kind"], page["route"], page["at"]) == ("trigger", "oncall-l2", "2025-03-10T12:20:00Z")
    assert page["dedup_key"] == "T-1001/hardware_replacement/1"
    # Acknowledged at 12:30, before the 15 min ack timeout: duty-manager is never paged; nothing left due.
    assert "gsi1pk" not in step.after[(TICKET, "TIMER")]


def test_hardware_replacement_completed_stops_its_clock_and_resolves_the_page(pipeline: Pipeline) -> None:
    step = story_until(pipeline, "hardware-replacement-completed")

    assert step.response == OK
    assert step.added == {
        event("cp-evt-0007"),
        effect("hardware_replacement:1:resolve:oncall-l2"),
        effect("notify:hardware_completed:1"),
    }
    assert step.changed == {(TICKET, "STATE")}
    clock = step.clock("hardware_replacement")
    assert (clock["state"], clock["stopped_at"]) == ("breached", "2025-03-10T13:10:00Z")  # breach is final


def test_ticket_status_changed_to_resolved_sends_the_survey(pipeline: Pipeline) -> None:
    step = story_until(pipeline, "ticket-status-changed")

    assert step.response == OK
    assert step.added == {event("cp-evt-0008"), effect("notify:survey:1")}
    assert step.changed == {(TICKET, "STATE")}
    assert step.after[(TICKET, "STATE")]["version"] == 7
    assert step.state()["status"] == "resolved"


# ----- duplicates ----------------------------------------------------------------------------------------------

DUPLICATES = {
    "new ticket": ((), "ticket-opened"),
    "existing ticket": (("ticket-opened",), "hardware-replacement-requested"),
    "late plan change": (("ticket-opened",), "support-plan-changed"),  # re-folds the ticket once
}


@pytest.mark.parametrize("case", DUPLICATES)
def test_the_same_event_delivered_three_times_changes_the_table_once(pipeline: Pipeline, case: str) -> None:
    earlier, stem = DUPLICATES[case]
    for sample in earlier:
        assert deliver_sample(pipeline, sample) == OK
    at = max(pipeline.now, occurred(stem)) + 60
    before = pipeline.scan()
    version = before.get((TICKET, "STATE"), {"version": 0})["version"]

    assert deliver_sample(pipeline, stem, at) == OK
    once = pipeline.scan()
    assert deliver_sample(pipeline, stem, at + 60) == OK
    assert deliver_sample(pipeline, stem, at + 120) == OK

    assert pipeline.scan() == once  # the second and third deliveries wrote nothing
    assert once[(TICKET, "STATE")]["version"] == version + 1
    events = [sk for pk, sk in once if pk == TICKET and sk.startswith("EVENT#")]
    assert len(events) == len(earlier) + (stem != "support-plan-changed")
    emitted = set(once[(TICKET, "STATE")]["emitted"])
    outbox = {pk.removeprefix("EFFECT#") for pk, sk in once if sk == "EFFECT"}
    assert outbox == emitted


class AtomicClient:
    """One thread's own boto3 client. Its calls are atomic, as DynamoDB's requests are (moto's backend is
    not thread-safe), and the thread waits after its first Query until every thread has made its own, so all
    of them read the ticket before any of them writes: the race is certain, not left to the scheduler."""

    def __init__(self, client: Any, lock: threading.Lock, barrier: threading.Barrier) -> None:
        self._client, self._lock, self._barrier = client, lock, barrier
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._client, name)

        def call(**kwargs: Any) -> Any:
            self.calls[name] += 1
            with self._lock:
                result = method(**kwargs)
            if name == "query" and self.calls[name] == 1:
                self._barrier.wait(timeout=10)
            return result

        return call


# Threads call the service, not the handler: the handler's batch processor and dependencies are globals of
# one Lambda instance, which handles one batch at a time; concurrent deliveries are concurrent instances.
@pytest.mark.parametrize("case", ["new ticket", "existing ticket"])
def test_the_same_event_from_three_threads_at_once_changes_the_table_once(
    pipeline: Pipeline, case: str
) -> None:
    earlier, stem = DUPLICATES[case]
    for sample in earlier:
        assert deliver_sample(pipeline, sample) == OK
    before = pipeline.scan()
    version = before.get((TICKET, "STATE"), {"version": 0})["version"]
    (record,) = load_sample(f"sqs-{stem}")["Records"]
    lock, barrier = threading.Lock(), threading.Barrier(3)
    clients = [AtomicClient(pipeline.new_client(), lock, barrier) for _ in range(3)]
    services = [TicketService(Store(c, pipeline.table_name), pipeline.service.catalog) for c in clients]
    now = occurred(stem)

    with ThreadPoolExecutor(max_workers=3) as pool:
        outcomes = list(pool.map(lambda s: s.accept_raw(record["body"], now, record["messageId"]), services))

    assert sorted(o.status for o in outcomes) == ["accepted", "duplicate", "duplicate"]
    # Each thread read, folded and tried its transaction once; two lost on the event's own condition.
    assert [dict(c.calls) for c in clients] == [{"query": 1, "get_item": 1, "transact_write_items": 1}] * 3
    after = pipeline.scan()
    (accepted,) = [o for o in outcomes if o.status == "accepted"]
    added_effects = {pk.removeprefix("EFFECT#") for pk, sk in set(after) - set(before) if sk == "EFFECT"}
    assert added_effects == {e.effect_id for e in accepted.effects} != set()
    assert [key for key in after if key == event(accepted.event_id)] == [event(accepted.event_id)]
    assert after[(TICKET, "STATE")]["version"] == version + 1


# ----- invalid input -------------------------------------------------------------------------------------------


def opened(**changes: Any) -> dict[str, Any]:
    """The Ticket Opened sample of another ticket of C-42, with `changes` to its detail (None removes)."""
    sample = load_sample("ticket-opened")
    detail = {**sample["detail"], "event_id": "cp-evt-bad", "ticket_id": "T-2002", **changes}
    sample["detail"] = {k: v for k, v in detail.items() if v is not None}
    return sample


def with_detail(stem: str, **changes: Any) -> dict[str, Any]:
    sample = load_sample(stem)
    sample["detail"] = {**sample["detail"], "event_id": "cp-evt-bad", **changes}
    return sample


INVALID: dict[str, tuple[Callable[[], dict[str, Any]], str, str]] = {
    # case: (the EventBridge event, the field the reason must start with, a word of the problem)
    "unknown detail-type": (
        lambda: {**opened(), "detail-type": "Ticket Teleported"},
        "detail-type",
        "unknown",
    ),
    "missing field": (lambda: opened(severity=None), "severity", "required"),
    "naive time": (lambda: opened(occurred_at="2025-03-10T09:15:00"), "occurred_at", "timezone"),
    "unknown severity": (lambda: opened(severity="urgent"), "severity", "'critical'"),
    "unknown component": (
        lambda: with_detail("hardware-replacement-requested", component="floppy"),
        "component",
        "'disk'",
    ),
    "unknown status": (lambda: with_detail("ticket-status-changed", status="snoozed"), "status", "'open'"),
    "oversized field": (lambda: opened(subject="x" * 10_000), "subject", "500"),
    "wrong source": (
        lambda: {**opened(), "source": "controlpanel.billing"},
        "source",
        "controlpanel.support",
    ),
    "unknown support level": (
        lambda: with_detail("support-plan-changed", support_level="platinum"),
        "support_level",
        "platinum",
    ),
}


@pytest.mark.parametrize("case", INVALID)
def test_an_invalid_event_is_rejected_naming_its_field_and_writes_nothing_else(
    pipeline: Pipeline, case: str
) -> None:
    build, field, problem = INVALID[case]
    story_until(pipeline, "ticket-opened")
    before = pipeline.scan()
    batch = sqs_event(build())

    assert pipeline.handle(batch) == OK  # a rejection is handled: SQS must not redeliver it
    after = pipeline.scan()
    rejected = ("REJECTED#cp-evt-bad", "REJECTED")
    assert set(after) - set(before) == {rejected}
    assert {key: item for key, item in after.items() if key != rejected} == before
    reason = after[rejected]["reason"]
    assert reason.startswith(f"{field}:"), reason
    assert problem in reason
    assert after[rejected]["raw"] == batch["Records"][0]["body"]  # kept for inspection


def test_unknown_extra_fields_are_ignored(pipeline: Pipeline) -> None:
    tolerant = opened(priority_hint="p1", labels=["raid"])
    tolerant["detail-type-version"] = 2

    assert pipeline.deliver(tolerant) == OK
    assert pipeline.state("T-2002")["version"] == 1
    assert not [key for key in pipeline.scan() if key[1] == "REJECTED"]


def test_a_body_that_is_not_json_is_rejected_under_its_message_id(pipeline: Pipeline) -> None:
    story_until(pipeline, "ticket-opened")
    before = pipeline.scan()
    batch = sqs_event(opened())
    (record,) = batch["Records"]
    record["body"] = record["body"][:80]  # cut short: not JSON

    assert pipeline.handle(batch) == OK
    after = pipeline.scan()
    rejected = (f"REJECTED#{record['messageId']}", "REJECTED")
    assert set(after) - set(before) == {rejected}
    assert {key: item for key, item in after.items() if key != rejected} == before
    assert after[rejected]["reason"].startswith("body: not JSON")
    assert after[rejected]["raw"] == record["body"]


@pytest.mark.parametrize("stem", ["ticket-message-posted", "ticket-status-changed"])
def test_an_event_of_another_customer_for_an_existing_ticket_is_rejected(
    pipeline: Pipeline, stem: str
) -> None:
    story_until(pipeline, "ticket-opened")
    before = pipeline.scan()

    assert pipeline.deliver(with_detail(stem, customer_id="C-666")) == OK
    after = pipeline.scan()
    rejected = ("REJECTED#cp-evt-bad", "REJECTED")
    assert set(after) - set(before) == {rejected}
    assert {key: item for key, item in after.items() if key != rejected} == before
    assert after[rejected]["reason"] == "customer_id: the ticket belongs to another customer"


# ----- partial batches and transient failures ------------------------------------------------------------------


class PoisonedStore(Store):
    """A store whose commits of one ticket fail as a throttled or unavailable table would."""

    def __init__(self, client: Any, table_name: str, poisoned: str) -> None:
        super().__init__(client, table_name)
        self.poisoned = poisoned

    def commit(self, record: TicketRecord, *args: Any, **kwargs: Any) -> Any:
        if record.ticket_id == self.poisoned:
            raise TransientStoreError(f"ticket {record.ticket_id}: table unavailable")
        return super().commit(record, *args, **kwargs)


def ten_tickets() -> list[dict[str, Any]]:
    return [
        opened(event_id=f"cp-evt-batch-{n}", ticket_id=f"T-30{n:02d}", subject=f"Ticket {n}")
        for n in range(10)
    ]


def test_a_poison_record_fails_alone_in_its_batch_and_is_stored_on_redelivery(pipeline: Pipeline) -> None:
    events = ten_tickets()
    batch = sqs_event(*events)
    poisoned = pipeline.service
    store = PoisonedStore(pipeline.client, pipeline.table_name, poisoned="T-3004")
    ingest.configure(ingest.Dependencies(TicketService(store, poisoned.catalog), pipeline.clock))
    pipeline.now = occurred("ticket-opened")

    response = pipeline.handle(batch)

    assert response == {"batchItemFailures": [{"itemIdentifier": batch["Records"][4]["messageId"]}]}
    tickets = {pk for pk, sk in pipeline.scan() if sk == "STATE"}
    assert tickets == {f"TICKET#T-30{n:02d}" for n in range(10) if n != 4}
    assert not [key for key in pipeline.scan() if key[0] == "TICKET#T-3004" or key[1] == "REJECTED"]

    ingest.configure(ingest.Dependencies(poisoned, pipeline.clock))  # the table is back
    assert pipeline.handle({"Records": [batch["Records"][4]]}) == OK
    assert pipeline.state("T-3004")["version"] == 1


def client_error(operation: str, code: str, message: str, **extra: Any) -> ClientError:
    """A ClientError as botocore builds it from DynamoDB's (and moto's) JSON error response."""
    response: Any = {
        "Error": {"Message": message, "Code": code},
        "ResponseMetadata": {"HTTPStatusCode": 400, "HTTPHeaders": {"x-amzn-errortype": code}},
        "Message": message,
        **extra,
    }
    return ClientError(response, operation)


class FailsOnce:
    """Delegates to a moto client, except that the first call of `method` raises `error`."""

    def __init__(self, client: Any, method: str, error: ClientError) -> None:
        self._client, self._method, self._error = client, method, error
        self.raised = False

    def __getattr__(self, name: str) -> Any:
        if name != self._method or self.raised:
            return getattr(self._client, name)

        def fail(**_: Any) -> Any:
            self.raised = True
            raise self._error

        return fail


THROTTLED = "ProvisionedThroughputExceededException"
THROTTLES = {
    "query": client_error("Query", THROTTLED, "The level of configured provisioned throughput was exceeded."),
    "transact_write_items": client_error(
        "TransactWriteItems", THROTTLED, "The level of configured provisioned throughput was exceeded."
    ),
}


def fail_once(pipeline: Pipeline, method: str, error: ClientError) -> FailsOnce:
    client = FailsOnce(pipeline.client, method, error)
    service = TicketService(Store(client, pipeline.table_name), pipeline.service.catalog)
    ingest.configure(ingest.Dependencies(service, pipeline.clock))
    return client


@pytest.mark.parametrize("method", THROTTLES)
def test_a_throttled_record_leaves_nothing_partial_and_lands_on_redelivery(
    pipeline: Pipeline, method: str
) -> None:
    assert deliver_sample(pipeline, "ticket-opened") == OK
    client = fail_once(pipeline, method, THROTTLES[method])
    other = opened(customer_id="C-7")  # another customer's ticket, in the same batch
    batch = sqs_event(load_sample("ticket-message-posted"), other)
    before = pipeline.scan()

    pipeline.now = occurred("ticket-message-posted")
    response = pipeline.handle(batch)

    assert client.raised
    assert response == {"batchItemFailures": [{"itemIdentifier": batch["Records"][0]["messageId"]}]}
    after = pipeline.scan()
    assert {pk for pk, _ in set(after) - set(before)} == {
        "TICKET#T-2002",
        "EFFECT#T-2002:notify:acknowledged:1",
        "CUSTOMER#C-7",
    }
    assert {
        key: after[key] for key in before
    } == before  # nothing of the throttled record: no EVENT, no STATE

    assert pipeline.handle({"Records": [batch["Records"][0]]}) == OK  # SQS redelivers it
    assert event("cp-evt-0004") in pipeline.scan()
    assert pipeline.state("T-1001")["version"] == 2


def test_a_single_throttled_record_is_reported_so_sqs_redelivers_it(pipeline: Pipeline) -> None:
    """A batch whose only record failed answers with that record's failure (no exception), so SQS redelivers it."""
    client = fail_once(pipeline, "query", THROTTLES["query"])
    message_id = load_sample("sqs-ticket-opened")["Records"][0]["messageId"]
    assert deliver_sample(pipeline, "ticket-opened") == {
        "batchItemFailures": [{"itemIdentifier": message_id}]
    }
    assert client.raised
    assert pipeline.scan() == {}
    assert deliver_sample(pipeline, "ticket-opened") == OK
    assert pipeline.state("T-1001")["version"] == 1


def test_a_transaction_conflict_on_the_state_is_retried_by_refolding(pipeline: Pipeline) -> None:
    assert deliver_sample(pipeline, "ticket-opened") == OK
    conflict = client_error(
        "TransactWriteItems",
        "TransactionCanceledException",
        "Transaction cancelled, please refer cancellation reasons for specific reasons "
        "[None, ConditionalCheckFailed, None]",
        CancellationReasons=[
            {"Code": "None"},  # the new EVENT item
            {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"},  # STATE
            {"Code": "None"},  # TIMER
        ],
    )
    client = fail_once(pipeline, "transact_write_items", conflict)
    calls: Counter[str] = Counter()
    pipeline.client.meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: calls.update([model.name])
    )

    assert deliver_sample(pipeline, "ticket-message-posted") == OK

    assert client.raised
    assert calls == {"Query": 2, "GetItem": 2, "TransactWriteItems": 1}  # re-read, re-fold, commit
    assert event("cp-evt-0004") in pipeline.scan()
    assert pipeline.state("T-1001")["version"] == 2


class RivalFirst:
    """Delegates to a moto client; just before its first transaction, a rival writer commits to the ticket."""

    def __init__(self, client: Any, rival: Callable[[], Any]) -> None:
        self._client = client
        self._rival: Callable[[], Any] | None = rival
        self.errors: list[ClientError] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if name != "transact_write_items":
            return method

        def transact(**kwargs: Any) -> Any:
            if self._rival is not None:
                rival, self._rival = self._rival, None
                rival()
            try:
                return method(**kwargs)
            except ClientError as error:
                self.errors.append(error)
                raise

        return transact


def test_a_real_conflict_with_another_writer_loses_nothing(pipeline: Pipeline) -> None:
    """The same path as above, with moto's own TransactionCanceledException: another event of the ticket
    is committed between our read and our write."""
    assert deliver_sample(pipeline, "ticket-opened") == OK
    assert deliver_sample(pipeline, "hardware-replacement-requested") == OK
    rival_event = load_sample("ticket-message-posted")
    rival = TicketService(Store(pipeline.client, pipeline.table_name), pipeline.service.catalog)
    client = RivalFirst(
        pipeline.client, lambda: rival.accept(rival_event, occurred("ticket-message-posted"), "rival")
    )
    service = TicketService(Store(client, pipeline.table_name), pipeline.service.catalog)
    ingest.configure(ingest.Dependencies(service, pipeline.clock))

    assert deliver_sample(pipeline, "ticket-severity-changed") == OK

    (error,) = client.errors
    assert error.response["Error"]["Code"] == "TransactionCanceledException"
    assert [r["Code"] for r in error.response["CancellationReasons"]][:2] == [
        "None",
        "ConditionalCheckFailed",
    ]
    items = pipeline.scan()
    assert {event("cp-evt-0004"), event("cp-evt-0005")} <= set(items)
    state = pipeline.state("T-1001")
    assert state["version"] == 4
    assert state["state"]["severity"] == "critical"
    first_response = state["state"]["clocks"][0]
    assert (first_response["metric"], first_response["state"]) == ("first_response", "met")


# ----- steady-state cost ---------------------------------------------------------------------------------------


def test_one_new_event_for_an_existing_ticket_costs_one_query_and_one_transaction(pipeline: Pipeline) -> None:
    """Observed: Query 1 (the ticket's items), GetItem 1 (the customer's plan), TransactWriteItems 1.

    For comparison, the same counts for a new ticket; a duplicate costs the Query alone, and a rejection
    a single conditional PutItem.
    """
    calls: Counter[str] = Counter()
    pipeline.client.meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: calls.update([model.name])
    )
    assert deliver_sample(pipeline, "support-plan-changed") == OK
    assert calls == {"GetItem": 1, "UpdateItem": 1}
    calls.clear()
    assert deliver_sample(pipeline, "ticket-opened") == OK
    assert calls == {"Query": 1, "GetItem": 1, "TransactWriteItems": 1}
    calls.clear()

    assert deliver_sample(pipeline, "ticket-message-posted") == OK
    assert calls == {"Query": 1, "GetItem": 1, "TransactWriteItems": 1}

    calls.clear()
    assert deliver_sample(pipeline, "ticket-message-posted") == OK
    assert calls == {"Query": 1}
    calls.clear()
    assert pipeline.deliver(opened(severity="urgent")) == OK
    assert calls == {"PutItem": 1}


def test_a_batch_costs_the_same_per_record(pipeline: Pipeline) -> None:
    assert deliver_sample(pipeline, "support-plan-changed") == OK
    calls: Counter[str] = Counter()
    pipeline.client.meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: calls.update([model.name])
    )

    assert pipeline.deliver(*ten_tickets()) == OK

    assert calls == {"Query": 10, "GetItem": 10, "TransactWriteItems": 10}
