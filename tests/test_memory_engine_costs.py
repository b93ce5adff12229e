"""What the memory backend does to cost less at 200,000 events, without changing what it does (issue 9).

- a delivery's idempotency records are written by a shorter path than Powertools' and read the same: the
  same key, status, response and expiries, the same refusal of a second delivery;
- the idempotency key of a delivery is Powertools' own, hashed once for the in-progress record and the
  outcome of one unit, and never handed to another payload; the text of an answer is kept for the next
  equal one, never for an answer that only compares equal (1 and True);
- the deep copy Powertools makes of every unit's payload is a copy of the mapping;
- the cyclic collector's young generation is collected less often while the engine runs, and the process
  gets its own thresholds back when it closes;
- the final report folds the tickets one at a time.
"""

from __future__ import annotations

import copy
import gc
import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, cast

import pytest
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyItemAlreadyExistsError
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.typing import LambdaContext

from infra.notify.delivery import _Payload
from local.engine import YOUNG_COLLECTION_EVERY, open_engine
from local.memory import aws
from local.memory.aws import MemoryPersistenceLayer, _key_text

key_text = _key_text  # the function itself, whatever a test patches in the module


def configured(layer: MemoryPersistenceLayer) -> MemoryPersistenceLayer:
    layer.configure(IdempotencyConfig(), key_prefix="delivery")
    return layer


def test_a_delivery_key_is_powertools_own_and_hashed_once_per_payload(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    layer = configured(MemoryPersistenceLayer())
    reference = configured(MemoryPersistenceLayer())
    written: list[Any] = []
    monkeypatch.setattr(aws, "_key_text", lambda data: written.append(data) or key_text(data))
    first = {"effect_id": "T-1:first_response:T-1-0:breach:oncall", "channel": "sns"}
    second = {"effect_id": "T-1:first_response:T-1-0:breach:oncall", "channel": "pagerduty"}

    keys = [layer._get_hashed_idempotency_key(dict(payload)) for payload in (first, first, second, first)]

    expected = [BasePersistenceLayer._get_hashed_idempotency_key(reference, p) for p in (first, second)]
    assert keys == [expected[0], expected[0], expected[1], expected[0]]
    assert keys[0] is not None and keys[0].startswith("delivery#")
    assert len(written) == 3  # the repeat of a payload is not hashed again; a payload after another is


@pytest.mark.parametrize(
    "payload",
    [
        {"effect_id": "T-1:notify:acknowledged:1", "channel": "email"},
        {"channel": "slack:sla-engine/slack/x", "effect_id": "T-1"},  # not in key order
        {"effect_id": 'T-"1"\\ é ✓ \n\t\x00 \u2028', "channel": "sns"},  # escapes, non-ASCII
        {"effect_id": "T-1", "channel": "sns", "attempt": "2"},
    ],
)
def test_a_payload_of_strings_is_written_as_powertools_writes_it(payload: dict[str, str]) -> None:
    layer = configured(MemoryPersistenceLayer())
    reference = configured(MemoryPersistenceLayer())

    assert key_text(payload) == json.dumps(payload, sort_keys=True)
    assert layer._get_hashed_idempotency_key(payload) == BasePersistenceLayer._get_hashed_idempotency_key(
        reference, payload
    )


def test_an_answer_text_is_kept_for_equal_answers_only() -> None:
    layer = configured(MemoryPersistenceLayer())
    answers: list[dict[str, Any]] = [
        {"channel": "sns", "status": "delivered", "reason": None},
        {"channel": "sns", "status": "delivered", "reason": None},
        {"channel": "sns", "status": "dead_lettered", "reason": "sns_http_400"},
        {"channel": "sns", "attempt": 1},
        {"channel": "sns", "attempt": True},  # equal to the one before, dumped otherwise
        {"channel": "sns", "attempt": True},
        {"channel": "sns", "tried": ["sns"]},  # not kept: a list is no key
    ]

    texts = [layer._response_text(answer) for answer in answers]

    assert texts == [json.dumps(answer, sort_keys=True) for answer in answers]
    assert texts[1] is texts[0]


def test_the_deep_copy_of_a_unit_payload_is_a_plain_mapping_of_its_strings() -> None:
    payload = _Payload(effect_id="T-1:notify:acknowledged:1", channel="email")

    copied = copy.deepcopy(payload)

    assert type(copied) is dict and copied == payload and copied is not payload
    assert json.dumps(copied, sort_keys=True) == json.dumps(dict(payload), sort_keys=True)


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
