"""The read API (SPEC section 8) through the QueryFunction handler, on both local backends.

The support desk of tests/query_story.py is replayed up to its instant, on the in-memory store and on moto
(the template's table and indexes), and each endpoint is asked through the deployed handler with the HTTP
API's event, the caller's claims where the JWT authorizer puts them. Every answer is worked out by hand in
the story's table; the two backends must give the same.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app as cli
from functions import query
from infra.query.service import Caller, NotFound, QueryService
from local.engine import Engine, FakeLambdaContext, open_engine
from local.replay import play, schedule
from local.serve import api_event
from sla.response_history import bucket_of, bucket_upper
from tests.query_story import NOW, QUEUE, epoch, story_lines

AGENT = "sla/agent"
runner = CliRunner(env={"SLA_CATALOG_PATH": None})


@pytest.fixture(scope="module", params=["memory", "moto"])
def desk(request: pytest.FixtureRequest) -> Iterator[Engine]:
    deliveries, start, _ = schedule(story_lines())
    with open_engine(request.param, start=start, keep_sent=False) as engine:
        play(engine, deliveries, epoch(NOW))
        yield engine


@contextlib.contextmanager
def printed() -> Iterator[io.StringIO]:
    with contextlib.redirect_stdout(io.StringIO()) as out:
        yield out


def call(
    desk: Engine, path: str, scope: str | None = None, customer: str | None = None, method: str = "GET"
) -> tuple[int, Any, dict[str, str]]:
    """(status, body, headers) of the handler's answer; JSON bodies parsed."""
    headers = {"x-sla-scope": scope or "", "x-sla-customer-id": customer or ""}
    with printed():
        response = query.handler(api_event(method, path, headers), FakeLambdaContext("QueryFunction"))
    body = response["body"]
    content = response["headers"].get("Content-Type", "")
    return response["statusCode"], json.loads(body) if "json" in content else body, response["headers"]


def error(status: int, message: str, field: str | None) -> dict[str, Any]:
    return {"error": {"status": status, "message": message, "field": field}}


# ----- the agents' queue ------------------------------------------------------------------------------------


def test_the_queue_is_in_the_specs_order_with_the_working_time_left(desk: Engine) -> None:
    status, page, _ = call(desk, "/v1/queue", AGENT)

    assert status == 200
    assert page["at"] == NOW and page["next_cursor"] is None
    rows = [(i["position"], i["ticket_id"], i["remaining_seconds"], i["breached"]) for i in page["items"]]
    assert rows == [
        (1, "T-A1", -3600, True),  # premium, due 11:00: an hour of working time late
        (2, "T-B1", 300, False),  # enterprise, due 12:05 ...
        (3, "T-D2", 300, False),  # ... business, due 12:05 too: enterprise comes first
        (4, "T-A3", 6600, False),
        (5, "T-D1", 7200, False),
        (6, "T-C1", 10800, False),  # standard, due 15:00 UTC = 17:00 in Paris, within its hours
    ]
    first = page["items"][0]
    assert first == {
        "position": 1,
        "ticket_id": "T-A1",
        "customer_id": "C-A",
        "support_level": "premium",
        "severity": "high",
        "line": "l1",  # the catalog's entry line
        "metric": "first_response",
        "due_at": "2026-04-08T11:00:00Z",
        "remaining_seconds": -3600,
        "breached": True,
    }


def test_pages_follow_each_other_and_each_reads_at_most_its_size_plus_one(desk: Engine) -> None:
    seen: list[tuple[int, str]] = []
    path = "/v1/queue?limit=2"
    while True:
        with printed() as out:
            response = query.handler(api_event("GET", path, {"x-sla-scope": AGENT}), FakeLambdaContext("Q"))
        page = json.loads(response["body"])
        (read,) = [float(v) for v in re.findall(r'"QueueItemsRead":\[([0-9.]+)\]', out.getvalue())]
        assert read <= 3
        seen += [(item["position"], item["ticket_id"]) for item in page["items"]]
        if page["next_cursor"] is None:
            break
        path = f"/v1/queue?limit=2&cursor={page['next_cursor']}"
    assert seen == list(enumerate(QUEUE, start=1))


def test_a_level_filter_is_its_own_queue(desk: Engine) -> None:
    for level, expected in (("premium", ["T-A1", "T-A3"]), ("enterprise", ["T-B1"]), ("standard", ["T-C1"])):
        status, page, _ = call(desk, f"/v1/queue?level={level}", AGENT)
        assert status == 200
        assert [(i["position"], i["ticket_id"]) for i in page["items"]] == list(enumerate(expected, start=1))


@pytest.mark.parametrize(
    ("query_string", "expected"),
    [
        ("line=", QUEUE),  # empty: no filter
        ("line=l2", ["T-D1"]),
        ("line=l1", [t for t in QUEUE if t != "T-D1"]),
        ("line=l2&level=business", ["T-D1"]),
        ("line=l2&level=premium", []),
        ("line=l1&level=premium", ["T-A1", "T-A3"]),
        ("line=l3", []),
    ],
)
def test_a_line_filter_is_its_own_queue(desk: Engine, query_string: str, expected: list[str]) -> None:
    status, page, _ = call(desk, f"/v1/queue?{query_string}", AGENT)
    assert status == 200
    assert [(i["position"], i["ticket_id"]) for i in page["items"]] == list(enumerate(expected, start=1))
    assert all(i["line"] == ("l2" if i["ticket_id"] == "T-D1" else "l1") for i in page["items"])


def test_an_unknown_line_answers_400_naming_the_known_ones(desk: Engine) -> None:
    status, body, _ = call(desk, "/v1/queue?line=l9", AGENT)
    assert status == 400
    assert body["error"] == {
        "status": 400,
        "message": "line: unknown line 'l9'; known: l1, l2, l3",
        "field": "line",
    }


def test_the_wait_is_a_place_in_the_tickets_own_line(desk: Engine) -> None:
    status, body, _ = call(desk, "/v1/tickets/T-D1/wait", customer="C-D")
    assert status == 200
    assert (body["position"], body["ahead"]) == (1, 0)  # fifth in the whole queue, first of l2's


@pytest.mark.parametrize(
    ("query_string", "field"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("level=gold", "level"),
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=" + "A" * 600, "cursor"),
    ],
)
def test_a_bad_queue_parameter_answers_400_naming_it(desk: Engine, query_string: str, field: str) -> None:
    status, body, _ = call(desk, f"/v1/queue?{query_string}", AGENT)
    assert status == 400
    assert body["error"]["status"] == 400
    assert body["error"]["field"] == field
    assert body["error"]["message"].startswith(f"{field}: ")


def test_the_queue_and_the_board_are_for_agents_only(desk: Engine) -> None:
    for path in ("/v1/queue", "/v1/board"):
        for customer in ("C-A", None):
            status, body, _ = call(desk, path, customer=customer)
            assert status == 403, (path, customer)
            assert body == error(403, "agents only: the token needs the sla/agent scope", None)


# ----- a ticket's SLA ---------------------------------------------------------------------------------------


def test_a_ticket_shows_its_ongoing_cycle_with_the_working_time_left(desk: Engine) -> None:
    status, body, _ = call(desk, "/v1/tickets/T-A1/sla", customer="C-A")

    assert status == 200
    assert body == {
        "ticket_id": "T-A1",
        "customer_id": "C-A",
        "support_level": "premium",
        "severity": "high",
        "status": "open",
        "line": "l1",
        "metrics": [
            {
                "metric": "first_response",
                "component": None,
                "server_id": None,
                "ongoing": {
                    "cycle": 1,
                    "started_at": "2026-04-08T09:00:00Z",
                    "due_at": "2026-04-08T11:00:00Z",
                    "due_local": "2026-04-08T13:00:00+02:00",
                    "breached": True,
                    "paused": False,
                    "elapsed_seconds": 10800,
                    "remaining_seconds": -3600,
                    "target_seconds": 7200,
                },
                "completed": [],
            }
        ],
    }


def test_a_ticket_shows_completed_cycles_and_a_paused_replacement(desk: Engine) -> None:
    status, body, _ = call(desk, "/v1/tickets/T-B2/sla", AGENT)

    assert status == 200
    first, hardware = body["metrics"]
    assert first["ongoing"] is None
    assert first["completed"] == [
        {
            "cycle": 1,
            "state": "met",
            "started_at": "2026-04-08T10:00:00Z",
            "stopped_at": "2026-04-08T10:10:00Z",
            "due_at": "2026-04-08T10:30:00Z",  # enterprise high: 30 min, 24/7
            "breached": False,
            "elapsed_seconds": 600,
            "target_seconds": 1800,
        }
    ]
    assert (hardware["metric"], hardware["component"], hardware["server_id"]) == (
        "hardware_replacement",
        "disk",
        "srv-9",
    )
    assert hardware["ongoing"] == {
        "cycle": 1,
        "started_at": "2026-04-08T10:20:00Z",
        "due_at": None,  # paused while the ticket waits on the customer
        "due_local": None,
        "breached": False,
        "paused": True,
        "elapsed_seconds": 600,
        "remaining_seconds": 6600,  # enterprise hot_swap: 2 h
        "target_seconds": 7200,
    }


def test_a_closed_ticket_shows_its_cancelled_cycle(desk: Engine) -> None:
    status, body, _ = call(desk, "/v1/tickets/T-C2/sla", customer="C-C")
    assert status == 200
    assert body["status"] == "closed"
    ((cycle,),) = [m["completed"] for m in body["metrics"]]
    assert (cycle["state"], cycle["stopped_at"], cycle["breached"]) == (
        "cancelled",
        "2026-04-08T09:00:00Z",
        False,
    )


# ----- tenant isolation -------------------------------------------------------------------------------------


@pytest.mark.parametrize("what", ["sla", "wait"])
def test_another_customers_ticket_answers_exactly_like_a_missing_one(desk: Engine, what: str) -> None:
    foreign = call(desk, f"/v1/tickets/T-B1/{what}", customer="C-A")
    missing = call(desk, f"/v1/tickets/T-NONE/{what}", customer="C-A")
    nobody = call(desk, f"/v1/tickets/T-A1/{what}")  # a token with neither claim sees no ticket

    assert foreign[0] == missing[0] == nobody[0] == 404
    assert foreign[1] == missing[1] == nobody[1] == error(404, "no such ticket", "ticket_id")
    assert foreign[2] == missing[2]
    assert call(desk, f"/v1/tickets/T-B1/{what}", customer="C-B")[0] == 200  # its owner sees it
    assert call(desk, f"/v1/tickets/T-B1/{what}", AGENT)[0] == 200  # and so does an agent


def test_a_foreign_ticket_and_a_missing_one_take_the_same_reads(desk: Engine) -> None:
    """The same code path: one load of the ticket, then the refusal, before any other read."""
    calls: list[str] = []
    store = desk.service.store

    class Recording:
        queue = store.queue  # type: ignore[attr-defined]

        def load_ticket(self, ticket_id: str) -> Any:
            calls.append("load_ticket")
            return store.load_ticket(ticket_id)

        def load_plans(self, customer_id: str) -> Any:
            calls.append("load_plans")
            return store.load_plans(customer_id)

    service = QueryService(Recording(), desk.service.catalog)

    reads = []
    for ticket in ("T-B1", "T-NONE"):
        calls.clear()
        with pytest.raises(NotFound) as refused:
            service.ticket_sla(Caller(agent=False, customer_id="C-A"), ticket, epoch(NOW))
        reads.append((list(calls), refused.value.message, refused.value.field))
    assert reads[0] == reads[1] == (["load_ticket"], "no such ticket", "ticket_id")


@pytest.mark.parametrize("ticket_id", ["T!1", "T" * 129])
def test_a_bad_ticket_id_answers_400_naming_it(desk: Engine, ticket_id: str) -> None:
    status, body, _ = call(desk, f"/v1/tickets/{ticket_id}/sla", AGENT)
    assert status == 400
    assert body["error"]["field"] == "ticket_id"


# ----- the customer's visible wait --------------------------------------------------------------------------


def test_the_wait_shows_the_place_in_the_queue_the_promise_and_an_estimate(desk: Engine) -> None:
    status, body, _ = call(desk, "/v1/tickets/T-A3/wait", customer="C-A")

    assert status == 200
    # Six answers of premium high tickets in the window, all longer than the 10 minutes T-A3 has waited: the
    # median is the third, 50 min, read as the upper edge of its bucket (at most 10 % later).
    estimate = bucket_upper(bucket_of(50 * 60))
    assert 3000 <= estimate <= 3300
    expected = epoch("2026-04-08T11:50:00Z") + estimate  # counted in working hours, all of them here
    assert body == {
        "ticket_id": "T-A3",
        "metric": "first_response",
        "position": 4,
        "ahead": 3,
        "ahead_exact": True,
        "promised_by": "2026-04-08T13:50:00Z",
        "promised_by_local": "2026-04-08T15:50:00+02:00",
        "expected_by": _iso(expected),
        "expected_by_local": _iso(expected + 7200).removesuffix("Z") + "+02:00",
    }


def test_the_wait_gives_no_estimate_the_history_cannot_support(desk: Engine) -> None:
    # T-A1 has waited 3 working hours: no answer of the window took that long.
    body = call(desk, "/v1/tickets/T-A1/wait", customer="C-A")[1]
    assert (body["position"], body["promised_by"], body["expected_by"]) == (1, "2026-04-08T11:00:00Z", None)
    # Enterprise critical has no history at all.
    body = call(desk, "/v1/tickets/T-B1/wait", customer="C-B")[1]
    assert (body["position"], body["ahead"], body["expected_by"]) == (2, 1, None)


def test_a_ticket_that_owes_nothing_has_no_place_in_the_queue(desk: Engine) -> None:
    for ticket, customer in (("T-B2", "C-B"), ("T-C2", "C-C"), ("H-1", "C-A")):
        status, body, _ = call(desk, f"/v1/tickets/{ticket}/wait", customer=customer)
        assert status == 200
        assert body == {
            "ticket_id": ticket,
            "metric": None,
            "position": None,
            "ahead": None,
            "ahead_exact": True,
            "promised_by": None,
            "promised_by_local": None,
            "expected_by": None,
            "expected_by_local": None,
        }


# ----- the catalog, the same answers as the command line ----------------------------------------------------


def test_plans_is_the_command_lines_document(desk: Engine) -> None:
    status, body, _ = call(desk, "/v1/plans", customer="C-A")
    cli_answer = runner.invoke(cli, ["plans", "--format", "json"])
    assert status == 200 and cli_answer.exit_code == 0
    assert body == json.loads(cli_answer.output)


@pytest.mark.parametrize(
    "arguments",
    [
        {"level": "premium", "severity": "high", "opened": "2026-04-03T17:30:00+02:00"},
        {"level": "enterprise", "severity": "high", "component": "disk", "opened": "2026-04-05T03:00:00Z"},
        {
            "level": "standard",
            "severity": "low",
            "opened": "2026-05-08T09:00:00+03:00",
            "timezone": "Europe/Moscow",
            "country": "RU",
        },
        # `line` is `--at-line`: who the line's route pages at `opened` (23:30 MSK: l2 is off duty)
        {"level": "business", "severity": "high", "opened": "2026-04-06T23:30:00+03:00", "line": "l2"},
    ],
)
def test_due_is_the_command_lines_answer(desk: Engine, arguments: dict[str, str]) -> None:
    from urllib.parse import urlencode

    status, body, _ = call(desk, "/v1/due?" + urlencode(arguments), AGENT)
    options = {"line": "at-line"}
    cli_answer = runner.invoke(
        cli, ["due", "--format", "json", *[f"--{options.get(k, k)}={v}" for k, v in arguments.items()]]
    )
    assert status == 200 and cli_answer.exit_code == 0, cli_answer.output
    assert body == json.loads(cli_answer.output)


@pytest.mark.parametrize(
    ("query_string", "field"),
    [
        ("severity=high&opened=2026-04-03T17:30:00Z", "level"),
        ("level=gold&severity=high&opened=2026-04-03T17:30:00Z", "level"),
        ("level=premium&severity=urgent&opened=2026-04-03T17:30:00Z", "severity"),
        ("level=premium&severity=high&opened=2026-04-03T17:30:00", "opened"),
        ("level=premium&severity=high&opened=yesterday", "opened"),
        ("level=premium&severity=high&opened=2026-04-03T17:30:00Z&timezone=Mars/Olympus", "timezone"),
        ("level=premium&severity=high&opened=2026-04-03T17:30:00Z&country=ZZ", "country"),
        (
            "level=premium&severity=high&opened=2026-04-03T17:30:00Z&component=disk&metric=first_response",
            "component",
        ),
        ("level=premium&severity=high&opened=2026-04-03T17:30:00Z&line=l9", "line"),
        ("level=premium&severity=high&opened=2026-04-03T17:30:00Z&metric=line_pickup", "metric"),
    ],
)
def test_a_bad_due_parameter_answers_400_naming_it(desk: Engine, query_string: str, field: str) -> None:
    status, body, _ = call(desk, f"/v1/due?{query_string}".replace("+", "%2B"), AGENT)
    assert status == 400
    assert body["error"]["field"] == field


# ----- routes and failures ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/v1/nothing"), ("GET", "/v2/queue"), ("POST", "/v1/queue"), ("GET", "/")]
)
def test_an_unknown_route_answers_404_with_the_error_body(desk: Engine, method: str, path: str) -> None:
    status, body, _ = call(desk, path, AGENT, method=method)
    assert (status, body) == (404, error(404, "no such route", None))


def test_a_failure_answers_500_without_its_details_and_is_counted(desk: Engine) -> None:
    class Broken:
        queue = None

        def load_ticket(self, ticket_id: str) -> Any:
            raise RuntimeError("secret detail of customer C-A at /var/task/infra/store/dynamodb.py")

        def load_plans(self, customer_id: str) -> Any:
            raise AssertionError("not reached")

    query.configure(query.wire(QueryService(Broken(), desk.service.catalog), desk.clock))  # type: ignore[arg-type]
    try:
        with printed() as out:
            response = query.handler(
                api_event("GET", "/v1/tickets/T-A1/sla", {"x-sla-scope": AGENT}), FakeLambdaContext("Q")
            )
    finally:
        query.configure(query.wire(QueryService(desk.service.store, desk.service.catalog), desk.clock))  # type: ignore[arg-type]
    assert response["statusCode"] == 500
    assert json.loads(response["body"]) == error(500, "internal error", None)
    assert "secret" not in response["body"] and "Traceback" not in response["body"]
    assert '"QueryFailures":[1.0]' in out.getvalue()


def test_the_board_is_one_self_contained_page(desk: Engine) -> None:
    status, page, headers = call(desk, "/v1/board", AGENT)

    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert page.startswith("<!DOCTYPE html>")
    for outside in (
        "<link",
        "<img",
        "<iframe",
        "@import",
        "url(",
        'src="',
        "@font-face",
        "http://",
        "https://",
    ):
        assert outside not in page, outside
    policy = headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
    assert headers["Referrer-Policy"] == "no-referrer"


def _iso(epoch_seconds: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(
    ("jwt", "agent"),
    [
        ({"claims": {"scope": "openid sla/agent"}, "scopes": None}, True),
        ({"claims": {"scp": "[sla/agent profile]"}}, True),  # a list claim, as API Gateway passes it on
        ({"claims": {"sub": "x"}, "scopes": ["sla/agent"]}, True),  # a route with authorization scopes
        ({"claims": {"scope": "sla/agents", "customer_id": "C-A"}}, False),
        (None, False),
    ],
)
def test_the_agent_scope_is_read_wherever_the_authorizer_puts_it(
    desk: Engine, jwt: dict[str, Any] | None, agent: bool
) -> None:
    event = api_event("GET", "/v1/queue", {})
    event["requestContext"]["authorizer"] = {"jwt": jwt} if jwt is not None else None
    with printed():
        response = query.handler(event, FakeLambdaContext("QueryFunction"))
    assert response["statusCode"] == (200 if agent else 403)
