"""The template's resources on a moto backend, built by reading template.yaml itself.

Tests and the CLI's local replay run the engine on moto. Creating the table, queues, topics and bus from the
SAM template (instead of restating keys, indexes and redrive policies in Python) means the local backend
cannot drift from what `sam deploy` creates: change the template and the local stack follows.

Only the resource types the engine talks to are built (DynamoDB tables, SQS queues, SNS topics and their KMS
key, EventBridge buses and rules); functions, roles, log groups, alarms, the dashboard and resource policies
have no local counterpart. Intrinsic functions are
resolved by a deliberately small evaluator: enough for this template, and loud (`TemplateError`) on anything
it does not understand, rather than guessing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import boto3
import yaml

DEFAULT_TEMPLATE = Path(__file__).resolve().parents[1] / "template.yaml"
LOCAL_STACK_NAME = "sla-engine-local"
# Values for the template parameters that have no default; a local stack sends nothing anywhere.
LOCAL_PARAMETERS: Mapping[str, str] = {
    "Stage": "dev",
    "SesSenderIdentity": "support@example.com",
    "AlarmEmail": "ops@example.com",
    "ControlPanelPrincipal": "arn:aws:iam::123456789012:role/control-panel",
    "JwtIssuer": "https://issuer.example",
    "JwtAudience": "sla-engine-local",
}

# The logical ids the engine's code needs by name; a template without one of them is a drift, not a default.
BUS = "SupportBus"
TABLE = "SlaTable"
INGEST_QUEUE = "IngestQueue"
INGEST_DLQ = "IngestDeadLetterQueue"
NOTIFIER_DLQ = "NotifierDeadLetterQueue"
ONCALL_TOPIC = "OnCallTopic"
OPS_TOPIC = "OpsAlarmTopic"
FUNCTIONS = ("IngestFunction", "SweeperFunction", "NotifierFunction", "QueryFunction", "ReportFunction")


class TemplateError(ValueError):
    """The template uses something the local evaluator cannot reproduce faithfully."""


# ----- loading ------------------------------------------------------------------------------------------


class _CfnLoader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML ships no type stubs
    """SafeLoader that reads CloudFormation short-form tags (!Ref, !GetAtt, !Sub...) as their long forms."""


# CloudFormation has no YAML timestamps: a date-looking scalar stays a string, as CloudFormation reads it.
_CfnLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - yaml has no other node kinds
        raise TemplateError(f"unexpected YAML node for !{suffix}")
    if suffix in ("Ref", "Condition"):
        return {suffix: value}
    if suffix == "GetAtt" and isinstance(value, str):
        return {"Fn::GetAtt": value.split(".", 1)}
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path | str | None = None) -> dict[str, Any]:
    """The template as plain data, short-form tags turned into CloudFormation's long (JSON) form."""
    text = Path(path or DEFAULT_TEMPLATE).read_text(encoding="utf-8")
    template = yaml.load(text, Loader=_CfnLoader)  # a SafeLoader subclass: no arbitrary objects
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise TemplateError(f"{path or DEFAULT_TEMPLATE}: not a CloudFormation template")
    return template


# ----- resolving intrinsics -----------------------------------------------------------------------------


class _NotYetCreated(Exception):
    """A reference to a resource that will exist later in the build: retry that resource afterwards."""


_NO_VALUE = object()
_SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")


@dataclass
class _Stack:
    template: dict[str, Any]
    parameters: dict[str, str]
    pseudo: dict[str, str]
    # logical id -> {"Ref": ..., attribute name: value}
    physical: dict[str, dict[str, str]] = field(default_factory=dict)

    def ref(self, name: str) -> str:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.template["Resources"]:
            if name not in self.physical:
                raise _NotYetCreated(name)
            return self.physical[name]["Ref"]
        raise TemplateError(f"Ref to unknown name {name!r}")

    def get_att(self, name: str, attribute: str) -> str:
        if name not in self.template["Resources"]:
            raise TemplateError(f"GetAtt on unknown resource {name!r}")
        if name not in self.physical:
            raise _NotYetCreated(name)
        try:
            return self.physical[name][attribute]
        except KeyError:
            raise TemplateError(f"GetAtt {name}.{attribute}: attribute not reproduced locally") from None

    def condition(self, name: str) -> bool:
        try:
            expression = self.template["Conditions"][name]
        except KeyError:
            raise TemplateError(f"unknown condition {name!r}") from None
        return bool(self.resolve(expression))

    def sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        values = {key: self.resolve(value) for key, value in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in values:
                return str(values[name])
            if "." in name and not name.startswith("AWS::"):
                resource, attribute = name.split(".", 1)
                return self.get_att(resource, attribute)
            return self.ref(name)

        return _SUB_VARIABLE.sub(replace, text).replace("${!", "${")

    def resolve(self, value: Any) -> Any:
        """The value with every intrinsic function evaluated; AWS::NoValue entries are dropped."""
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, argument), *_ = value.items()
            handler = self._functions.get(key)
            if handler is not None:
                return handler(self, argument)
            if key.startswith("Fn::"):
                raise TemplateError(f"{key} is not reproduced locally")
        return {k: r for k, r in ((k, self.resolve(v)) for k, v in value.items()) if r is not _NO_VALUE}

    def _ref(self, name: str) -> Any:
        return _NO_VALUE if name == "AWS::NoValue" else self.ref(name)

    def _get_att(self, argument: Any) -> str:
        resource, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
        return self.get_att(resource, self.resolve(attribute))

    def _condition(self, argument: Any) -> Any:
        # A bare {"Condition": name} is a condition reference; a policy's Condition block is plain data.
        if isinstance(argument, str):
            return self.condition(argument)
        return {"Condition": self.resolve(argument)}

    def _if(self, argument: list[Any]) -> Any:
        name, when_true, when_false = argument
        return self.resolve(when_true if self.condition(name) else when_false)

    def _join(self, argument: list[Any]) -> str:
        delimiter, items = argument
        return str(delimiter).join(str(item) for item in self.resolve(items))

    def _equals(self, argument: list[Any]) -> bool:
        left, right = (self.resolve(v) for v in argument)
        return bool(str(left) == str(right))

    _functions: ClassVar[Mapping[str, Callable[[_Stack, Any], Any]]] = {
        "Ref": _ref,
        "Fn::GetAtt": _get_att,
        "Fn::Sub": sub,
        "Fn::If": _if,
        "Fn::Join": _join,
        "Fn::Equals": _equals,
        "Fn::Not": lambda self, arg: not self.resolve(arg[0]),
        "Fn::And": lambda self, arg: all(self.resolve(v) for v in arg),
        "Fn::Or": lambda self, arg: any(self.resolve(v) for v in arg),
        "Condition": _condition,
    }


# ----- creating ---------------------------------------------------------------------------------------


def _physical_name(stack_name: str, logical_id: str, explicit: Any) -> str:
    return str(explicit) if explicit else f"{stack_name}-{logical_id}"


def _create_table(session: boto3.Session, name: str, props: dict[str, Any]) -> dict[str, str]:
    client = session.client("dynamodb")
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes", "ProvisionedThroughput"):
        if key in props:
            request[key] = props[key]
    if "DeletionProtectionEnabled" in props:
        request["DeletionProtectionEnabled"] = str(props["DeletionProtectionEnabled"]).lower() == "true"
    if "StreamSpecification" in props:
        # CloudFormation enables the stream by naming a view type; the API wants both.
        request["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    if "SSESpecification" in props:
        sse = props["SSESpecification"]
        request["SSESpecification"] = {"Enabled": str(sse.get("SSEEnabled", False)).lower() == "true"}
    description = client.create_table(**request)["TableDescription"]
    ttl = props.get("TimeToLiveSpecification")
    if ttl and str(ttl.get("Enabled")).lower() == "true":
        client.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
        )
    pitr = props.get("PointInTimeRecoverySpecification", {})
    if str(pitr.get("PointInTimeRecoveryEnabled")).lower() == "true":
        client.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    physical = {"Ref": name, "Arn": description["TableArn"]}
    if "LatestStreamArn" in description:
        physical["StreamArn"] = description["LatestStreamArn"]
    return physical


# CloudFormation queue properties that are SQS attributes under the same name.
_QUEUE_ATTRIBUTES = (
    "ContentBasedDeduplication",
    "DelaySeconds",
    "FifoQueue",
    "KmsDataKeyReusePeriodSeconds",
    "KmsMasterKeyId",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "SqsManagedSseEnabled",
    "VisibilityTimeout",
)


def _create_queue(session: boto3.Session, name: str, props: dict[str, Any]) -> dict[str, str]:
    client = session.client("sqs")
    attributes = {
        key: str(props[key]).lower() if isinstance(props[key], bool) else str(props[key])
        for key in _QUEUE_ATTRIBUTES
        if key in props
    }
    for key in ("RedrivePolicy", "RedriveAllowPolicy"):
        if key in props:
            policy = props[key]
            attributes[key] = policy if isinstance(policy, str) else json.dumps(policy)
    if str(props.get("FifoQueue")).lower() == "true" and not name.endswith(".fifo"):
        name += ".fifo"
    url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return {"Ref": url, "Arn": arn, "QueueName": name, "QueueUrl": url}


def _create_topic(session: boto3.Session, name: str, props: dict[str, Any]) -> dict[str, str]:
    attributes = {key: str(props[key]) for key in ("DisplayName", "KmsMasterKeyId") if key in props}
    arn = session.client("sns").create_topic(Name=name, Attributes=attributes)["TopicArn"]
    return {"Ref": arn, "TopicArn": arn, "TopicName": name}


def _create_key(session: boto3.Session, name: str, props: dict[str, Any]) -> dict[str, str]:
    """A KMS key (the topics' encryption key); moto keeps its policy but enforces nothing."""
    request: dict[str, Any] = {"Description": str(props.get("Description", name))}
    if "KeyPolicy" in props:
        policy = props["KeyPolicy"]
        request["Policy"] = policy if isinstance(policy, str) else json.dumps(policy)
    metadata = session.client("kms").create_key(**request)["KeyMetadata"]
    return {"Ref": metadata["KeyId"], "Arn": metadata["Arn"], "KeyId": metadata["KeyId"]}


def _create_bus(session: boto3.Session, name: str, props: dict[str, Any]) -> dict[str, str]:
    arn = session.client("events").create_event_bus(Name=name)["EventBusArn"]
    return {"Ref": name, "Arn": arn, "Name": name}


def _create_rule(session: boto3.Session, name: str, props: dict[str, Any]) -> dict[str, str]:
    client = session.client("events")
    bus = str(props.get("EventBusName", "default"))
    request: dict[str, Any] = {"Name": name, "EventBusName": bus, "State": props.get("State", "ENABLED")}
    if "EventPattern" in props:
        pattern = props["EventPattern"]
        request["EventPattern"] = pattern if isinstance(pattern, str) else json.dumps(pattern)
    if "ScheduleExpression" in props:
        request["ScheduleExpression"] = props["ScheduleExpression"]
    if "Description" in props:
        request["Description"] = props["Description"]
    arn = client.put_rule(**request)["RuleArn"]
    if props.get("Targets"):
        client.put_targets(Rule=name, EventBusName=bus, Targets=props["Targets"])
    return {"Ref": name if bus == "default" else f"{bus}|{name}", "Arn": arn}


def _create_bucket(session: boto3.Session, name: str, props: dict[str, Any]) -> dict[str, str]:
    """A bucket with the template's encryption, public access block and versioning (its lifecycle and policy
    are the deployed stack's concern: moto enforces neither)."""
    client = session.client("s3")
    name = name.lower()
    client.create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": session.region_name or "eu-west-1"}
    )
    if "BucketEncryption" in props:
        rules = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        client.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {"ApplyServerSideEncryptionByDefault": r["ServerSideEncryptionByDefault"]} for r in rules
                ]
            },
        )
    if "PublicAccessBlockConfiguration" in props:
        client.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
        )
    if "VersioningConfiguration" in props:
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration=props["VersioningConfiguration"])
    return {"Ref": name, "Arn": f"arn:aws:s3:::{name}"}


_CREATORS: Mapping[str, Callable[[boto3.Session, str, dict[str, Any]], dict[str, str]]] = {
    "AWS::S3::Bucket": _create_bucket,
    "AWS::DynamoDB::Table": _create_table,
    "AWS::SQS::Queue": _create_queue,
    "AWS::SNS::Topic": _create_topic,
    "AWS::Events::EventBus": _create_bus,
    "AWS::Events::Rule": _create_rule,
    "AWS::KMS::Key": _create_key,
}
_NAME_PROPERTY = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::Events::EventBus": "Name",
    "AWS::Events::Rule": "Name",
    "AWS::KMS::Key": "",  # keys have no name; CloudFormation names them by id
}


@dataclass(frozen=True)
class LocalResources:
    """Where the local stack's resources are, and the environment each function would get from the template."""

    region: str
    bus_name: str
    table_name: str
    table_stream_arn: str
    ingest_queue_url: str
    ingest_dead_letter_queue_url: str
    notifier_dead_letter_queue_url: str
    oncall_topic_arn: str
    ops_alarm_topic_arn: str
    # logical id -> physical id (what Ref returns), for resources beyond the named ones above.
    physical_ids: Mapping[str, str]
    environments: Mapping[str, Mapping[str, str]]

    def environment(self, function: str) -> dict[str, str]:
        """The environment variables of a function (Globals merged with its own), resolved to local ids."""
        return dict(self.environments[function])


def _function_environments(stack: _Stack) -> dict[str, dict[str, str]]:
    globals_ = (
        stack.template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    )
    environments = {}
    for logical_id, resource in stack.template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        own = resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
        variables = stack.resolve({**globals_, **own})
        environments[logical_id] = {name: str(value) for name, value in variables.items()}
    return environments


def parameter_values(template: dict[str, Any], parameters: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every template parameter's local value: its default, then LOCAL_PARAMETERS, then `parameters`."""
    declared = template.get("Parameters", {})
    values = {name: str(spec["Default"]) for name, spec in declared.items() if "Default" in spec}
    values.update({k: v for k, v in LOCAL_PARAMETERS.items() if k in declared})
    values.update(parameters or {})
    missing = sorted(set(declared) - set(values))
    if missing:
        raise TemplateError(f"no value for template parameters: {', '.join(missing)}")
    return values


def create_resources(
    session: boto3.Session | None = None,
    template_path: Path | str | None = None,
    *,
    parameters: Mapping[str, str] | None = None,
    stack_name: str = LOCAL_STACK_NAME,
) -> LocalResources:
    """Create the template's tables, queues, topics, bus and rules through `session` (meant: under moto).

    Physical names follow CloudFormation's `<stack>-<logical id>` when the template names none; parameters
    take their template defaults, then LOCAL_PARAMETERS, then `parameters`.
    """
    session = session or boto3.Session()
    region = session.region_name
    if not region:
        raise TemplateError("the session has no region; set AWS_DEFAULT_REGION or pass a session with one")
    template = load_template(template_path)
    values = parameter_values(template, parameters)
    account = session.client("sts").get_caller_identity()["Account"]
    stack = _Stack(
        template,
        values,
        pseudo={
            "AWS::AccountId": account,
            "AWS::Region": region,
            "AWS::Partition": "aws",
            "AWS::StackName": stack_name,
            "AWS::URLSuffix": "amazonaws.com",
        },
    )

    pending = {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") in _CREATORS
    }
    while pending:
        progressed = False
        for logical_id, resource in list(pending.items()):
            kind = resource["Type"]
            try:
                props = stack.resolve(resource.get("Properties", {}))
            except _NotYetCreated:
                continue
            name = _physical_name(stack_name, logical_id, props.get(_NAME_PROPERTY[kind]))
            stack.physical[logical_id] = _CREATORS[kind](session, name, props)
            del pending[logical_id]
            progressed = True
        if not progressed:
            raise TemplateError(f"circular or unbuildable references among: {', '.join(sorted(pending))}")

    def ref(logical_id: str) -> str:
        return stack.physical[logical_id]["Ref"]

    return LocalResources(
        region=region,
        bus_name=ref(BUS),
        table_name=ref(TABLE),
        table_stream_arn=stack.physical[TABLE]["StreamArn"],
        ingest_queue_url=ref(INGEST_QUEUE),
        ingest_dead_letter_queue_url=ref(INGEST_DLQ),
        notifier_dead_letter_queue_url=ref(NOTIFIER_DLQ),
        oncall_topic_arn=ref(ONCALL_TOPIC),
        ops_alarm_topic_arn=ref(OPS_TOPIC),
        physical_ids={logical_id: attrs["Ref"] for logical_id, attrs in stack.physical.items()},
        environments=_function_environments(stack),
    )
