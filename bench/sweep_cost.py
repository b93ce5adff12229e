"""The sweeper at scale: 10,000 due timers among 100,000 open tickets, swept minute after minute.

Each run must end within the SweeperFunction's budget (30 s, less the margin at which it stops taking
timers); over successive runs every due timer fires, none twice, none starved, although some tickets fail
on every re-fold and some timers are held by a run that died. Printed per run: what it claimed and fired,
the items it read from the due-index (ScannedCount), its backlog and the lag of its oldest due timer.

What is real and what is modelled:
- real: `infra.sweep.sweep`, `TimerIndex` (every Query, claim and back-off request, as sent), `timer_item`
  and the `SweeperSettings` defaults (page size, pages, lease, back-off cap, margin);
- modelled: time. moto and the in-memory table answer in microseconds or seconds, not as DynamoDB does,
  so each run's clock charges every call a DynamoDB latency and every re-fold the cost of a real one
  (LATENCY, REFOLD_SECONDS: assumptions, not measurements), and the sweep's `seconds_left` reads that clock;
- stubbed: the ticket service. A re-fold fires the ticket's due instant (recorded, to count repeats) and
  Puts its next timer (none) with the same `timer_item` the store's commit writes, which ends the lease;
  tickets in FAILING raise instead. The fold's own cost is in the fold and ingest figures;
- the table: moto's Query reads the whole table (1.5 s a Query at 100,000 items), so the full scale runs
  on `MemoryTable`, an in-memory stand-in for the due-index that evaluates the requests' key conditions,
  condition and update expressions itself; the same scenario at a tenth of the scale runs on moto (the
  template's table) too, and the two must agree run for run (tests/test_sweep_scale.py checks that too).
"""

from __future__ import annotations

import bisect
import os
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from infra.settings import SweeperSettings
from infra.store.keys import marshal, unmarshal
from infra.store.timers import INDEX, TimerIndex, timer_item
from infra.sweep import SweepReport, sweep
from sla.effects import Effect

START = 1_775_476_800  # 2026-04-06T12:00:00Z
MINUTE = 60
DAY = 86_400
TIMEOUT_SECONDS = 30.0  # the template's Globals Timeout
# Assumed DynamoDB latencies from a Lambda in the table's region (p50-ish), and a re-fold: a Query of the
# ticket, a GetItem of its plan, the fold, a TransactWriteItems.
LATENCY = {"Query": 0.010, "UpdateItem": 0.007, "PutItem": 0.007}
REFOLD_SECONDS = 0.045
FAILING_EVERY = 200  # one due ticket in 200 fails on every re-fold
HELD_EVERY = 100  # one due ticket in 100 was claimed by a run that died, 30 s before the first run
MAX_RUNS = 60


# -- the scenario -------------------------------------------------------------------------------------------


@dataclass
class ModelClock:
    """The time a run has spent, as DynamoDB would have made it spend it."""

    spent: float = 0.0

    def charge(self, seconds: float) -> None:
        self.spent += seconds


class Metered:
    """A DynamoDB client as TimerIndex sees it, charging each call to the clock and counting what Queries read."""

    def __init__(self, client: Any, clock: ModelClock) -> None:
        self.client = client
        self.clock = clock
        self.items_read = 0  # by Queries that fetch timers
        self.items_counted = 0  # by Select=COUNT Queries (billed as read, nothing transferred)
        self.queries = 0

    def query(self, **kwargs: Any) -> dict[str, Any]:
        self.clock.charge(LATENCY["Query"])
        page: dict[str, Any] = self.client.query(**kwargs)
        self.queries += 1
        scanned = int(page.get("ScannedCount", page.get("Count", 0)))
        if kwargs.get("Select") == "COUNT":
            self.items_counted += scanned
        else:
            self.items_read += scanned
        return page

    def update_item(self, **kwargs: Any) -> dict[str, Any]:
        self.clock.charge(LATENCY["UpdateItem"])
        answer: dict[str, Any] = self.client.update_item(**kwargs)
        return answer


@dataclass
class _Store:
    timers: TimerIndex


@dataclass
class StubTickets:
    """Stands in for TicketService: each ticket's fold is one due instant (None once fired)."""

    store: _Store
    client: Any  # unmetered: the timer Put is part of the re-fold's transaction, charged with it
    table: str
    clock: ModelClock
    due: dict[str, int | None]
    failing: frozenset[str]
    fired: Counter[tuple[str, int]] = field(default_factory=Counter)
    idle_refolds: int = 0  # re-folds that found nothing due: a timer taken that was not the ticket's

    def refold(self, ticket_id: str, now: int) -> tuple[Effect, ...]:
        self.clock.charge(REFOLD_SECONDS)
        if ticket_id in self.failing:
            raise RuntimeError("the ticket cannot be folded")
        due = self.due[ticket_id]
        if due is not None and due <= now:
            self.fired[(ticket_id, due)] += 1
            self.due[ticket_id] = None
        else:
            self.idle_refolds += 1
        self.client.put_item(TableName=self.table, Item=marshal(timer_item(ticket_id, self.due[ticket_id])))
        return ()


@dataclass(frozen=True)
class Run:
    now: int
    claimed: int
    fired: int
    failed: int
    items_read: int
    items_counted: int
    queries: int
    backlog: int
    backlog_exact: bool
    oldest_due_lag: int
    modelled_seconds: float
    wall_seconds: float


@dataclass
class Outcome:
    open_count: int
    due_count: int
    runs: list[Run]
    fired_twice: int
    starved: int  # due, healthy and never fired
    idle_refolds: int
    failing: int
    failing_claims: int  # claims of the failing tickets over all runs: the back-off keeps this small
    load_seconds: float


def scenario(
    client: Any,
    table: str,
    open_count: int,
    due_count: int,
    settings: SweeperSettings,
    timeout: float = TIMEOUT_SECONDS,
    load: Callable[[Any, str, list[dict[str, Any]]], None] | None = None,
) -> Outcome:
    """Open `open_count` tickets, `due_count` of them due over the past hour, then sweep every minute."""
    due: dict[str, int | None] = {}
    for n in range(due_count):
        due[f"D-{n:06d}"] = START - 3600 + n * 3600 // due_count
    for n in range(open_count - due_count):  # due over the next 30 days: a few come due while the runs go on
        due[f"O-{n:06d}"] = START + 600 + n * 30 * DAY // (open_count - due_count)
    dues = list(due.items())
    failing = frozenset(t for i, (t, _) in enumerate(dues[:due_count]) if i % FAILING_EVERY == 7)
    held = [t for i, (t, _) in enumerate(dues[:due_count]) if i % HELD_EVERY == 3 and t not in failing]
    started = time.perf_counter()
    (load or put_all)(client, table, [timer_item(t, at) for t, at in dues])
    load_seconds = time.perf_counter() - started

    died = TimerIndex(client, table)  # a run that claimed some timers, then timed out before re-folding them
    (page, _) = died.due_timers(START - 30, 10_000)
    for timer in page:
        if timer.ticket_id in held:
            died.claim(timer, START - 30, settings.lease_seconds)

    clock = ModelClock()
    metered = Metered(client, clock)
    tickets = StubTickets(_Store(TimerIndex(metered, table)), client, table, clock, due, failing)
    failing_claims = 0
    runs: list[Run] = []
    for number in range(MAX_RUNS):
        now = START + number * MINUTE
        clock.spent, metered.items_read, metered.items_counted, metered.queries = 0.0, 0, 0, 0
        fired_before = sum(tickets.fired.values())
        started = time.perf_counter()
        report: SweepReport = sweep(
            tickets,  # type: ignore[arg-type]  # the stub has what sweep uses of a TicketService
            now,
            settings.page_size,
            settings.max_pages,
            settings.lease_seconds,
            seconds_left=lambda: timeout - clock.spent,
            margin_seconds=settings.margin_seconds,
            max_backoff_seconds=settings.max_backoff_seconds,
        )
        failing_claims += sum(1 for f in report.failed if f.attempts > 0)
        runs.append(
            Run(
                now,
                report.claimed,
                sum(tickets.fired.values()) - fired_before,
                len(report.failed),
                metered.items_read,
                metered.items_counted,
                metered.queries,
                report.backlog,
                report.backlog_exact,
                report.oldest_due_lag,
                clock.spent,
                time.perf_counter() - started,
            )
        )
        healthy_left = any(at is not None and at <= now and t not in failing for t, at in tickets.due.items())
        if not report.more and not healthy_left:
            break
    last = runs[-1].now
    starved = sum(1 for t, at in tickets.due.items() if at is not None and at <= last and t not in failing)
    return Outcome(
        open_count,
        due_count,
        runs,
        sum(1 for count in tickets.fired.values() if count > 1),
        starved,
        tickets.idle_refolds,
        len(failing),
        failing_claims,
        load_seconds,
    )


def put_all(client: Any, table: str, items: list[dict[str, Any]]) -> None:
    for first in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": marshal(item)}} for item in items[first : first + 25]]
        client.batch_write_item(RequestItems={table: batch})


# -- an in-memory stand-in for the table's due-index ---------------------------------------------------------

_TOKEN = re.compile(r"\s*(<=|>=|<>|[()=<>,+]|[#:]?\w+)")
_KEY_CONDITION = re.compile(r"^gsi1pk = (:\w+)(?: AND gsi1sk <= (:\w+))?$")
_PAGE_BYTES = 1_000_000  # a Query page stops at 1 MB of items read
_PROJECTED = ("pk", "sk", "gsi1pk", "gsi1sk", "due_at")  # the index's keys and NonKeyAttributes


class _Expression:
    """Condition and SET expressions as DynamoDB evaluates them, for the grammar TimerIndex writes:
    comparisons, attribute_(not_)exists, AND, OR, parentheses; SET with `+` and if_not_exists."""

    def __init__(self, text: str, names: dict[str, str], values: dict[str, Any]) -> None:
        self.tokens: list[str] = _TOKEN.findall(text)
        self.names = names
        self.values = values
        self.at = 0

    def _next(self) -> str:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def _peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def _name(self, token: str) -> str:
        return self.names[token] if token.startswith("#") else token

    def _operand(self, item: dict[str, Any]) -> Any:
        token = self._next()
        if token.startswith(":"):
            return self.values[token]
        if token == "if_not_exists":
            self._next()  # (
            name = self._name(self._next())
            self._next()  # ,
            default = self._operand(item)
            self._next()  # )
            return item.get(name, default)
        return item.get(self._name(token))

    def condition(self, item: dict[str, Any]) -> bool:
        result = self._conjunction(item)
        while self._peek() == "OR":
            self._next()
            result = self._conjunction(item) or result
        return result

    def _conjunction(self, item: dict[str, Any]) -> bool:
        result = self._term(item)
        while self._peek() == "AND":
            self._next()
            result = self._term(item) and result
        return result

    def _term(self, item: dict[str, Any]) -> bool:
        token = self._peek()
        if token == "(":
            self._next()
            result = self.condition(item)
            self._next()  # )
            return result
        if token in ("attribute_exists", "attribute_not_exists"):
            self._next()
            self._next()  # (
            present = self._name(self._next()) in item
            self._next()  # )
            return present if token == "attribute_exists" else not present
        left, operator, right = self._operand(item), self._next(), self._operand(item)
        if left is None or right is None:
            return False
        compare: dict[str, Callable[[Any, Any], bool]] = {
            "=": lambda a, b: bool(a == b),
            "<>": lambda a, b: bool(a != b),
            "<": lambda a, b: bool(a < b),
            "<=": lambda a, b: bool(a <= b),
            ">": lambda a, b: bool(a > b),
            ">=": lambda a, b: bool(a >= b),
        }
        return compare[operator](left, right)

    def assignments(self, item: dict[str, Any]) -> dict[str, Any]:
        assert self._next() == "SET", "only SET updates"
        updates: dict[str, Any] = {}
        while True:
            name = self._name(self._next())
            self._next()  # =
            value = self._operand(item)
            if self._peek() == "+":
                self._next()
                value = value + self._operand(item)
            updates[name] = value
            if self._peek() != ",":
                return updates
            self._next()


class MemoryTable:
    """The due-index of one table in memory: each shard a sorted list of sort keys, answered as DynamoDB
    answers Query (key condition, ExclusiveStartKey, Limit, 1 MB pages, COUNT) and conditional updates."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.shards: dict[str, list[str]] = defaultdict(list)
        self.holders: dict[tuple[str, str], tuple[str, str]] = {}

    def _unindex(self, key: tuple[str, str]) -> None:
        old = self.items.get(key)
        if old is not None and "gsi1pk" in old and "gsi1sk" in old:
            keys = self.shards[old["gsi1pk"]]
            del keys[bisect.bisect_left(keys, old["gsi1sk"])]
            del self.holders[(old["gsi1pk"], old["gsi1sk"])]

    def _store(self, key: tuple[str, str], item: dict[str, Any]) -> None:
        self._unindex(key)
        self.items[key] = item
        if "gsi1pk" in item and "gsi1sk" in item:
            bisect.insort(self.shards[item["gsi1pk"]], item["gsi1sk"])
            self.holders[(item["gsi1pk"], item["gsi1sk"])] = key

    def put_item(self, TableName: str, Item: dict[str, Any]) -> dict[str, Any]:
        item = unmarshal(Item)
        self._store((item["pk"], item["sk"]), item)
        return {}

    @staticmethod
    def load(table: MemoryTable, _: str, items: list[dict[str, Any]]) -> None:
        """Items as `timer_item` makes them, into an empty table: indexed in one sort, not one insort each."""
        for item in items:
            stored = {name: value for name, value in item.items() if value is not None}
            key = (stored["pk"], stored["sk"])
            table.items[key] = stored
            if "gsi1pk" in stored:
                table.shards[stored["gsi1pk"]].append(stored["gsi1sk"])
                table.holders[(stored["gsi1pk"], stored["gsi1sk"])] = key
        for keys in table.shards.values():
            keys.sort()

    def update_item(
        self,
        TableName: str,
        Key: dict[str, Any],
        UpdateExpression: str,
        ExpressionAttributeValues: dict[str, Any],
        ConditionExpression: str | None = None,
        ExpressionAttributeNames: dict[str, str] | None = None,
        ReturnValues: str = "NONE",
    ) -> dict[str, Any]:
        key_values = unmarshal(Key)
        key = (key_values["pk"], key_values["sk"])
        item = dict(self.items.get(key, key_values))
        names, values = ExpressionAttributeNames or {}, unmarshal(ExpressionAttributeValues)
        if ConditionExpression and not _Expression(ConditionExpression, names, values).condition(item):
            raise ClientError(
                {
                    "Error": {
                        "Code": "ConditionalCheckFailedException",
                        "Message": "The conditional request failed",
                    }
                },
                "UpdateItem",
            )
        updates = _Expression(UpdateExpression, names, values).assignments(item)
        self._store(key, {**item, **updates})
        return {"Attributes": marshal(updates)} if ReturnValues == "UPDATED_NEW" else {}

    def query(
        self,
        TableName: str,
        IndexName: str,
        KeyConditionExpression: str,
        ExpressionAttributeValues: dict[str, Any],
        ScanIndexForward: bool = True,
        Limit: int | None = None,
        ExclusiveStartKey: dict[str, Any] | None = None,
        Select: str | None = None,
    ) -> dict[str, Any]:
        assert IndexName == INDEX and ScanIndexForward, "the due-index, oldest first"
        match = _KEY_CONDITION.match(KeyConditionExpression)
        assert match is not None, KeyConditionExpression
        values = unmarshal(ExpressionAttributeValues)
        keys = self.shards.get(values[match.group(1)], [])
        first = (
            0
            if ExclusiveStartKey is None
            else bisect.bisect_right(keys, unmarshal(ExclusiveStartKey)["gsi1sk"])
        )
        end = len(keys) if match.group(2) is None else bisect.bisect_right(keys, values[match.group(2)])
        shard = values[match.group(1)]
        taken: list[dict[str, Any]] = []
        size = 0
        for sort_key in keys[first:end]:
            if Limit is not None and len(taken) == Limit:
                break
            item = self.items[self.holders[(shard, sort_key)]]
            projected = {name: item[name] for name in _PROJECTED if name in item}
            size += sum(len(name) + len(str(value)) for name, value in projected.items())
            if size > _PAGE_BYTES:
                break
            taken.append(projected)
        page: dict[str, Any] = {"Count": len(taken), "ScannedCount": len(taken)}
        if Select != "COUNT":
            page["Items"] = [marshal(item) for item in taken]
        stopped_early = first + len(taken) < end
        if taken and (stopped_early or (Limit is not None and len(taken) == Limit)):
            page["LastEvaluatedKey"] = marshal(
                {name: taken[-1][name] for name in ("pk", "sk", "gsi1pk", "gsi1sk")}
            )
        return page


# -- running it --------------------------------------------------------------------------------------------


@contextmanager
def moto_table() -> Iterator[tuple[Any, str]]:
    """The template's table on moto, with fake credentials, nothing else of the stack."""
    import boto3
    from moto import mock_aws

    from local.stack import create_resources

    saved = {
        name: os.environ.get(name)
        for name in ("AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    }
    os.environ.update(
        AWS_DEFAULT_REGION="eu-west-1", AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench"
    )
    try:
        with mock_aws():
            session = boto3.Session(region_name="eu-west-1")
            yield session.client("dynamodb"), create_resources(session).table_name
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _print(title: str, outcome: Outcome, settings: SweeperSettings, timeout: float) -> None:
    print(
        f"{title}: {outcome.open_count:,} open tickets with timers, {outcome.due_count:,} due "
        f"({outcome.load_seconds:.1f} s to load); a {timeout:.0f} s function"
    )
    print(
        "  run  claimed  fired  failed  items read  counted  queries  backlog  oldest lag  modelled s  wall s"
    )
    for number, run in enumerate(outcome.runs):
        backlog = f"{run.backlog:,}" + ("" if run.backlog_exact else "+")
        print(
            f"  {number:>3}  {run.claimed:>7,}  {run.fired:>5,}  {run.failed:>6}  {run.items_read:>10,}"
            f"  {run.items_counted:>7,}  {run.queries:>7}  {backlog:>7}  {run.oldest_due_lag:>8} s"
            f"  {run.modelled_seconds:>10.2f}  {run.wall_seconds:>6.2f}"
        )
    longest = max(run.modelled_seconds for run in outcome.runs)
    print(
        f"  runs: {len(outcome.runs)}; longest {longest:.2f} s of {timeout:.0f} s (stops taking timers at "
        f"{timeout - settings.margin_seconds:.0f} s): {'within' if longest <= timeout else 'OVER'} budget"
    )
    print(
        f"  fired twice: {outcome.fired_twice}; starved (due, healthy, never fired): {outcome.starved}; "
        f"re-folds with nothing due: {outcome.idle_refolds}"
    )
    print(
        f"  failing tickets: {outcome.failing}, claimed {outcome.failing_claims} times in all "
        f"(back-off: lease x 2^(attempts-1), at most {settings.max_backoff_seconds} s)"
    )


def same_runs(first: Outcome, second: Outcome) -> bool:
    def figures(outcome: Outcome) -> list[tuple[int, ...]]:
        return [
            (
                r.claimed,
                r.fired,
                r.failed,
                r.items_read,
                r.items_counted,
                r.queries,
                r.backlog,
                r.oldest_due_lag,
            )
            for r in outcome.runs
        ]

    return figures(first) == figures(second)


# moto answers a request in tens of milliseconds and a Query in time proportional to the table, so the
# cross-check is small; a short function makes it take several runs all the same.
CHECK_OPEN, CHECK_DUE, CHECK_TIMEOUT = 1_000, 100, 8.0


def run() -> None:
    settings = SweeperSettings(table_name="bench")
    print(
        f"model: Query {LATENCY['Query'] * 1000:.0f} ms, claim {LATENCY['UpdateItem'] * 1000:.0f} ms, "
        f"re-fold {REFOLD_SECONDS * 1000:.0f} ms; page {settings.page_size} timers a shard, lease "
        f"{settings.lease_seconds} s, margin {settings.margin_seconds:.0f} s"
    )
    full = scenario(MemoryTable(), "bench", 100_000, 10_000, settings, load=MemoryTable.load)
    _print("in-memory table", full, settings, TIMEOUT_SECONDS)
    small_pages = SweeperSettings(table_name="bench", page_size=5)  # several pages a shard, and counts
    with moto_table() as (client, table):
        on_moto = scenario(client, table, CHECK_OPEN, CHECK_DUE, small_pages, CHECK_TIMEOUT)
    _print("moto (the template's table), 5 timers a page", on_moto, small_pages, CHECK_TIMEOUT)
    in_memory = scenario(
        MemoryTable(), "bench", CHECK_OPEN, CHECK_DUE, small_pages, CHECK_TIMEOUT, load=MemoryTable.load
    )
    print(
        f"  the in-memory table gives the same runs as moto: {'yes' if same_runs(on_moto, in_memory) else 'NO'}"
    )
