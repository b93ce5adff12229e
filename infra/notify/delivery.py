"""The notifier's service: one outbox item in, each of its deliveries made once, the outcome on record.

The table stream delivers an item at least once, and a batch with one failure is retried from that record
on, so the same item can arrive many times. Each (effect, channel) delivery is therefore a Powertools
idempotent unit: a retry re-sends only what has not gone out yet, and a page never reaches on-call twice.
Failures split two ways (SPEC 5: nothing is lost silently):
- transient (throttling, 5xx, network): the unit's record is released and the exception reaches the batch
  processor, so Lambda retries the record, and after its retries parks it in the OnFailure queue;
- permanent (a 4xx, a missing secret, an unknown route, an unreadable payload): retrying cannot help, so the
  effect, the channel and the reason go to the notifier DLQ at once, where an alarm makes them seen.
Every outcome, including "nothing to send", is written back on the effect's outbox item.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, cast

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.parameters import SecretsProvider, SSMProvider
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from infra.notify.email import SesMailer
from infra.notify.errors import PermanentDeliveryError, from_aws
from infra.notify.http import JsonPoster, Transport, urllib_transport
from infra.notify.outbox import EFFECT_PREFIX, InvalidOutboxItem, OutboxItem, read_item
from infra.notify.pagerduty import PagerDutyClient
from infra.notify.routes import ChannelConfig, PagerDutyChannel, RouteSource, SlackChannel
from infra.notify.slack import SlackWebhook
from infra.notify.sns import SnsPublisher
from infra.settings import NotifierSettings
from infra.views import iso
from sla.effects import Alert, Notification
from sla.messages import alert_summary, render_notification

logger = Logger(child=True)

# Idempotency records share the single table (template.yaml): pk=DELIVERY#notifier, sk=delivery#<hash of
# effect id and channel>. One partition is plenty for the notifier's rate (a few writes per alert). The
# prefix is fixed rather than derived from the function's name, so a refactor cannot resend everything.
DELIVERY_PARTITION = "DELIVERY#notifier"
DELIVERY_KEY_PREFIX = "delivery"

Status = Literal["delivered", "dead_lettered", "skipped"]


@dataclass(frozen=True)
class ChannelOutcome:
    channel: str
    status: Status
    reason: str | None = None


@dataclass(frozen=True)
class DeliveryReport:
    """What happened to one outbox item; `channels` is what the item records (["none"] when nothing went)."""

    effect_id: str
    ticket_id: str
    effect_type: Literal["alert", "notification", "invalid"]
    kind: str
    outcomes: tuple[ChannelOutcome, ...] = ()
    skipped_reason: str | None = None

    @property
    def delivered(self) -> list[str]:
        return _unique(o.channel for o in self.outcomes if o.status == "delivered")

    @property
    def dead_lettered(self) -> list[str]:
        return _unique(o.channel for o in self.outcomes if o.status == "dead_lettered")

    @property
    def channels(self) -> list[str]:
        return self.delivered or ["none"]

    @property
    def status(self) -> Literal["delivered", "partial", "dead_lettered", "skipped"]:
        if self.delivered:
            return "partial" if self.dead_lettered else "delivered"
        return "dead_lettered" if self.dead_lettered else "skipped"


def _unique(values: Any) -> list[str]:
    return list(dict.fromkeys(values))


class DeadLetterQueue:
    """The notifier DLQ: the effect as stored, the channel and the reason, for an operator to act on."""

    def __init__(self, client: Any, queue_url: str) -> None:
        self.client = client
        self.queue_url = queue_url

    def park(
        self,
        effect_id: str,
        ticket_id: str,
        channel: str,
        error: PermanentDeliveryError,
        document: Mapping[str, Any],
        now: int,
    ) -> None:
        body = {
            "effect_id": effect_id,
            "ticket_id": ticket_id,
            "channel": channel,
            "reason": error.code,
            "error": error.detail,
            "failed_at": iso(now),
            "effect": dict(document),
        }
        try:
            self.client.send_message(
                QueueUrl=self.queue_url,
                MessageBody=json.dumps(body, ensure_ascii=False, default=str),
                MessageAttributes={
                    "reason": {"DataType": "String", "StringValue": error.code},
                    "channel": {"DataType": "String", "StringValue": channel},
                },
            )
        except (ClientError, BotoCoreError) as failure:
            raise from_aws(failure, "sqs") from failure


class OutboxLedger:
    """Writes the delivery outcome on the effect's outbox item (the stream filter ignores these updates)."""

    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table_name = table_name

    def record(self, report: DeliveryReport, now: int) -> None:
        names = {"#status": "delivery_status"}
        sets = [
            "delivered_at = if_not_exists(delivered_at, :now)",
            "channels = :channels",
            "#status = :status",
        ]
        values: dict[str, Any] = {
            ":now": {"N": str(now)},
            ":channels": {"L": [{"S": c} for c in report.channels]},
            ":status": {"S": report.status},
        }
        if report.skipped_reason:
            sets.append("skipped_reason = :reason")
            values[":reason"] = {"S": report.skipped_reason}
        if report.dead_lettered:
            sets.append("dead_lettered = :dead")
            values[":dead"] = {"L": [{"S": c} for c in report.dead_lettered]}
            reasons = [o.reason for o in report.outcomes if o.status == "dead_lettered" and o.reason]
            if reasons:
                sets.append("delivery_errors = :errors")
                values[":errors"] = {"L": [{"S": r} for r in reasons]}
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={"pk": {"S": f"{EFFECT_PREFIX}{report.effect_id}"}, "sk": {"S": "EFFECT"}},
                UpdateExpression="SET " + ", ".join(sets),
                # Allowed prior state: the outbox item exists; never create a stray item from a stale record.
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                logger.warning("outbox item not found for the outcome", effect_id=report.effect_id)
                return
            raise from_aws(error, "dynamodb") from error
        except BotoCoreError as error:
            raise from_aws(error, "dynamodb") from error


class DeliveryService:
    def __init__(
        self,
        *,
        routes: RouteSource,
        sns: SnsPublisher,
        pagerduty: PagerDutyClient,
        slack: SlackWebhook,
        mailer: SesMailer,
        dead_letters: DeadLetterQueue,
        ledger: OutboxLedger,
        persistence: BasePersistenceLayer,
        ladder_sizes: Mapping[str, int] | None = None,
        record_ttl: int = 172_800,
    ) -> None:
        self.routes = routes
        self.sns = sns
        self.pagerduty = pagerduty
        self.slack = slack
        self.mailer = mailer
        self.dead_letters = dead_letters
        self.ledger = ledger
        self.ladder_sizes = dict(ladder_sizes or {})
        self.idempotency = IdempotencyConfig(expires_after_seconds=record_ttl)
        self.idempotency.register_lambda_context(cast(LambdaContext, _FullInvocation()))
        self._once: Callable[..., dict[str, Any]] = idempotent_function(
            data_keyword_argument="delivery",
            persistence_store=persistence,
            config=self.idempotency,
            key_prefix=DELIVERY_KEY_PREFIX,
        )(self._attempt)

    def register_lambda_context(self, context: LambdaContext) -> None:
        """Lets an interrupted delivery's lock expire with the invocation instead of after `record_ttl`.

        A stand-in context without a clock (a local run) counts as a fresh invocation of the template's
        timeout, so the lock behaves as it would in Lambda.
        """
        if not callable(getattr(context, "get_remaining_time_in_millis", None)):
            context = cast(LambdaContext, _FullInvocation())
        self.idempotency.register_lambda_context(context)

    # -- one item ---------------------------------------------------------------------------------------

    def deliver(self, image: Mapping[str, Any], now: int) -> DeliveryReport:
        """Deliver one outbox item; raises only what a retry can fix (the record is then retried)."""
        try:
            item = read_item(image)
        except InvalidOutboxItem as error:
            return self._park_invalid(image, error, now)
        effect = item.effect
        if isinstance(effect, Alert):
            report = self._deliver_alert(item, effect, now)
        else:
            report = self._deliver_notification(item, effect, now)
        self.ledger.record(report, now)
        return report

    def _park_invalid(self, image: Mapping[str, Any], error: InvalidOutboxItem, now: int) -> DeliveryReport:
        pk = str(image.get("pk") or "")
        effect_id = pk.removeprefix(EFFECT_PREFIX) if pk.startswith(EFFECT_PREFIX) else pk or "unknown"
        ticket_id = str(image.get("ticket_id") or "")
        logger.error("outbox item unreadable", effect_id=effect_id, ticket_id=ticket_id, reason=error.reason)
        document = {"item": {k: v for k, v in image.items() if k in ("pk", "sk", "ticket_id", "payload")}}
        outcome = self._unit(
            effect_id, ticket_id, document, "invalid", "dlq", _fail("invalid_payload", error.reason), now
        )
        report = DeliveryReport(effect_id, ticket_id, "invalid", "", (outcome,), error.reason)
        if pk.startswith(EFFECT_PREFIX):
            self.ledger.record(report, now)
        return report

    # -- alerts -----------------------------------------------------------------------------------------

    def _deliver_alert(self, item: OutboxItem, alert: Alert, now: int) -> DeliveryReport:
        channels = self.routes.routes().channels(alert.route)
        summary = alert_summary(alert, self.ladder_sizes.get(alert.support_level))

        def report(outcomes: tuple[ChannelOutcome, ...], skipped: str | None = None) -> DeliveryReport:
            return DeliveryReport(item.effect_id, item.ticket_id, "alert", alert.kind, outcomes, skipped)

        if channels is None:
            reason = f"unknown route {alert.route!r}"
            logger.error("alert for an unknown route", effect_id=item.effect_id, route=alert.route)
            outcome = self._unit_for(item, f"route:{alert.route}", "dlq", _fail("unknown_route", reason), now)
            return report((outcome,), reason)
        taking = [channel for channel in channels if channel.takes(alert.kind)]
        if not taking:
            reason = f"no channel of route {alert.route!r} takes {alert.kind} alerts"
            logger.info("alert not sent", effect_id=item.effect_id, route=alert.route, reason=reason)
            return report((), reason)
        outcomes: list[ChannelOutcome] = []
        failures: list[Exception] = []
        for channel in taking:
            send = partial(self._send_alert, channel, alert, item.document, summary)
            try:
                outcomes.append(self._unit_for(item, channel.key, channel.type, send, now))
            except Exception as error:  # the other channels still get their chance; re-raised below
                logger.warning(
                    "alert delivery to retry",
                    effect_id=item.effect_id,
                    route=alert.route,
                    channel=channel.type,
                    error_type=type(error).__name__,
                    error_code=getattr(error, "code", None),
                )
                failures.append(error)
        if failures:
            raise failures[0]
        return report(tuple(outcomes))

    def _send_alert(
        self, channel: ChannelConfig, alert: Alert, document: Mapping[str, Any], summary: str
    ) -> None:
        if isinstance(channel, PagerDutyChannel):
            self.pagerduty.send(alert, self.routes.secret(channel.secret), summary)
        elif isinstance(channel, SlackChannel):
            self.slack.send(alert, self.routes.secret(channel.secret), summary)
        else:
            self.sns.publish(alert, document, summary)

    # -- notifications ----------------------------------------------------------------------------------

    def _deliver_notification(self, item: OutboxItem, notification: Notification, now: int) -> DeliveryReport:
        address = notification.contact_email
        if not address:
            reason = "no contact address on record"
            logger.info(
                "notification not sent",
                effect_id=item.effect_id,
                ticket_id=item.ticket_id,
                kind=notification.kind,
                reason="no_contact_address",
            )
            outcome = ChannelOutcome("email", "skipped", "no_contact_address")
            return DeliveryReport(
                item.effect_id, item.ticket_id, "notification", notification.kind, (outcome,), reason
            )
        message = render_notification(notification)
        outcome = self._unit_for(item, "email", "email", partial(self.mailer.send, address, message), now)
        return DeliveryReport(item.effect_id, item.ticket_id, "notification", notification.kind, (outcome,))

    # -- the idempotent unit ----------------------------------------------------------------------------

    def _unit_for(
        self, item: OutboxItem, key: str, label: str, send: Callable[[], object], now: int
    ) -> ChannelOutcome:
        return self._unit(item.effect_id, item.ticket_id, item.document, key, label, send, now)

    def _unit(
        self,
        effect_id: str,
        ticket_id: str,
        document: Mapping[str, Any],
        key: str,
        label: str,
        send: Callable[[], object],
        now: int,
    ) -> ChannelOutcome:
        result = self._once(
            delivery={"effect_id": effect_id, "channel": key},
            ticket_id=ticket_id,
            document=document,
            label=label,
            send=send,
            now=now,
        )
        return ChannelOutcome(result["channel"], result["status"], result.get("reason"))

    def _attempt(
        self,
        *,
        delivery: dict[str, str],
        ticket_id: str,
        document: Mapping[str, Any],
        label: str,
        send: Callable[[], object],
        now: int,
    ) -> dict[str, Any]:
        """Send once; a permanent failure is parked in the DLQ inside the unit, so it is parked once too."""
        effect_id = delivery["effect_id"]
        try:
            send()
        except PermanentDeliveryError as error:
            logger.warning(
                "delivery failed permanently, sent to the DLQ",
                effect_id=effect_id,
                ticket_id=ticket_id,
                channel=label,
                error_code=error.code,
            )
            self.dead_letters.park(effect_id, ticket_id, label, error, document, now)
            return {"channel": label, "status": "dead_lettered", "reason": error.code}
        logger.info("delivered", effect_id=effect_id, ticket_id=ticket_id, channel=label)
        return {"channel": label, "status": "delivered", "reason": None}


class _FullInvocation:
    """A Lambda context's clock for a run that has none: the whole of the function's timeout is left."""

    TIMEOUT_MILLIS = 30_000  # template.yaml, Globals.Function.Timeout

    def get_remaining_time_in_millis(self) -> int:
        return self.TIMEOUT_MILLIS


def _fail(code: str, detail: str) -> Callable[[], object]:
    def fail() -> object:
        raise PermanentDeliveryError(code, detail)

    return fail


# -- building ---------------------------------------------------------------------------------------------


def build_delivery_service(
    settings: NotifierSettings,
    session: Any | None = None,
    transport: Transport | None = None,
    sleep: Callable[[float], None] | None = None,
) -> DeliveryService:
    """The service from settings; the session and transport are the seams the local run and tests use."""
    import time

    import boto3

    from infra.catalog_source import load_catalog
    from infra.wiring import AWS_CONFIG

    session = session or boto3.Session()

    def client(name: str) -> Any:
        return session.client(name, config=AWS_CONFIG)

    dynamodb = client("dynamodb")
    catalog = load_catalog(settings.catalog_path)
    poster = JsonPoster(
        transport or urllib_transport,
        max_attempts=settings.http_max_attempts,
        timeout=settings.http_timeout_seconds,
        sleep=sleep or time.sleep,
    )
    return DeliveryService(
        routes=RouteSource(
            SSMProvider(boto3_client=client("ssm")),
            SecretsProvider(boto3_client=client("secretsmanager")),
            settings.routes_parameter_name,
            settings.secrets_prefix,
            settings.config_max_age,
        ),
        sns=SnsPublisher(client("sns"), settings.oncall_topic_arn),
        pagerduty=PagerDutyClient(poster, settings.pagerduty_events_url),
        slack=SlackWebhook(poster),
        mailer=SesMailer(client("ses"), settings.ses_sender),
        dead_letters=DeadLetterQueue(client("sqs"), settings.notifier_dlq_url),
        ledger=OutboxLedger(dynamodb, settings.table_name),
        persistence=DynamoDBPersistenceLayer(
            table_name=settings.table_name,
            key_attr="pk",
            sort_key_attr="sk",
            static_pk_value=DELIVERY_PARTITION,
            boto3_client=dynamodb,
        ),
        ladder_sizes={name: len(level.ladder) for name, level in catalog.levels.items()},
        record_ttl=settings.delivery_record_ttl,
    )
