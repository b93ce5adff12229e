"""The notifier's service: a stream record in, the ticket's effects delivered once each, in decided order.

A stream record names one outbox item; what it delivers is read from the table (infra.notify.outbox): the
ticket's items not yet delivered up to that one, in sort key order, and in each item its effects in list
order. So a ticket's effects reach the channels in the order the engine decided them, whatever order the
stream hands their records over in.

The table stream delivers a record at least once, and a batch with one failure is retried from that record
on, so the same effects can come up many times. Each (effect, channel) delivery is therefore a Powertools
idempotent unit: a retry re-sends only what has not gone out yet, and a page never reaches on-call twice.
Failures split two ways (SPEC 5: nothing is lost silently):
- transient (throttling, 5xx, network): the unit's record is released and the exception reaches the batch
  processor, which holds back the ticket's later records; Lambda retries from that record, and after its
  retries parks the batch in the OnFailure queue;
- permanent (a 4xx, a missing secret, an unknown route, an unreadable effect): retrying cannot help, so the
  effect, the channel and the reason go to the notifier DLQ at once, where an alarm makes them seen, and
  the ticket's later effects go on.
Every outcome, including "nothing to send", is written back on the item, under the effect's id; the
update that marks an item delivered also rewrites its effects without the customers' contact addresses
(README, "Personal data"): the address is needed until the mail has gone, not after.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
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
from infra.notify.outbox import (
    InvalidOutboxItem,
    OutboxEffect,
    OutboxItem,
    TableOutbox,
    UnreadableEffect,
    is_outbox_key,
    read_item,
)
from infra.notify.pagerduty import PagerDutyClient
from infra.notify.routes import ChannelConfig, PagerDutyChannel, RouteSource, SlackChannel
from infra.notify.slack import SlackWebhook
from infra.notify.sns import SnsPublisher
from infra.settings import NotifierSettings
from infra.store.outbox import delivered_effects
from infra.store.port import OutboxStore
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
    """What happened to one effect; `channels` is what its item records (["none"] when nothing went)."""

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
        return _status(self.delivered, self.dead_lettered)

    def outcome(self, now: int) -> dict[str, Any]:
        """The outcome as the item's `deliveries` map keeps it."""
        delivered, dead_lettered = self.delivered, self.dead_lettered  # each worked out once
        outcome: dict[str, Any] = {
            "status": _status(delivered, dead_lettered),
            "channels": delivered or ["none"],
            "at": now,
        }
        if self.kind:
            outcome["kind"] = self.kind
        if self.skipped_reason:
            outcome["skipped_reason"] = self.skipped_reason
        if dead_lettered:
            outcome["dead_lettered"] = dead_lettered
            reasons = [o.reason for o in self.outcomes if o.status == "dead_lettered" and o.reason]
            if reasons:
                outcome["errors"] = reasons
        return outcome


def _status(
    delivered: list[str], dead_lettered: list[str]
) -> Literal["delivered", "partial", "dead_lettered", "skipped"]:
    if delivered:
        return "partial" if dead_lettered else "delivered"
    return "dead_lettered" if dead_lettered else "skipped"


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
        outbox: OutboxStore,
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
        self.outbox = outbox
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

    # -- one stream record -----------------------------------------------------------------------------

    def deliver(self, image: Mapping[str, Any], now: int) -> list[DeliveryReport]:
        """Deliver what the record of one outbox item calls for; raises only what a retry can fix.

        That is the ticket's undelivered items up to this one, oldest first: a record that overtook an
        earlier one of its ticket delivers the earlier effects before its own.
        """
        pk, sk = image.get("pk"), image.get("sk")
        if not is_outbox_key(pk) or not isinstance(sk, str):
            return [self._park_item(image, InvalidOutboxItem("pk/sk: not an outbox item"), now)]
        assert isinstance(pk, str)
        backlog = self.outbox.backlog(pk, sk)
        items = list(backlog.items)
        if backlog.own == "missing":
            # Only a record whose item was since removed: its image is all there is to deliver.
            logger.warning("outbox item not in the table, delivering its stream image", pk=pk, sk=sk)
            items.append(dict(image))
        if len(items) > 1:
            logger.info("delivering earlier outbox items first", pk=pk, sk=sk, items=len(items))
        reports: list[DeliveryReport] = []
        for raw in items:
            reports.extend(self._deliver_item(raw, now))
        return reports

    def _deliver_item(self, raw: Mapping[str, Any], now: int) -> list[DeliveryReport]:
        try:
            item = read_item(raw)
        except InvalidOutboxItem as error:
            return [self._park_item(raw, error, now)]
        reports: list[DeliveryReport] = []
        try:
            for entry in item.entries:
                reports.append(self._deliver_entry(entry, now))
        except Exception:
            self._record_progress(item, reports, now)
            raise
        kept = delivered_effects(raw.get("effects"), readable=True)
        self.outbox.record(item.pk, item.sk, _outcomes(reports, now), now, complete=True, effects=kept)
        return reports

    def _deliver_entry(self, entry: OutboxEffect | UnreadableEffect, now: int) -> DeliveryReport:
        if isinstance(entry, UnreadableEffect):
            return self._park_unreadable(entry, now)
        if isinstance(entry.effect, Alert):
            return self._deliver_alert(entry, entry.effect, now)
        return self._deliver_notification(entry, entry.effect, now)

    def _record_progress(self, item: OutboxItem, reports: list[DeliveryReport], now: int) -> None:
        """Keep the outcomes of the effects handled before a failure; the failure itself is what counts."""
        if not reports:
            return
        try:
            self.outbox.record(item.pk, item.sk, _outcomes(reports, now), now, complete=False)
        except Exception as error:  # the record is retried anyway, and the retry records them again
            logger.warning("progress not recorded", pk=item.pk, sk=item.sk, error_type=type(error).__name__)

    def _park_item(self, image: Mapping[str, Any], error: InvalidOutboxItem, now: int) -> DeliveryReport:
        pk, sk = str(image.get("pk") or ""), str(image.get("sk") or "")
        ticket_id = str(image.get("ticket_id") or "")
        effect_id = f"{ticket_id}:outbox:{sk}" if is_outbox_key(pk) else f"{pk}/{sk}"
        logger.error("outbox item unreadable", pk=pk, sk=sk, ticket_id=ticket_id, reason=error.reason)
        document = {"item": {k: v for k, v in image.items() if k in ("pk", "sk", "ticket_id", "effects")}}
        outcome = self._unit(
            effect_id, ticket_id, document, "invalid", "dlq", _fail("invalid_payload", error.reason), now
        )
        report = DeliveryReport(effect_id, ticket_id, "invalid", "", (outcome,), error.reason)
        if is_outbox_key(pk) and sk:
            kept = delivered_effects(image.get("effects"))
            self.outbox.record(pk, sk, {}, now, complete=True, item_error=error.reason, effects=kept)
        return report

    def _park_unreadable(self, entry: UnreadableEffect, now: int) -> DeliveryReport:
        logger.error(
            "outbox effect unreadable",
            effect_id=entry.effect_id,
            ticket_id=entry.ticket_id,
            reason=entry.reason,
        )
        outcome = self._unit(
            entry.effect_id,
            entry.ticket_id,
            entry.document,
            "invalid",
            "dlq",
            _fail("invalid_payload", entry.reason),
            now,
        )
        return DeliveryReport(entry.effect_id, entry.ticket_id, "invalid", "", (outcome,), entry.reason)

    # -- alerts -----------------------------------------------------------------------------------------

    def _deliver_alert(self, item: OutboxEffect, alert: Alert, now: int) -> DeliveryReport:
        route = alert.delivered_to  # the route on duty (SPEC section 6), not always the one the ladder names
        channels = self.routes.routes().channels(route)
        summary = alert_summary(alert, self.ladder_sizes.get(alert.support_level))

        def report(outcomes: tuple[ChannelOutcome, ...], skipped: str | None = None) -> DeliveryReport:
            return DeliveryReport(item.effect_id, item.ticket_id, "alert", alert.kind, outcomes, skipped)

        if channels is None:
            reason = f"unknown route {route!r}"
            logger.error("alert for an unknown route", effect_id=item.effect_id, route=route)
            outcome = self._unit_for(item, f"route:{route}", "dlq", _fail("unknown_route", reason), now)
            return report((outcome,), reason)
        taking = [channel for channel in channels if channel.takes(alert.kind)]
        if not taking:
            reason = f"no channel of route {route!r} takes {alert.kind} alerts"
            logger.info("alert not sent", effect_id=item.effect_id, route=route, reason=reason)
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
                    route=route,
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

    def _deliver_notification(
        self, item: OutboxEffect, notification: Notification, now: int
    ) -> DeliveryReport:
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
        self, item: OutboxEffect, key: str, label: str, send: Callable[[], object], now: int
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
            delivery=_Payload(effect_id=effect_id, channel=key),
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


class _Payload(dict[str, str]):
    """A unit's idempotency payload, the effect id and the channel key: strings, so the deep copy Powertools
    makes of it for every unit needs copy no more than the mapping."""

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, str]:
        return dict(self)


class _FullInvocation:
    """A Lambda context's clock for a run that has none: the whole of the function's timeout is left."""

    TIMEOUT_MILLIS = 30_000  # template.yaml, Globals.Function.Timeout

    def get_remaining_time_in_millis(self) -> int:
        return self.TIMEOUT_MILLIS


def _outcomes(reports: Sequence[DeliveryReport], now: int) -> dict[str, dict[str, Any]]:
    """Each effect's outcome, once: the first report of an effect id is the one recorded."""
    return {report.effect_id: report.outcome(now) for report in reversed(reports)}


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
    *,
    outbox: OutboxStore | None = None,
    persistence: BasePersistenceLayer | None = None,
) -> DeliveryService:
    """The service from settings; the session, the transport, the outbox and the idempotency records'
    persistence are the seams the local run and tests use (the outbox and the records are in the table
    unless given)."""
    import time

    import boto3

    from infra.catalog_source import load_catalog
    from infra.wiring import AWS_CONFIG

    session = session or boto3.Session()

    def client(name: str) -> Any:
        return session.client(name, config=AWS_CONFIG)

    if outbox is None or persistence is None:
        dynamodb = client("dynamodb")
        outbox = outbox or TableOutbox(dynamodb, settings.table_name, settings.retention_days)
        persistence = persistence or DynamoDBPersistenceLayer(
            table_name=settings.table_name,
            key_attr="pk",
            sort_key_attr="sk",
            static_pk_value=DELIVERY_PARTITION,
            boto3_client=dynamodb,
        )
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
        outbox=outbox,
        persistence=persistence,
        ladder_sizes={name: len(level.ladder) for name, level in catalog.levels.items()},
        record_ttl=settings.delivery_record_ttl,
    )
