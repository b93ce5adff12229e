"""template.yaml: lint-clean, least privilege, alarms, Powertools settings, and what it builds on moto.

tests/test_template_policies.py checks the roles and resource policies on the template as SAM expands it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, get_args

import boto3
import pytest
from cfnlint.api import lint_file

from infra.ticket_service import Status as IngestStatus
from local.stack import DEFAULT_TEMPLATE, FUNCTIONS, LocalResources, load_template
from tests.samples import load_sample
from tests.test_template_policies import RESOURCE_STAR_EXCEPTIONS

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]
FUNCTIONS_DIR = Path(__file__).resolve().parents[1] / "functions"

# What every function's role grants for running at all: its own log group and X-Ray.
RUNTIME_ACTIONS = {
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
}

# What each function may do, per SPEC and the single-table design; anything more is a finding.
EXPECTED_ACTIONS = {
    "IngestFunction": RUNTIME_ACTIONS
    | {
        "sqs:ReceiveMessage",  # the SQS event source polls IngestQueue with the function's role
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "dynamodb:Query",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:DeleteItem",  # only REJECTED#, CUSTOMER# and REPORT# items: test_deletes_are_limited_...
        "dynamodb:BatchWriteItem",  # only REJECTED#, TICKET# and REPORT# items: test_batch_writes_are_...
    },
    "SweeperFunction": RUNTIME_ACTIONS
    | {
        "dynamodb:Query",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:DeleteItem",  # only REJECTED#, CUSTOMER# and REPORT# items, as for ingest
        "dynamodb:BatchWriteItem",  # only REJECTED# and REPORT# items
    },
    "NotifierFunction": RUNTIME_ACTIONS
    | {
        "dynamodb:DescribeStream",  # the stream event source reads the table's stream with the role
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
        "dynamodb:Query",  # only OUTBOX# partitions: the ticket's undelivered outbox items
        "dynamodb:GetItem",  # GetItem, PutItem, DeleteItem: only the DELIVERY# idempotency records
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",  # DELIVERY# records and OUTBOX# items (their outcomes)
        "dynamodb:DeleteItem",
        "sns:Publish",
        "kms:GenerateDataKey",  # OnCallTopic is encrypted with TopicKey
        "kms:Decrypt",
        "ses:SendEmail",
        "ssm:GetParameter",
        "secretsmanager:GetSecretValue",
        "sqs:SendMessage",
    },
    "QueryFunction": RUNTIME_ACTIONS
    | {
        "dynamodb:Query",  # TICKET# and HISTORY# partitions, and the queue indexes: test_query_reads_...
        "dynamodb:GetItem",  # only CUSTOMER# items (the plan)
    },
    "ReportFunction": RUNTIME_ACTIONS
    | {
        "dynamodb:Query",  # only REPORT# partitions: the decided-cycle index
        "s3:PutObject",  # only ReportBucket's reports/ prefix
    },
}


def statements(function: str) -> list[dict[str, Any]]:
    """The statements of the function's own role (explicit roles: SAM's would add managed policies)."""
    props = RESOURCES[function]["Properties"]
    assert "Policies" not in props, f"{function}: permissions belong to its role"
    (role, attribute) = props["Role"]["Fn::GetAtt"]
    assert attribute == "Arn" and RESOURCES[role]["Type"] == "AWS::IAM::Role"
    assert not RESOURCES[role]["Properties"].get("ManagedPolicyArns"), role
    found = []
    for policy in RESOURCES[role]["Properties"]["Policies"]:
        found.extend(policy["PolicyDocument"]["Statement"])
    return found


def actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def test_cfn_lint_reports_nothing() -> None:
    findings = lint_file(DEFAULT_TEMPLATE)
    assert [str(finding) for finding in findings] == []


def test_functions_are_the_five_handlers_on_arm64_python312() -> None:
    functions = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::Serverless::Function"}
    assert {k: v["Properties"]["Handler"] for k, v in functions.items()} == {
        "IngestFunction": "functions.ingest.handler",
        "SweeperFunction": "functions.sweeper.handler",
        "NotifierFunction": "functions.notifier.handler",
        "QueryFunction": "functions.query.handler",
        "ReportFunction": "functions.report.handler",
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
        if statement["Resource"] == "*":
            assert set(actions(statement)) <= set(RESOURCE_STAR_EXCEPTIONS), statement


def test_only_the_sweeper_reads_the_due_index() -> None:
    def resources(function: str) -> list[Any]:
        found = []
        for statement in statements(function):
            resource = statement["Resource"]
            found.extend(resource if isinstance(resource, list) else [resource])
        return found

    due_index = {"Fn::Sub": "${SlaTable.Arn}/index/due-index"}
    assert due_index in resources("SweeperFunction")
    assert due_index not in resources("IngestFunction") + resources("NotifierFunction") + resources(
        "QueryFunction"
    )


def test_query_reads_only_tickets_history_plans_and_the_queue_indexes() -> None:
    """The read API reads: a ticket's items and the answer history (Query), a customer's plan (GetItem), and
    the queue indexes (Query, never a Scan); it writes nothing."""
    table = {"Fn::GetAtt": ["SlaTable", "Arn"]}
    granted: dict[str, list[Any]] = {}
    for statement in statements("QueryFunction"):
        if not any(action.startswith("dynamodb:") for action in actions(statement)):
            continue
        leading = (
            statement.get("Condition", {}).get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys")
        )
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        for action in actions(statement):
            granted.setdefault(action, []).extend((str(r), tuple(leading or ())) for r in resources)
    assert granted == {
        "dynamodb:Query": [
            (str(table), ("TICKET#*", "HISTORY#*")),
            (str({"Fn::Sub": "${SlaTable.Arn}/index/queue-index"}), ()),
            (str({"Fn::Sub": "${SlaTable.Arn}/index/queue-level-index"}), ()),
            (str({"Fn::Sub": "${SlaTable.Arn}/index/queue-line-index"}), ()),
            (str({"Fn::Sub": "${SlaTable.Arn}/index/queue-line-level-index"}), ()),
        ],
        "dynamodb:GetItem": [(str(table), ("CUSTOMER#*",))],
    }


def test_the_read_api_checks_a_token_on_every_route_and_agents_scope_on_the_queue_and_board() -> None:
    api = RESOURCES["ReadApi"]["Properties"]["Auth"]
    assert api["DefaultAuthorizer"] == "ControlPanelToken"
    for name, source in (
        ("ControlPanelToken", "$request.header.Authorization"),
        ("BoardToken", "$request.querystring.access_token"),
    ):
        authorizer = api["Authorizers"][name]
        assert authorizer["IdentitySource"] == source
        assert authorizer["JwtConfiguration"] == {
            "issuer": {"Ref": "JwtIssuer"},
            "audience": {"Ref": "JwtAudience"},
        }
    events = RESOURCES["QueryFunction"]["Properties"]["Events"]
    routes = {(e["Properties"]["Method"], e["Properties"]["Path"]): e["Properties"] for e in events.values()}
    assert set(routes) == {
        ("GET", "/v1/tickets/{ticket_id}/sla"),
        ("GET", "/v1/tickets/{ticket_id}/wait"),
        ("GET", "/v1/queue"),
        ("GET", "/v1/board"),
        ("GET", "/v1/plans"),
        ("GET", "/v1/due"),
        ("GET", "/v1/openapi.json"),
        ("ANY", "$default"),  # an unknown route gets the API's own 404
    }
    for route, props in routes.items():
        assert props["ApiId"] == {"Ref": "ReadApi"}
        auth = props.get("Auth", {})
        assert auth.get("Authorizer", "ControlPanelToken") != "NONE", route  # no route without a token
        if route[1] in ("/v1/queue", "/v1/board"):
            assert auth["AuthorizationScopes"] == ["sla/agent"], route


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


def test_notifier_stream_passes_only_inserted_effects_from_the_oldest_record_kept() -> None:
    outbox = RESOURCES["NotifierFunction"]["Properties"]["Events"]["Outbox"]["Properties"]
    (only,) = outbox["FilterCriteria"]["Filters"]
    assert json.loads(only["Pattern"]) == {
        "eventName": ["INSERT"],
        "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "OUTBOX#"}]}}},
    }
    # Not LATEST: records written while the mapping is (re)created are delivered too.
    assert outbox["StartingPosition"] == "TRIM_HORIZON"
    assert outbox["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert outbox["BisectBatchOnFunctionError"] is True
    assert outbox["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["NotifierDeadLetterQueue", "Arn"]
    }


def test_moto_table_has_the_due_and_queue_indexes_stream_and_ttl(aws: boto3.Session, table: Any) -> None:
    indexes = {index["IndexName"]: index for index in table.global_secondary_indexes}
    assert set(indexes) == {
        "due-index",
        "queue-index",
        "queue-level-index",
        "queue-line-index",
        "queue-line-level-index",
    }
    keys = {name: [k["AttributeName"] for k in index["KeySchema"]] for name, index in indexes.items()}
    assert keys == {
        "due-index": ["gsi1pk", "gsi1sk"],
        "queue-index": ["queue_pk", "queue_sk"],
        "queue-level-index": ["queue_level_pk", "queue_sk"],
        "queue-line-index": ["queue_line_pk", "queue_sk"],
        "queue-line-level-index": ["queue_line_level_pk", "queue_sk"],
    }
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
    """Ingest and sweeper withdraw rejections, drop a closed ticket's registration and the report index items a
    re-fold no longer fills; nothing else."""
    for function in ("IngestFunction", "SweeperFunction"):
        deletes = [s for s in statements(function) if "dynamodb:DeleteItem" in str(s["Action"])]
        assert len(deletes) == 1, function
        assert deletes[0]["Action"] == "dynamodb:DeleteItem"
        leading = deletes[0]["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
        assert leading == ["REJECTED#*", "CUSTOMER#*", "REPORT#*"], function


@pytest.mark.parametrize(
    ("function", "partitions"),
    [
        ("IngestFunction", ["REJECTED#*", "TICKET#*", "REPORT#*"]),
        ("SweeperFunction", ["REJECTED#*", "REPORT#*"]),
    ],
)
def test_batch_writes_are_limited_to_rejections_and_marked_timers(
    function: str, partitions: list[str]
) -> None:
    """BatchWriteItem can put and delete: it is limited to the partitions the store batch-writes."""
    (statement,) = [s for s in statements(function) if "dynamodb:BatchWriteItem" in str(s["Action"])]
    assert statement["Action"] == "dynamodb:BatchWriteItem"
    assert statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] == partitions


# ----- alarms and the dashboard ---------------------------------------------------------------------------


def alarms() -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in RESOURCES.items() if v["Type"] == "AWS::CloudWatch::Alarm"}


def watched(alarm: dict[str, Any]) -> tuple[str, str, Any]:
    """(namespace, metric, the dimension's value) of a single-metric alarm."""
    (dimension,) = alarm["Dimensions"]
    return alarm["Namespace"], alarm["MetricName"], dimension["Value"]


def engine_metric(name: str) -> tuple[str, str, str]:
    """A metric a handler writes: Powertools' namespace and its `service` dimension, as Globals set them."""
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    return variables["POWERTOOLS_METRICS_NAMESPACE"], name, variables["POWERTOOLS_SERVICE_NAME"]


def metrics_the_handlers_write() -> set[str]:
    source = "".join(path.read_text(encoding="utf-8") for path in FUNCTIONS_DIR.glob("*.py"))
    written = set(re.findall(r'"([A-Z][A-Za-z]+)"', source))
    if 'f"Events{' in source:  # functions/ingest.py: a counter per outcome status of the ticket service
        written |= {f"Events{status.capitalize()}" for status in get_args(IngestStatus)}
    return written


def test_alarms_watch_every_function_and_the_engine_itself() -> None:
    seen = [watched(alarm) for alarm in alarms().values()]
    for function in FUNCTIONS:
        assert ("AWS/Lambda", "Errors", {"Ref": function}) in seen, function
        assert ("AWS/Lambda", "Throttles", {"Ref": function}) in seen, function
    assert ("AWS/Lambda", "IteratorAge", {"Ref": "NotifierFunction"}) in seen
    assert ("AWS/SQS", "ApproximateAgeOfOldestMessage", {"Fn::GetAtt": ["IngestQueue", "QueueName"]}) in seen
    for dead_letters in ("IngestDeadLetterQueue", "NotifierDeadLetterQueue"):
        assert (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"Fn::GetAtt": [dead_letters, "QueueName"]},
        ) in seen
    assert engine_metric("OldestDueTimerLag") in seen
    assert engine_metric("RefoldsFailed") in seen


def test_sweeper_heartbeat_breaches_when_no_sweep_ran_for_3_minutes() -> None:
    (heartbeat,) = [
        a
        for a in alarms().values()
        if watched(a) == ("AWS/Lambda", "Invocations", {"Ref": "SweeperFunction"})
    ]
    # A minute without a run publishes no data point at all: missing data must count against the sweeper.
    assert heartbeat["TreatMissingData"] == "breaching"
    assert heartbeat["ComparisonOperator"] == "LessThanThreshold" and heartbeat["Threshold"] == 1
    window = heartbeat["Period"] * heartbeat["EvaluationPeriods"]
    assert window == 180 and heartbeat.get("DatapointsToAlarm", heartbeat["EvaluationPeriods"]) == 3
    schedule = RESOURCES["SweeperFunction"]["Properties"]["Events"]["EveryMinute"]["Properties"]["Schedule"]
    assert schedule == "rate(1 minute)"


def dashboard_metrics() -> list[tuple[str, str, Any]]:
    body = RESOURCES["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    # ${...} are CloudFormation's, replaced at deployment; the JSON around them must be valid as it is.
    document = json.loads(re.sub(r"\$\{([^}]+)\}", r"<\1>", body))
    rows = [row for widget in document["widgets"] for row in widget["properties"]["metrics"]]
    return [(row[0], row[1], row[3]) for row in rows]


def test_alarms_and_dashboard_read_metrics_the_handlers_write() -> None:
    written = metrics_the_handlers_write()
    namespace, _, service = engine_metric("")
    read = [m for m in (*map(watched, alarms().values()), *dashboard_metrics()) if m[0] == namespace]
    assert read
    for _, name, dimension in read:
        assert dimension == service, name
        assert name in written, f"{name}: no handler writes this metric"


def test_dashboard_shows_events_rejections_clocks_pages_and_delivery_failures() -> None:
    plotted = {name for _, name, _ in dashboard_metrics()}
    for what, any_of in {
        "events in": {"EventsAccepted"},
        "rejections": {"EventsRejected"},
        "clocks due": {"TimersRead", "SweepBacklog"},
        "pages sent": {"EffectsDelivered", "ChannelDeliveries"},
        "delivery failures": {"EffectsDeadLettered", "EffectsPartiallyDelivered"},
    }.items():
        assert plotted & any_of, what


# ----- scaling and retention ------------------------------------------------------------------------------


def test_ingest_concurrency_is_capped_and_the_sweeper_runs_alone() -> None:
    queue = RESOURCES["IngestFunction"]["Properties"]["Events"]["Queue"]["Properties"]
    assert 2 <= queue["ScalingConfig"]["MaximumConcurrency"] <= 50  # Lambda's floor is 2
    # Two sweeps at once would contend for the same due timers.
    assert RESOURCES["SweeperFunction"]["Properties"]["ReservedConcurrentExecutions"] == 1


def test_personal_data_items_expire_after_the_retention(resources: LocalResources) -> None:
    assert TEMPLATE["Parameters"]["RetentionDays"]["Default"] == 30
    assert RESOURCES["SlaTable"]["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": "expiration",
        "Enabled": True,
    }
    for function in FUNCTIONS:
        assert resources.environment(function)["SLA_RETENTION_DAYS"] == "30", function
    # The item-family comments tell the store which items carry the TTL attribute, and for how long.
    text = DEFAULT_TEMPLATE.read_text(encoding="utf-8")
    for family in ("pk=OUTBOX#", "pk=REJECTED#"):
        start = text.index(family)
        block = text[start : text.index("#   pk=", start)]
        assert "`expiration`" in block and "RetentionDays" in block, family


def test_moto_topics_are_encrypted_with_the_stack_key(aws: boto3.Session, resources: LocalResources) -> None:
    key_arn = aws.client("kms").describe_key(KeyId=resources.physical_ids["TopicKey"])["KeyMetadata"]["Arn"]
    sns = aws.client("sns")
    for topic in (resources.oncall_topic_arn, resources.ops_alarm_topic_arn):
        key = sns.get_topic_attributes(TopicArn=topic)["Attributes"]["KmsMasterKeyId"]
        assert key_arn.endswith(key), topic
