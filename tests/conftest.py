"""Shared fixtures: an in-process AWS (moto) and the resources of template.yaml built on it."""

from __future__ import annotations

import copy
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends

from infra.catalog_source import load_catalog
from infra.store import Store
from infra.ticket_service import TicketService
from local.engine import FakeLambdaContext
from local.stack import LocalResources, create_resources
from sla.events import SOURCE
from tests.samples import sqs_event

REGION = "eu-west-1"
CATALOG = load_catalog()

# Powertools reads its settings when the handler modules are imported, as Lambda sets them before that;
# the template's values, set once before any test imports a handler.
for _name, _value in {
    "POWERTOOLS_SERVICE_NAME": "sla-engine",
    "POWERTOOLS_METRICS_NAMESPACE": "SlaEngine",
    "POWERTOOLS_TRACE_DISABLED": "true",
}.items():
    os.environ.setdefault(_name, _value)


def _fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.Session]:
    """A moto backend with fake credentials, so no test can reach (or bill) a real account."""
    _fake_credentials(monkeypatch)
    with mock_aws():
        yield boto3.Session(region_name=REGION)


@pytest.fixture
def resources(aws: boto3.Session) -> LocalResources:
    """Table, queues, topics and bus exactly as template.yaml declares them."""
    return create_resources(aws)


@pytest.fixture
def table(aws: boto3.Session, resources: LocalResources) -> Any:
    """The boto3 Table resource of SlaTable."""
    return aws.resource("dynamodb").Table(resources.table_name)


# ----- the IngestFunction on moto (tests/test_ingest*.py) -------------------------------------------------


def epoch(instant: str) -> int:
    """Epoch seconds of an ISO 8601 instant that carries its offset (a naive one is a test bug)."""
    parsed = datetime.fromisoformat(instant.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"{instant!r} has no offset")
    return int(parsed.timestamp())


def eventbridge(detail_type: str, detail: dict[str, Any], source: str = SOURCE) -> dict[str, Any]:
    """An EventBridge event as the control panel publishes it; its `id` derives from the detail's event_id."""
    occurred = datetime.fromisoformat(str(detail["occurred_at"]))
    sent = occurred.astimezone(UTC) if occurred.tzinfo else occurred.replace(tzinfo=UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"eventbridge:{detail['event_id']}")),
        "detail-type": detail_type,
        "source": source,
        "account": "123456789012",
        "time": sent.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [],
        "detail": detail,
    }


def unmarshal(item: dict[str, Any]) -> dict[str, Any]:
    deserializer = TypeDeserializer()
    return {key: deserializer.deserialize(value) for key, value in item.items()}


@pytest.fixture(scope="module")
def module_stack() -> Iterator[tuple[boto3.Session, LocalResources]]:
    """`aws` and `resources` for a whole module whose tests each leave the table as they found it (see
    `pipeline`): building the template's resources costs about half a second, a test costs less. A module
    that uses it must not use `aws` too (a second, nested moto would see these resources)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        _fake_credentials(monkeypatch)
        with mock_aws():
            session = boto3.Session(region_name=REGION)
            yield session, create_resources(session)


class TableSnapshots:
    """Copies of a moto table, to put it back as it was: moto rolls a failed transaction back this way."""

    def __init__(self, table_name: str) -> None:
        self.tables = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables
        self.name = table_name

    def take(self) -> Any:
        return copy.deepcopy(self.tables[self.name])

    def restore(self, snapshot: Any) -> None:
        self.tables[self.name] = copy.deepcopy(snapshot)


@dataclass
class Pipeline:
    """The IngestFunction handler, wired to a Store on the template's table in moto, at a simulated now."""

    client: Any
    table_name: str
    store: Store
    service: TicketService
    now: int = 0

    def clock(self) -> int:
        return self.now

    @staticmethod
    def new_client() -> Any:
        """Another DynamoDB client on the same moto backend (another Lambda instance, another thread)."""
        return boto3.Session(region_name=REGION).client("dynamodb")

    def handle(self, batch: dict[str, Any]) -> dict[str, Any]:
        """Run one SQS batch through `functions.ingest.handler`, as the event source mapping would."""
        from functions import ingest

        response: dict[str, Any] = ingest.handler(batch, FakeLambdaContext("IngestFunction"))
        return response

    def deliver(self, *events: dict[str, Any], at: str | None = None) -> dict[str, Any]:
        """Deliver EventBridge events as one SQS batch, at `at` (default: the latest occurred_at, or now)."""
        times = [epoch(e["detail"]["occurred_at"]) for e in events if _aware(e)]
        self.now = epoch(at) if at else max([self.now, *times])
        return self.handle(sqs_event(*events))

    def scan(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Every item of the table by (pk, sk): what a test compares before and after a delivery."""
        items: dict[tuple[str, str], dict[str, Any]] = {}
        kwargs: dict[str, Any] = {"TableName": self.table_name, "ConsistentRead": True}
        while True:
            page = self.client.scan(**kwargs)
            for raw in page["Items"]:
                item = unmarshal(raw)
                items[(item["pk"], item["sk"])] = item
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def item(self, pk: str, sk: str) -> dict[str, Any] | None:
        found = self.client.get_item(
            TableName=self.table_name, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
        )
        return unmarshal(found["Item"]) if "Item" in found else None

    def state(self, ticket_id: str) -> dict[str, Any]:
        """The ticket's STATE item, its `state` JSON decoded."""
        item = self.item(f"TICKET#{ticket_id}", "STATE")
        assert item is not None, f"no STATE item for ticket {ticket_id}"
        return {**item, "state": json.loads(item["state"]) if item.get("state") else None}


def _aware(event: dict[str, Any]) -> bool:
    try:
        return datetime.fromisoformat(str(event["detail"]["occurred_at"])).tzinfo is not None
    except (KeyError, TypeError, ValueError):
        return False


@pytest.fixture
def pipeline(module_stack: tuple[boto3.Session, LocalResources]) -> Iterator[Pipeline]:
    """`functions.ingest.handler` on the template's table, with the packaged catalog and a simulated clock.

    The table is the module's (`module_stack`), put back as the test found it (empty) when it ends.
    """
    from functions import ingest  # after the Powertools settings above, as Lambda imports it

    session, resources = module_stack
    snapshots = TableSnapshots(resources.table_name)
    found = snapshots.take()
    client = session.client("dynamodb")
    store = Store(client, resources.table_name)
    wired = Pipeline(client, resources.table_name, store, TicketService(store, CATALOG))
    ingest.configure(ingest.Dependencies(wired.service, wired.clock))
    yield wired
    ingest.configure(None)
    ingest.metrics.clear_metrics()
    snapshots.restore(found)
