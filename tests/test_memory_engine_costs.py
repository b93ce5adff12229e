"""What the memory backend does to cost less at 200,000 events, without changing what it does (issue 9).

- a delivery's idempotency records are written by a shorter path than Powertools' and read the same: the
  same key, status, response and expiries, the same refusal of a second delivery;
- the idempotency key of a delivery is Powertools' own, hashed once for the in-progress record and the
  outcome of one unit, and never handed to another payload;
- the cyclic collector's young generation is collected less often while the engine runs, and the process
  gets its own thresholds back when it closes;
- the final report folds the tickets one at a time.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, cast

import pytest
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyItemAlreadyExistsError
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.typing import LambdaContext

from local.engine import YOUNG_COLLECTION_EVERY, open_engine
from local.memory.aws import MemoryPersistenceLayer


def configured(layer: MemoryPersistenceLayer) -> MemoryPersistenceLayer:
    layer.configure(IdempotencyConfig(), key_prefix="delivery")
    return layer


def test_a_delivery_key_is_powertools_own_and_hashed_once_per_payload(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    layer = configured(MemoryPersistenceLayer())
    reference = configured(MemoryPersistenceLayer())
    hashed: list[Any] = []
    generate = BasePersistenceLayer._generate_hash

    def counting(self: BasePersistenceLayer, data: Any) -> str:
        if self is layer:
            hashed.append(data)
        return generate(self, data)

    monkeypatch.setattr(BasePersistenceLayer, "_generate_hash", counting)
    first = {"effect_id": "T-1:first_response:T-1-0:breach:oncall", "channel": "sns"}
    second = {"effect_id": "T-1:first_response:T-1-0:breach:oncall", "channel": "pagerduty"}

    keys = [layer._get_hashed_idempotency_key(dict(payload)) for payload in (first, first, second, first)]

    expected = [BasePersistenceLayer._get_hashed_idempotency_key(reference, p) for p in (first, second)]
    assert keys == [expected[0], expected[0], expected[1], expected[0]]
    assert keys[0] is not None and keys[0].startswith("delivery#")
    assert len(hashed) == 3  # the repeat of a payload is not hashed again; a payload after another is


def test_a_payload_that_is_not_all_strings_is_hashed_each_time() -> None:
    # 1 and True are equal items but dump differently: such a payload is never answered from memory.
    layer = configured(MemoryPersistenceLayer())
    reference = configured(MemoryPersistenceLayer())

    as_int = layer._get_hashed_idempotency_key({"effect_id": "e", "attempt": 1})
    as_bool = layer._get_hashed_idempotency_key({"effect_id": "e", "attempt": True})

    assert as_int != as_bool
    assert as_bool == BasePersistenceLayer._get_hashed_idempotency_key(
        reference, {"effect_id": "e", "attempt": True}
    )


def only_record(layer: MemoryPersistenceLayer) -> tuple[str, str, int, int | None, str, str]:
    """The layer's one record: its key, status, expiry, lock expiry, response and payload hash."""
    ((key, (status, expiry, lock, response, payload_hash)),) = layer._records.items()
    assert expiry is not None
    return key, status, expiry, lock, response, payload_hash


def test_the_short_paths_keep_what_powertools_own_would_keep() -> None:
    layer = configured(MemoryPersistenceLayer())
    reference = configured(MemoryPersistenceLayer())  # written through Powertools' methods
    payload = {"effect_id": "T-1:first_response:T-1-0:breach:oncall", "channel": "sns"}
    answer = {"status": "delivered", "channel": "sns", "reason": None}

    layer.save_inprogress(dict(payload), 30_000)
    BasePersistenceLayer.save_inprogress(reference, dict(payload), 30_000)
    written = [(only_record(layer), only_record(reference))]
    layer.save_success(dict(payload), answer)
    BasePersistenceLayer.save_success(reference, dict(payload), answer)
    written.append((only_record(layer), only_record(reference)))

    for (key, status, expiry, lock, response, hashed), own in written:
        assert (key, status, response, hashed) == (own[0], own[1], own[4], own[5])
        assert abs(expiry - own[2]) <= 1  # seconds: the two were written a moment apart
        if lock is None or own[3] is None:
            assert lock is own[3] is None
        else:
            assert abs(lock - own[3]) <= 1_000  # milliseconds
    assert [mine[1] for mine, _ in written] == ["INPROGRESS", "COMPLETED"]
    assert written[0][0][3] is not None  # the lock of a unit in progress
    with pytest.raises(IdempotencyItemAlreadyExistsError) as again:
        layer.save_inprogress(dict(payload), 30_000)
    assert again.value.old_data_record is not None
    assert again.value.old_data_record.response_json_as_dict() == answer


def test_a_unit_runs_once_and_its_repeat_answers_from_the_record() -> None:
    config = IdempotencyConfig()
    config.register_lambda_context(
        cast(LambdaContext, SimpleNamespace(get_remaining_time_in_millis=lambda: 30_000))
    )
    sent: list[str] = []

    @idempotent_function(  # type: ignore[untyped-decorator]  # Powertools leaves it unannotated
        data_keyword_argument="delivery", persistence_store=MemoryPersistenceLayer(), config=config
    )
    def deliver(*, delivery: dict[str, str]) -> dict[str, str]:
        sent.append(delivery["channel"])
        return {"status": "delivered", "channel": delivery["channel"]}

    answers = [
        deliver(delivery={"effect_id": "e", "channel": channel}) for channel in ("sns", "sns", "email")
    ]

    assert sent == ["sns", "email"]
    assert answers[1] == answers[0] == {"status": "delivered", "channel": "sns"}


@pytest.fixture
def thresholds() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    yield before
    gc.set_threshold(*before)


def test_the_memory_engine_collects_its_young_generation_less_often_and_gives_the_thresholds_back(
    thresholds: tuple[int, int, int],
) -> None:
    gc.set_threshold(700, 11, 12)

    with open_engine("memory", keep_sent=False):
        assert gc.get_threshold() == (YOUNG_COLLECTION_EVERY, 11, 12)

    assert gc.get_threshold() == (700, 11, 12)


def test_the_report_folds_one_ticket_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    with open_engine("memory", keep_sent=False) as engine:
        monkeypatch.setattr(engine, "ticket_ids", lambda: ["T-1", "T-2"])
        viewed: list[str] = []
        monkeypatch.setattr(engine.service, "view", lambda ticket_id, now: viewed.append(ticket_id))

        tickets = engine.tickets(0)
        assert viewed == []  # nothing folded before the report asks for the first ticket
        next(tickets)
        assert viewed == ["T-1"]
        list(tickets)
        assert viewed == ["T-1", "T-2"]
