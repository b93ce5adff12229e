"""The store of the engine: its interface (`port`), the DynamoDB single-table adapter, its keys, due timers
and outbox items."""

from infra.store.commit import MAX_RAW_CHARS
from infra.store.dynamodb import MAX_TRANSACTION_ITEMS, Store
from infra.store.keys import ticket_key
from infra.store.records import PlanRecord, TicketRecord
from infra.store.timers import TIMER_PARTITION, DueTimer, timer_sort_key

__all__ = [
    "MAX_RAW_CHARS",
    "MAX_TRANSACTION_ITEMS",
    "TIMER_PARTITION",
    "DueTimer",
    "PlanRecord",
    "Store",
    "TicketRecord",
    "ticket_key",
    "timer_sort_key",
]
