"""Shared by the delivery tests (issue 7, item 12): a fixed scenario, a DynamoDB client that fails on demand,
and readers of what the engine actually sent (the outbox, the PagerDuty requests) as page histories.

The scenario has two tickets on one Tuesday in Paris (business hours for premium, 24/7 for enterprise), each
a customer with a plan change, an opening, customer messages, agent replies (public and internal), a severity
change, an acknowledgement and a close. The two are the same story on two time scales: one unit is a minute
for enterprise and four minutes for premium, which is also the ratio of their targets (high 30 min / 2 h,
critical 15 min / 1 h), so the same instants fall on the same clock events:

| unit | event                             | enterprise (1 u = 1 min)            | premium (1 u = 4 min)            |
|------|-----------------------------------|-------------------------------------|----------------------------------|
| 5    | Ticket Opened, high               | first response due at 35 u          | first response due at 35 u       |
| 25   | public agent reply                | meets the first response            | meets the first response         |
| 35   | internal note                     | at the first response's due instant | the same                         |
| 40   | customer message                  | starts next response 1 (high)       | the same                         |
| 45   | severity critical                 | next response 1 due at 55 u         | the same                         |
| 55   | (breach)                          | pages oncall-l2                     | pages oncall-l2                  |
| 65   | Alert Acknowledged next_response  | at the ladder's next step: stops it | after duty-manager was paged     |
| 80   | public agent reply                | meets next response 1: resolves     | the same                         |
| 90   | customer message                  | starts next response 2, due 105 u   | the same                         |
| 110  | Ticket Status Changed closed      | cancels it after its breach         | the same                         |

The plan changes are stamped at 08:00 Paris, an hour before unit 0 (09:00 Paris, 07:00Z). Delivered in
order and on time, every page of this story is resolved by the end; delivered late, out of
order, twice, or with failing writes, the tests check that it still is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from botocore.exceptions import ClientError

from infra.store.keys import marshal, unmarshal
from infra.store.outbox import OUTBOX_PREFIX, item_effects
from infra.views import iso
from sla.events import AnyTicketEvent, SupportPlanChanged, parse_detail
from tests.conftest import epoch, eventbridge

MINUTE = 60
HOUR = 3600
DAY = 86_400
BASE = epoch("2026-04-14T09:00:00+02:00")  # a Tuesday, no holiday in France
PLAN_AT = BASE - HOUR


# -- the scenario ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """One event of the scenario: a short readable name, its instant and its EventBridge envelope."""

    name: str
    occurred_at: int
    envelope: dict[str, Any]
    ticket_id: str | None  # None for a plan change

    @property
    def event_id(self) -> str:
        return str(self.envelope["detail"]["event_id"])

    @property
    def customer_id(self) -> str:
        return str(self.envelope["detail"]["customer_id"])

    @property
    def detail_type(self) -> str:
        return str(self.envelope["detail-type"])

    def parsed(self) -> AnyTicketEvent | SupportPlanChanged:
        return cast(
            AnyTicketEvent | SupportPlanChanged, parse_detail(self.detail_type, self.envelope["detail"])
        )

    def __repr__(self) -> str:  # what a failing example prints
        return f"{self.name}@{iso(self.occurred_at)}"


@dataclass(frozen=True)
class Story:
    ticket_id: str
    customer_id: str
    level: str
    unit: int  # seconds in one unit of the table above
    prefix: str  # of the event ids and names

    def at(self, units: float) -> int:
        return BASE + round(units * self.unit)

    def events(self) -> list[Event]:
        ticket, customer = self.ticket_id, self.customer_id

        def event(name: str, units: float | None, detail_type: str, **fields: Any) -> Event:
            at = PLAN_AT if units is None else self.at(units)
            event_id = f"{self.prefix}-{name}"
            detail = {"event_id": event_id, "occurred_at": iso(at), "customer_id": customer, **fields}
            if detail_type != "Support Plan Changed":
                detail["ticket_id"] = ticket
            return Event(event_id, at, eventbridge(detail_type, detail), None if units is None else ticket)

        def posted(name: str, units: float, author: str, visibility: str) -> Event:
            return event(
                name,
                units,
                "Ticket Message Posted",
                author=author,
                visibility=visibility,
                message_id=f"m-{self.prefix}-{name}",
            )

        return [
            event(
                "plan",
                None,
                "Support Plan Changed",
                support_level=self.level,
                timezone="Europe/Paris",
                country="FR",
                locale="fr",
                contact_email=f"ops@{self.prefix}.example",
            ),
            event("opened", 5, "Ticket Opened", severity="high", subject="Server unreachable"),
            posted("reply-1", 25, "agent", "public"),
            posted("note-2", 35, "agent", "internal"),
            posted("cust-2", 40, "customer", "public"),
            event("critical", 45, "Ticket Severity Changed", severity="critical"),
            event("ack", 65, "Alert Acknowledged", metric="next_response", acknowledged_by="on-call"),
            posted("reply-2", 80, "agent", "public"),
            posted("cust-3", 90, "customer", "public"),
            event("closed", 110, "Ticket Status Changed", status="closed"),
        ]


ENTERPRISE = Story("T-ENT", "C-ENT", "enterprise", MINUTE, "ent")
PREMIUM = Story("T-PRE", "C-PRE", "premium", 4 * MINUTE, "pre")
STORIES = (ENTERPRISE, PREMIUM)


# -- a DynamoDB client that fails once, on demand ---------------------------------------------------------


def client_error(code: str, operation: str, message: str = "injected") -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": 500 if code == "InternalServerError" else 400},
    }
    return ClientError(response, operation)


def cancellation(codes: Sequence[str]) -> ClientError:
    """A TransactionCanceledException as botocore builds it from DynamoDB's answer, one reason per item."""
    message = (
        f"Transaction cancelled, please refer cancellation reasons for specific reasons [{', '.join(codes)}]"
    )
    reasons = [{"Code": c} if c == "None" else {"Code": c, "Message": f"{c} (injected)"} for c in codes]
    response: Any = {
        "Error": {"Message": message, "Code": "TransactionCanceledException"},
        "ResponseMetadata": {"HTTPStatusCode": 400},
        "Message": message,
        "CancellationReasons": reasons,
    }
    return ClientError(response, "TransactWriteItems")


@dataclass(frozen=True)
class Fault:
    """One failure of the next call of `operation`.

    - `throttle`: the transaction is refused with ThrottlingException (nothing written);
    - `conflict`: it is cancelled with TransactionConflict at item `position` (modulo its length), as
      DynamoDB does when another transaction touches one of its items (nothing written);
    - `lost`: it is applied, then the answer is an InternalServerError (the writer cannot know it landed);
    - `claim`: the next UpdateItem (a sweep's claim of a timer, a plan's append) is throttled.
    """

    kind: str
    position: int = 0

    @property
    def operation(self) -> str:
        return "update_item" if self.kind == "claim" else "transact_write_items"

    @property
    def retried_inside(self) -> bool:
        """A conflict must be re-read and retried by the service itself, never surface."""
        return self.kind == "conflict"

    def __repr__(self) -> str:
        return f"{self.kind}@{self.position}" if self.kind == "conflict" else self.kind


class FaultyClient:
    """A boto3 DynamoDB client (moto's) that delegates every call, except that an armed fault fails the next
    call of its operation once. `fired` lists the faults that went off, in order."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.armed: Fault | None = None
        self.fired: list[Fault] = []

    def arm(self, fault: Fault | None) -> None:
        self.armed = fault

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(**kwargs: Any) -> Any:
            fault = self.armed
            if fault is None or fault.operation != name:
                return method(**kwargs)
            self.armed = None
            self.fired.append(fault)
            if fault.kind == "conflict":
                items = kwargs["TransactItems"]
                codes = ["None"] * len(items)
                codes[fault.position % len(items)] = "TransactionConflict"
                raise cancellation(codes)
            if fault.kind == "lost":
                method(**kwargs)
                raise client_error("InternalServerError", "TransactWriteItems", "answer lost (injected)")
            raise client_error("ThrottlingException", _operation_name(name), "Rate exceeded (injected)")

        return call


def _operation_name(method: str) -> str:
    return "".join(part.capitalize() for part in method.split("_"))


def drop_stream_records(snapshots: Any) -> None:
    """Forget the records moto's table keeps for its stream (nothing here reads the stream: the tests read
    the outbox). moto deep-copies the whole table, stream records included, for every transaction, so a
    run that keeps them gets slower with every write."""
    shard = getattr(snapshots.tables[snapshots.name], "stream_shard", None)
    if shard is not None:
        shard.items = []


# -- what the engine sent ------------------------------------------------------------------------------------


def outbox_rows(
    client: Any, table_name: str, ticket_id: str, after: str | None = None
) -> list[dict[str, Any]]:
    """The ticket's outbox effects (their JSON views) in the order they were decided, each with the `emitted_at`
    and `sk` of its item: items in sort key order (only those after `after`), effects in item order."""
    condition, values = "pk = :pk", {":pk": f"{OUTBOX_PREFIX}{ticket_id}"}
    if after is not None:
        condition, values = "pk = :pk AND sk > :after", {**values, ":after": after}
    rows: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "KeyConditionExpression": condition,
        "ExpressionAttributeValues": marshal(values),
        "ProjectionExpression": "sk, emitted_at, effects",
        "ConsistentRead": True,
        "ScanIndexForward": True,
    }
    while True:
        page = client.query(**kwargs)
        for raw in page.get("Items", []):
            item = unmarshal(raw)
            rows.extend(
                {**view, "emitted_at": int(item["emitted_at"]), "sk": item["sk"]}
                for view in item_effects(item)
            )
        if "LastEvaluatedKey" not in page:
            return rows
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


PageKey = tuple[str, str]  # (dedup key, route or PagerDuty routing key)


@dataclass
class PageHistory:
    """Per (dedup key, route): the page actions in the order they were sent."""

    actions: dict[PageKey, list[str]] = field(default_factory=dict)

    def add(self, key: PageKey, action: str) -> None:
        self.actions.setdefault(key, []).append(action)

    def open(self) -> dict[PageKey, list[str]]:
        """Pages triggered and not resolved after their last trigger: incidents still open at PagerDuty."""
        return {
            key: actions
            for key, actions in self.actions.items()
            if "trigger" in actions and _last_of(actions, ("trigger", "resolve")) == "trigger"
        }

    def resolved_before_triggered(self) -> dict[PageKey, list[str]]:
        """A resolve that came before any trigger closes nothing, and the trigger after it stays open."""
        return {
            key: actions
            for key, actions in self.actions.items()
            if "resolve" in actions
            and ("trigger" not in actions or actions.index("resolve") < actions.index("trigger"))
        }


def _last_of(actions: Sequence[str], kinds: Iterable[str]) -> str | None:
    wanted = set(kinds)
    for action in reversed(actions):
        if action in wanted:
            return action
    return None


def outbox_pages(rows: Iterable[Mapping[str, Any]]) -> PageHistory:
    """Triggers, acknowledges and resolves of the outbox, per (dedup key, route)."""
    history = PageHistory()
    for row in rows:
        if row.get("type") == "alert" and row.get("kind") in ("trigger", "acknowledge", "resolve"):
            history.add((str(row["dedup_key"]), str(row["route"])), str(row["kind"]))
    return history


def pagerduty_pages(requests: Iterable[Any], is_pagerduty: Callable[[str], bool]) -> PageHistory:
    """The Events API v2 requests actually sent, per (dedup key, routing key)."""
    history = PageHistory()
    for request in requests:
        if not is_pagerduty(request.url):
            continue
        document = request.document
        history.add((str(document["dedup_key"]), str(document["routing_key"])), str(document["event_action"]))
    return history


def describe_rows(rows: Iterable[Mapping[str, Any]]) -> str:
    """The outbox as lines an engineer reads in a failure: when emitted, what, where, for which clock."""
    lines = []
    for row in rows:
        what = row.get("kind")
        where = row.get("route") or row.get("customer_id") or ""
        lines.append(f"  {iso(row['emitted_at'])} {row['effect_id']} ({what} {where}, at {row['at']})")
    return "\n".join(lines) or "  (empty)"
