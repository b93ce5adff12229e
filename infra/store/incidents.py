"""The incident partition: its port and its DynamoDB adapter (the memory one is local.memory.incidents).

An incident is its own partition, `INCIDENT#<incident_id>`, never a ticket: a storm links hundreds of
tickets to it, so each fact is its own small item and none grows with the storm:
- `DECLARED` and `RESOLVED`: the incident event of that phase that counts (the first in SPEC section 5's
  order), its stored text (infra.store.codec), its order key and how far its fan-out got (`told_after`,
  `told_all`), so that a redelivered event resumes it rather than starting over;
- `LINK#<ticket_id>`: one per linked ticket, read by the fan-out a page of 100 at a time;
- `PAGE#<route>`: the incident's shared page to that route (SPEC section 6): whether it is open, the trigger
  that sent it (the first to claim it, or the one a new owner sends for a page that never went out) and its
  owner, the trigger of a linked ticket whose breach it covers and which closes it (infra.incident_service);
  a closed page is claimed again by the next trigger at that route;
- `COVER#<route>#<ticket_id>`: one per linked ticket whose trigger to that route was grouped under the page:
  who may take the page over when its owner's breach is undone, read a page of 100 at a time.

Every item is bounded (an incident event holds at most 500 server ids and a 1,000-character summary: well
under 400 KB; a page holds two triggers' ids), and every write is one conditional item write: no transaction
grows with the storm. An incident event's id is also claimed table-wide, `EVENTID#<event_id>` as a ticket
event's commit claims it (infra.store.commit.claim_item), held by `INCIDENT#<incident_id>`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from botocore.exceptions import ClientError

from infra.errors import translate
from infra.store.codec import decode_event, encode_event
from infra.store.keys import event_id_key, marshal, unmarshal
from infra.store.reads import get_item
from sla.events import IncidentDeclared, IncidentResolved
from sla.vocabulary import Metric

IncidentEvent = IncidentDeclared | IncidentResolved
LINKS_PAGE = 100
"""Linked tickets read at a time by the fan-out: one Query page, and the unit of its time budget."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class PageTrigger:
    """A linked ticket's breach trigger under an incident's key, as the page items keep it: enough to tell
    which clock it pages for and to resolve that page in its ticket's name."""

    effect_id: str
    ticket_id: str
    clock_key: str
    metric: Metric
    cycle: int
    route: str  # the ladder's route: the page's key
    paged_route: str  # where coverage sent it (SPEC section 10)
    support_level: str
    due_at: int | None


@dataclass(frozen=True)
class Page:
    """`PAGE#<route>`: the incident's shared page to a route. `sent_*` is the trigger that delivered it (kept
    until the next claim, so a retry of its ticket's release still knows it), `owner` the trigger whose
    ticket closes it: the sender, until its breach is undone and another covered ticket takes it over.
    `generation` counts the pages closed at this route, `handovers` the owners of the current one."""

    route: str
    open: bool
    generation: int
    handovers: int
    owner: PageTrigger
    sent_by: str
    sent_effect: str
    sent_clock: str
    sent_route: str  # where the sending trigger went
    closed_by: str | None


def incident_pk(incident_id: str) -> str:
    return f"INCIDENT#{incident_id}"


def phase_sk(event: IncidentEvent) -> str:
    return "DECLARED" if isinstance(event, IncidentDeclared) else "RESOLVED"


def order_text(event: IncidentEvent) -> str:
    """SPEC section 5's order (occurred_at, sequence, event_id) as a string that sorts the same way, so that
    a conditional write can keep the first: microseconds since 1970 and the sequence, zero-padded."""
    since = event.occurred_at - _EPOCH
    micros = (since.days * 86_400 + since.seconds) * 1_000_000 + since.microseconds
    sequence = 0 if event.sequence is None else event.sequence + 1  # no sequence sorts first
    return f"{micros:020d}|{sequence:016d}|{event.event_id}"


class IncidentStore(Protocol):
    """What the incident service needs of the incident partition (tests/contract/test_incident_store.py)."""

    def record_phase(self, event: IncidentEvent, now: int) -> tuple[IncidentEvent, bool]:
        """Keep `event` as its phase's event unless one earlier in SPEC order is held; return the event held
        afterwards and whether this call wrote it."""
        ...

    def phases(self, incident_id: str) -> list[IncidentEvent]:
        """The incident's declaration and resolution, as far as they are known."""
        ...

    def progress(self, event: IncidentEvent) -> tuple[bool, str | None]:
        """How far `event`'s fan-out got: (done, the last ticket told). Not started: (False, None)."""
        ...

    def save_progress(self, event: IncidentEvent, cursor: str | None) -> None:
        """Remember the last ticket told (None: every linked ticket was told), if `event` is still the held one."""
        ...

    def link(self, incident_id: str, ticket_id: str, now: int) -> None: ...

    def linked(self, incident_id: str, start_after: str | None) -> tuple[list[str], str | None]:
        """A page of linked tickets in ticket id order, and the cursor of the next page (None: the last)."""
        ...

    def claim_event(self, event: IncidentEvent, digest: str, now: int) -> tuple[str, str | None] | None:
        """Claim `event`'s id table-wide, as a ticket event's commit does (infra.store.commit.claim_item), for
        the incident's partition; None when this call claimed it, else who holds it (holder, digest)."""
        ...

    def claim_page(self, incident_id: str, trigger: PageTrigger, now: int) -> Page:
        """Claim the incident's page to `trigger.route` for `trigger`; return the page afterwards (this
        trigger's when it is the first, a retry of the first, or the first after the last page was closed)."""
        ...

    def pages(self, incident_id: str) -> list[Page]:
        """The incident's pages, one per route it paged (a few: routes are catalog data)."""
        ...

    def hand_over(self, incident_id: str, page: Page, to: PageTrigger, send: str | None) -> bool:
        """Make `to`'s ticket the owner of `page`, if it is still as read; `send`: the effect id of the
        trigger `to`'s ticket delivers, when the page never went out. False when the page changed meanwhile."""
        ...

    def close_page(self, incident_id: str, page: Page, closed_by: str) -> bool:
        """Close `page` by the resolve `closed_by`, if it is still as read or already closed by that resolve
        (a retry). False when the page changed meanwhile."""
        ...

    def cover(self, incident_id: str, trigger: PageTrigger, now: int) -> None:
        """Remember that `trigger`, recorded `grouped`, is covered by the incident's page to its route."""
        ...

    def covered(self, incident_id: str, route: str, start_after: str | None) -> tuple[list[str], str | None]:
        """A page of the tickets covered at `route`, in ticket order, and the next page's cursor (None: last)."""
        ...


class TableIncidents:
    """The DynamoDB adapter of the incident partition, in the engine's single table."""

    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table_name = table_name

    def record_phase(self, event: IncidentEvent, now: int) -> tuple[IncidentEvent, bool]:
        key = {"pk": incident_pk(event.incident_id), "sk": phase_sk(event)}
        item = {
            **key,
            "kind": "incident",
            "event_id": event.event_id,
            "detail_type": event.detail_type,
            "text": encode_event(event),
            "order": order_text(event),
            "recorded_at": now,
        }
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=marshal(item),
                # Allowed prior states: none, or a later event of the same phase (SPEC order), which the
                # earlier one replaces; the same event again, or an earlier one, is kept as it is.
                ConditionExpression="attribute_not_exists(pk) OR #order > :order",
                ExpressionAttributeNames={"#order": "order"},
                ExpressionAttributeValues=marshal({":order": item["order"]}),
            )
            return event, True
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise translate(error) from error
        held = self._get(key)
        assert held is not None  # a condition failed on it: items of the incident partition are never deleted
        return _decoded(held), False

    def phases(self, incident_id: str) -> list[IncidentEvent]:
        found = []
        for sort in ("DECLARED", "RESOLVED"):
            held = self._get({"pk": incident_pk(incident_id), "sk": sort})
            if held is not None:
                found.append(_decoded(held))
        return found

    def progress(self, event: IncidentEvent) -> tuple[bool, str | None]:
        held = self._get({"pk": incident_pk(event.incident_id), "sk": phase_sk(event)})
        if held is None or held.get("event_id") != event.event_id:
            return False, None
        return bool(held.get("told_all")), held.get("told_after") or None

    def save_progress(self, event: IncidentEvent, cursor: str | None) -> None:
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=marshal({"pk": incident_pk(event.incident_id), "sk": phase_sk(event)}),
                UpdateExpression="SET #after = :after, #all = :all",
                # Allowed prior state: the phase item holding this very event. Replaced by an earlier event
                # meanwhile, it is left alone: that event's fan-out keeps its own progress.
                ConditionExpression="event_id = :event",
                ExpressionAttributeNames={"#after": "told_after", "#all": "told_all"},
                ExpressionAttributeValues=marshal(
                    {":after": cursor or "", ":all": cursor is None, ":event": event.event_id}
                ),
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise translate(error) from error

    def link(self, incident_id: str, ticket_id: str, now: int) -> None:
        item = {"pk": incident_pk(incident_id), "sk": f"LINK#{ticket_id}", "kind": "incident_link"}
        try:
            # Allowed prior states: any. The item holds only the ticket's id, so a repeat rewrites it unchanged;
            # `linked_at` (the first write's) is kept for an operator.
            self.client.update_item(
                TableName=self.table_name,
                Key=marshal({"pk": item["pk"], "sk": item["sk"]}),
                UpdateExpression="SET #kind = :kind, #ticket = :ticket, #at = if_not_exists(#at, :now)",
                ExpressionAttributeNames={"#kind": "kind", "#ticket": "ticket_id", "#at": "linked_at"},
                ExpressionAttributeValues=marshal(
                    {":kind": "incident_link", ":ticket": ticket_id, ":now": now}
                ),
            )
        except ClientError as error:
            raise translate(error) from error

    def linked(self, incident_id: str, start_after: str | None) -> tuple[list[str], str | None]:
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :link)",
            "ExpressionAttributeValues": marshal({":pk": incident_pk(incident_id), ":link": "LINK#"}),
            "ConsistentRead": True,  # a link written before this read is seen (infra.incident_service)
            "Limit": LINKS_PAGE,
        }
        if start_after is not None:
            kwargs["ExclusiveStartKey"] = marshal(
                {"pk": incident_pk(incident_id), "sk": f"LINK#{start_after}"}
            )
        try:
            page = self.client.query(**kwargs)
        except ClientError as error:
            raise translate(error) from error
        tickets = [str(unmarshal(item)["sk"]).removeprefix("LINK#") for item in page.get("Items", [])]
        return tickets, (tickets[-1] if "LastEvaluatedKey" in page and tickets else None)

    def claim_event(self, event: IncidentEvent, digest: str, now: int) -> tuple[str, str | None] | None:
        item = {
            **event_id_key(event.event_id),
            "kind": "eventid",
            "ticket_id": incident_pk(event.incident_id),  # the holder: a partition no ticket id can name
            "digest": digest,
            "received_at": now,
        }
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=marshal(item),
                # Allowed prior state: none, whatever ticket or incident: an event id names one event in the
                # whole table; a taken one is read back to tell a repeat from a conflict.
                ConditionExpression="attribute_not_exists(pk)",
            )
            return None
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise translate(error) from error
        held = self._get(event_id_key(event.event_id))
        return (str(held["ticket_id"]), held.get("digest")) if held is not None else None

    def claim_page(self, incident_id: str, trigger: PageTrigger, now: int) -> Page:
        values = {**_owner_values(trigger), ":sent": trigger.ticket_id, ":effect": trigger.effect_id}
        values |= {
            ":clock": trigger.clock_key,
            ":to": trigger.paged_route,
            ":true": True,
            ":false": False,
            ":zero": 0,
            ":now": now,
        }
        try:
            answer = self.client.update_item(
                TableName=self.table_name,
                Key=marshal(_page_key(incident_id, trigger.route)),
                UpdateExpression="SET #kind = :kind, #open = :true, #gen = if_not_exists(#gen, :zero), "
                "handovers = :zero, sent_by = :sent, sent_effect = :effect, sent_clock = :clock, sent_route = :to, "
                "claimed_at = :now, " + _OWNER_SET + " REMOVE closed_by",
                # Allowed prior states: none (the first trigger to this route pages), a closed page (the
                # first trigger after it pages again), or this same trigger's claim (a retry after its
                # ticket's commit conflicted). Another trigger's open page is kept: this one is grouped.
                ConditionExpression="attribute_not_exists(pk) OR #open = :false OR sent_effect = :effect",
                ExpressionAttributeNames={"#kind": "kind", "#open": "open", "#gen": "generation"},
                ExpressionAttributeValues=marshal({":kind": "incident_page", **values}),
                ReturnValues="ALL_NEW",
            )
            return page_from_item(unmarshal(answer["Attributes"]))
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise translate(error) from error
        held = self._get(_page_key(incident_id, trigger.route))
        assert held is not None  # a condition failed on it, and pages are never deleted
        return page_from_item(held)

    def pages(self, incident_id: str) -> list[Page]:
        try:
            answer = self.client.query(
                TableName=self.table_name,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :page)",
                ExpressionAttributeValues=marshal({":pk": incident_pk(incident_id), ":page": "PAGE#"}),
                ConsistentRead=True,  # a claim or release just written is seen
            )
        except ClientError as error:
            raise translate(error) from error
        return [page_from_item(unmarshal(item)) for item in answer.get("Items", [])]

    def hand_over(self, incident_id: str, page: Page, to: PageTrigger, send: str | None) -> bool:
        values = {**_owner_values(to), ":true": True, ":owner": page.owner.effect_id}
        values |= {":n": page.handovers, ":next": page.handovers + 1}
        expression = "SET handovers = :next, " + _OWNER_SET
        if send is not None:  # the page never went out: the new owner's ticket delivers it
            expression += ", sent_by = :sent, sent_effect = :effect, sent_clock = :clock, sent_route = :to"
            values |= {":sent": to.ticket_id, ":effect": send, ":clock": to.clock_key, ":to": to.paged_route}
        return self._update_page(
            incident_id,
            page.route,
            expression,
            # Allowed prior state: the open page as read (the same owner, no handover since); else another
            # writer decided first and the caller reads the page again.
            "#open = :true AND owner_effect_id = :owner AND handovers = :n",
            values,
        )

    def close_page(self, incident_id: str, page: Page, closed_by: str) -> bool:
        values = {":true": True, ":false": False, ":owner": page.owner.effect_id, ":n": page.handovers}
        if self._update_page(
            incident_id,
            page.route,
            "SET #open = :false, closed_by = :by, #gen = #gen + :one",
            # Allowed prior state: the open page as read (the same owner, no handover since). A page already
            # closed is not closed twice: a retry of this very resolve is told so below.
            "#open = :true AND owner_effect_id = :owner AND handovers = :n",
            {**values, ":by": closed_by, ":one": 1},
        ):
            return True
        held = self._get(_page_key(incident_id, page.route))
        return held is not None and not held.get("open") and held.get("closed_by") == closed_by

    def cover(self, incident_id: str, trigger: PageTrigger, now: int) -> None:
        item = {
            "pk": incident_pk(incident_id),
            "sk": f"COVER#{trigger.route}#{trigger.ticket_id}",
            "kind": "incident_cover",
            "ticket_id": trigger.ticket_id,
            "effect_id": trigger.effect_id,
            "covered_at": now,
        }
        try:
            # Allowed prior states: any. The item names its ticket and trigger, a repeat rewrites it unchanged.
            self.client.put_item(TableName=self.table_name, Item=marshal(item))
        except ClientError as error:
            raise translate(error) from error

    def covered(self, incident_id: str, route: str, start_after: str | None) -> tuple[list[str], str | None]:
        prefix = f"COVER#{route}#"
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :cover)",
            "ExpressionAttributeValues": marshal({":pk": incident_pk(incident_id), ":cover": prefix}),
            "ConsistentRead": True,
            "Limit": LINKS_PAGE,
        }
        if start_after is not None:
            kwargs["ExclusiveStartKey"] = marshal(
                {"pk": incident_pk(incident_id), "sk": prefix + start_after}
            )
        try:
            page = self.client.query(**kwargs)
        except ClientError as error:
            raise translate(error) from error
        tickets = [str(unmarshal(item)["ticket_id"]) for item in page.get("Items", [])]
        return tickets, (tickets[-1] if "LastEvaluatedKey" in page and tickets else None)

    def _update_page(
        self, incident_id: str, route: str, expression: str, condition: str, values: dict[str, Any]
    ) -> bool:
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=marshal(_page_key(incident_id, route)),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames={
                    name: attribute
                    for name, attribute in (("#open", "open"), ("#gen", "generation"))
                    if name in expression or name in condition
                },
                ExpressionAttributeValues=marshal(values),
            )
            return True
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise translate(error) from error
        return False

    def _get(self, key: dict[str, str]) -> dict[str, Any] | None:
        return get_item(self.client, self.table_name, key)


_OWNER_FIELDS = tuple(PageTrigger.__dataclass_fields__)
_OWNER_SET = ", ".join(f"owner_{name} = :owner_{name}" for name in _OWNER_FIELDS)


def _page_key(incident_id: str, route: str) -> dict[str, str]:
    return {"pk": incident_pk(incident_id), "sk": f"PAGE#{route}"}


def owner_attributes(trigger: PageTrigger) -> dict[str, Any]:
    """A page's owner as the item's attributes; a missing `due_at` is kept as -1 (marshal drops None)."""
    fields = asdict(trigger)
    fields["due_at"] = -1 if trigger.due_at is None else trigger.due_at
    return {f"owner_{name}": value for name, value in fields.items()}


def _owner_values(trigger: PageTrigger) -> dict[str, Any]:
    return {f":{name}": value for name, value in owner_attributes(trigger).items()}


def page_from_item(item: dict[str, Any]) -> Page:
    """A `PAGE#<route>` item as the port returns it (the memory adapter keeps the same item)."""
    owner = {name: item[f"owner_{name}"] for name in _OWNER_FIELDS}
    owner["cycle"] = int(owner["cycle"])
    owner["due_at"] = None if int(owner["due_at"]) < 0 else int(owner["due_at"])
    return Page(
        route=str(item["sk"]).removeprefix("PAGE#"),
        open=bool(item["open"]),
        generation=int(item["generation"]),
        handovers=int(item["handovers"]),
        owner=PageTrigger(**owner),
        sent_by=str(item["sent_by"]),
        sent_effect=str(item["sent_effect"]),
        sent_clock=str(item["sent_clock"]),
        sent_route=str(item["sent_route"]),
        closed_by=item.get("closed_by"),
    )


def _decoded(item: dict[str, Any]) -> IncidentEvent:
    event = decode_event(str(item["detail_type"]), str(item["text"]))
    assert isinstance(event, IncidentDeclared | IncidentResolved)
    return event
