"""Due timers: one item per ticket in the sparse due-index, read by the sweeper oldest first, never scanned."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from infra.errors import AlreadyRecorded, translate
from infra.store.keys import marshal, ticket_key, unmarshal

TIMER_PARTITION = "DUE"


@dataclass(frozen=True)
class DueTimer:
    ticket_id: str
    sort_key: str
    due: int


def timer_sort_key(due: int, ticket_id: str) -> str:
    """Zero-padded epoch first, so the due-index sorts timers by due time."""
    return f"{due:012d}#{ticket_id}"


def timer_item(ticket_id: str, due: int | None) -> dict[str, Any]:
    # Without gsi1 keys the item drops out of the sparse due-index: nothing left to fire.
    return {
        **ticket_key(ticket_id, "TIMER"),
        "kind": "timer",
        "gsi1pk": TIMER_PARTITION if due is not None else None,
        "gsi1sk": timer_sort_key(due, ticket_id) if due is not None else None,
        "due_at": due,
    }


class TimerIndex:
    """The due-index of one table."""

    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table_name = table_name

    def due_timers(
        self, now: int, limit: int, start_after: str | None = None
    ) -> tuple[list[DueTimer], str | None]:
        """One page of timers due at or before `now`, oldest first, from the sparse due-index (never a Scan)."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": "due-index",
            "KeyConditionExpression": "gsi1pk = :due AND gsi1sk <= :now",
            "ExpressionAttributeValues": marshal({":due": TIMER_PARTITION, ":now": f"{now:012d}#\uffff"}),
            "Limit": limit,
            "ScanIndexForward": True,
        }
        if start_after is not None:
            kwargs["ExclusiveStartKey"] = json.loads(start_after)
        try:
            page = self.client.query(**kwargs)
        except ClientError as error:
            raise translate(error) from error
        timers = []
        for raw in page.get("Items", []):
            item = unmarshal(raw)
            ticket_id = item["pk"].removeprefix("TICKET#")
            timers.append(DueTimer(ticket_id, item["gsi1sk"], int(item["gsi1sk"].split("#", 1)[0])))
        last = page.get("LastEvaluatedKey")
        return timers, (json.dumps(last) if last else None)

    def next_timer(self) -> int | None:
        """The earliest due instant of any ticket, for a simulated clock that skips idle minutes."""
        try:
            page = self.client.query(
                TableName=self.table_name,
                IndexName="due-index",
                KeyConditionExpression="gsi1pk = :due",
                ExpressionAttributeValues=marshal({":due": TIMER_PARTITION}),
                Limit=1,
                ScanIndexForward=True,
            )
        except ClientError as error:
            raise translate(error) from error
        items = page.get("Items", [])
        return int(unmarshal(items[0])["gsi1sk"].split("#", 1)[0]) if items else None

    def claim_timer(self, timer: DueTimer, now: int, lease_seconds: int) -> bool:
        """Take a due timer for one sweep; False when another sweep holds it or the ticket moved on."""
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=marshal(ticket_key(timer.ticket_id, "TIMER")),
                UpdateExpression="SET claimed_until = :until",
                # Allowed prior states: the timer is still the one we read (no writer re-timed the ticket),
                # and no other sweep holds an unexpired claim on it.
                ConditionExpression="gsi1sk = :seen AND (attribute_not_exists(claimed_until) OR claimed_until < :now)",
                ExpressionAttributeValues=marshal(
                    {":seen": timer.sort_key, ":now": now, ":until": now + lease_seconds}
                ),
            )
        except ClientError as error:
            if isinstance(translate(error), AlreadyRecorded):
                return False
            raise translate(error) from error
        return True
