"""events/: the samples of the functions the ingest queue does not feed, each checked against what produces it
in the deployed stack (so it cannot drift) and run through its handler, as `sam local invoke -e` and
`sla-engine invoke --event` take it.

- events/sweeper-scheduled-event.json: what SweeperFunction's schedule rule sends every minute;
- events/notifier-outbox-insert.json: the table-stream batch NotifierFunction gets when the store writes the
  outbox item of the sample story (events/support-plan-changed.json, then events/ticket-opened.json).
"""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from samtranslator.translator.transform import transform
from typer.testing import CliRunner

from cli.main import app
from infra.notify.outbox import OutboxEffect, read_item
from infra.store.keys import unmarshal
from infra.store.outbox import outbox_items
from local.dlq.stream_filter import passes, stream_mapping
from local.engine import LocalEngine
from local.notifier import stream_event
from local.stack import LOCAL_PARAMETERS, load_template
from tests.conftest import epoch
from tests.samples import ACCOUNT, EVENTS_DIR, REGION, load_sample, sqs_event

SWEEPER_SAMPLE = "sweeper-scheduled-event"
NOTIFIER_SAMPLE = "notifier-outbox-insert"
TEMPLATE = load_template()
runner = CliRunner()


class _NoManagedPolicies:
    def load(self) -> dict[str, str]:
        return {}


@functools.cache
def expanded_resources() -> dict[str, Any]:
    """template.yaml as `sam deploy` hands it to CloudFormation (the rules and mappings SAM generates)."""
    template = copy.deepcopy(TEMPLATE)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://packaged-artifacts/sla-engine.zip"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_DEFAULT_REGION", REGION)
        resources: dict[str, Any] = transform(template, dict(LOCAL_PARAMETERS), _NoManagedPolicies())[
            "Resources"
        ]
    return resources


# ----- the sweeper's schedule --------------------------------------------------------------------------------


def scheduled_rule(event: dict[str, Any], function: str) -> dict[str, Any]:
    """The rule SAM makes of `function`'s Schedule event, once `event` is checked to be what it sends: an
    EventBridge scheduled event naming that rule, as CloudFormation names a rule without a Name property
    (<stack>-<logical id>-<random suffix>)."""
    assert set(event) == {"version", "id", "detail-type", "source", "account", "time", "region", "resources",
                          "detail"}  # fmt: skip
    assert (event["source"], event["detail-type"], event["detail"]) == ("aws.events", "Scheduled Event", {})
    assert (event["account"], event["region"]) == (ACCOUNT, REGION)
    rules = {
        logical_id: resource["Properties"]
        for logical_id, resource in expanded_resources().items()
        if resource["Type"] == "AWS::Events::Rule"
        and {"Fn::GetAtt": [function, "Arn"]} in [t["Arn"] for t in resource["Properties"]["Targets"]]
    }
    ((logical_id, rule),) = rules.items()
    (arn,) = event["resources"]
    match = re.fullmatch(r"arn:aws:events:([a-z0-9-]+):(\d{12}):rule/(.+)", arn)
    assert match is not None, arn
    assert (match.group(1), match.group(2)) == (REGION, ACCOUNT)
    assert re.fullmatch(rf"[A-Za-z][A-Za-z0-9-]*-{logical_id}-[A-Z0-9]{{8,16}}", match.group(3)), arn
    return rule


def test_the_sweeper_sample_is_the_event_its_schedule_rule_sends() -> None:
    event = load_sample(SWEEPER_SAMPLE)
    rule = scheduled_rule(event, "SweeperFunction")
    assert rule["ScheduleExpression"] == "rate(1 minute)"
    # A rate(1 minute) rule fires on the minute.
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00Z", event["time"])


def test_the_sweeper_sample_fires_the_sample_tickets_due_breach() -> None:
    """At the sample's time, a minute after ticket T-1001's first response was due: the breach fires."""
    plan, opened, event = (
        load_sample("support-plan-changed"),
        load_sample("ticket-opened"),
        load_sample(SWEEPER_SAMPLE),
    )
    with LocalEngine(start=epoch(plan["time"])) as engine:
        engine.invoke("IngestFunction", sqs_event(plan))
        engine.now = epoch(opened["time"])
        engine.invoke("IngestFunction", sqs_event(opened))
        engine.now = epoch(event["time"])
        response = engine.invoke("SweeperFunction", event)
        assert (response["claimed"], response["failed"]) == (1, 0)
        effects = [
            view
            for item in engine.items_of_kind("outbox")
            for view in json.loads(item["effects"])
            if view["type"] == "alert"
        ]
    # Every step of the clock due by then, in order: the warnings, then the breach's page.
    kinds = [(e["kind"], e["metric"], e["ticket_id"]) for e in effects]
    assert kinds[-1] == ("trigger", "first_response", "T-1001")
    assert {kind for kind, _, _ in kinds[:-1]} == {"warning"}


def test_sla_engine_invoke_runs_the_sweeper_on_its_sample() -> None:
    result = runner.invoke(
        app,
        [
            "invoke",
            "SweeperFunction",
            "--event",
            str(EVENTS_DIR / f"{SWEEPER_SAMPLE}.json"),
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)["response"]
    assert {"items_read", "claimed", "failed", "effects", "backlog", "oldest_due_lag"} <= set(report)
    assert report["failed"] == 0


# ----- the notifier's stream batch -----------------------------------------------------------------------------


@functools.cache
def story_stream_records() -> tuple[dict[str, Any], ...]:
    """The stream records the deployed code writes for the sample story, read back from moto's table stream."""
    plan, opened = load_sample("support-plan-changed"), load_sample("ticket-opened")
    with LocalEngine(start=epoch(plan["time"])) as engine:
        engine.invoke("IngestFunction", sqs_event(plan))
        engine.now = epoch(opened["time"])
        engine.invoke("IngestFunction", sqs_event(opened))
        streams = engine.session.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled"))
        arn = engine.resources.table_stream_arn
        (shard,) = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        return tuple(streams.get_records(ShardIterator=iterator)["Records"])


def notifier_sample() -> dict[str, Any]:
    (record,) = load_sample(NOTIFIER_SAMPLE)["Records"]
    return record


def test_the_notifier_sample_is_the_insert_the_store_writes_for_the_sample_story() -> None:
    sample = notifier_sample()
    outbox_inserts = [
        r
        for r in story_stream_records()
        if r["eventName"] == "INSERT" and r["dynamodb"]["Keys"]["pk"]["S"].startswith("OUTBOX#")
    ]
    (written,) = outbox_inserts
    assert sample["eventName"] == "INSERT"
    assert sample["dynamodb"]["Keys"] == written["dynamodb"]["Keys"]
    assert sample["dynamodb"]["NewImage"] == written["dynamodb"]["NewImage"]
    view_type = TEMPLATE["Resources"]["SlaTable"]["Properties"]["StreamSpecification"]["StreamViewType"]
    assert sample["dynamodb"]["StreamViewType"] == view_type == "NEW_IMAGE"
    assert "OldImage" not in sample["dynamodb"]
    # The item is what infra/store/outbox.py writes for the effects it carries, at the ticket's commit.
    item = unmarshal(sample["dynamodb"]["NewImage"])
    entries = read_item(item).entries
    assert all(isinstance(entry, OutboxEffect) for entry in entries)
    effects = [entry.effect for entry in entries if isinstance(entry, OutboxEffect)]
    committed_at = epoch(load_sample("ticket-opened")["time"])
    assert outbox_items("T-1001", 1, effects, committed_at, int(item["expiration"])) == [item]
    assert sample["dynamodb"]["ApproximateCreationDateTime"] == committed_at
    assert int(item["expiration"]) == committed_at + 30 * 86_400  # RetentionDays' default


def test_the_notifier_sample_is_a_record_as_lambda_hands_it_over_and_passes_the_stream_filter() -> None:
    sample = notifier_sample()
    assert (sample["eventSource"], sample["eventVersion"], sample["awsRegion"]) == (
        "aws:dynamodb",
        "1.1",
        REGION,
    )
    assert re.fullmatch(r"[0-9a-f]{32}", sample["eventID"])
    assert re.fullmatch(r"\d{21,40}", sample["dynamodb"]["SequenceNumber"])
    assert isinstance(sample["dynamodb"]["SizeBytes"], int) and sample["dynamodb"]["SizeBytes"] > 0
    # The stream of a table CloudFormation named <stack>-SlaTable-<suffix>.
    stream = re.fullmatch(
        r"arn:aws:dynamodb:([a-z0-9-]+):(\d{12}):table/[A-Za-z][A-Za-z0-9-]*-SlaTable-[A-Z0-9]+/stream/"
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}",
        sample["eventSourceARN"],
    )
    assert stream is not None and stream.groups() == (REGION, ACCOUNT)
    # Nothing the local engine's rebuilt records carry (local/notifier.py) is missing from the sample.
    rebuilt = stream_event([unmarshal(sample["dynamodb"]["NewImage"])])["Records"][0]
    assert set(rebuilt) <= set(sample)
    assert set(rebuilt["dynamodb"]) <= set(sample["dynamodb"])
    # The event source mapping's filter (template.yaml) lets it through, and not its look-alikes.
    patterns = stream_mapping(TEMPLATE).patterns
    assert patterns and passes(sample, patterns)
    modified = {**sample, "eventName": "MODIFY"}
    ticket_item = copy.deepcopy(sample)
    ticket_item["dynamodb"]["Keys"]["pk"] = {"S": "TICKET#T-1001"}
    assert not passes(modified, patterns) and not passes(ticket_item, patterns)


def test_the_notifier_sample_delivers_the_customer_notice_through_the_handler() -> None:
    event = load_sample(NOTIFIER_SAMPLE)
    with LocalEngine(start=epoch(load_sample("ticket-opened")["time"])) as engine:
        # The record says the store wrote this item: it is in the table when the notifier reads it.
        (record,) = event["Records"]
        engine.dynamodb.put_item(TableName=engine.resources.table_name, Item=record["dynamodb"]["NewImage"])
        response = engine.invoke("NotifierFunction", event)
        (item,) = engine.items_of_kind("outbox")
    assert response == {"batchItemFailures": []}
    assert "delivered_at" in item
    (outcome,) = item["deliveries"].values()
    assert outcome["status"] == "delivered" and outcome["channels"] == ["email"]
    assert "ops@c42.example" not in item["effects"]  # the address is dropped once delivered


def test_sla_engine_invoke_runs_the_notifier_on_its_sample() -> None:
    path: Path = EVENTS_DIR / f"{NOTIFIER_SAMPLE}.json"
    result = runner.invoke(app, ["invoke", "NotifierFunction", "--event", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["response"] == {"batchItemFailures": []}
