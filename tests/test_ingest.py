"""Ticket events in: the IngestFunction handler on the template's table in moto (SPEC sections 3 and 5).

Every test drives `functions.ingest.handler` with SQS batches as the event source mapping delivers them
(or, where threads race, `TicketService.accept_raw`, what the handler calls), at a simulated now, and looks at
the table through the DynamoDB API. Failures are injected with a thin client wrapper that raises a real
botocore ClientError, shaped as DynamoDB (and moto) answer, once, then delegates to the moto client: botocore's
Stubber cannot pass the other calls through to moto.

The table's layout (template.yaml documents each item family): a ticket's events are in log chunks
`TICKET#<id>` / `LOG#<n:06d>` beside an idempotency marker `TICKET#<id>` / `EVENT#<event_id>` each; its
`STATE` keeps the open clocks only (a settled clock is a digest in `closed`), so a test that looks at a
stopped clock reads it from the fold (`Step.clock`); the effects a commit decides are one outbox item
`OUTBOX#<id>` / `<version:012d>#<chunk:03d>` holding their list; a customer's open tickets are registration
items `CUSTOMER#<c>` / `TICKET#<t>`; rejections are `REJECTED#<event_id>` / `EDGE` (refused at the edge) or
`FOLD` (refused by the fold).
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
from infra.store.codec import decode_event, redact_payload
from infra.store.outbox import OUTBOX_PREFIX, item_effects, outbox_partition
from infra.store.records import clock_digest
from infra.store.report_index import report_key
from infra.store.timers import timer_item
from infra.ticket_service import TicketService
from infra.views import ticket_view
from sla.events import SupportPlanChanged
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
REGISTRATION = ("CUSTOMER#C-42", "TICKET#T-1001")  # T-1001 among C-42's open tickets
LOG = (TICKET, "LOG#000000")  # the story's events fit the first log chunk
# The ticket's March in the decided-cycle index (infra/store/report_index.py): put when it opens, put again
# by every commit that changes what the month's report counts of it (a cycle decided or stopped, a reply).
REPORT = (report_key("2025-03", "T-1001")["pk"], report_key("2025-03", "T-1001")["sk"])
# The clocks are named by the event that started them (SPEC section 4): the replacement by its request.
REPLACEMENT = "hardware_replacement:cp-evt-0003"


def occurred(stem: str) -> int:
    return epoch(load_sample(stem)["detail"]["occurred_at"])


def utc(instant: str) -> int:
    return epoch(f"2025-03-10T{instant}:00Z")


def outbox_effects(items: Items) -> dict[str, dict[str, Any]]:
    """Every effect in the outbox items of `items`, by effect id (each must appear once)."""
    found: dict[str, dict[str, Any]] = {}
    for (pk, _), item in sorted(items.items()):
        if pk.startswith(OUTBOX_PREFIX):
            for view in item_effects(item):
                assert view["effect_id"] not in found, f"{view['effect_id']} is in the outbox twice"
                found[view["effect_id"]] = view
    return found


def outbox_key(version: int, chunk: int = 0) -> Key:
    """The outbox item of T-1001's commit that wrote state `version`."""
    return (outbox_partition("T-1001"), f"{version:012d}#{chunk:03d}")


def logged(items: Items, ticket: str = TICKET) -> list[tuple[str, dict[str, Any]]]:
    """The ticket's event log, chunk after chunk: (detail type, the stored detail decoded)."""
    chunks = sorted((sk, item) for (pk, sk), item in items.items() if pk == ticket and sk.startswith("LOG#"))
    return [
        (detail_type, decode_event(detail_type, text).model_dump(mode="json"))
        for _, item in chunks
        for detail_type, text in item["events"]
    ]


@dataclass(frozen=True)
class Step:
    """The table before and after one delivery, the handler's answer, and the fold of T-1001 after it."""

    before: Items
    after: Items
    response: dict[str, Any]
    folded: dict[str, Any] | None = None  # ticket_view of the fold at the delivery's now (every clock)

    @property
    def added(self) -> set[Key]:
        return set(self.after) - set(self.before)

    @property
    def changed(self) -> set[Key]:
        return {key for key in set(self.after) & set(self.before) if self.after[key] != self.before[key]}

    @property
    def added_effects(self) -> set[str]:
        return set(outbox_effects(self.after)) - set(outbox_effects(self.before))

    def state(self) -> dict[str, Any]:
        """The STATE item's view: the ticket with its open clocks only."""
        state: dict[str, Any] = json.loads(self.after[(TICKET, "STATE")]["state"])
        return state

    def open_clocks(self) -> list[tuple[str, int]]:
        return [(c["metric"], c["cycle"]) for c in self.state()["clocks"]]

    def clock(self, metric: str, cycle: int = 1) -> dict[str, Any]:
        """A clock as the fold sees it, stopped or not (the STATE item keeps the open ones only)."""
        assert self.folded is not None
        (clock,) = [c for c in self.folded["clocks"] if (c["metric"], c["cycle"]) == (metric, cycle)]
        return dict(clock)

    def payload(self, effect_id: str) -> dict[str, Any]:
        return outbox_effects(self.after)[effect_id]


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
    after = pipeline.scan()
    state = pipeline.service.view("T-1001", pipeline.now).state
    return Step(before, after, response, ticket_view(state) if state else None)


def effect(suffix: str) -> str:
    return f"T-1001:{suffix}"


def event(event_id: str) -> Key:
    """The idempotency marker of an event of T-1001."""
    return (TICKET, f"EVENT#{event_id}")


def claim(event_id: str) -> Key:
    """The table-wide claim of an event id (unique across tickets)."""
    return (f"EVENTID#{event_id}", "EVENTID")


def closed(step: Step, metric: str, cause: str) -> bool:
    """The STATE item remembers the clock started by `cause` as settled (a digest of its key)."""
    return clock_digest(f"T-1001/{metric}/{cause}") in set(step.after[(TICKET, "STATE")].get("closed") or ())


# ----- each event type, end to end ----------------------------------------------------------------------------


def test_support_plan_changed_lands_in_the_customers_plan_item(pipeline: Pipeline) -> None:
    step = story_until(pipeline, "support-plan-changed")

    assert step.response == OK
    assert step.added == {PLAN}
    plan = step.after[PLAN]
    assert (plan["kind"], plan["version"]) == ("plan", 1)
    assert plan["marked_version"] == 1  # no open ticket to mark due: the marking is done at once
    (entry,) = plan["history"]
    change = decode_event(SupportPlanChanged.detail_type, entry)
    assert isinstance(change, SupportPlanChanged)
    assert change.event_id == "cp-evt-0001"
    assert change.support_level == "business"
    assert (change.timezone, change.country, change.locale) == ("Europe/Paris", "FR", "fr")
    assert change.contact_email == "ops@c42.example"
    assert "tickets" not in plan  # a customer's tickets are items of their own


def test_ticket_opened_lands_as_event_state_timer_and_acknowledgement(pipeline: Pipeline) -> None:
    step = story_until(pipeline, "ticket-opened")

    assert step.response == OK
    assert step.added == {
        event("cp-evt-0002"),
        claim("cp-evt-0002"),
        LOG,
        (TICKET, "STATE"),
        (TICKET, "TIMER"),
        outbox_key(1),
        REGISTRATION,  # the ticket registers among its customer's open tickets, in an item of its own
        (TICKET, "INDEX#QUEUE"),  # it owes a first response: in the agents' queue (infra/store/queue.py)
        REPORT,  # opened in March: it counts in March's report
    }
    assert step.changed == set()  # the plan item is not touched
    assert step.after[REGISTRATION]["kind"] == "registration"

    marker = step.after[event("cp-evt-0002")]
    assert (marker["kind"], marker["received_at"]) == ("event", pipeline.now)
    assert pipeline.now == utc("08:15")
    assert step.after[LOG]["kind"] == "log"
    ((detail_type, detail),) = logged(step.after)
    assert detail_type == "Ticket Opened"
    assert detail["occurred_at"] == "2025-03-10T09:15:00+01:00"
    assert (detail["ticket_id"], detail["customer_id"], detail["severity"]) == ("T-1001", "C-42", "high")

    state_item = step.after[(TICKET, "STATE")]
    assert (state_item["version"], state_item["owner"], state_item["status"]) == (1, "C-42", "open")
    assert state_item["emitted"] == [effect("notify:acknowledged:1")]
    assert (state_item["log_chunk"], state_item["log_count"]) == (0, 1)
    assert (state_item["registered"], state_item["plan_version"]) == (True, 1)
    state = step.state()
    assert {k: state[k] for k in ("ticket_id", "customer_id", "support_level", "severity", "status")} == {
        "ticket_id": "T-1001",
        "customer_id": "C-42",
        "support_level": "business",
        "severity": "high",
        "status": "open",
    }
    assert state["opened_at"] == "2025-03-10T08:15:00Z"
    assert step.open_clocks() == [("first_response", 1)]  # business has no resolution target
    clock = step.clock("first_response")
    assert (clock["state"], clock["support_level"], clock["target_seconds"]) == ("running", "business", 3600)
    assert (clock["started_at"], clock["due_at"]) == ("2025-03-10T08:15:00Z", "2025-03-10T09:15:00Z")

    # Business warns at half the target; a timer fires once `now` is past its instant: due a second after.
    due = utc("08:45") + 1
    assert step.after[(TICKET, "TIMER")] == timer_item("T-1001", due)

    assert step.added_effects == {effect("notify:acknowledged:1")}
    notice = step.payload(effect("notify:acknowledged:1"))
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
    assert step.added == {event("cp-evt-0003"), claim("cp-evt-0003"), outbox_key(2)}
    # The event joins the log chunk; the next timer is still the first response's warning.
    assert step.changed == {(TICKET, "STATE"), LOG}
    assert [t for t, _ in logged(step.after)] == ["Ticket Opened", "Hardware Replacement Requested"]
    assert step.after[(TICKET, "STATE")]["version"] == 2
    assert step.open_clocks() == [("first_response", 1), ("hardware_replacement", 1)]
    clock = step.clock("hardware_replacement")
    assert (clock["state"], clock["server_id"], clock["component"]) == ("running", "srv-7", "disk")
    assert (clock["started_at"], clock["due_at"]) == ("2025-03-10T08:20:00Z", "2025-03-10T12:20:00Z")
    assert clock["target_seconds"] == 4 * 3600  # hot swap at business
    scheduled = effect("notify:hardware_scheduled:cp-evt-0003")  # named by the request, not a position
    assert step.added_effects == {scheduled}
    assert step.payload(scheduled)["data"]["due_at"] == "2025-03-10T12:20:00Z"


def test_ticket_message_posted_by_the_agent_meets_the_first_response(pipeline: Pipeline) -> None:
    step = story_until(pipeline, "ticket-message-posted")

    assert step.response == OK
    # No effect: no outbox item. The answer counts in the history behind the customers' visible wait.
    assert step.added == {
        event("cp-evt-0004"),
        claim("cp-evt-0004"),
        ("HISTORY#first_response#business#high", "DAY#2025-03-10"),
    }
    # The ticket now owes the replacement: its place in the agents' queue moves; its first response is decided.
    assert step.changed == {(TICKET, "STATE"), (TICKET, "TIMER"), (TICKET, "INDEX#QUEUE"), LOG, REPORT}
    assert step.after[(TICKET, "STATE")]["version"] == 3
    clock = step.clock("first_response")
    assert (clock["state"], clock["stopped_at"], clock["elapsed_seconds"]) == (
        "met",
        "2025-03-10T08:40:00Z",
        1500,
    )
    # The met clock leaves the STATE item's view; the state remembers it as settled.
    assert step.open_clocks() == [("hardware_replacement", 1)]
    assert closed(step, "first_response", "cp-evt-0002")
    assert step.after[(TICKET, "TIMER")]["due_at"] == utc("10:20") + 1  # the replacement's half-way warning


def test_ticket_severity_changed_changes_the_severity_of_the_ticket(pipeline: Pipeline) -> None:
    step = story_until(pipeline, "ticket-severity-changed")

    assert step.response == OK
    assert step.added == {event("cp-evt-0005"), claim("cp-evt-0005")}
    assert step.changed == {(TICKET, "STATE"), (TICKET, "INDEX#QUEUE"), LOG}  # the queue shows the severity
    assert step.after[(TICKET, "STATE")]["version"] == 4
    assert step.state()["severity"] == "critical"
    assert step.clock("first_response")["target_seconds"] == 3600  # a met clock is not re-targeted
    assert step.clock("hardware_replacement")["target_seconds"] == 4 * 3600  # by component, not severity


def test_alert_acknowledged_stops_the_ladder_of_the_breach(pipeline: Pipeline) -> None:
    step = story_until(pipeline, "alert-acknowledged")

    assert step.response == OK
    fired = {
        effect(f"{REPLACEMENT}:warning:0.5"),
        effect(f"{REPLACEMENT}:warning:0.75"),
        effect(f"{REPLACEMENT}:trigger:0"),
        effect(f"notify:breach_apology:{REPLACEMENT}"),  # 12:25, after its 5 minutes' grace
        effect(f"{REPLACEMENT}:acknowledge:oncall-l2"),
    }
    assert step.added == {
        event("cp-evt-0006"),
        claim("cp-evt-0006"),
        outbox_key(5),
    }  # one outbox item: the commit's effects
    assert step.added_effects == fired
    # The queue shows the replacement breached (the sweeps that fired it committed no event), and so does March.
    assert step.changed == {(TICKET, "STATE"), (TICKET, "TIMER"), (TICKET, "INDEX#QUEUE"), LOG, REPORT}
    clock = step.clock("hardware_replacement")
    assert (clock["state"], clock["breached_at"], clock["acknowledged_at"]) == (
        "breached",
        "2025-03-10T12:20:00Z",
        "2025-03-10T12:30:00Z",
    )
    page = step.payload(effect(f"{REPLACEMENT}:trigger:0"))
    assert (page["kind"], page["route"], page["at"]) == ("trigger", "oncall-l2", "2025-03-10T12:20:00Z")
    assert page["dedup_key"] == "T-1001/hardware_replacement/cp-evt-0003"
    # The state remembers the route paged and not resolved yet, for the resolve to come.
    assert json.loads(step.after[(TICKET, "STATE")]["pages"]) == {
        "T-1001/hardware_replacement/cp-evt-0003": ["oncall-l2"]
    }
    # Acknowledged at 12:30, before the 15 min ack timeout: duty-manager is never paged; nothing left due.
    assert "gsi1pk" not in step.after[(TICKET, "TIMER")]


def test_hardware_replacement_completed_stops_its_clock_and_resolves_the_page(pipeline: Pipeline) -> None:
    step = story_until(pipeline, "hardware-replacement-completed")

    assert step.response == OK
    # The replacement, answered late, counts in the history behind the customers' visible wait.
    assert step.added == {
        event("cp-evt-0007"),
        claim("cp-evt-0007"),
        outbox_key(6),
        ("HISTORY#hardware_replacement#business#critical", "DAY#2025-03-10"),
    }
    assert step.added_effects == {
        effect(f"{REPLACEMENT}:resolve:oncall-l2"),
        effect("notify:hardware_completed:cp-evt-0003"),
    }
    assert step.changed == {(TICKET, "STATE"), (TICKET, "INDEX#QUEUE"), LOG, REPORT}  # it owes nothing now
    clock = step.clock("hardware_replacement")
    assert (clock["state"], clock["stopped_at"]) == ("breached", "2025-03-10T13:10:00Z")  # breach is final
    # Settled: its page is resolved, its effect ids give way to the digest of its key.
    state_item = step.after[(TICKET, "STATE")]
    assert "pages" not in state_item
    assert closed(step, "hardware_replacement", "cp-evt-0003")
    assert not [e for e in state_item["emitted"] if REPLACEMENT in e]
    assert step.open_clocks() == []


def test_ticket_status_changed_to_resolved_sends_the_survey(pipeline: Pipeline) -> None:
    step = story_until(pipeline, "ticket-status-changed")

    assert step.response == OK
    assert step.added == {event("cp-evt-0008"), claim("cp-evt-0008"), outbox_key(7)}
    assert step.added_effects == {effect("notify:survey:1")}
    assert step.changed == {
        (TICKET, "STATE"),
        LOG,
        REPORT,
    }  # resolved in March: the feedback rate's denominator
    assert step.after[(TICKET, "STATE")]["version"] == 7
    assert step.state()["status"] == "resolved"
    assert REGISTRATION in step.after  # resolved is still open to a reopening: registered until closed


# ----- duplicates ----------------------------------------------------------------------------------------------

DUPLICATES = {
    "new ticket": ((), "ticket-opened"),
    "existing ticket": (("ticket-opened",), "hardware-replacement-requested"),
    "late plan change": (("ticket-opened",), "support-plan-changed"),  # marks the ticket due, once
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
    plan_change = stem == "support-plan-changed"
    # A late plan change does not re-fold inside ingest: it marks the open ticket due, for the sweeper.
    assert once[(TICKET, "STATE")]["version"] == version + (not plan_change)
    if plan_change:
        assert once[(TICKET, "TIMER")] == timer_item("T-1001", at)
    markers = [sk for pk, sk in once if pk == TICKET and sk.startswith("EVENT#")]
    assert len(markers) == len(earlier) + (not plan_change)
    assert len(logged(once)) == len(markers)
    emitted = set(once[(TICKET, "STATE")]["emitted"])
    assert set(outbox_effects(once)) == emitted  # each effect once, and each one the state emitted


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
    # Each thread read, folded and tried its transaction once; two lost on the event's own condition, and
    # read its id's claim to tell a repeat (the same content, same ticket) from a conflict.
    calls = sorted((dict(c.calls) for c in clients), key=lambda calls: calls["get_item"])
    assert (
        calls
        == [{"query": 1, "get_item": 1, "transact_write_items": 1}]
        + [{"query": 1, "get_item": 2, "transact_write_items": 1}] * 2
    )
    after = pipeline.scan()
    (accepted,) = [o for o in outcomes if o.status == "accepted"]
    added_effects = set(outbox_effects(after)) - set(outbox_effects(before))
    assert added_effects == {e.effect_id for e in accepted.effects} != set()
    assert [key for key in after if key == event(accepted.event_id)] == [event(accepted.event_id)]
    assert [d["event_id"] for _, d in logged(after)].count(accepted.event_id) == 1
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
    "oversized field": (
        lambda: with_detail("support-plan-changed", support_level="x" * 10_000),
        "support_level",
        "64",
    ),
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


def received_at(sample: dict[str, Any]) -> int:
    """The event's occurred_at, as epoch seconds; 0 when it has none or a naive one."""
    try:
        return epoch(sample["detail"]["occurred_at"])
    except ValueError:
        return 0


@pytest.mark.parametrize("case", INVALID)
def test_an_invalid_event_is_rejected_naming_its_field_and_writes_nothing_else(
    pipeline: Pipeline, case: str
) -> None:
    build, field, problem = INVALID[case]
    story_until(pipeline, "ticket-opened")
    before = pipeline.scan()
    sample = build()
    batch = sqs_event(sample)
    # Received when it occurred, so that only its own problem is refused (not the bounds of occurred_at).
    pipeline.now = max(pipeline.now, received_at(sample))

    assert pipeline.handle(batch) == OK  # a rejection is handled: SQS must not redeliver it
    after = pipeline.scan()
    rejected = ("REJECTED#cp-evt-bad", "EDGE")  # refused at the edge
    assert set(after) - set(before) == {rejected}
    assert {key: item for key, item in after.items() if key != rejected} == before
    reason = after[rejected]["reason"]
    assert reason.startswith(f"{field}:"), reason
    assert problem in reason
    # Kept for inspection, redacted: no free text, no e-mail address (README, "Personal data").
    assert after[rejected]["raw"] == redact_payload(batch["Records"][0]["body"])


def test_unknown_extra_fields_are_ignored(pipeline: Pipeline) -> None:
    tolerant = opened(priority_hint="p1", labels=["raid"])
    tolerant["detail-type-version"] = 2

    assert pipeline.deliver(tolerant) == OK
    assert pipeline.state("T-2002")["version"] == 1
    assert not [key for key in pipeline.scan() if key[0].startswith("REJECTED#")]


def test_a_body_that_is_not_json_is_rejected_under_its_message_id(pipeline: Pipeline) -> None:
    story_until(pipeline, "ticket-opened")
    before = pipeline.scan()
    batch = sqs_event(opened())
    (record,) = batch["Records"]
    record["body"] = record["body"][:80]  # cut short: not JSON

    assert pipeline.handle(batch) == OK
    after = pipeline.scan()
    rejected = (f"REJECTED#{record['messageId']}", "EDGE")
    assert set(after) - set(before) == {rejected}
    assert {key: item for key, item in after.items() if key != rejected} == before
    assert after[rejected]["reason"].startswith("body: not JSON")
    assert after[rejected]["raw"] == redact_payload(record["body"])


@pytest.mark.parametrize("stem", ["ticket-message-posted", "ticket-status-changed"])
def test_an_event_of_another_customer_for_an_existing_ticket_is_rejected(
    pipeline: Pipeline, stem: str
) -> None:
    story_until(pipeline, "ticket-opened")
    before = pipeline.scan()

    assert pipeline.deliver(with_detail(stem, customer_id="C-666")) == OK
    after = pipeline.scan()
    rejected = ("REJECTED#cp-evt-bad", "EDGE")
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
    assert not [
        key
        for key in pipeline.scan()
        if key[0] in ("TICKET#T-3004", "OUTBOX#T-3004")
        or key[1] == "TICKET#T-3004"
        or key[0].startswith("REJECTED#")
    ]

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
        "EVENTID#cp-evt-bad",  # the event id's table-wide claim
        "OUTBOX#T-2002",
        "CUSTOMER#C-7",  # T-2002's registration among C-7's open tickets
        report_key("2025-03", "T-2002")["pk"],  # T-2002's March in the decided-cycle index
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


class CancelsOnce:
    """Delegates to a moto client, except that its first transaction is cancelled as DynamoDB cancels one:
    `code` at the position of the item keyed `key`, None at the others (reasons are read by position)."""

    def __init__(self, client: Any, key: Key, code: str) -> None:
        self._client, self._key, self._code = client, key, code
        self.raised = False

    def __getattr__(self, name: str) -> Any:
        if name != "transact_write_items" or self.raised:
            return getattr(self._client, name)

        def cancel(**kwargs: Any) -> Any:
            self.raised = True
            codes = [
                self._code if _item_key(item) == self._key else "None" for item in kwargs["TransactItems"]
            ]
            assert self._code in codes, f"no item {self._key} in the transaction"
            raise client_error(
                "TransactWriteItems",
                "TransactionCanceledException",
                "Transaction cancelled, please refer cancellation reasons for specific reasons "
                f"[{', '.join(codes)}]",
                CancellationReasons=[
                    {"Code": code, "Message": "The conditional request failed"}
                    if code != "None"
                    else {"Code": code}
                    for code in codes
                ],
            )

        return cancel


def _item_key(write: dict[str, Any]) -> Key:
    ((_, action),) = write.items()
    key = action.get("Key") or action["Item"]
    return (key["pk"]["S"], key["sk"]["S"])


def test_a_transaction_conflict_on_the_state_is_retried_by_refolding(pipeline: Pipeline) -> None:
    assert deliver_sample(pipeline, "ticket-opened") == OK
    client = CancelsOnce(pipeline.client, (TICKET, "STATE"), "ConditionalCheckFailed")
    service = TicketService(
        Store(client, pipeline.table_name), pipeline.service.catalog, sleep=lambda _: None
    )
    ingest.configure(ingest.Dependencies(service, pipeline.clock))
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
        self.transactions: list[list[dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if name != "transact_write_items":
            return method

        def transact(**kwargs: Any) -> Any:
            if self._rival is not None:
                rival, self._rival = self._rival, None
                rival()
            self.transactions.append(kwargs["TransactItems"])
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
    (transaction,) = client.transactions[:1]
    codes = [r["Code"] for r in error.response["CancellationReasons"]]
    failed = {_item_key(write) for write, code in zip(transaction, codes, strict=True) if code != "None"}
    assert failed == {(TICKET, "STATE")}  # the version we read: the rival's commit moved it on
    items = pipeline.scan()
    assert {event("cp-evt-0004"), event("cp-evt-0005")} <= set(items)
    assert [d["event_id"] for _, d in logged(items)] == [f"cp-evt-000{n}" for n in (2, 3, 4, 5)]
    state = pipeline.state("T-1001")
    assert state["version"] == 4
    assert state["state"]["severity"] == "critical"
    # The rival's reply met the first response: our re-fold kept it (the clock left the open view).
    assert [c["metric"] for c in state["state"]["clocks"]] == ["hardware_replacement"]
    folded = pipeline.service.view("T-1001", pipeline.now).state
    assert folded is not None
    first_response = folded.clocks[0]
    assert (first_response.metric, first_response.state) == ("first_response", "met")


# ----- steady-state cost ---------------------------------------------------------------------------------------


def test_one_new_event_for_an_existing_ticket_costs_one_query_and_one_transaction(pipeline: Pipeline) -> None:
    """Observed for an accepted event of an existing ticket: Query 1 (one page: the ticket's log chunk,
    STATE and TIMER; the idempotency markers are not read), GetItem 1 (the customer's plan),
    TransactWriteItems 1 of 7 items (the event's marker, its id's table-wide claim, the log chunk's append,
    the removal of an edge rejection of the event, STATE, TIMER, the check of the plan's version; an outbox
    item more when the event decides effects).

    For comparison: a new ticket costs the same calls (its transaction also registers the ticket with its
    customer, puts the acknowledgement's outbox item and its QUEUE item: 10 items); an event that changes
    what the ticket owes Puts its QUEUE item, and one that settles an answered cycle adds to the answer
    history (the reply here does both: 9 items); a plan change costs GetItem 1,
    UpdateItem 2 (the change, then the marking of the customer's open tickets done) and Query 1 (the open
    tickets: none here); a duplicate costs the Query alone, and a rejection a single conditional PutItem.
    """
    calls: Counter[str] = Counter()
    transaction_items: list[int] = []
    items_read: list[int] = []
    events = pipeline.client.meta.events
    events.register("before-call.dynamodb.*", lambda model, **_: calls.update([model.name]))
    events.register(
        "before-parameter-build.dynamodb.TransactWriteItems",
        lambda params, **_: transaction_items.append(len(params["TransactItems"])),
    )
    events.register("after-call.dynamodb.Query", lambda parsed, **_: items_read.append(parsed["Count"]))
    assert deliver_sample(pipeline, "support-plan-changed") == OK
    assert calls == {"GetItem": 1, "UpdateItem": 2, "Query": 1}
    calls.clear()
    assert deliver_sample(pipeline, "ticket-opened") == OK
    assert calls == {"Query": 1, "GetItem": 1, "TransactWriteItems": 1}
    assert transaction_items[-1] == 11  # and its QUEUE item and its month in the report index
    calls.clear()

    assert deliver_sample(pipeline, "ticket-message-posted") == OK
    assert calls == {"Query": 1, "GetItem": 1, "TransactWriteItems": 1}
    assert items_read[-1] == 3  # LOG#000000, STATE, TIMER
    # The answer moves its QUEUE item, adds to the answer history and changes its month in the report index.
    assert transaction_items[-1] == 10

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
