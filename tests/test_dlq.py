"""`sla-engine dlq list|show|redrive` (issue 8, item 10), through typer's CliRunner, on moto.

Locally the command builds its own moto stack from template.yaml; these tests put real dead letters in it the
way the deployed stack gets them: ingest events that keep failing (a throttled table) until the ingest
queue's RedrivePolicy moves them, and deliveries that fail through `--replay --outage` (the notifier's own
DLQ messages for a 400, the stream mapping's OnFailure records for a 503). A wrapper around
local.dlq.local_target.open_local runs code on that stack before the command acts, and reads it back after.

On AWS the command takes `--profile`/`--region` with `--stack` or `--queue-url`; here the account is moto's
(the `aws` fixture), with the template's queues (local.stack) and, for `--stack`, a CloudFormation stack
whose outputs name them.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from typer.testing import CliRunner, Result

from cli.dlq import AwsTarget
from cli.main import app
from infra.store import Store
from infra.ticket_service import TicketService
from infra.views import iso
from local.dlq import local_target
from local.dlq.ingest_redrive import redrive_ingest
from local.dlq.stream_engine import StreamEngine
from local.stack import LocalResources, load_template
from tests.conftest import CATALOG, epoch, eventbridge
from tests.delivery_harness import ENTERPRISE, MINUTE, client_error
from tests.samples import load_sample

runner = CliRunner(env={"SLA_CATALOG_PATH": None})
SUBJECT = "Disk failure on srv-7: RAID array degraded"  # events/ticket-opened.json
CONTACT = "ops@c42.example"  # events/support-plan-changed.json
HOUR = 3600


def run(*args: str) -> Result:
    return runner.invoke(app, ["dlq", *args])


def one_line_error(result: Result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


# ----- the local stack the command builds, with code run on it before and after the command ------------------


@dataclass
class LocalStackHooks:
    before: list[Callable[[StreamEngine], None]] = field(default_factory=list)
    after: list[Callable[[StreamEngine], None]] = field(default_factory=list)


@pytest.fixture
def local_stack(monkeypatch: pytest.MonkeyPatch) -> LocalStackHooks:
    hooks = LocalStackHooks()
    real = local_target.open_local

    @contextmanager
    def instrumented(*args: Any, **kwargs: Any) -> Iterator[local_target.LocalTarget]:
        with real(*args, **kwargs) as target:
            for hook in hooks.before:
                hook(target.engine)
            try:
                yield target
            finally:  # after the command, also one that stopped on an error
                for hook in hooks.after:
                    hook(target.engine)

    monkeypatch.setattr(local_target, "open_local", instrumented)
    return hooks


class ThrottledWrites:
    """A DynamoDB client whose writes are all throttled: every delivery of an event fails, as in a long spell
    of throttling, and SQS redelivers it until its RedrivePolicy moves it to the DLQ."""

    WRITES = frozenset({"transact_write_items", "put_item", "update_item", "batch_write_item", "delete_item"})

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if name not in self.WRITES:
            return method

        def throttled(**kwargs: Any) -> Any:
            raise client_error("ThrottlingException", name, "Rate exceeded (injected)")

        return throttled


def dead_letter(*events: dict[str, Any]) -> Callable[[StreamEngine], None]:
    """A hook that runs `events` through the ingest queue while the table throttles every write."""

    def hook(engine: StreamEngine) -> None:
        from functions import ingest

        engine.now = max(epoch(event["time"]) for event in events)  # when they were sent (events/ are old)
        working = ingest.dependencies()
        store = Store(ThrottledWrites(engine.dynamodb), engine.resources.table_name)
        failing = TicketService(store, CATALOG, sleep=lambda _: None)
        ingest.configure(ingest.Dependencies(failing, engine.clock))
        try:
            for event in events:
                engine.send_to_ingest_queue(json.dumps(event))
        finally:
            ingest.configure(working)

    return hook


def queue_bodies(engine: StreamEngine, url: str) -> list[str]:
    """The bodies of a queue's messages, left in it."""
    sqs = engine.session.client("sqs")
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get(
        "Messages", []
    )
    return sorted(m["Body"] for m in messages)


def test_a_fresh_local_stack_has_an_empty_dead_letter_queue_and_says_where_it_looked() -> None:
    result = run("list", "--queue", "ingest")
    assert result.exit_code == 0, result.output
    assert "IngestDeadLetterQueue of the local stack (moto, built from template.yaml" in result.stdout
    assert "no messages" in result.stdout


def test_ingest_dead_letters_are_listed_shown_redacted_and_redriven_into_the_ingest(
    local_stack: LocalStackHooks,
) -> None:
    plan, opened = load_sample("support-plan-changed"), load_sample("ticket-opened")
    local_stack.before.append(dead_letter(plan, opened))

    listed = run("list", "--queue", "ingest", "--format", "json")
    assert listed.exit_code == 0, listed.output
    messages = json.loads(listed.stdout)["messages"]
    assert [m["summary"] for m in messages] == [
        "Support Plan Changed: customer C-42, event cp-evt-0001",
        "Ticket Open: ticket T-1001, event cp-evt-0002".replace("Open", "Opened"),
    ]
    # Received 5 times by the ingest (the RedrivePolicy's maxReceiveCount), then once by this look.
    assert [m["receive_count"] for m in messages] == [6, 6]
    assert [m["position"] for m in messages] == [1, 2] and {m["kind"] for m in messages} == {"event"}

    table = run("list", "--queue", "ingest")
    assert table.exit_code == 0
    assert "IngestDeadLetterQueue of the local stack" in table.stdout and "2 messages" in table.stdout
    assert "Ticket Opened: ticket T-1001, event cp-evt-0002" in table.stdout

    shown_by_id: dict[str, Any] = {}
    for wanted in ("1", "2"):  # positions in `list`: each local run builds a new stack, with new ids
        shown = run("show", wanted, "--queue", "ingest")
        assert shown.exit_code == 0, shown.output
        document = json.loads(shown.stdout)
        assert document["queue"] == "IngestDeadLetterQueue" and document["kind"] == "event"
        # No personal data: no contact address, no subject; the rest of the event is there to read.
        assert CONTACT not in shown.stdout and SUBJECT not in shown.stdout and "@" not in shown.stdout
        shown_by_id[document["body"]["detail"]["event_id"]] = document["body"]["detail"]
    assert shown_by_id["cp-evt-0001"]["contact_email"] == f"[removed: {len(CONTACT)} characters]"
    assert shown_by_id["cp-evt-0002"]["subject"] == f"[removed: {len(SUBJECT)} characters]"
    assert shown_by_id["cp-evt-0002"]["severity"] == "high"

    seen: dict[str, Any] = {}

    def after(engine: StreamEngine) -> None:
        seen["dlq"] = queue_bodies(engine, engine.resources.ingest_dead_letter_queue_url)
        seen["queue"] = queue_bodies(engine, engine.resources.ingest_queue_url)
        engine.run_ingest_queue()  # the ingest's event source takes them, the table no longer throttled
        seen["tickets"] = engine.ticket_ids()

    local_stack.after.append(after)
    redriven = run("redrive", "--queue", "ingest")
    assert redriven.exit_code == 0, redriven.output
    assert redriven.stdout.count("redriven: ") == 2
    assert "2 handled, 0 left in the queue" in redriven.stdout
    # Moved, not copied: the DLQ is empty, the queue holds each event once, unchanged; and it is ingested.
    assert seen["dlq"] == []
    assert seen["queue"] == sorted([json.dumps(plan), json.dumps(opened)])
    assert seen["tickets"] == ["T-1001"]


def test_redriving_named_ingest_messages_moves_only_those(local_stack: LocalStackHooks) -> None:
    plan, opened = load_sample("support-plan-changed"), load_sample("ticket-opened")
    local_stack.before.append(dead_letter(plan, opened))
    seen: dict[str, Any] = {}

    def after(engine: StreamEngine) -> None:
        seen["dlq"] = queue_bodies(engine, engine.resources.ingest_dead_letter_queue_url)
        seen["queue"] = queue_bodies(engine, engine.resources.ingest_queue_url)

    local_stack.after.append(after)
    result = run("redrive", "2", "--queue", "ingest", "--format", "json")
    assert result.exit_code == 0, result.output
    (outcome,) = json.loads(result.stdout)["outcomes"]
    assert (outcome["status"], outcome["summary"]) == (
        "redriven",
        "Ticket Opened: ticket T-1001, event cp-evt-0002",
    )
    assert seen == {"dlq": [json.dumps(plan)], "queue": [json.dumps(opened)]}

    # A name that is no message stops the redrive before anything moves, and leaves every message visible.
    line = one_line_error(run("redrive", "1", "no-such-id", "--queue", "ingest"))
    assert line.startswith("Error: ID: no message 'no-such-id' in IngestDeadLetterQueue")
    assert "nothing was redriven" in line
    assert seen == {"dlq": sorted([json.dumps(plan), json.dumps(opened)]), "queue": []}
    line = one_line_error(run("show", "7", "--queue", "ingest"))
    assert line.startswith("Error: ID: no message '7' in IngestDeadLetterQueue")


# ----- the notifier's dead letters, from deliveries that really failed ----------------------------------------


def story_file(tmp_path: Path, *, late_reply_after: int) -> Path:
    """Ticket T-ENT (enterprise, high, opened at unit 5: first response due at 35, then paged), and an agent
    reply `late_reply_after` seconds after the opening, which resolves the page."""
    events = {e.name: e for e in ENTERPRISE.events()}
    opened = events["ent-opened"]
    reply_at = opened.occurred_at + late_reply_after
    reply = eventbridge(
        "Ticket Message Posted",
        {
            "event_id": "ent-late-reply",
            "occurred_at": iso(reply_at),
            "customer_id": "C-ENT",
            "ticket_id": "T-ENT",
            "author": "agent",
            "visibility": "public",
            "message_id": "m-ent-late-reply",
        },
    )
    path = tmp_path / "story.jsonl"
    lines = [events["ent-plan"].envelope, opened.envelope, reply]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def pagerduty_actions(engine: StreamEngine, since: int = 0) -> list[tuple[str, str]]:
    """(action, routing key) of the PagerDuty requests for T-ENT's first response, from the `since`-th on."""
    return [
        (request.document["event_action"], request.document["routing_key"])
        for request in engine.http.requests[since:]
        if str(request.document.get("dedup_key", "")).startswith("T-ENT/first_response/")
    ]


def undelivered_outbox(engine: StreamEngine) -> list[str]:
    return sorted(item["sk"] for item in engine.items_of_kind("outbox") if "delivered_at" not in item)


def test_a_400_parks_the_pages_and_redrive_leaves_them_for_the_operator(
    tmp_path: Path, local_stack: LocalStackHooks
) -> None:
    story = story_file(tmp_path, late_reply_after=55 * MINUTE)
    options = ["--queue", "notifier", "--replay", str(story), "--outage", "400"]
    listed = run("list", *options, "--format", "json")
    assert listed.exit_code == 0, listed.output
    messages = json.loads(listed.stdout)["messages"]
    assert messages and {m["kind"] for m in messages} == {"parked_effect"}
    # The page's steps (PagerDuty for on-call and the duty manager, Slack for the account manager), then the
    # resolves: each channel that answered 400, with its reason.
    summaries = [m["summary"] for m in messages]
    assert summaries[0] == (
        "effect T-ENT:first_response:ent-opened:trigger:0 of ticket T-ENT: pagerduty refused it (pagerduty_http_400)"
    )
    assert all(
        re.search(r"of ticket T-ENT: (pagerduty|slack) refused it \(\w+_http_400\)$", s) for s in summaries
    )

    shown = json.loads(run("show", "1", *options).stdout)
    assert shown["body"]["channel"] == "pagerduty" and shown["body"]["effect"]["ticket_id"] == "T-ENT"
    assert shown["message_attributes"]["channel"] == "pagerduty"

    seen: dict[str, Any] = {}
    local_stack.after.append(
        lambda engine: seen.update(left=queue_bodies(engine, engine.resources.notifier_dead_letter_queue_url))
    )
    kept = run("redrive", *options)
    assert kept.exit_code == 1, kept.output
    assert kept.stdout.count("kept: ") == len(messages)
    assert "a retry cannot help" in kept.stdout
    assert len(seen["left"]) == min(len(messages), 10)


def test_a_503_outage_leaves_stream_batches_that_redrive_reads_again_and_delivers_in_order(
    tmp_path: Path, local_stack: LocalStackHooks
) -> None:
    story = story_file(tmp_path, late_reply_after=55 * MINUTE)
    options = ["--queue", "notifier", "--replay", str(story), "--outage", "503"]
    listed = run("list", *options, "--format", "json")
    assert listed.exit_code == 0, listed.output
    messages = json.loads(listed.stdout)["messages"]
    assert messages and {m["kind"] for m in messages} == {"stream_batch"}
    assert all(m["summary"].startswith("stream batch of 1 record (RetryAttemptsExhausted)") for m in messages)

    shown = json.loads(run("show", "1", *options).stdout)
    info = shown["body"]["DDBStreamBatchInfo"]
    assert info["streamArn"].startswith(
        "arn:aws:dynamodb:eu-west-1:123456789012:table/sla-engine-local-SlaTable/"
    )
    assert shown["body"]["requestContext"]["approximateInvokeCount"] == 6  # MaximumRetryAttempts 5, + 1

    seen: dict[str, Any] = {}

    def before(engine: StreamEngine) -> None:
        seen["undelivered_before"] = undelivered_outbox(engine)
        seen["tried_in_the_outage"] = len(engine.http.requests)

    def after(engine: StreamEngine) -> None:
        seen["left"] = queue_bodies(engine, engine.resources.notifier_dead_letter_queue_url)
        seen["undelivered"] = undelivered_outbox(engine)
        seen["pages"] = pagerduty_actions(engine, since=seen["tried_in_the_outage"])

    local_stack.before.append(before)
    local_stack.after.append(after)
    redriven = run("redrive", *options)
    assert redriven.exit_code == 0, redriven.output
    assert redriven.stdout.count("redriven: ") == len(messages)
    assert "(outbox of T-ENT): all delivered" in redriven.stdout
    assert seen["undelivered_before"] and seen["left"] == [] and seen["undelivered"] == []
    # After the outage, each route's page and its resolve reached PagerDuty once, the page first.
    pages = seen["pages"]
    assert pages[0][0] == "trigger" and pages[-1][0] == "resolve"
    assert len(pages) == len(set(pages)) and {action for action, _ in pages} == {"trigger", "resolve"}


def test_records_past_the_streams_24_hours_are_said_gone_and_the_tickets_next_record_delivers_them(
    tmp_path: Path, local_stack: LocalStackHooks
) -> None:
    """The page (unit 35) failed 30 h before the run ends: its records are past the stream's 24 h. The reply
    that resolves it (30 h later) failed too, but recently: its redrive delivers the ticket's whole backlog,
    the expired page included."""
    story = story_file(tmp_path, late_reply_after=30 * HOUR)
    options = ["--queue", "notifier", "--replay", str(story), "--outage", "503"]
    seen: dict[str, Any] = {}

    def before(engine: StreamEngine) -> None:
        seen["tried_in_the_outage"] = len(engine.http.requests)

    def after(engine: StreamEngine) -> None:
        seen["left"] = queue_bodies(engine, engine.resources.notifier_dead_letter_queue_url)
        seen["undelivered"] = undelivered_outbox(engine)
        seen["pages"] = pagerduty_actions(engine, since=seen["tried_in_the_outage"])

    local_stack.before.append(before)
    local_stack.after.append(after)
    result = run("redrive", *options, "--format", "json")
    assert result.exit_code == 1, result.output  # the expired pointers are left in the queue
    outcomes = json.loads(result.stdout)["outcomes"]
    statuses = [o["status"] for o in outcomes]
    assert "expired" in statuses and statuses[-1] == "redriven"
    expired = next(o for o in outcomes if o["status"] == "expired")
    assert "past the stream's 24 h" in expired["detail"]
    assert "OUTBOX items, still in the table without delivered_at" in expired["detail"]
    assert "each ticket's next stream record delivers them" in expired["detail"]
    assert len(seen["left"]) == statuses.count("expired")
    assert seen["undelivered"] == []
    pages = seen["pages"]
    assert pages[0][0] == "trigger" and pages[-1][0] == "resolve" and len(pages) == len(set(pages))

    dropped = run("redrive", *options, "--drop-expired")
    assert dropped.exit_code == 0, dropped.output
    assert "pointer removed (--drop-expired)" in dropped.stdout
    assert seen["left"] == []


def test_local_only_and_bad_options_are_one_line_errors(tmp_path: Path) -> None:
    assert one_line_error(run("list", "--queue", "outbox")).startswith(
        "Error: --queue: unknown queue 'outbox'; known: ingest, notifier"
    )
    assert one_line_error(run("list", "--queue", "ingest", "--outage", "200")).startswith(
        "Error: --outage: 200"
    )
    assert one_line_error(run("list", "--queue", "ingest", "--limit", "0")).startswith("Error: --limit:")
    assert one_line_error(run("list", "--queue", "ingest", "--until", "2026-04-07T00:00:00")).startswith(
        "Error: --until:"
    )
    assert one_line_error(
        run("list", "--queue", "ingest", "--replay", str(tmp_path / "none.jsonl"))
    ).startswith("Error: --replay: cannot read")
    assert one_line_error(run("redrive", "--queue", "ingest", "--drop-expired")).startswith(
        "Error: --drop-expired: only for --queue notifier"
    )
    bad_catalog = tmp_path / "catalog.toml"
    bad_catalog.write_text("levels = [", encoding="utf-8")
    assert one_line_error(run("list", "--queue", "ingest", "--catalog", str(bad_catalog))).startswith(
        "Error: --catalog:"
    )


# ----- on an account: --region / --profile with --queue-url or --stack ---------------------------------------


def fail_into_dead_letter_queue(
    aws: boto3.Session, resources: LocalResources, *events: dict[str, Any]
) -> None:
    """Events sent to the ingest queue and received 5 times without being deleted (an ingest that keeps
    failing): SQS moves them to the DLQ by the queue's RedrivePolicy."""
    sqs = aws.client("sqs")
    for event in events:
        sqs.send_message(QueueUrl=resources.ingest_queue_url, MessageBody=json.dumps(event))
    for _ in range(6):
        sqs.receive_message(QueueUrl=resources.ingest_queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0)


def test_on_an_account_the_queue_url_is_enough_and_redrive_finds_its_source_queue(
    aws: boto3.Session, resources: LocalResources
) -> None:
    opened = load_sample("ticket-opened")
    fail_into_dead_letter_queue(aws, resources, opened)
    account = [
        "--queue",
        "ingest",
        "--region",
        "eu-west-1",
        "--queue-url",
        resources.ingest_dead_letter_queue_url,
    ]

    listed = run("list", *account, "--format", "json")
    assert listed.exit_code == 0, listed.output
    (message,) = json.loads(listed.stdout)["messages"]
    assert message["summary"] == "Ticket Opened: ticket T-1001, event cp-evt-0002"
    assert json.loads(listed.stdout)["where"].endswith(resources.ingest_dead_letter_queue_url)

    shown = run("show", message["id"], *account)
    assert shown.exit_code == 0 and SUBJECT not in shown.stdout

    # No StartMessageMoveTask here (moto has none): received, sent to the DLQ's source queue, deleted.
    redriven = run("redrive", *account)
    assert redriven.exit_code == 0, redriven.output
    assert "redriven: " in redriven.stdout
    sqs = aws.client("sqs")
    back = sqs.receive_message(QueueUrl=resources.ingest_queue_url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in back] == [json.dumps(opened)]
    left = sqs.receive_message(QueueUrl=resources.ingest_dead_letter_queue_url).get("Messages", [])
    assert left == []


def test_on_an_account_the_stack_outputs_name_the_queues(
    aws: boto3.Session, resources: LocalResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--stack`: the queues are the stack's outputs (template.yaml's Outputs). moto's CloudFormation needs
    more than the project installs, so DescribeStacks answers through botocore's stubber (which checks the
    call against the API model); SQS is moto's."""
    fail_into_dead_letter_queue(aws, resources, load_sample("support-plan-changed"))
    outputs = {
        "IngestQueueUrl": resources.ingest_queue_url,
        "IngestDeadLetterQueueUrl": resources.ingest_dead_letter_queue_url,
        "NotifierDeadLetterQueueUrl": resources.notifier_dead_letter_queue_url,
    }
    assert set(outputs) <= set(load_template()["Outputs"])
    cloudformation = boto3.client("cloudformation", region_name="eu-west-1")
    stub = Stubber(cloudformation)
    stack = {
        "StackName": "sla-engine-prod",
        "CreationTime": datetime(2026, 4, 1, tzinfo=UTC),
        "StackStatus": "UPDATE_COMPLETE",
        "Outputs": [{"OutputKey": key, "OutputValue": value} for key, value in outputs.items()],
    }
    for _ in range(2):
        stub.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": "sla-engine-prod"})
    stub.add_client_error(
        "describe_stacks",
        "ValidationError",
        "Stack with id nope does not exist",
        expected_params={"StackName": "nope"},
    )
    stub.activate()
    real_client = boto3.Session.client

    def client(self: boto3.Session, service: str, *args: Any, **kwargs: Any) -> Any:
        return cloudformation if service == "cloudformation" else real_client(self, service, *args, **kwargs)

    monkeypatch.setattr(boto3.Session, "client", client)

    listed = run("list", "--queue", "ingest", "--region", "eu-west-1", "--stack", "sla-engine-prod")
    assert listed.exit_code == 0, listed.output
    assert "IngestDeadLetterQueue of stack sla-engine-prod in eu-west-1" in listed.stdout
    assert "Support Plan Changed: customer C-42, event cp-evt-0001" in listed.stdout
    empty = run("list", "--queue", "notifier", "--region", "eu-west-1", "--stack", "sla-engine-prod")
    assert empty.exit_code == 0 and "no messages" in empty.stdout
    assert one_line_error(run("list", "--queue", "ingest", "--region", "eu-west-1", "--stack", "nope")) == (
        "Error: --stack: no stack 'nope' in this account and region"
    )
    stub.assert_no_pending_responses()


def test_on_an_account_wrong_or_missing_options_are_one_line_errors(
    aws: boto3.Session, resources: LocalResources
) -> None:
    assert one_line_error(
        run("list", "--queue", "ingest", "--stack", "sla-engine-prod", "--replay", "events/scenario.jsonl")
    ).startswith("Error: --replay: only for the local stack")
    assert one_line_error(run("list", "--queue", "ingest", "--region", "eu-west-1")).startswith(
        "Error: --stack:"
    )
    assert one_line_error(
        run(
            "list", "--queue", "ingest", "--stack", "s", "--queue-url", resources.ingest_dead_letter_queue_url
        )
    ).startswith("Error: --queue-url: give --stack or --queue-url, not both")
    assert one_line_error(
        run("list", "--queue", "ingest", "--stack", "s", "--profile", "no-such-profile")
    ).startswith("Error: --profile: no profile 'no-such-profile'")
    missing = resources.ingest_dead_letter_queue_url + "-gone"
    assert one_line_error(
        run("list", "--queue", "ingest", "--region", "eu-west-1", "--queue-url", missing)
    ).startswith("Error: --queue-url: the queue does not exist")


def test_on_an_account_ingest_redrive_starts_an_sqs_message_move_task_and_follows_it() -> None:
    """Where SQS offers StartMessageMoveTask (not in moto: botocore's stubber checks the calls against the
    API model), the whole queue moves by one task, from the DLQ to the ingest queue."""
    session = boto3.Session(region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    dlq_url = "https://sqs.eu-west-1.amazonaws.com/123456789012/sla-engine-prod-IngestDeadLetterQueue"
    queue_url = "https://sqs.eu-west-1.amazonaws.com/123456789012/sla-engine-prod-IngestQueue"
    target = AwsTarget(session, "stack sla-engine-prod", {"ingest": dlq_url}, queue_url)
    arn = "arn:aws:sqs:eu-west-1:123456789012:sla-engine-prod-{}"
    with Stubber(target.sqs) as stub:
        for url, name in ((dlq_url, "IngestDeadLetterQueue"), (queue_url, "IngestQueue")):
            stub.add_response(
                "get_queue_attributes",
                {"Attributes": {"QueueArn": arn.format(name)}},
                {"QueueUrl": url, "AttributeNames": ["QueueArn"]},
            )
        source, destination = arn.format("IngestDeadLetterQueue"), arn.format("IngestQueue")
        stub.add_response(
            "start_message_move_task",
            {"TaskHandle": "task-1"},
            {"SourceArn": source, "DestinationArn": destination},
        )
        stub.add_response(
            "list_message_move_tasks",
            {
                "Results": [
                    {
                        "TaskHandle": "task-1",
                        "Status": "COMPLETED",
                        "SourceArn": source,
                        "DestinationArn": destination,
                        "ApproximateNumberOfMessagesMoved": 3,
                        "ApproximateNumberOfMessagesToMove": 3,
                    }
                ]
            },
            {"SourceArn": source, "MaxResults": 10},
        )
        (outcome,) = redrive_ingest(target)
        stub.assert_no_pending_responses()
    assert outcome.status == "redriven"
    assert outcome.detail == "SQS message move task completed: 3 of 3 messages moved to the ingest queue"


def test_on_an_account_the_notifier_is_invoked_and_its_answer_read() -> None:
    session = boto3.Session(region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    target = AwsTarget(session, "stack sla-engine-prod", {}, None)
    function = "arn:aws:lambda:eu-west-1:123456789012:function:sla-engine-prod-NotifierFunction-AbC123"
    event = {"Records": [{"eventID": "1"}]}
    expected = {
        "FunctionName": function,
        "InvocationType": "RequestResponse",
        "Payload": json.dumps(event).encode(),
    }
    with Stubber(target.functions) as stub:
        answers = (
            {"StatusCode": 200, "Payload": json.dumps({"batchItemFailures": []}).encode()},
            {
                "StatusCode": 200,
                "Payload": json.dumps({"batchItemFailures": [{"itemIdentifier": "42"}]}).encode(),
            },
            {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": b'{"errorMessage": "boom"}'},
        )
        for answer in answers:
            body = dict(answer, Payload=io.BytesIO(answer["Payload"]))  # type: ignore[arg-type]
            stub.add_response("invoke", body, expected)
        results = [target.invoke_notifier(function, event) for _ in answers]
    assert results[0].ok
    assert results[1].failed == ("42",) and not results[1].ok
    assert results[2].error == "Unhandled error: boom"
