"""The notifier's AWS services in memory: what it sends (SNS, SES, the DLQ), what it reads (the routes
parameter, the channel secrets) and its idempotency records, for the local engine's memory backend.

`build_delivery_service` takes a session and calls `session.client(name)`; `MemoryAws` is that session.
Each stand-in answers the one call the notifier makes of its service, the way the service answers it, and
records what was sent: nothing leaves the process, as on moto, at a fraction of moto's cost (no request
serialization, no emulated backend).
"""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import STATUS_CONSTANTS, DataRecord
from botocore.exceptions import ClientError


@dataclass(frozen=True)
class SentRequest:
    """One call the notifier made: the service, the operation and its arguments as sent."""

    service: str
    operation: str
    request: Mapping[str, Any]


@dataclass
class MemoryAws:
    """A boto3 session's `client(name)` for the services the notifier uses, answered in memory.

    `parameters` and `secrets` are what SSM Parameter Store and Secrets Manager hold; `sent` records every
    message sent, in order, unless told not to `keep` them (`count` counts them either way).
    """

    parameters: Mapping[str, str]
    secrets: Mapping[str, str]
    keep: bool = True
    sent: list[SentRequest] = field(default_factory=list)
    count: int = 0
    _ids: itertools.count[int] = field(default_factory=itertools.count, repr=False)

    def client(self, name: str, config: Any = None) -> Any:
        clients = {"sns": _Sns, "ses": _Ses, "sqs": _Sqs, "ssm": _Ssm, "secretsmanager": _Secrets}
        if name not in clients:
            raise ValueError(f"no in-memory {name}: the notifier's services are {', '.join(clients)}")
        return clients[name](self)

    def message_id(self) -> str:
        return f"local-{next(self._ids):08d}"

    def messages(self, service: str) -> list[Mapping[str, Any]]:
        """The requests sent to one service, in order."""
        return [sent.request for sent in self.sent if sent.service == service]


@dataclass(frozen=True)
class _Client:
    aws: MemoryAws

    def _send(self, service: str, operation: str, request: Mapping[str, Any]) -> dict[str, str]:
        self.aws.count += 1
        if self.aws.keep:
            self.aws.sent.append(SentRequest(service, operation, dict(request)))
        return {"MessageId": self.aws.message_id()}


class _Sns(_Client):
    def publish(self, **request: Any) -> dict[str, str]:
        return self._send("sns", "Publish", request)


class _Ses(_Client):
    def send_email(self, **request: Any) -> dict[str, str]:
        return self._send("ses", "SendEmail", request)


class _Sqs(_Client):
    def send_message(self, **request: Any) -> dict[str, str]:
        return self._send("sqs", "SendMessage", request)


class _Ssm(_Client):
    def get_parameter(self, Name: str, WithDecryption: bool = False) -> dict[str, Any]:
        if Name not in self.aws.parameters:
            raise _not_found("ParameterNotFound", "GetParameter")
        return {"Parameter": {"Name": Name, "Type": "String", "Value": self.aws.parameters[Name]}}


class _Secrets(_Client):
    def get_secret_value(self, SecretId: str, **_: Any) -> dict[str, Any]:
        if SecretId not in self.aws.secrets:
            raise _not_found("ResourceNotFoundException", "GetSecretValue")
        return {"Name": SecretId, "SecretString": self.aws.secrets[SecretId]}


def _not_found(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "not found"}}, operation)


class MemoryPersistenceLayer(BasePersistenceLayer):
    """Powertools idempotency records in a dict, under the conditions of its DynamoDB layer: a record is
    taken when absent, expired, or in progress past its in-progress expiry; otherwise the existing one
    answers (IdempotencyItemAlreadyExistsError with it).

    A record is kept as a tuple, its response text shared with the records that hold the same: a replay
    keeps one per delivery of each effect to each channel, and most answers read alike."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Powertools leaves it unannotated
        self._records: dict[str, tuple[str, int | None, int | None, str, str]] = {}

    def _get_record(self, idempotency_key: str) -> DataRecord:
        found = self._records.get(idempotency_key)
        if found is None:
            raise IdempotencyItemNotFoundError
        return _record(idempotency_key, found)

    def _put_record(self, data_record: DataRecord) -> None:
        key = data_record.idempotency_key
        found = self._records.get(key)
        if found is not None and not _may_replace(_record(key, found), time.time()):
            raise IdempotencyItemAlreadyExistsError(old_data_record=_record(key, found))
        self._keep(data_record)

    def _update_record(self, data_record: DataRecord) -> None:
        self._keep(data_record)

    def _delete_record(self, data_record: DataRecord) -> None:
        self._records.pop(data_record.idempotency_key, None)

    def _keep(self, record: DataRecord) -> None:
        self._records[record.idempotency_key] = (
            record.status,
            record.expiry_timestamp,
            record.in_progress_expiry_timestamp,
            sys.intern(record.response_data or ""),
            record.payload_hash or "",
        )


def _record(key: str, kept: tuple[str, int | None, int | None, str, str]) -> DataRecord:
    status, expiry, in_progress_expiry, response, payload_hash = kept
    return DataRecord(key, status, expiry, in_progress_expiry, response, payload_hash)


def _may_replace(record: DataRecord, now: float) -> bool:
    if record.expiry_timestamp is not None and record.expiry_timestamp < int(now):
        return True
    in_progress_until = record.in_progress_expiry_timestamp
    return (
        record.status == STATUS_CONSTANTS["INPROGRESS"]
        and in_progress_until is not None
        and in_progress_until < int(now * 1000)
    )
