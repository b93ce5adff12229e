"""One store contract, two adapters: every test in tests/contract/ runs on the DynamoDB adapter (the template's
table in moto) and on the in-memory store of the local harness, and expects the same of both.

`Adapter` gives a test the store as the ticket service and the sweep see it (`store`, `store.timers`), the
outbox as the notifier sees it (`outbox`), and the items of a kind as an operator would list them, for what no
service reads back (rejection records, delivery outcomes): a Scan on moto, the store's listing in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from infra.notify.outbox import TableOutbox
from infra.store import Store
from infra.store.port import OutboxStore, TicketStore
from local.memory.store import MemoryStore
from local.stack import LocalResources
from tests.conftest import TableSnapshots, unmarshal

ADAPTERS = ("moto", "memory")


@dataclass
class Adapter:
    name: str
    store: TicketStore
    outbox: OutboxStore
    items: Callable[[str], list[dict[str, Any]]]  # every item of a kind: "rejected" or "outbox"

    def rejections(self) -> dict[tuple[str, str], str]:
        """(event id, EDGE or FOLD) -> reason."""
        return {(i["event_id"], i["sk"]): i["reason"] for i in self.items("rejected")}


@pytest.fixture(params=ADAPTERS)
def adapter(request: pytest.FixtureRequest) -> Iterator[Adapter]:
    if request.param == "memory":
        memory = MemoryStore()
        yield Adapter("memory", memory, memory, memory.items_of_kind)
        return
    # The module's moto table (tests/conftest.py, `module_stack`), put back empty after each test.
    session, resources = request.getfixturevalue("module_stack")
    snapshots = TableSnapshots(resources.table_name)
    found = snapshots.take()
    yield _on_moto(session, resources)
    snapshots.restore(found)


def _on_moto(session: boto3.Session, resources: LocalResources) -> Adapter:
    client = session.client("dynamodb")
    table = resources.table_name

    def items(kind: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
        while True:
            page = client.scan(**kwargs)
            found.extend(unmarshal(item) for item in page["Items"])
            if "LastEvaluatedKey" not in page:
                return [item for item in found if item.get("kind") == kind]
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    return Adapter("moto", Store(client, table), TableOutbox(client, table), items)
