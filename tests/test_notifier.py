"""NotifierFunction end to end on moto, with real HTTP servers on 127.0.0.1 standing in for PagerDuty and Slack.

What is checked is what on-call and customers would see: one page per delivery however often the stream
repeats itself, PagerDuty's Events API v2 shape, retries only where a retry can help, the DLQ for the rest,
and customer e-mail in the customer's language, or a recorded reason why none was sent.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.ses.models import ses_backends

from functions import notifier
from infra.notify.delivery import build_delivery_service
from infra.notify.errors import PermanentDeliveryError, TransientDeliveryError
from infra.notify.http import HttpResponse, JsonPoster, NetworkError, check_url, urllib_transport
from infra.notify.routes import RoutesConfigError, parse_routes
from infra.notify.sns import MAX_SUBJECT, subject_for
from infra.settings import NotifierSettings
from infra.store.outbox import outbox_items
from local.engine import FakeLambdaContext
from local.notifier import (
    RecordingTransport,
    build_local_dependencies,
    local_settings,
    provision_local_configuration,
    stream_event,
)
from local.stack import LocalResources, create_resources
from sla.effects import Alert, Effect, Notification

ACCOUNT = "123456789012"
REGION = "eu-west-1"
NOW = 1_775_547_000  # 2026-04-07T07:30:00Z
PD_KEY = "0123456789abcdef0123456789abcdef"
SERVER_LIFETIME = 120.0  # seconds: the fake endpoint stops itself even if the module never gets to


# -- a fake HTTP endpoint -----------------------------------------------------------------------------------


@dataclass
class Received:
    path: str
    body: Any
    headers: dict[str, str]


@dataclass
class FakeEndpoint:
    """A real HTTP server in a thread, answering scripted statuses (then `default`) and recording requests."""

    script: list[int] = field(default_factory=list)
    default: int = 202
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                with endpoint._lock:
                    endpoint.received.append(Received(self.path, body, dict(self.headers.items())))
                    status = endpoint.script.pop(0) if endpoint.script else endpoint.default
                answer = json.dumps(
                    {"status": "success" if status < 300 else "error", "message": f"answer {status}"}
                )
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(answer.encode())

            def log_message(self, format: str, *args: Any) -> None:  # keep the test output clean
                pass

        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True
        self._watchdog = threading.Timer(SERVER_LIFETIME, self.server.shutdown)
        self._watchdog.daemon = True

    def url(self, path: str) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def start(self) -> None:
        self._thread.start()
        self._watchdog.start()

    def stop(self) -> None:
        self._watchdog.cancel()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def bodies(self, path: str) -> list[Any]:
        return [r.body for r in self.received if r.path == path]


ROUTES = {
    "oncall-l2": [{"type": "sns"}, {"type": "pagerduty", "secret": "sla-engine/pagerduty/oncall-l2"}],
    "duty-manager": [{"type": "pagerduty", "secret": "sla-engine/pagerduty/duty-manager"}],
    "account-manager": [{"type": "sns"}, {"type": "slack", "secret": "sla-engine/slack/account-manager"}],
}


@dataclass
class Stack:
    session: boto3.Session
    resources: LocalResources
    settings: NotifierSettings
    endpoint: FakeEndpoint
    oncall_queue_url: str


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """One moto backend, stack and configuration for the module: building them is most of a test's cost."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in {
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "SlaEngine",
        }.items():
            env.setenv(name, value)
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
            env.delenv(name, raising=False)
        endpoint = FakeEndpoint()
        endpoint.start()
        try:
            with mock_aws():
                session = boto3.Session(region_name=REGION)
                resources = create_resources(session)
                settings = local_settings(resources)
                # The operator's configuration: routes in SSM, keys and webhook URLs in Secrets Manager.
                session.client("ssm").put_parameter(
                    Name=settings.routes_parameter_name, Value=json.dumps(ROUTES), Type="String"
                )
                secrets = session.client("secretsmanager")
                secrets.create_secret(Name="sla-engine/pagerduty/oncall-l2", SecretString=PD_KEY)
                secrets.create_secret(
                    Name="sla-engine/pagerduty/duty-manager", SecretString="duty" + PD_KEY[4:]
                )
                secrets.create_secret(
                    Name="sla-engine/slack/account-manager", SecretString=endpoint.url("/slack/hook")
                )
                provision_local_configuration(session, settings)  # keeps the routes above; verifies SES
                sqs, sns = session.client("sqs"), session.client("sns")
                queue_url = sqs.create_queue(QueueName="oncall-subscriber")["QueueUrl"]
                attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
                sns.subscribe(
                    TopicArn=resources.oncall_topic_arn,
                    Protocol="sqs",
                    Endpoint=attributes["Attributes"]["QueueArn"],
                )
                yield Stack(session, resources, settings, endpoint, queue_url)
        finally:
            endpoint.stop()


# -- the notifier on moto -----------------------------------------------------------------------------------


@dataclass
class Harness:
    session: boto3.Session
    resources: LocalResources
    endpoint: FakeEndpoint
    sleeps: list[float]
    oncall_queue_url: str
    versions: dict[str, int] = field(default_factory=dict)

    def put(self, *effects: Effect) -> list[dict[str, Any]]:
        """Each effect as the outbox item of a commit of its own, in order, written exactly as the store
        does; returns the items (the stream's NewImages)."""
        return [item for e in effects for item in self.commit(e)]

    def commit(self, *effects: Effect) -> list[dict[str, Any]]:
        """One commit deciding `effects` in this order: its outbox items, written and returned."""
        ticket_id = effects[0].ticket_id
        version = self.versions[ticket_id] = self.versions.get(ticket_id, 0) + 1
        items = outbox_items(ticket_id, version, effects, NOW - 60)
        self.write(*items)
        return items

    def write(self, *items: dict[str, Any]) -> None:
        table = self.session.resource("dynamodb").Table(self.resources.table_name)
        for item in items:
            table.put_item(Item=item)

    def run(self, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
        response: dict[str, Any] = notifier.handler(
            stream_event(items, self.resources), FakeLambdaContext("NotifierFunction")
        )
        return response

    def item_of(self, effect_id: str) -> dict[str, Any]:
        """The outbox item that carries the effect, as stored now."""
        table = self.session.resource("dynamodb").Table(self.resources.table_name)
        for item in table.scan()["Items"]:
            if item.get("kind") == "outbox" and any(
                view["effect_id"] == effect_id for view in json.loads(item["effects"])
            ):
                return dict(item)
        raise AssertionError(f"no outbox item carries {effect_id}")

    def outcome(self, effect_id: str) -> dict[str, Any]:
        """The notifier's record of one effect: its entry in the item's `deliveries` map."""
        entry: dict[str, Any] = self.item_of(effect_id)["deliveries"].get(effect_id, {})
        return entry

    def dead_letters(self) -> list[dict[str, Any]]:
        return self._drain(self.resources.notifier_dead_letter_queue_url)

    def oncall_messages(self) -> list[dict[str, Any]]:
        return self._drain(self.oncall_queue_url)

    def _drain(self, url: str) -> list[dict[str, Any]]:
        sqs = self.session.client("sqs")
        found: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
            ).get("Messages", [])
            if not batch:
                return found
            for message in batch:
                found.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def emails(self) -> list[Any]:
        return list(ses_backends[ACCOUNT][REGION].sent_messages)


@pytest.fixture
def harness(stack: Stack) -> Iterator[Harness]:
    """The shared stack emptied of the previous test's traces, and the notifier wired to it."""
    session, resources = stack.session, stack.resources
    stack.endpoint.script.clear()
    stack.endpoint.received.clear()
    ses_backends[ACCOUNT][REGION].sent_messages.clear()
    leftover = Harness(session, resources, stack.endpoint, [], stack.oncall_queue_url)
    leftover.dead_letters()  # drained by reading: PurgeQueue allows one call a minute
    leftover.oncall_messages()
    table = session.resource("dynamodb").Table(resources.table_name)
    with table.batch_writer() as batch:
        for item in table.scan(ProjectionExpression="pk, sk")["Items"]:
            batch.delete_item(Key=item)
    sleeps: list[float] = []
    service = build_delivery_service(
        stack.settings.model_copy(update={"pagerduty_events_url": stack.endpoint.url("/v2/enqueue")}),
        session=session,
        transport=urllib_transport,
        sleep=sleeps.append,
    )
    notifier.configure(notifier.Dependencies(service, lambda: NOW))
    try:
        yield Harness(session, resources, stack.endpoint, sleeps, stack.oncall_queue_url)
    finally:
        notifier.configure(None)


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """The handler's JSON log lines (Powertools writes to the stream it captured at import)."""
    buffer = io.StringIO()
    handler = notifier.logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    previous = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(previous)


def make_alert(kind: str = "trigger", route: str = "oncall-l2", **changes: Any) -> Alert:
    fields: dict[str, Any] = {
        "effect_id": f"T-3:first_response:1:{kind}:{route}",
        "at": NOW,
        "ticket_id": "T-3",
        "metric": "first_response",
        "cycle": 1,
        "kind": kind,
        "route": route,
        "dedup_key": "T-3/first_response/1",
        "step": 0,
        "due_at": NOW - 300,
        "support_level": "enterprise",
        **changes,
    }
    return Alert(**fields)


def make_notification(
    locale: str = "fr", timezone: str = "Europe/Paris", email: str | None = "client@example.com"
) -> Notification:
    return Notification(
        effect_id=f"T-3:notify:acknowledged:{locale}",
        at=NOW - 3600,
        ticket_id="T-3",
        customer_id="C-1",
        kind="acknowledged",
        locale=locale,  # type: ignore[arg-type]
        timezone=timezone,
        contact_email=email,
        data={"support_level": "premium", "severity": "high", "due_at": NOW},
    )


PD = "/v2/enqueue"


# -- PagerDuty, SNS, Slack ----------------------------------------------------------------------------------


def test_a_breach_pages_pagerduty_with_an_events_api_v2_trigger_and_publishes_to_sns(
    harness: Harness,
) -> None:
    alert = make_alert()
    response = harness.run(harness.put(alert))

    assert response == {"batchItemFailures": []}
    [event] = harness.endpoint.bodies(PD)
    assert event["routing_key"] == PD_KEY
    assert event["event_action"] == "trigger"
    assert event["dedup_key"] == "T-3/first_response/1"
    payload = event["payload"]
    assert (
        payload["summary"] == "[enterprise] T-3 first_response breached, due 07:25 UTC — page 1/3 oncall-l2"
    )
    assert payload["source"] == "sla-engine"
    assert payload["severity"] == "critical"
    assert payload["timestamp"] == "2026-04-07T07:30:00Z"
    assert (payload["component"], payload["group"], payload["class"]) == (
        "first_response",
        "enterprise",
        "sla_breach",
    )
    assert payload["custom_details"]["ticket_id"] == "T-3"
    assert harness.endpoint.received[0].headers["Content-Type"] == "application/json"

    [published] = harness.oncall_messages()
    assert published["MessageAttributes"]["route"]["Value"] == "oncall-l2"
    assert published["MessageAttributes"]["kind"]["Value"] == "trigger"
    assert json.loads(published["Message"])["dedup_key"] == "T-3/first_response/1"
    assert published["Subject"].startswith("[enterprise] T-3 first_response breached")

    outcome = harness.outcome(alert.effect_id)
    assert outcome["channels"] == ["sns", "pagerduty"]
    assert (outcome["status"], outcome["at"], outcome["kind"]) == ("delivered", NOW, "trigger")
    assert harness.item_of(alert.effect_id)["delivered_at"] == NOW


def test_acknowledge_and_resolve_carry_only_the_routing_key_action_and_dedup_key(harness: Harness) -> None:
    harness.run(harness.put(make_alert("acknowledge"), make_alert("resolve")))

    events = harness.endpoint.bodies(PD)
    assert events == [
        {"routing_key": PD_KEY, "event_action": "acknowledge", "dedup_key": "T-3/first_response/1"},
        {"routing_key": PD_KEY, "event_action": "resolve", "dedup_key": "T-3/first_response/1"},
    ]


def test_a_warning_goes_to_sns_but_opens_no_pagerduty_incident(harness: Harness) -> None:
    warning = make_alert("warning", fraction=0.75)
    harness.run(harness.put(warning))

    assert harness.endpoint.bodies(PD) == []
    [published] = harness.oncall_messages()
    assert "at 75% of target" in published["Subject"]
    assert harness.outcome(warning.effect_id)["channels"] == ["sns"]


def test_a_warning_to_a_route_whose_channels_all_decline_it_is_recorded_as_skipped(harness: Harness) -> None:
    warning = make_alert("warning", route="duty-manager", fraction=0.5)
    harness.run(harness.put(warning))

    outcome = harness.outcome(warning.effect_id)
    assert outcome["channels"] == ["none"]
    assert outcome["skipped_reason"] == "no channel of route 'duty-manager' takes warning alerts"
    assert harness.endpoint.received == []


def test_account_manager_gets_a_slack_compatible_webhook_message(harness: Harness) -> None:
    alert = make_alert(route="account-manager", step=2)
    harness.run(harness.put(alert))

    assert harness.endpoint.bodies("/slack/hook") == [
        {
            "text": ":rotating_light: [enterprise] T-3 first_response breached, due 07:25 UTC — page 3/3 account-manager"
        }
    ]
    assert harness.outcome(alert.effect_id)["channels"] == ["sns", "slack"]


def test_an_alert_goes_to_its_paged_route_when_its_route_was_off_duty(harness: Harness) -> None:
    """SPEC sections 6 and 10: the fold decided that oncall-l2 was off duty and paged its fallback; the
    notifier sends to the route paged (here account-manager's channels), never to the one off duty."""
    alert = make_alert(paged_route="account-manager")
    harness.run(harness.put(alert))

    assert harness.endpoint.bodies(PD) == []  # oncall-l2's PagerDuty service is not woken
    assert harness.endpoint.bodies("/slack/hook") == [
        {
            "text": ":rotating_light: [enterprise] T-3 first_response breached, due 07:25 UTC — page 1/3 "
            "account-manager for oncall-l2"
        }
    ]
    [published] = harness.oncall_messages()
    attributes = published["MessageAttributes"]
    assert (attributes["route"]["Value"], attributes["paged_route"]["Value"]) == (
        "oncall-l2",
        "account-manager",
    )
    assert harness.outcome(alert.effect_id)["channels"] == ["sns", "slack"]


# -- retries and dead letters -------------------------------------------------------------------------------


def test_429_then_503_are_retried_with_backoff_and_the_page_goes_out_once(harness: Harness) -> None:
    harness.endpoint.script[:] = [429, 503]
    alert = make_alert()
    response = harness.run(harness.put(alert))

    assert response == {"batchItemFailures": []}
    assert len(harness.endpoint.bodies(PD)) == 3
    assert len(harness.sleeps) == 2 and all(0 <= s <= 4.0 for s in harness.sleeps)
    assert harness.outcome(alert.effect_id)["channels"] == ["sns", "pagerduty"]
    assert harness.dead_letters() == []


def test_a_400_is_not_retried_and_lands_in_the_notifier_dlq_with_the_reason(harness: Harness) -> None:
    harness.endpoint.script[:] = [400]
    alert = make_alert()
    response = harness.run(harness.put(alert))

    assert response == {"batchItemFailures": []}  # retrying cannot help: not a batch failure
    assert len(harness.endpoint.bodies(PD)) == 1
    [parked] = harness.dead_letters()
    assert parked["effect_id"] == alert.effect_id
    assert parked["channel"] == "pagerduty"
    assert parked["reason"] == "pagerduty_http_400"
    assert "answer 400" in parked["error"]
    assert parked["effect"]["dedup_key"] == "T-3/first_response/1"
    outcome = harness.outcome(alert.effect_id)
    assert outcome["channels"] == ["sns"]
    assert outcome["dead_lettered"] == ["pagerduty"]
    assert outcome["errors"] == ["pagerduty_http_400"]
    assert outcome["status"] == "partial"


def test_exhausted_retries_fail_the_record_and_its_retry_sends_only_what_is_missing(harness: Harness) -> None:
    harness.endpoint.script[:] = [503, 503, 503]
    alert = make_alert()
    items = harness.put(alert)

    first = harness.run(items)
    assert len(first["batchItemFailures"]) == 1
    assert len(harness.endpoint.bodies(PD)) == 3
    assert "delivered_at" not in harness.item_of(alert.effect_id)
    assert harness.outcome(alert.effect_id) == {}

    second = harness.run(items)  # Lambda's retry of the stream record
    assert second == {"batchItemFailures": []}
    assert len(harness.endpoint.bodies(PD)) == 4
    assert len(harness.oncall_messages()) == 1  # SNS went out on the first attempt, and only then
    assert harness.outcome(alert.effect_id)["channels"] == ["sns", "pagerduty"]


def test_a_failure_midway_through_a_commit_keeps_the_outcomes_before_it_and_retries_the_rest(
    harness: Harness,
) -> None:
    slack, page = make_alert(route="account-manager", step=2), make_alert()
    harness.endpoint.script[:] = [202, 503, 503, 503]  # the webhook answers, PagerDuty does not
    items = harness.commit(slack, page)

    assert len(harness.run(items)["batchItemFailures"]) == 1
    assert harness.outcome(slack.effect_id)["channels"] == ["sns", "slack"]
    assert harness.outcome(page.effect_id) == {}
    assert "delivered_at" not in harness.item_of(page.effect_id)

    assert harness.run(items) == {"batchItemFailures": []}
    assert len(harness.endpoint.bodies("/slack/hook")) == 1  # not sent again with the retry
    assert harness.outcome(page.effect_id)["channels"] == ["sns", "pagerduty"]
    assert harness.item_of(page.effect_id)["delivered_at"] == NOW


def test_an_alert_for_an_unknown_route_is_parked_in_the_dlq_once(harness: Harness, logs: io.StringIO) -> None:
    alert = make_alert(route="night-shift")
    items = harness.put(alert)
    harness.run(items)
    harness.run(items)

    [parked] = harness.dead_letters()
    assert (parked["reason"], parked["channel"]) == ("unknown_route", "dlq")
    assert "night-shift" in parked["error"]
    outcome = harness.outcome(alert.effect_id)
    assert outcome["channels"] == ["none"]
    assert outcome["skipped_reason"] == "unknown route 'night-shift'"
    assert harness.endpoint.received == [] and harness.oncall_messages() == []
    assert "alert for an unknown route" in logs.getvalue()


def test_an_unreadable_effect_is_parked_with_its_reason_and_the_others_of_its_item_still_go(
    harness: Harness,
) -> None:
    [item] = outbox_items("T-3", 1, [make_alert(), make_alert("resolve")], NOW - 60)
    trigger, resolve = json.loads(item["effects"])
    broken = {**item, "effects": json.dumps([{**trigger, "kind": "page"}, resolve])}
    harness.write(broken)
    assert harness.run([broken]) == {"batchItemFailures": []}

    [parked] = harness.dead_letters()
    assert parked["reason"] == "invalid_payload"
    assert parked["error"].startswith("effects[0].alert.kind")
    assert parked["effect"]["kind"] == "page"
    assert harness.outcome(make_alert().effect_id)["status"] == "dead_lettered"
    assert [e["event_action"] for e in harness.endpoint.bodies(PD)] == ["resolve"]


def test_an_unreadable_item_is_parked_whole_and_does_not_block_the_tickets_next_one(harness: Harness) -> None:
    [first] = harness.commit(make_alert())
    broken = {**first, "effects": "[{not json"}
    harness.write(broken)
    [second] = harness.commit(make_alert("resolve"))

    assert harness.run([broken, second]) == {"batchItemFailures": []}
    [parked] = harness.dead_letters()
    assert parked["reason"] == "invalid_payload"
    assert parked["error"].startswith("effects: not JSON")
    assert parked["effect_id"] == f"T-3:outbox:{first['sk']}"
    table = harness.session.resource("dynamodb").Table(harness.resources.table_name)
    stored = table.get_item(Key={"pk": first["pk"], "sk": first["sk"]})["Item"]
    assert stored["delivered_at"] == NOW and stored["delivery_error"].startswith("effects: not JSON")
    assert [e["event_action"] for e in harness.endpoint.bodies(PD)] == ["resolve"]


def test_invalid_routes_configuration_fails_the_batch_for_a_retry(harness: Harness, stack: Stack) -> None:
    ssm = harness.session.client("ssm")
    name = stack.settings.routes_parameter_name
    ssm.put_parameter(Name=name, Value='{"oncall-l2": []}', Type="String", Overwrite=True)
    try:
        service = build_delivery_service(stack.settings, session=harness.session)  # nothing cached yet
        notifier.configure(notifier.Dependencies(service, lambda: NOW))
        response = harness.run(harness.put(make_alert()))
    finally:
        ssm.put_parameter(Name=name, Value=json.dumps(ROUTES), Type="String", Overwrite=True)
    assert len(response["batchItemFailures"]) == 1
    assert "delivered_at" not in harness.item_of(make_alert().effect_id)


# -- idempotency --------------------------------------------------------------------------------------------


def test_a_redelivered_batch_sends_every_message_once(harness: Harness) -> None:
    items = harness.put(make_alert(), make_alert("resolve"), make_notification())
    harness.run(items)
    harness.run(items)
    harness.run(list(reversed(items)))

    assert [e["event_action"] for e in harness.endpoint.bodies(PD)] == ["trigger", "resolve"]
    assert len(harness.oncall_messages()) == 2
    assert len(harness.emails()) == 1


def test_modify_events_and_other_items_are_not_deliveries(harness: Harness) -> None:
    [item] = harness.put(make_alert())
    notifier.handler(stream_event([item], harness.resources, "MODIFY"), FakeLambdaContext("NotifierFunction"))
    harness.run([{"pk": "TICKET#T-3", "sk": "STATE", "kind": "state"}])
    harness.run([{"pk": "DELIVERY#notifier", "sk": "delivery#x", "kind": "outbox"}])
    assert harness.endpoint.received == [] and harness.oncall_messages() == []


# -- customer e-mail ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "timezone", "subject", "local_time"),
    [
        (
            "fr",
            "Europe/Paris",
            "Nous avons bien reçu votre demande",
            "mardi 7 avril 2026 à 09:30 (Europe/Paris)",
        ),
        (
            "ru",
            "Europe/Moscow",
            "Мы получили ваше обращение",
            "вторник, 7 апреля 2026 г., 10:30 (Europe/Moscow)",
        ),
        (
            "en",
            "America/New_York",
            "We have received your request",
            "Tuesday, 7 April 2026 at 03:30 (America/New_York)",
        ),
    ],
)
def test_customer_email_is_sent_by_ses_in_the_customers_locale(
    harness: Harness, logs: io.StringIO, locale: str, timezone: str, subject: str, local_time: str
) -> None:
    notification = make_notification(locale, timezone)
    harness.run(harness.put(notification))

    [mail] = harness.emails()
    assert mail.source == local_settings(harness.resources).ses_sender
    assert mail.destinations["ToAddresses"] == ["client@example.com"]
    assert mail.subject == f"[{'Заявка' if locale == 'ru' else 'Ticket'} T-3] {subject}"
    assert local_time in mail.body
    assert harness.outcome(notification.effect_id)["channels"] == ["email"]
    assert "client@example.com" not in logs.getvalue()  # no personal data in the logs


def test_a_notification_without_contact_address_is_recorded_as_skipped_not_sent(
    harness: Harness, logs: io.StringIO
) -> None:
    notification = make_notification(email=None)
    response = harness.run(harness.put(notification))

    assert response == {"batchItemFailures": []}
    assert harness.emails() == []
    outcome = harness.outcome(notification.effect_id)
    assert outcome["channels"] == ["none"]
    assert outcome["skipped_reason"] == "no contact address on record"
    assert outcome["status"] == "skipped"
    skipped = [json.loads(line) for line in logs.getvalue().splitlines() if "notification not sent" in line]
    assert (
        skipped
        and skipped[0]["reason"] == "no_contact_address"
        and skipped[0]["effect_id"] == notification.effect_id
    )


def test_a_rejected_email_is_parked_without_the_address_in_the_logs(
    harness: Harness, logs: io.StringIO
) -> None:
    notification = make_notification(email="not-an-address")
    harness.run(harness.put(notification))

    [parked] = harness.dead_letters()
    assert parked["channel"] == "email" and parked["reason"].startswith("ses_")
    assert "not-an-address" not in logs.getvalue()


# -- the local wiring the CLI uses --------------------------------------------------------------------------


def test_local_dependencies_route_every_ladder_step_without_a_network(harness: Harness, stack: Stack) -> None:
    """What the CLI's replay gets: default routes and secrets where none exist, and no request leaves."""
    session, settings = harness.session, stack.settings
    session.client("ssm").delete_parameter(Name=settings.routes_parameter_name)
    slack_secret = "sla-engine/slack/account-manager"
    session.client("secretsmanager").delete_secret(SecretId=slack_secret, ForceDeleteWithoutRecovery=True)
    transport = RecordingTransport()
    try:
        notifier.configure(build_local_dependencies(session, harness.resources, transport, clock=lambda: NOW))
        items = harness.put(
            make_alert(),
            make_alert(route="duty-manager", step=1),
            make_alert(route="account-manager", step=2),
            make_notification(),
        )
        assert harness.run(items) == {"batchItemFailures": []}
    finally:
        session.client("ssm").put_parameter(
            Name=settings.routes_parameter_name, Value=json.dumps(ROUTES), Type="String", Overwrite=True
        )
        session.client("secretsmanager").put_secret_value(
            SecretId=slack_secret, SecretString=stack.endpoint.url("/slack/hook")
        )

    assert [(r.url, r.document.get("event_action")) for r in transport.requests[:2]] == [
        ("https://events.pagerduty.com/v2/enqueue", "trigger"),
        ("https://events.pagerduty.com/v2/enqueue", "trigger"),
    ]
    assert transport.requests[2].url.startswith("https://hooks.slack.invalid/")
    assert "text" in transport.requests[2].document
    assert harness.endpoint.received == []
    assert len(harness.emails()) == 1
    assert len(harness.oncall_messages()) == 3  # the default routes put every step on the topic too
    assert harness.outcome(make_alert(route="duty-manager").effect_id)["channels"] == ["sns", "pagerduty"]


# -- the HTTP client and the routes, in isolation -----------------------------------------------------------


def scripted(*answers: int | Exception) -> tuple[Any, list[str]]:
    calls: list[str] = []
    queue = list(answers)

    def transport(url: str, body: bytes, headers: Any, timeout: float) -> HttpResponse:
        calls.append(url)
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return HttpResponse(answer, b"{}", {"Retry-After": "2"} if answer == 429 else {})

    return transport, calls


def test_network_errors_are_retried_then_reported_as_transient() -> None:
    transport, calls = scripted(NetworkError("refused"), NetworkError("reset"), NetworkError("timeout"))
    sleeps: list[float] = []
    with pytest.raises(TransientDeliveryError) as raised:
        JsonPoster(transport, max_attempts=3, sleep=sleeps.append).post("https://x.test/", {}, "slack")
    assert raised.value.code == "slack_network"
    assert len(calls) == 3 and len(sleeps) == 2


def test_other_4xx_are_permanent_at_once_and_retry_after_is_honoured_within_the_cap() -> None:
    transport, calls = scripted(404)
    with pytest.raises(PermanentDeliveryError):
        JsonPoster(transport, sleep=lambda _: None).post("https://x.test/", {}, "slack")
    assert len(calls) == 1

    transport, calls = scripted(429, 202)
    sleeps: list[float] = []
    JsonPoster(transport, sleep=sleeps.append, jitter=lambda: 0.0).post("https://x.test/", {}, "pagerduty")
    assert sleeps == [2.0]


def test_backoff_grows_exponentially_with_full_jitter_under_a_cap() -> None:
    transport, _ = scripted(500, 500, 500, 500, 500)
    sleeps: list[float] = []
    poster = JsonPoster(
        transport, max_attempts=5, base_delay=0.5, max_delay=2.0, sleep=sleeps.append, jitter=lambda: 1.0
    )
    with pytest.raises(TransientDeliveryError):
        poster.post("https://x.test/", {}, "pagerduty")
    assert sleeps == [0.5, 1.0, 2.0, 2.0]


def test_secrets_only_travel_over_https_except_to_loopback() -> None:
    check_url("https://events.pagerduty.com/v2/enqueue")
    check_url("http://127.0.0.1:8080/hook")
    for bad in ("http://hooks.example.com/x", "file:///etc/passwd", "ftp://x"):
        with pytest.raises(PermanentDeliveryError) as raised:
            check_url(bad)
        assert bad not in str(raised.value)  # a webhook URL is a credential


def test_routes_are_validated_with_kinds_defaults_and_the_secrets_prefix() -> None:
    routes = parse_routes(
        {"oncall-l2": [{"type": "sns"}, {"type": "pagerduty", "secret": "sla-engine/pd"}]}, "sla-engine/"
    )
    sns, pagerduty = routes.channels("oncall-l2") or []
    assert sns.takes("warning") and not pagerduty.takes("warning") and pagerduty.takes("resolve")
    assert routes.channels("nobody") is None
    bad: Any
    for bad in (
        {"oncall-l2": []},
        {"oncall-l2": [{"type": "pager"}]},
        {"oncall-l2": [{"type": "sns", "kinds": ["page"]}]},
        {"oncall-l2": [{"type": "slack", "secret": "elsewhere/hook"}]},
        {"oncall-l2": [{"type": "sns"}, {"type": "sns"}]},
    ):
        with pytest.raises(RoutesConfigError):
            parse_routes(bad, "sla-engine/")


def _subject_as_first_written(summary: str) -> str:
    """subject_for before it skipped the steps that change nothing on printable ASCII."""
    text = summary.replace("—", "-").replace("\n", " ")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    printable = "".join(ch for ch in ascii_text if ch.isprintable())
    return printable[:MAX_SUBJECT].strip() or "SLA alert"


@pytest.mark.parametrize(
    "summary",
    [
        "[L2] T-000123 first_response breached — 100% of 4h",
        "Ticket T-1: réponse en retard\nà 75 %",
        "tab\there and a bell\x07",
        "Заявка T-1",
        "   ",
        "x" * 150,
    ],
)
def test_an_sns_subject_is_the_summary_folded_to_printable_ascii(summary: str) -> None:
    assert subject_for(summary) == _subject_as_first_written(summary)
