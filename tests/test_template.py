"""template.yaml: lint-clean, least privilege, Powertools settings, and the resources it builds on moto."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from cfnlint.api import lint_file

from infra.local_stack import DEFAULT_TEMPLATE, FUNCTIONS, LocalResources, load_template
from tests.samples import load_sample

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]

# What each function may do, per SPEC and the single-table design; anything more is a finding.
EXPECTED_ACTIONS = {
    "IngestFunction": {
        "dynamodb:Query",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:DeleteItem",  # only REJECTED# and CUSTOMER# items: test_deletes_are_limited_...
        "dynamodb:BatchWriteItem",  # only REJECTED# and TICKET# items: test_batch_writes_are_limited_...
    },
    "SweeperFunction": {
        "dynamodb:Query",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:DeleteItem",  # only REJECTED# and CUSTOMER# items, as for ingest
        "dynamodb:BatchWriteItem",  # only REJECTED# items
    },
    "NotifierFunction": {
        "dynamodb:Query",  # only OUTBOX# partitions: the ticket's undelivered outbox items
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "sns:Publish",
        "ses:SendEmail",
        "ssm:GetParameter",
        "secretsmanager:GetSecretValue",
        "sqs:SendMessage",
    },
}


def statements(function: str) -> list[dict[str, Any]]:
    found = []
    for policy in RESOURCES[function]["Properties"].get("Policies", []):
        assert isinstance(policy, dict) and set(policy) == {"Statement"}, (
            f"{function}: only explicit statements, no managed policies or policy templates: {policy!r}"
        )
        found.extend(policy["Statement"])
    return found


def actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def test_cfn_lint_reports_nothing() -> None:
    findings = lint_file(DEFAULT_TEMPLATE)
    assert [str(finding) for finding in findings] == []


def test_functions_are_the_three_handlers_on_arm64_python312() -> None:
    functions = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::Serverless::Function"}
    assert {k: v["Properties"]["Handler"] for k, v in functions.items()} == {
        "IngestFunction": "functions.ingest.handler",
        "SweeperFunction": "functions.sweeper.handler",
        "NotifierFunction": "functions.notifier.handler",
    }
    assert set(FUNCTIONS) == set(functions)
    defaults = TEMPLATE["Globals"]["Function"]
    assert defaults["Runtime"] == "python3.12"
    assert defaults["Architectures"] == ["arm64"]
    assert defaults["Tracing"] == "Active"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_policies_are_least_privilege(function: str) -> None:
    granted = [action for statement in statements(function) for action in actions(statement)]
    assert all("*" not in action for action in granted), granted
    assert "dynamodb:Scan" not in granted
    assert set(granted) == EXPECTED_ACTIONS[function]
    for statement in statements(function):
        assert statement["Effect"] == "Allow"
        assert statement["Resource"] != "*"


def test_only_the_sweeper_reads_the_due_index() -> None:
    def resources(function: str) -> list[Any]:
        found = []
        for statement in statements(function):
            resource = statement["Resource"]
            found.extend(resource if isinstance(resource, list) else [resource])
        return found

    due_index = {"Fn::Sub": "${SlaTable.Arn}/index/due-index"}
    assert due_index in resources("SweeperFunction")
    assert due_index not in resources("IngestFunction") + resources("NotifierFunction")


def test_no_secret_values_in_the_template() -> None:
    text = DEFAULT_TEMPLATE.read_text(encoding="utf-8").lower()
    for marker in ("hooks.slack.com", "routing_key", "integration_key", "password"):
        assert marker not in text


@pytest.mark.parametrize("function", FUNCTIONS)
def test_powertools_environment_with_event_logging_off(resources: LocalResources, function: str) -> None:
    environment = resources.environment(function)
    assert environment["POWERTOOLS_SERVICE_NAME"] == "sla-engine"
    assert environment["POWERTOOLS_METRICS_NAMESPACE"] == "SlaEngine"
    assert environment["POWERTOOLS_LOG_LEVEL"] == "INFO"
    assert environment["POWERTOOLS_LOGGER_LOG_EVENT"] == "false"
    assert environment["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"
    assert environment["SLA_TABLE_NAME"] == resources.table_name


def test_notifier_environment_points_at_its_resources(resources: LocalResources) -> None:
    environment = resources.environment("NotifierFunction")
    assert environment["ONCALL_TOPIC_ARN"] == resources.oncall_topic_arn
    assert environment["NOTIFIER_DLQ_URL"] == resources.notifier_dead_letter_queue_url
    assert environment["ROUTES_PARAMETER_NAME"] == "/sla-engine/routes"
    assert environment["SES_SENDER"]
    assert "ONCALL_TOPIC_ARN" not in resources.environment("IngestFunction")


def test_notifier_stream_passes_only_inserted_effects() -> None:
    outbox = RESOURCES["NotifierFunction"]["Properties"]["Events"]["Outbox"]["Properties"]
    (only,) = outbox["FilterCriteria"]["Filters"]
    assert json.loads(only["Pattern"]) == {
        "eventName": ["INSERT"],
        "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "OUTBOX#"}]}}},
    }
    assert outbox["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert outbox["BisectBatchOnFunctionError"] is True
    assert outbox["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["NotifierDeadLetterQueue", "Arn"]
    }


def test_moto_table_has_the_due_index_stream_and_ttl(aws: boto3.Session, table: Any) -> None:
    (index,) = table.global_secondary_indexes
    assert index["IndexName"] == "due-index"
    assert [k["AttributeName"] for k in index["KeySchema"]] == ["gsi1pk", "gsi1sk"]
    assert [k["AttributeName"] for k in table.key_schema] == ["pk", "sk"]
    assert table.stream_specification == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    assert table.latest_stream_arn
    assert table.billing_mode_summary["BillingMode"] == "PAY_PER_REQUEST"
    ttl = aws.client("dynamodb").describe_time_to_live(TableName=table.name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiration"}


def test_due_index_is_sparse(table: Any) -> None:
    table.put_item(Item={"pk": "TICKET#T-1001", "sk": "STATE", "version": 1})
    table.put_item(
        Item={
            "pk": "TICKET#T-1001",
            "sk": "TIMER",
            "gsi1pk": "DUE",
            "gsi1sk": "0001741597200#T-1001",
            "due_at": "2025-03-10T09:00:00Z",
        }
    )
    due = table.query(
        IndexName="due-index",
        KeyConditionExpression="gsi1pk = :due AND gsi1sk <= :now",
        ExpressionAttributeValues={":due": "DUE", ":now": "0001741600000~"},
    )["Items"]
    assert [(item["pk"], item["sk"], item["due_at"]) for item in due] == [
        ("TICKET#T-1001", "TIMER", "2025-03-10T09:00:00Z")
    ]


def test_ingest_queue_redrives_to_its_dead_letter_queue(
    aws: boto3.Session, resources: LocalResources
) -> None:
    sqs = aws.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=resources.ingest_queue_url, AttributeNames=["All"])[
        "Attributes"
    ]
    dlq_arn = sqs.get_queue_attributes(
        QueueUrl=resources.ingest_dead_letter_queue_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}
    assert int(attributes["VisibilityTimeout"]) >= 6 * TEMPLATE["Globals"]["Function"]["Timeout"]


def test_bus_rule_routes_support_events_to_the_ingest_queue(
    aws: boto3.Session, resources: LocalResources
) -> None:
    sample = load_sample("ticket-opened")
    entries = [
        {
            "EventBusName": resources.bus_name,
            "Source": sample["source"],
            "DetailType": sample["detail-type"],
            "Detail": json.dumps(sample["detail"]),
        },
        {"EventBusName": resources.bus_name, "Source": "billing", "DetailType": "Invoice", "Detail": "{}"},
    ]
    assert aws.client("events").put_events(Entries=entries)["FailedEntryCount"] == 0
    received = aws.client("sqs").receive_message(QueueUrl=resources.ingest_queue_url, MaxNumberOfMessages=10)
    bodies = [json.loads(message["Body"]) for message in received.get("Messages", [])]
    assert [(body["detail-type"], body["detail"]) for body in bodies] == [("Ticket Opened", sample["detail"])]


def test_deletes_are_limited_to_rejection_records_and_registrations() -> None:
    """Ingest and sweeper withdraw rejections and drop a closed ticket's registration; nothing else."""
    for function in ("IngestFunction", "SweeperFunction"):
        statements = [
            statement
            for policy in RESOURCES[function]["Properties"]["Policies"]
            for statement in policy["Statement"]
            if "dynamodb:DeleteItem" in str(statement["Action"])
        ]
        assert len(statements) == 1, function
        assert statements[0]["Action"] == "dynamodb:DeleteItem"
        leading = statements[0]["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
        assert leading == ["REJECTED#*", "CUSTOMER#*"], function


@pytest.mark.parametrize(
    ("function", "partitions"),
    [("IngestFunction", ["REJECTED#*", "TICKET#*"]), ("SweeperFunction", ["REJECTED#*"])],
)
def test_batch_writes_are_limited_to_rejections_and_marked_timers(
    function: str, partitions: list[str]
) -> None:
    """BatchWriteItem can put and delete: it is limited to the partitions the store batch-writes."""
    (statement,) = [s for s in statements(function) if "dynamodb:BatchWriteItem" in str(s["Action"])]
    assert statement["Action"] == "dynamodb:BatchWriteItem"
    assert statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] == partitions
