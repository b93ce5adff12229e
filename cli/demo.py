"""`sla-engine demo`: a week of support tickets run through the real engine, told as a story.

The demo is the project's first impression (`make demo` on a fresh clone), so it runs the very pipeline of
`sla-engine replay` on the built-in scenario of `cli/demo_scenario.py` rather than a mock-up: what it shows
is what the deployed functions would do. The table output is for people (a timeline in each customer's
wall-clock time, then a verdict per clock); `--format json` is the replay document, for scripts and tests.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from cli.app import (
    BackendOption,
    CatalogOption,
    app,
    backend_choice,
    fail,
    human,
    iso_utc,
    open_catalog,
    stdout_console,
)
from cli.demo_kpis import print_week_kpis
from cli.demo_lines import demo_catalog
from cli.demo_scenario import CUSTOMERS, HORIZON, Customer, customer_of, scenario_events
from cli.serve import DEMO_COMMAND
from infra.catalog_source import CatalogError
from sla.catalog import Catalog

if TYPE_CHECKING:
    from local.replay import Message

TITLE = "SLA engine demo — Easter week 2026 at a hosting provider's support desk"
BREACH_MARK = "✗ BREACHED"
TIME_FORMAT = "%a %d %H:%M"  # weekday and day: the whole scenario is in April 2026, as the title says

MESSAGE_WIDTH = 100  # a page or an e-mail as a panel: narrower than the 120 columns of the tables
CHANNEL_NAMES = {"sns": "on-call topic (SNS)", "pagerduty": "PagerDuty", "slack": "Slack", "email": "e-mail"}
ALERT_STYLES = {
    "warning": "yellow",
    "trigger": "bold red",
    "acknowledge": "cyan",
    "resolve": "green",
    "grouped": "dim",  # a breach page another ticket of its incident already sent (storm control)
}
NOTIFICATION_WORDS = {
    "acknowledged": "response due time quoted",
    "hardware_scheduled": "replacement ETA quoted",
    "breach_apology": "the commitment was missed",
    "hardware_completed": "the part was replaced",
    "survey": "how did we do?",
    "incident_linked": "part of a known incident",
    "incident_resolved": "the incident is resolved",
}


@app.command()
def demo(
    output_format: Annotated[
        str, typer.Option("--format", help="table (a story for people) or json (the replay document).")
    ] = "table",
    catalog: CatalogOption = None,
    backend: BackendOption = "memory",
) -> None:
    """Replay a built-in week of support tickets through the engine, and show what it did.

    Four customers, one per support level, in four time zones; incidents of every severity, a hardware
    replacement, an escalation, breaches with and without acknowledgement, and one invalid event. The events
    go through the same code path as `sla-engine replay` (the engine in process, with a simulated clock and
    the sweeper every simulated minute; --backend moto runs the Lambda handlers on an emulated AWS). No AWS
    account is needed.

    Examples:

    ```
    sla-engine demo
    sla-engine demo --format json | jq '.alerts[] | select(.kind == "trigger")'
    sla-engine demo --backend moto
    make demo
    ```
    """
    if output_format not in ("table", "json"):
        fail("--format", f"{output_format!r} is not one of 'table', 'json'")
    # Checked before the engine starts, so that a bad catalog is a one-line error and not a half-started
    # backend.
    chosen = backend_choice(backend)
    with demo_catalog(catalog) as catalog_path:  # the packaged catalog and the demo's limited-support day
        loaded = open_catalog(catalog_path)
        missing = sorted({c.support_level for c in CUSTOMERS} - set(loaded.levels))
        if missing:
            fail("--catalog", f"the demo's customers are on levels the catalog lacks: {', '.join(missing)}")

        from local.replay import replay_with_messages  # the engine loads only when replaying

        events = scenario_events()
        started = time.perf_counter()
        try:
            # What the channels received, read back from the engine's recording stand-ins, is shown as sent.
            document, messages = replay_with_messages(
                [json.dumps(event) for event in events], HORIZON, catalog_path, chosen
            )
        except CatalogError as error:
            fail("--catalog", str(error))
    if output_format == "json":
        typer.echo(json.dumps(document, ensure_ascii=False, indent=2))
        return
    print_story(stdout_console(), events, document, time.perf_counter() - started, loaded, chosen, messages)
    typer.echo(f"Serve this week to the read API and the live board: {DEMO_COMMAND}")


# -- reading the document ---------------------------------------------------------------------------------


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def utc_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime(TIME_FORMAT)


def local_time(at: datetime, customer: Customer | None, zone: bool = True) -> str:
    """Wall-clock time in the customer's zone, with its abbreviation: how the customer was told it."""
    if customer is None:
        return ""
    local = at.astimezone(ZoneInfo(customer.timezone))
    return f"{local:{TIME_FORMAT}} {local.tzname()}" if zone else f"{local:{TIME_FORMAT}}"


@dataclass(frozen=True)
class Row:
    """One line of the timeline; `rank` keeps an event before what the engine did at the same instant."""

    at: datetime
    rank: int
    ticket_id: str
    customer: Customer | None
    tag: Text
    what: Text


def owners(events: Iterable[dict[str, Any]]) -> dict[str, Customer]:
    """Each ticket's customer, from its Ticket Opened: acknowledgements from on-call tools do not name one."""
    found = {}
    for event in events:
        detail = event["detail"]
        customer = customer_of(detail.get("customer_id"))
        if event["detail-type"] == "Ticket Opened" and customer is not None:
            found[detail["ticket_id"]] = customer
    return found


def describe_event(event: dict[str, Any]) -> str:
    """The event in the words a support agent would use; tolerant, since a rejected event may be malformed."""
    detail: dict[str, Any] = event["detail"]
    kind = str(event["detail-type"])
    if kind == "Support Plan Changed":
        customer = customer_of(detail.get("customer_id"))
        name = customer.name if customer else detail.get("customer_id")
        contact = "" if detail.get("contact_email") else " (no contact e-mail)"
        return f"{name} subscribes to {detail.get('support_level')}{contact}"
    if kind == "Ticket Opened":
        category = detail.get("category") or "ticket"
        return f"opened: {detail.get('severity')} {category} “{detail.get('subject')}”"
    if kind == "Ticket Message Posted":
        line = detail.get("line")
        if detail.get("visibility") != "public" and line:
            return f"{detail.get('author')} of line {line} posts an internal note (meets its pickup only)"
        if detail.get("visibility") != "public":
            return f"{detail.get('author')} posts an internal note (meets and starts no clock)"
        if detail.get("author") == "agent":
            return "agent answers the customer"
        return "customer writes again and waits for an answer"
    if kind == "Ticket Status Changed":
        status = detail.get("status")
        note = {"pending_customer": " (waiting for the customer)", "closed": " (stops every clock)"}
        return f"status → {status}{note.get(str(status), '')}"
    if kind == "Ticket Severity Changed":
        return f"severity changed to {detail.get('severity')}"
    if kind == "Hardware Replacement Requested":
        return f"hardware replacement requested: {detail.get('component')} of {detail.get('server_id')}"
    if kind == "Hardware Replacement Completed":
        return f"hardware replaced: {detail.get('component')} of {detail.get('server_id')}"
    if kind == "Alert Acknowledged":
        return f"{detail.get('acknowledged_by')} acknowledges the {detail.get('metric')} alert"
    if kind == "Satisfaction Rated":
        return f"customer rates the support {detail.get('rating')}/5 (CSAT)"
    if kind == "Incident Declared":
        return f"incident {detail.get('incident_id')} declared: {detail.get('summary')}"
    if kind == "Ticket Linked To Incident":
        return f"linked to incident {detail.get('incident_id')}"
    if kind == "Incident Resolved":
        return f"incident {detail.get('incident_id')} resolved"
    if kind == "Ticket Escalated":
        return f"escalated to line {detail.get('to_line')}: {detail.get('reason') or 'no reason given'}"
    return kind


_KIND_WORDS = {
    "warning": " of target",
    "trigger": " breached",
    "acknowledge": " acknowledged",
    "resolve": " resolved",
}
"""What each kind of alert's subject says (sla.messages.alert_summary). A subject is matched by its words
and route, not by how it ends: SNS cuts a subject at 99 characters, and a page to a fallback names two
routes ("page 1/2 oncall-l1 for oncall-l2")."""


def alert_subjects(document: dict[str, Any], messages: Sequence[Message]) -> list[str | None]:
    """For each alert of the document, the subject the on-call topic received for it (the text infra.notify
    built: "at 50% of target, due 03:30 UTC"), or None when none was sent; matched in order by dedup key
    and route, as each alert is published once, in the order it was decided."""
    published = [m for m in messages if m.channel == "sns"]
    subjects: list[str | None] = []
    for alert in document["alerts"]:
        found = next(
            (
                m
                for m in published
                if m.key == alert["dedup_key"]
                and _KIND_WORDS.get(alert["kind"], alert["kind"]) in m.subject
                and alert["route"] in m.subject
            ),
            None,
        )
        if found is not None:
            published.remove(found)
        subjects.append(found.subject if found is not None else None)
    return subjects


def timeline_rows(
    events: list[dict[str, Any]], document: dict[str, Any], messages: Sequence[Message] = ()
) -> list[Row]:
    """Incoming events, alerts and notifications merged in time order, as one story. An alert reads as the
    on-call topic received it, when the messages sent are given."""
    ticket_owner = owners(events)
    rejected = {r["event_id"]: r["reason"] for r in document["rejected"]}
    rows = []
    for event in events:
        detail = event["detail"]
        ticket_id = detail.get("ticket_id", "")
        what = Text(describe_event(event))
        reason = rejected.get(detail.get("event_id"))
        if reason is not None:
            what.append(f" — rejected: {reason}", style="bold red")
        customer = customer_of(detail.get("customer_id")) or ticket_owner.get(ticket_id)
        tag = Text("event", style="bold red" if reason else "bold")
        rows.append(Row(instant(detail["occurred_at"]), 0, ticket_id, customer, tag, what))

    for alert, subject in zip(document["alerts"], alert_subjects(document, messages), strict=True):
        kind = alert["kind"]
        head = f"{kind} {alert['metric']} #{alert['cycle']} → {alert['route']}"
        words = f"{kind}: “{subject}”" if subject else head
        rows.append(
            Row(
                instant(alert["at"]),
                1,
                alert["ticket_id"],
                ticket_owner.get(alert["ticket_id"]),
                Text("alert", style=ALERT_STYLES.get(kind, "")),
                Text(words, style=ALERT_STYLES.get(kind, "")),
            )
        )
    for note in document["notifications"]:
        words = NOTIFICATION_WORDS.get(note["kind"], "")
        rows.append(
            Row(
                instant(note["at"]),
                2,
                note["ticket_id"],
                customer_of(note["customer_id"]) or ticket_owner.get(note["ticket_id"]),
                Text("customer", style="blue"),
                Text(f"{note['kind']}: {words} [{note['channel']}, {note['locale']}]", style="blue"),
            )
        )
    return sorted(rows, key=lambda r: (r.at, r.rank))


def verdict(clock: dict[str, Any], horizon: datetime) -> Text:
    """What became of the promise, and by how much, so a breach reads as one at a glance."""
    state = clock["state"]
    due = instant(clock["due_at"]) if clock["due_at"] else None
    stopped = instant(clock["stopped_at"]) if clock["stopped_at"] else None
    if state == "breached":
        late = "" if due is None else f"\n{human(int(((stopped or horizon) - due).total_seconds()))} late"
        return Text(f"{BREACH_MARK}{late}", style="bold red")
    if state == "met":
        spare = (
            "" if due is None or stopped is None else f"\n{human(int((due - stopped).total_seconds()))} early"
        )
        return Text(f"✓ met in time{spare}", style="green")
    left = human(max(0, clock["target_seconds"] - clock["elapsed_seconds"]))
    if state == "running":
        return Text(f"running\n{left} to go", style="yellow")
    if state == "paused":
        return Text(f"paused\n{left} to go", style="cyan")
    return Text(f"{state}\n(ticket closed)", style="dim")  # the ticket was closed while it ran


# -- printing ---------------------------------------------------------------------------------------------


def print_story(
    console: Console,
    events: list[dict[str, Any]],
    document: dict[str, Any],
    seconds: float,
    catalog: Catalog | None = None,
    backend: str = "memory",
    messages: Sequence[Message] = (),
) -> None:
    console.rule(f"[bold]{TITLE}")
    where = (
        "delivered as an SQS record to the IngestFunction handler, on AWS services emulated in process by "
        "moto (the DynamoDB table is built from template.yaml)"
        if backend == "moto"
        else "the services the Lambda handlers call, run on an in-memory store that keeps the "
        "DynamoDB table's contract (--backend moto runs the Lambda handlers themselves, on AWS services "
        "emulated in process by moto)"
    )
    console.print(
        f"A week of a hosting provider's support desk: four customers, one per support level, in four time "
        f"zones, and their {len(events)} control-panel events (Easter week: Good Friday is a holiday in "
        "Germany, Easter Monday in France and Germany). On Wednesday a storage outage (incident INC-PAR2) hits "
        "three customers at once, and a Moscow ticket is escalated to the second line at 21:30, half an hour "
        "before that line goes off duty; Thursday is a limited-support day for standard and premium (answers "
        "within 72 h, critical ones 10 min). Nothing here is a mock-up of the engine: each event goes through "
        f"the deployed code path: {where}. The clock is "
        "simulated: each event is processed at its occurred_at, and the SweeperFunction runs every simulated "
        f"minute to fire warnings, breaches and escalation steps, up to {iso_utc(HORIZON)}. "
        "No AWS account and no Docker are needed; `sla-engine replay` runs the same pipeline on your files.",
        highlight=False,
        markup=False,
    )
    console.print(customers_table())
    console.print(timeline_table(events, document, messages))
    console.print(summary_table(document))
    console.print(alerts_table(document))
    console.print(notifications_table(document))
    print_messages(console, messages)
    console.print(rejected_table(events, document))
    if catalog is not None:
        print_week_kpis(console, events, catalog, HORIZON)
    console.print(
        f"{len(events)} events in, {len(document['alerts'])} alerts and {len(document['notifications'])} "
        f"customer notifications out, {len(document['rejected'])} rejected; simulated "
        f"{iso_utc(min(instant(e['detail']['occurred_at']) for e in events))} → {iso_utc(HORIZON)} "
        f"in {seconds:.1f} s. The same as JSON: sla-engine demo --format json",
        style="dim",
        highlight=False,
        markup=False,
    )


def customers_table() -> Table:
    table = Table(title="Customers", box=box.SIMPLE_HEAD)
    for column in ("customer", "name", "level", "time zone", "country", "locale", "contact"):
        table.add_column(column)
    for customer in CUSTOMERS:
        table.add_row(
            customer.customer_id,
            customer.name,
            customer.support_level,
            customer.timezone,
            customer.country,
            customer.locale,
            customer.contact_email or Text("none: deliveries are skipped", style="dim"),
        )
    return table


def timeline_table(
    events: list[dict[str, Any]], document: dict[str, Any], messages: Sequence[Message] = ()
) -> Table:
    table = Table(
        title="Timeline: what happened, and what the engine did", box=box.SIMPLE_HEAD, pad_edge=False
    )
    table.add_column("UTC", no_wrap=True)
    table.add_column("customer's time", no_wrap=True)
    table.add_column("ticket", no_wrap=True)
    table.add_column("", no_wrap=True)
    table.add_column("what", ratio=1)
    rows = timeline_rows(events, document, messages)
    for index, row in enumerate(rows):
        last_of_day = (
            index + 1 == len(rows)
            or rows[index + 1].at.astimezone(UTC).date() != row.at.astimezone(UTC).date()
        )
        table.add_row(
            utc_time(row.at),
            local_time(row.at, row.customer),
            row.ticket_id,
            row.tag,
            row.what,
            end_section=last_of_day,
        )
    return table


def summary_table(document: dict[str, Any]) -> Table:
    table = Table(
        title="Tickets and their SLA clocks at the end of the week", box=box.SIMPLE_HEAD, pad_edge=False
    )
    table.add_column("ticket", no_wrap=True)
    table.add_column("clock", no_wrap=True)
    table.add_column("worked/target", justify="right", no_wrap=True)
    table.add_column("due: customer, UTC", no_wrap=True)
    table.add_column("stopped", no_wrap=True)
    table.add_column("verdict", min_width=14)
    for ticket in document["tickets"]:
        customer = customer_of(ticket["customer_id"])
        about = Text(f"{ticket['ticket_id']} {ticket['support_level']}\n", style="bold")
        about.append(f"{ticket['severity']}, {ticket['status']}", style="")
        clocks = ticket["clocks"]
        for index, clock in enumerate(clocks):
            due = instant(clock["due_at"]) if clock["due_at"] else None
            stopped = instant(clock["stopped_at"]) if clock["stopped_at"] else None
            name = clock["metric"].replace("_", " ")
            table.add_row(
                about if index == 0 else "",
                f"{name} #{clock['cycle']}"
                if clock["cycle"] > 1 or clock["metric"] == "next_response"
                else name,
                f"{human(clock['elapsed_seconds'])} / {human(clock['target_seconds'])}",
                "" if due is None else f"{local_time(due, customer)}\n{utc_time(due)} UTC",
                "" if stopped is None else local_time(stopped, customer, zone=False),
                verdict(clock, HORIZON),
                end_section=index == len(clocks) - 1,
            )
    table.caption = (
        "Worked time leaves out pauses (pending_customer) and, on business hours, nights, weekends and "
        "holidays; stopped is when the clock was met, cancelled, or answered after its breach."
    )
    return table


def alerts_table(document: dict[str, Any]) -> Table:
    table = Table(
        title="Alerts to on-call (SNS, PagerDuty, Slack routes)", box=box.SIMPLE_HEAD, pad_edge=False
    )
    for column in ("at (UTC)", "ticket", "metric", "cycle", "kind", "route", "dedup key"):
        table.add_column(column, no_wrap=True)
    for alert in document["alerts"]:
        style = ALERT_STYLES.get(alert["kind"], "")
        table.add_row(
            utc_time(instant(alert["at"])),
            alert["ticket_id"],
            alert["metric"],
            str(alert["cycle"]),
            Text(alert["kind"], style=style),
            alert["route"],
            alert["dedup_key"],
        )
    return table


def notifications_table(document: dict[str, Any]) -> Table:
    table = Table(title="Notifications to customers (SES e-mail)", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("at (UTC)", "customer's time", "ticket", "customer", "kind", "channel", "locale"):
        table.add_column(column, no_wrap=True)
    for note in document["notifications"]:
        customer = customer_of(note["customer_id"])
        table.add_row(
            utc_time(instant(note["at"])),
            local_time(instant(note["at"]), customer),
            note["ticket_id"],
            note["customer_id"],
            note["kind"],
            note["channel"],
            note["locale"],
        )
    table.caption = (
        "A customer without a contact address still gets a notification; only its delivery is skipped."
    )
    return table


def rejected_table(events: list[dict[str, Any]], document: dict[str, Any]) -> Table:
    types = {event["detail"].get("event_id"): event["detail-type"] for event in events}
    table = Table(title="Rejected events (kept for inspection, nothing else changed)", box=box.SIMPLE_HEAD)
    for column in ("event", "detail-type", "reason"):
        table.add_column(column)
    for rejection in document["rejected"]:
        table.add_row(
            rejection["event_id"],
            types.get(rejection["event_id"], "?"),
            Text(rejection["reason"], style="red"),
        )
    return table


# -- what the channels received -------------------------------------------------------------------------


def chosen_moments(messages: Sequence[Message]) -> list[Message]:
    """A few moments of the week, in time order: the first warning on the on-call topic, the first page and
    its acknowledgement on PagerDuty, the first Slack message, and the first e-mail to each customer (each
    in its own language) and the first apology for a missed commitment."""
    picks: list[Message] = []

    def first(test: Any) -> None:
        found = next((m for m in messages if test(m) and m not in picks), None)
        if found is not None:
            picks.append(found)

    first(lambda m: m.channel == "sns" and "% of target" in m.subject)
    first(lambda m: m.channel == "pagerduty" and m.to == "trigger")
    first(lambda m: m.channel == "pagerduty" and m.to == "acknowledge")
    first(lambda m: m.channel == "slack")
    for address in dict.fromkeys(m.to for m in messages if m.channel == "email"):
        first(lambda m, address=address: m.channel == "email" and m.to == address)
    first(lambda m: m.channel == "email" and any(p in m.text for p in APOLOGY_MARKS))
    return sorted(picks, key=lambda m: m.at)


APOLOGY_MARKS = ("We committed", "Nous nous étions engagés", "Мы обязались", "Wir hatten zugesagt")


def message_panel(message: Message) -> Panel:
    at = datetime.fromtimestamp(message.at, UTC)
    customer = next((c for c in CUSTOMERS if c.contact_email and c.contact_email == message.to), None)
    when = f"{utc_time(at)} UTC" + (f" · {local_time(at, customer)} for the customer" if customer else "")
    channel = CHANNEL_NAMES.get(message.channel, message.channel)
    if message.channel == "email":
        title = f"{channel} to {message.to}"
        body = Group(Text(f"Subject: {message.subject}", style="bold"), Text(""), Text(message.text.rstrip()))
    elif message.channel == "pagerduty":
        title = f"{channel} {message.to}"
        lines = [Text(message.text)] if message.text else []
        body = Group(*lines, Text(f"event_action: {message.to}, dedup_key: {message.key}", style="dim"))
    elif message.channel == "sns":
        title = channel
        body = Group(Text(f"Subject: {message.subject}"))
    else:
        title = f"{channel} webhook"
        body = Group(Text(message.text))
    return Panel(body, title=f"{title} — {when}", title_align="left", width=MESSAGE_WIDTH)


def print_messages(console: Console, messages: Sequence[Message]) -> None:
    moments = chosen_moments(messages)
    if not moments:
        return
    console.rule("[bold]What the channels received: a few moments of the week, as sent")
    console.print(
        "The text each on-call tool and each customer got, read back from the local engine's recording "
        "transports (PagerDuty, Slack) and its SNS and SES stand-ins: built by the notifier, not by this demo. "
        "E-mails are in the customer's language, with times in the customer's zone.",
        highlight=False,
        markup=False,
    )
    for message in moments:
        console.print(message_panel(message))
