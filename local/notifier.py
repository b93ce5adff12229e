"""The notifier for the CLI's replay, demo and invoke and for tests: same handler, same service, no network,
on either backend of the local engine: moto (`build_local_dependencies`) or memory
(`build_memory_dependencies`: the outbox and idempotency records in the in-memory store, SNS, SES, SQS, SSM
and Secrets Manager as `local.memory.aws` stand-ins).

What the deployed stack gets from the operator (the routes parameter, the channel secrets, a verified SES
sender) is put in place here with a local default, and the HTTP endpoints (PagerDuty, webhooks) answer
through an in-process transport that records what would have been sent.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError

from functions.notifier import Dependencies
from infra.notify.delivery import build_delivery_service
from infra.notify.http import HttpResponse, Transport
from infra.notify.routes import default_routes, parse_routes
from infra.settings import NotifierSettings
from infra.store.port import OutboxStore
from infra.wiring import Clock, wall_clock
from local.memory.aws import MemoryAws, MemoryPersistenceLayer
from local.stack import (
    LOCAL_STACK_NAME,
    NOTIFIER_DLQ,
    ONCALL_TOPIC,
    LocalResources,
    parameter_values,
)

NOTIFIER = "NotifierFunction"
# The environment variable behind each NotifierSettings field, as template.yaml sets it.
_SETTINGS_VARIABLES = {
    "table_name": "SLA_TABLE_NAME",
    "oncall_topic_arn": "ONCALL_TOPIC_ARN",
    "routes_parameter_name": "ROUTES_PARAMETER_NAME",
    "secrets_prefix": "SECRETS_PREFIX",
    "ses_sender": "SES_SENDER",
    "notifier_dlq_url": "NOTIFIER_DLQ_URL",
}


@dataclass(frozen=True)
class RecordedRequest:
    url: str
    document: Any
    headers: Mapping[str, str]


@dataclass
class RecordingTransport:
    """An HTTP transport that sends nothing: it answers `status` (202 by default) and records each request
    (`keep`), or only counts them."""

    status: int = 202
    keep: bool = True
    requests: list[RecordedRequest] = field(default_factory=list)
    count: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> HttpResponse:
        with self._lock:
            self.count += 1
            if self.keep:
                self.requests.append(RecordedRequest(url, json.loads(body), dict(headers)))
        return HttpResponse(self.status, b'{"status":"success","message":"Event processed"}')


def local_settings(resources: LocalResources) -> NotifierSettings:
    """The settings the template gives NotifierFunction, resolved to the local resources."""
    environment = resources.environment(NOTIFIER)
    return NotifierSettings.model_validate(
        {name: environment[variable] for name, variable in _SETTINGS_VARIABLES.items()}
    )


def _local_secret_value(name: str) -> str:
    digest = hashlib.sha256(name.encode()).hexdigest()
    if "/slack/" in name:
        return f"https://hooks.slack.invalid/services/local/{digest[:24]}"
    return digest[:32]  # the shape of an Events API v2 integration key


def local_configuration(settings: NotifierSettings) -> tuple[str, dict[str, str]]:
    """What an operator provisions for the notifier, with local defaults: the routes parameter (the default
    catalog's ladders, SNS on each) and a made-up value for each secret those routes name."""
    routes = default_routes(settings.secrets_prefix)
    names = parse_routes(routes, settings.secrets_prefix).secret_names()
    return json.dumps(routes), {name: _local_secret_value(name) for name in sorted(names)}


def provision_local_configuration(session: Any, settings: NotifierSettings) -> None:
    """Routes, secrets and the SES sender, created only where absent: a caller's own routes are kept."""
    ssm = session.client("ssm")
    try:
        routes = json.loads(ssm.get_parameter(Name=settings.routes_parameter_name)["Parameter"]["Value"])
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ParameterNotFound":
            raise
        text, _ = local_configuration(settings)
        routes = json.loads(text)
        ssm.put_parameter(Name=settings.routes_parameter_name, Value=text, Type="String", Overwrite=False)
    secrets = session.client("secretsmanager")
    for name in sorted(parse_routes(routes, settings.secrets_prefix).secret_names()):
        try:
            secrets.describe_secret(SecretId=name)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
            secrets.create_secret(Name=name, SecretString=_local_secret_value(name))
    session.client("ses").verify_email_identity(EmailAddress=settings.ses_sender)


def build_local_dependencies(
    session: Any,
    resources: LocalResources,
    transport: Transport | None = None,
    *,
    clock: Clock = wall_clock,
) -> Dependencies:
    """functions.notifier's dependencies on the moto backend of `session`; pass them to notifier.configure.

    `transport` answers the HTTP channels (a RecordingTransport when None); `clock` stamps the outcomes
    (the replay's simulated clock). Retries never sleep: the local endpoints answer at once.
    """
    settings = local_settings(resources)
    provision_local_configuration(session, settings)
    service = build_delivery_service(
        settings, session=session, transport=transport or RecordingTransport(), sleep=lambda _: None
    )
    return Dependencies(service=service, clock=clock)


def memory_settings(template: dict[str, Any], table_name: str, region: str, account: str) -> NotifierSettings:
    """The settings `template` gives NotifierFunction, for a run with no AWS to create resources in: the
    operator's parameters as the local stack takes them, its resources named as the local stack names them."""
    parameters = parameter_values(template)
    return NotifierSettings.model_validate(
        {
            "table_name": table_name,
            "oncall_topic_arn": f"arn:aws:sns:{region}:{account}:{LOCAL_STACK_NAME}-{ONCALL_TOPIC}",
            "routes_parameter_name": parameters["RoutesParameterName"],
            "secrets_prefix": parameters["SecretsPrefix"],
            "ses_sender": parameters["SesSenderIdentity"],
            "notifier_dlq_url": f"https://sqs.{region}.amazonaws.com/{account}/{LOCAL_STACK_NAME}-{NOTIFIER_DLQ}",
        }
    )


def build_memory_dependencies(
    outbox: OutboxStore,
    settings: NotifierSettings,
    transport: Transport | None = None,
    *,
    clock: Clock = wall_clock,
    keep_sent: bool = True,
) -> tuple[Dependencies, MemoryAws]:
    """functions.notifier's dependencies on an in-memory store (the outbox) and in-memory AWS services,
    provisioned as `provision_local_configuration` provisions moto's; and those services, to read back
    what was sent."""
    routes, secrets = local_configuration(settings)
    aws = MemoryAws({settings.routes_parameter_name: routes}, secrets, keep=keep_sent)
    service = build_delivery_service(
        settings,
        session=aws,
        transport=transport or RecordingTransport(),
        sleep=lambda _: None,
        outbox=outbox,
        persistence=MemoryPersistenceLayer(),
    )
    return Dependencies(service=service, clock=clock), aws


# -- stream events -----------------------------------------------------------------------------------------

_serializer = TypeSerializer()
_sequence = itertools.count(1)


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def stream_event(
    items: Iterable[Mapping[str, Any]], resources: LocalResources | None = None, event_name: str = "INSERT"
) -> dict[str, Any]:
    """A DynamoDB Streams batch (NEW_IMAGE) of table items, as the event source mapping hands it over."""
    region = resources.region if resources else "eu-west-1"
    source_arn = resources.table_stream_arn if resources else "arn:aws:dynamodb:local:stream"
    records = []
    for item in items:
        image = {
            key: _serializer.serialize(_plain(value)) for key, value in item.items() if value is not None
        }
        sequence = next(_sequence)
        records.append(
            {
                "eventID": f"local-{sequence}",
                "eventName": event_name,
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": region,
                "dynamodb": {
                    "Keys": {"pk": image["pk"], "sk": image["sk"]},
                    "NewImage": image,
                    "SequenceNumber": f"{sequence:021d}",
                    "SizeBytes": len(json.dumps(image)),
                    "StreamViewType": "NEW_IMAGE",
                },
                "eventSourceARN": source_arn,
            }
        )
    return {"Records": records}
