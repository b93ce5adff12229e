"""`sla-engine dlq list|show|redrive --queue ingest|notifier`: the engine's dead letters, for an operator.

On a deployed stack with `--profile`/`--region` and `--stack` (the queues from its outputs) or `--queue-url`;
without them, on the local moto stack the command builds from template.yaml (after `--replay FILE`, run
through it the way the deployed event sources would). The work is in the local/dlq/ package.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from cli.app import (
    CatalogOption,
    PlainHelpGroup,
    SlaTyper,
    app,
    choose,
    fail,
    human,
    parse_instant,
    stdout_console,
)

if TYPE_CHECKING:
    from local.dlq.letters import Queue
    from local.dlq.target import InvokeResult, Outcome, Target

QUEUE_CHOICES = ("ingest", "notifier")
# The stack outputs (template.yaml) that say where the queues are.
OUTPUT_OF_QUEUE = {"ingest": "IngestDeadLetterQueueUrl", "notifier": "NotifierDeadLetterQueueUrl"}
INGEST_QUEUE_OUTPUT = "IngestQueueUrl"
PROFILE_CODES = {
    "AccessDenied",
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "SignatureDoesNotMatch",
    "AuthFailure",
}
MISSING_QUEUE_CODES = {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}

dlq_app = SlaTyper(  # its commands' help as plain as the app's: EVENTS, no `--help <bool>`
    cls=PlainHelpGroup,
    name="dlq",
    help="""The engine's dead letters: list them, show one (personal data redacted), redrive them.

`--queue ingest`: ticket events that failed ingest (or that EventBridge could not queue); redrive sends them back
to the ingest queue. `--queue notifier`: deliveries the channels refused for good (kept for the operator) and
stream batches that failed their retries (redrive reads their records again and hands them to the notifier).

On AWS: `--profile` (and `--region`) with `--stack` or `--queue-url`. Without them: the local moto stack,
built by the command from template.yaml, after `--replay FILE` ran through it.

Examples:

```
sla-engine dlq list --queue ingest --profile ops --stack sla-engine-prod
sla-engine dlq show 1 --queue notifier --profile ops --stack sla-engine-prod
sla-engine dlq redrive --queue ingest --profile ops --stack sla-engine-prod
sla-engine dlq redrive --queue notifier --replay events/scenario.jsonl --outage 503 --until 2026-04-06T13:30:00Z
```""",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
app.add_typer(dlq_app, name="dlq")

QueueOption = Annotated[str, typer.Option("--queue", "-q", help="ingest or notifier.")]
ProfileOption = Annotated[
    str | None, typer.Option("--profile", help="AWS profile of the account the stack is deployed in.")
]
RegionOption = Annotated[str | None, typer.Option("--region", help="AWS region (default: the profile's).")]
StackOption = Annotated[
    str | None, typer.Option("--stack", help="CloudFormation stack name: its outputs name the queues.")
]
QueueUrlOption = Annotated[
    str | None, typer.Option("--queue-url", help="The dead-letter queue's URL, instead of --stack.")
]
ReplayOption = Annotated[
    Path | None,
    typer.Option(
        "--replay", help="Local stack: events (JSON Lines) run through it first, as `replay` reads them."
    ),
]
OutageOption = Annotated[
    int | None,
    typer.Option(
        "--outage",
        help="Local stack: the PagerDuty and webhook endpoints answer this HTTP status during --replay "
        "(503: retried, then the stream batch goes to the DLQ; 400: parked at once).",
    ),
]
UntilOption = Annotated[
    str | None,
    typer.Option("--until", help="Local stack: run --replay up to this instant (default: its last event)."),
]
FormatOption = Annotated[str, typer.Option("--format", help="table or json.")]


@dataclass(frozen=True)
class Where:
    """Which stack's queues: AWS options, or the local stack's."""

    profile: str | None
    region: str | None
    stack: str | None
    queue_url: str | None
    replay: Path | None
    outage: int | None
    until: str | None
    catalog: Path | None

    @property
    def on_aws(self) -> bool:
        return any(v is not None for v in (self.profile, self.region, self.stack, self.queue_url))


@dataclass
class AwsTarget:
    """The queues, stream and notifier of a deployed stack."""

    session: Any
    where: str
    urls: dict[str, str]
    ingest_url: str | None
    wait_seconds: int = 1
    sqs: Any = field(init=False)
    streams: Any = field(init=False)
    functions: Any = field(init=False)

    def __post_init__(self) -> None:
        self.sqs = self.session.client("sqs")
        self.streams = self.session.client("dynamodbstreams")
        self.functions = self.session.client("lambda")

    def queue_url(self, queue: Queue) -> str:
        return self.urls[queue]

    def redrive_destination(self) -> str:
        if self.ingest_url is None:
            sources = self.sqs.list_dead_letter_source_queues(QueueUrl=self.urls["ingest"]).get(
                "queueUrls", []
            )
            if len(sources) != 1:
                fail(
                    "--queue-url",
                    f"{self.urls['ingest']} is the dead-letter queue of {len(sources)} queues, not one: "
                    "give --stack instead",
                )
            self.ingest_url = str(sources[0])
        return self.ingest_url

    def move_task(self) -> bool:
        return True

    def invoke_notifier(self, function_arn: str, event: dict[str, Any]) -> InvokeResult:
        from local.dlq.target import InvokeResult

        response = self.functions.invoke(
            FunctionName=function_arn, InvocationType="RequestResponse", Payload=json.dumps(event).encode()
        )
        payload = response["Payload"].read()
        if response.get("FunctionError"):
            try:
                message = json.loads(payload).get("errorMessage", "")
            except (ValueError, AttributeError):
                message = payload[:200].decode(errors="replace")
            return InvokeResult(error=f"{response['FunctionError']} error: {message}")
        document = json.loads(payload) if payload else None
        failures = (document or {}).get("batchItemFailures") or []
        return InvokeResult(failed=tuple(str(f.get("itemIdentifier")) for f in failures))

    def now(self) -> int:
        return int(time.time())


def _aws_target(where: Where, queue: Queue) -> AwsTarget:
    import boto3
    from botocore.exceptions import ProfileNotFound

    for option, value in (("--replay", where.replay), ("--outage", where.outage), ("--until", where.until)):
        if value is not None:
            fail(option, "only for the local stack; leave out --profile, --region, --stack and --queue-url")
    if where.stack is None and where.queue_url is None:
        fail("--stack", "which stack? give --stack NAME (its outputs name the queues) or --queue-url URL")
    if where.stack is not None and where.queue_url is not None:
        fail("--queue-url", "give --stack or --queue-url, not both")
    try:
        session = boto3.Session(profile_name=where.profile, region_name=where.region)
    except ProfileNotFound:
        fail("--profile", f"no profile {where.profile!r} in the AWS configuration")
    if not session.region_name:
        fail("--region", "no region: give --region or set one for the profile")
    account = f" (profile {where.profile})" if where.profile else ""
    if where.queue_url is not None:
        return AwsTarget(session, f"{where.queue_url}{account}", {queue: where.queue_url}, None)
    outputs = _stack_outputs(session, where.stack or "")
    missing = [key for key in (*OUTPUT_OF_QUEUE.values(), INGEST_QUEUE_OUTPUT) if key not in outputs]
    if missing:
        fail("--stack", f"stack {where.stack} has no output {missing[0]}: is it this engine's stack?")
    urls = {name: outputs[key] for name, key in OUTPUT_OF_QUEUE.items()}
    where_text = f"stack {where.stack} in {session.region_name}{account}"
    return AwsTarget(session, where_text, urls, outputs[INGEST_QUEUE_OUTPUT])


def _stack_outputs(session: Any, stack: str) -> dict[str, str]:
    from botocore.exceptions import ClientError

    try:
        stacks = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ValidationError":
            fail("--stack", f"no stack {stack!r} in this account and region")
        raise
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


@contextmanager
def open_target(where: Where, queue: Queue) -> Iterator[Target]:
    """The queues the options name: a deployed stack's, or the local stack's after its replay."""
    if where.on_aws:
        with _aws_errors(where):
            aws = _aws_target(where, queue)
        yield aws
        return
    from infra.catalog_source import CatalogError
    from local.dlq import local_target

    if where.outage is not None and not 400 <= where.outage <= 599:
        fail("--outage", f"{where.outage} is not an HTTP error status (400-599)")
    until = int(parse_instant("--until", where.until).timestamp()) if where.until is not None else None
    lines: list[str] = []
    if where.replay is not None:
        from cli.replay import read_lines  # binary, a BOM, a JSON array: as `replay` reads them
        from local.jsonl import text_of

        # A line that is not UTF-8 text goes to the queue as read, for the edge to reject by its reason.
        lines = [text_of(line) for line in read_lines(where.replay, "--replay")]
    with ExitStack() as resources:
        try:
            target = resources.enter_context(
                local_target.open_local(where.catalog, lines, outage=where.outage, until=until)
            )
        except CatalogError as error:
            fail("--catalog", str(error))
        if where.replay is not None:
            target.where += f", after replaying {where.replay}"
        yield target


@contextmanager
def _aws_errors(where: Where) -> Iterator[None]:
    """AWS's refusals as one line naming the option to fix, instead of a traceback."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, PartialCredentialsError

    try:
        yield
    except (NoCredentialsError, PartialCredentialsError):
        fail("--profile", "no AWS credentials: give --profile, or log in (aws sso login)")
    except ClientError as error:
        details = error.response.get("Error", {})
        code, message = str(details.get("Code", "")), str(details.get("Message", ""))
        operation = error.operation_name
        if code in PROFILE_CODES:
            fail("--profile", f"{operation} refused ({code}): {message}")
        if code in MISSING_QUEUE_CODES:
            fail("--queue-url" if where.queue_url else "--stack", f"the queue does not exist ({message})")
        fail("--queue", f"{operation} failed ({code}): {message}")
    except BotoCoreError as error:
        fail("--profile" if where.profile else "--region", str(error))


def _queue(value: str) -> Queue:
    queue = choose("--queue", value, QUEUE_CHOICES, "queue")
    return "ingest" if queue == "ingest" else "notifier"


def _format(value: str) -> str:
    return choose("--format", value, ("table", "json"), "format")


# ----- the commands ------------------------------------------------------------------------------------------


@dlq_app.command("list")
def list_messages(
    queue: QueueOption,
    limit: Annotated[int, typer.Option("--limit", help="At most this many messages, oldest first.")] = 100,
    output_format: FormatOption = "table",
    profile: ProfileOption = None,
    region: RegionOption = None,
    stack: StackOption = None,
    queue_url: QueueUrlOption = None,
    replay: ReplayOption = None,
    outage: OutageOption = None,
    until: UntilOption = None,
    catalog: CatalogOption = None,
) -> None:
    """List a dead-letter queue: id, age, receive count and a one-line summary of each message, oldest first.

    Ingest: the event's type, ticket and event id. Notifier: the effect, channel and reason of a delivery
    refused for good, or the shard and sequence range of a stream batch that failed its retries. Listing
    receives the messages and puts them back at once; the receive count includes this look.

    Examples:

      sla-engine dlq list --queue ingest --profile ops --stack sla-engine-prod

      sla-engine dlq list --queue notifier --replay events/scenario.jsonl --outage 503
    """
    name, form = _queue(queue), _format(output_format)
    if limit < 1:
        fail("--limit", f"{limit} is not a positive number")
    where = Where(profile, region, stack, queue_url, replay, outage, until, catalog)
    from local.dlq.letters import QUEUE_NAMES
    from local.dlq.queue_reads import peek

    with open_target(where, name) as target, _aws_errors(where):
        letters = peek(target, name, limit)
        title = f"{QUEUE_NAMES[name]} of {target.where}"
    if form == "json":
        rows = [
            {
                "position": index,
                "id": letter.message_id,
                "sent_at": _iso(letter.sent_at),
                "age_seconds": letter.age(),
                "receive_count": letter.receive_count,
                "kind": letter.kind(),
                "summary": letter.summary(),
            }
            for index, letter in enumerate(letters, start=1)
        ]
        typer.echo(json.dumps({"queue": QUEUE_NAMES[name], "where": title, "messages": rows}, indent=2))
        return
    console = stdout_console()
    if not letters:
        console.print(f"{title}: no messages", highlight=False, markup=False, soft_wrap=True)
        return
    table = Table(title=f"{title}: {len(letters)} message{'s' if len(letters) != 1 else ''}")
    for column in ("#", "id", "age", "receives", "summary"):
        table.add_column(column, overflow="fold")
    for index, letter in enumerate(letters, start=1):
        age = human(letter.age())
        table.add_row(str(index), letter.message_id, age, str(letter.receive_count), letter.summary())
    console.print(table)


@dlq_app.command("show")
def show_message(
    message: Annotated[
        str, typer.Argument(metavar="ID", help="Message id, or its position in `list` (1 = oldest).")
    ],
    queue: QueueOption,
    profile: ProfileOption = None,
    region: RegionOption = None,
    stack: StackOption = None,
    queue_url: QueueUrlOption = None,
    replay: ReplayOption = None,
    outage: OutageOption = None,
    until: UntilOption = None,
    catalog: CatalogOption = None,
) -> None:
    """Print one message as JSON, its personal data redacted (e-mail addresses, message texts, names).

    Examples:

      sla-engine dlq show 4f2c1a9e-0b7d-4c1e-9a51-2d7f0e3c8b10 --queue ingest --profile ops --stack sla-engine-prod

      sla-engine dlq show 1 --queue notifier --replay events/scenario.jsonl --outage 400
    """
    name = _queue(queue)
    where = Where(profile, region, stack, queue_url, replay, outage, until, catalog)
    from local.dlq.letters import QUEUE_NAMES
    from local.dlq.queue_reads import find

    with open_target(where, name) as target, _aws_errors(where):
        letter = find(target, name, message)
        if letter is None:
            fail(
                "ID",
                f"no message {message!r} in {QUEUE_NAMES[name]} of {target.where}; `dlq list` lists them",
            )
        shown = letter.shown(name)
    typer.echo(json.dumps(shown, indent=2, ensure_ascii=False))


@dlq_app.command("redrive")
def redrive(
    queue: QueueOption,
    messages: Annotated[
        list[str] | None,
        typer.Argument(metavar="ID", help="Only these messages (ids, or positions in `list`); default: all."),
    ] = None,
    drop_expired: Annotated[
        bool,
        typer.Option(
            "--drop-expired",
            help="Notifier: delete the messages of stream batches whose records the stream no longer keeps "
            "(their effects are still delivered by each ticket's next record).",
        ),
    ] = False,
    wait: Annotated[
        float, typer.Option("--wait", help="Ingest on AWS: seconds to follow the SQS move task.")
    ] = 60.0,
    output_format: FormatOption = "table",
    profile: ProfileOption = None,
    region: RegionOption = None,
    stack: StackOption = None,
    queue_url: QueueUrlOption = None,
    replay: ReplayOption = None,
    outage: OutageOption = None,
    until: UntilOption = None,
    catalog: CatalogOption = None,
) -> None:
    """Redrive a dead-letter queue; exit status 1 when messages are left in it.

    Ingest: the events go back to the ingest queue (an SQS message move task; when ids are given, or where
    SQS offers none, each message is sent and then deleted, so none is lost; a copy sent twice is harmless,
    the ingest records each event id once). The operator needs sqs:SendMessage on the ingest queue, which
    its policy grants only to the control panel and the template's OperatorPrincipal.

    Notifier: each stream batch that failed its retries is read again from the table's stream and handed to
    the notifier; past the stream's 24 h the records are gone, and the command says so: their outbox items
    are still in the table and each ticket's next record delivers them. Deliveries refused for good stay.

    Examples:

      sla-engine dlq redrive --queue ingest --profile ops --stack sla-engine-prod

      sla-engine dlq redrive --queue notifier --replay events/scenario.jsonl --outage 503 --until 2026-04-06T13:30:00Z
    """
    name, form = _queue(queue), _format(output_format)
    if drop_expired and name != "notifier":
        fail("--drop-expired", "only for --queue notifier")
    if wait < 0:
        fail("--wait", f"{wait} is negative")
    where = Where(profile, region, stack, queue_url, replay, outage, until, catalog)
    from local.dlq.ingest_redrive import redrive_ingest
    from local.dlq.letters import QUEUE_NAMES
    from local.dlq.notifier_redrive import redrive_notifier
    from local.dlq.queue_reads import UnknownMessages

    with open_target(where, name) as target, _aws_errors(where):
        title = f"{QUEUE_NAMES[name]} of {target.where}"
        try:
            if name == "ingest":
                outcomes = redrive_ingest(target, messages or (), wait)
            else:
                outcomes = redrive_notifier(target, messages or (), drop_expired=drop_expired)
        except UnknownMessages as error:
            fail(
                "ID", f"no message {error.names[0]!r} in {title}; `dlq list` lists them; nothing was redriven"
            )
    _print_outcomes(title, outcomes, form)
    if any(o.left_in_queue for o in outcomes):
        raise typer.Exit(1)


def _print_outcomes(title: str, outcomes: list[Outcome], form: str) -> None:
    if form == "json":
        rows = [
            {"id": o.message_id, "summary": o.summary, "status": o.status, "detail": o.detail}
            for o in outcomes
        ]
        typer.echo(json.dumps({"where": title, "outcomes": rows}, indent=2))
        return
    console = stdout_console()
    if not outcomes:
        console.print(
            f"{title}: no messages, nothing to redrive", highlight=False, markup=False, soft_wrap=True
        )
        return
    for outcome in outcomes:
        console.print(
            f"{outcome.status}: {outcome.message_id}  {outcome.summary}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        console.print(f"  {outcome.detail}", highlight=False, markup=False, soft_wrap=True)
    left = sum(o.left_in_queue for o in outcomes)
    done = sum(o.status in ("redriven", "dropped") for o in outcomes)
    console.print(
        f"{title}: {done} handled, {left} left in the queue", highlight=False, markup=False, soft_wrap=True
    )


def _iso(epoch: int) -> str:
    from infra.views import iso

    return iso(epoch) or ""
