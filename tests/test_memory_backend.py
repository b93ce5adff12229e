"""What makes the memory backend linear in the history, and its stand-ins for the notifier's AWS services.

The store contract itself is tests/contract/; the equivalence with moto is tests/test_backends.py. Here:
a stored event is decoded once, when committed, never again on a load; the local notifier takes the outbox
items a step added from the store's stream, each once, and nothing lists the store but the final report;
the idempotency records and the SSM, Secrets Manager and SNS stand-ins answer as their services do.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from botocore.exceptions import ClientError

from bench.replay_scale import history
from infra.store.report_index import report_writes
from local.engine import message_id, open_engine
from local.memory import store as memory_store
from local.memory.aws import MemoryAws, MemoryPersistenceLayer
from local.memory.report_index import MemoryReportIndex
from local.memory.store import MemoryStore
from local.replay import play, replay, schedule
from sla.fold import fold
from tests.contract.test_tickets import T0
from tests.fold_helpers import CUSTOMER, MINUTE, default_catalog, message, opened


def test_a_replay_decodes_each_stored_event_once_and_lists_the_store_only_for_its_report(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decoded: list[str] = []
    listed: list[str] = []
    decode, items_of_kind = memory_store.decode_event, MemoryStore.items_of_kind

    def counting_decode(detail_type: str, text: str) -> Any:
        decoded.append(detail_type)
        return decode(detail_type, text)

    def counting_listing(store: MemoryStore, kind: str) -> list[dict[str, Any]]:
        listed.append(kind)
        return items_of_kind(store, kind)

    monkeypatch.setattr(memory_store, "decode_event", counting_decode)
    monkeypatch.setattr(MemoryStore, "items_of_kind", counting_listing)
    lines = history(400, 40, customers=4)

    replay(lines)

    # Every ticket event of the history is valid, so each is stored once (a line delivered twice is a
    # duplicate); each is decoded then, and not on any of its loads. Each customer's one plan change is
    # decoded when its plan record is written.
    stored = {line for line in lines if "Support Plan Changed" not in line}
    assert len([d for d in decoded if d != "Support Plan Changed"]) == len(stored)
    assert decoded.count("Support Plan Changed") == 4
    assert sorted(listed) == ["outbox", "rejected"]  # the report's, once each


def commit_opened(store: MemoryStore, ticket: str, now: int) -> None:
    event = opened(now, "critical", ticket=ticket)
    record = store.load_ticket(ticket)
    folded = fold(ticket, (event,), (), default_catalog(), now)
    store.commit(record, (event.detail_type, event), folded, now, store.load_plans(CUSTOMER))


def test_the_stream_hands_each_new_outbox_item_once_in_commit_order() -> None:
    store = MemoryStore()
    commit_opened(store, "T-2", T0)
    commit_opened(store, "T-1", T0 + MINUTE)

    first = store.take_stream()
    record = store.load_ticket("T-1")
    later = message(T0 + 2 * MINUTE, "customer", ticket="T-1")
    folded = fold("T-1", (*record.events, later), (), default_catalog(), T0 + 2 * MINUTE)
    store.commit(record, (later.detail_type, later), folded, T0 + 2 * MINUTE)

    assert [(i["pk"], i["sk"]) for i in first] == [
        ("OUTBOX#T-2", "000000000001#000"),
        ("OUTBOX#T-1", "000000000001#000"),
    ]
    assert store.take_stream() == []  # the customer's message decided nothing new
    assert all(item["deliveries"] == {} for item in first)  # as inserted, whatever was recorded since


def record(key: str, status: str, expiry: int, in_progress_until: int | None = None) -> DataRecord:
    return DataRecord(key, status, expiry, in_progress_until, '{"status": "delivered"}')


def test_an_idempotency_record_is_taken_once_until_it_expires_or_its_lock_lapses() -> None:
    layer = MemoryPersistenceLayer()
    now = int(time.time())
    layer._put_record(record("sent", "COMPLETED", now + 3600))
    layer._put_record(record("expired", "COMPLETED", now - 1))
    layer._put_record(record("locked", "INPROGRESS", now + 3600, (now + 60) * 1000))
    layer._put_record(record("lapsed", "INPROGRESS", now + 3600, (now - 60) * 1000))

    for key in ("sent", "locked"):
        with pytest.raises(IdempotencyItemAlreadyExistsError) as refused:
            layer._put_record(record(key, "INPROGRESS", now + 3600))
        assert refused.value.old_data_record is not None
        assert refused.value.old_data_record.response_data == '{"status": "delivered"}'
    for key in ("expired", "lapsed"):
        layer._put_record(record(key, "INPROGRESS", now + 3600))
    layer._delete_record(record("sent", "COMPLETED", 0))

    with pytest.raises(IdempotencyItemNotFoundError):
        layer._get_record("sent")
    assert layer._get_record("lapsed").status == "INPROGRESS"


def test_the_aws_stand_ins_answer_as_their_services_and_record_what_was_sent() -> None:
    aws = MemoryAws({"/routes": "{}"}, {"sla-engine/pagerduty/x": "key"})

    assert aws.client("ssm").get_parameter(Name="/routes")["Parameter"]["Value"] == "{}"
    assert (
        aws.client("secretsmanager").get_secret_value(SecretId="sla-engine/pagerduty/x")["SecretString"]
        == "key"
    )
    with pytest.raises(ClientError) as missing:
        aws.client("secretsmanager").get_secret_value(SecretId="sla-engine/slack/y")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    answer = aws.client("sns").publish(TopicArn="arn", Message="m")

    assert answer["MessageId"] and aws.messages("sns") == [{"TopicArn": "arn", "Message": "m"}]
    with pytest.raises(ValueError, match="notifier's services"):
        aws.client("dynamodb")


@pytest.mark.parametrize("body", ["", "{}", '{"detail": "é тикет"}', "x" * 5000])
@pytest.mark.parametrize("index", [0, 7, 9999])
def test_a_record_id_is_the_uuid5_of_its_index_and_body(index: int, body: str) -> None:
    assert message_id(index, body) == str(uuid.uuid5(uuid.NAMESPACE_URL, f"{index}:{body}"))


@pytest.mark.parametrize("pending", [1, 50, 100_000])
def test_the_memory_index_holds_the_items_the_table_writes_commit_by_commit(pending: int) -> None:
    """The table's index after a history is what its commits put and deleted (`report_writes`, applied one
    commit after the other); the memory store's, made from each ticket's last fold whenever it settles
    them, must hold the very same items, however early or late it settles."""
    table: dict[tuple[str, str], dict[str, object]] = {}
    reported: dict[str, dict[str, str]] = {}
    real_note = MemoryReportIndex.note

    def note(self: MemoryReportIndex, ticket_id: str, folded: object) -> None:
        writes = report_writes(ticket_id, reported.get(ticket_id, {}), folded)  # type: ignore[arg-type]
        for key in writes.deletes:
            table.pop((key["pk"], key["sk"]), None)
        for item in writes.puts:
            table[(item["pk"], item["sk"])] = item
        reported[ticket_id] = writes.digests
        real_note(self, ticket_id, folded)  # type: ignore[arg-type]

    deliveries, start, horizon = schedule(history(1_500, 150, seed=11))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(MemoryReportIndex, "note", note)
        with open_engine("memory", start=start, keep_sent=False) as engine:
            index = engine.store.report
            index.pending_tickets = pending
            play(engine, deliveries, horizon)
            months = {month for (pk, _) in table for month in [pk.split("#")[1]]}
            for month in months:
                index.month(month)  # settles every ticket
            held = {(item["pk"], item["sk"]): item for m in index._months.values() for item in m.values()}
    assert table and held == table
