"""The event contract with the control panel (SPEC section 3) as pydantic models.

These are the `detail` of the EventBridge events. Readers are tolerant (unknown extra fields are ignored) so
the control panel can add fields; a missing or invalid known field is an error that names it. A known field
has the JSON type the contract names, never one pydantic would coerce: `occurred_at` a string (not epoch
seconds), `sequence` an integer (not a boolean, a string or a float), ids strings; bounds keep every value
one the fold can take (instants from 1970 up to 2100, a sequence up to 2**53 - 1, ids up to 128 characters).

The same models read stored events back, under a validation context: the edge passes the receipt time
(`received_at`) so that `occurred_at` is bounded, and the persistence codec passes `stored`, under which the
checks that depend on library data (tzdata's zone names, the holidays library's countries) do not refuse:
history accepted once must stay readable after an upgrade.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Annotated, Any, ClassVar, Final, TypeGuard
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from sla.vocabulary import (
    Author,
    Category,
    Component,
    Locale,
    MessageKind,
    Metric,
    Severity,
    Status,
    Visibility,
)

SOURCE = "controlpanel.support"

# An identifier (event, ticket, customer, message, server, agent, line) is opaque to the engine, but it
# becomes part of item keys, dedup keys, URLs and log fields: letters and digits of any script (a control
# panel may number tickets "тикет-42" or "dépannage-7"), their combining marks, and `. _ : @ / + = -`. Never
# `#` (the key separator of the table), spaces or control characters. IDENTIFIER_PATTERN states the rule for
# the JSON Schemas and the OpenAPI document (ECMA-262 with the `u` flag); `is_identifier` is the one check in
# code: a regex engine's Unicode tables differ from Python's by version, and the edge and the models must
# never disagree on a ticket's id.
IDENTIFIER_PUNCTUATION: Final = "._:@/+=-"
IDENTIFIER_PATTERN: Final = r"^[\p{L}\p{M}\p{N}._:@/+=-]+$"
IDENTIFIER_MAX_CHARS: Final = 128


_ASCII_IDENTIFIER: Final = re.compile(r"[A-Za-z0-9._:@/+=-]+")
"""The identifiers most producers send: ASCII letters (L), digits (N) and the punctuation, told at C speed."""


def is_identifier(value: object) -> TypeGuard[str]:
    """IDENTIFIER_PATTERN and its length bound, for a raw value that has not been through a model."""
    if not isinstance(value, str) or not 0 < len(value) <= IDENTIFIER_MAX_CHARS:
        return False
    if value.isascii():
        return _ASCII_IDENTIFIER.fullmatch(value) is not None
    return all(c in IDENTIFIER_PUNCTUATION or unicodedata.category(c)[0] in "LMN" for c in value)


def check_identifier(value: str) -> str:
    if not is_identifier(value):
        raise PydanticCustomError(
            "string_pattern_mismatch",
            "String should match pattern '{pattern}'",
            {"pattern": IDENTIFIER_PATTERN},
        )
    return value


Identifier = Annotated[
    str,
    Field(
        strict=True,
        min_length=1,
        max_length=IDENTIFIER_MAX_CHARS,
        json_schema_extra={"pattern": IDENTIFIER_PATTERN},
    ),
    AfterValidator(check_identifier),
]
ShortText = Annotated[str, Field(max_length=1000)]


# Bounds of `occurred_at` against the receipt time (SPEC section 3): further out is a clock skew or a
# producer bug, not a ticket's history, and would otherwise page for long-gone breaches or never fold.
MAX_EVENT_AGE: Final = timedelta(days=30)
MAX_EVENT_LEAD: Final = timedelta(minutes=5)

# The instants the engine takes at all, receipt time or not (SPEC section 3): the calendars' public holidays
# (the holidays library's data) end about 2100 and a due time is searched up to 20 years past its start, so a
# later instant would be counted without holidays, then overflow `datetime` in the fold; before 1970 is no
# ticket's history. Replay, the CLI and the fold rely on these bounds; at the edge the receipt time's are
# checked first. Stored events are not checked against them (accepted history stays readable).
EARLIEST_INSTANT: Final = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_INSTANT: Final = datetime(2100, 1, 1, tzinfo=UTC)  # excluded
INSTANT_EXAMPLE: Final = "2026-04-03T17:30:00+02:00"
# `sequence` is an integer that any JSON producer holds exactly (I-JSON, RFC 7493): at most 2**53 - 1.
MAX_SEQUENCE: Final = 2**53 - 1

# Keys of the pydantic validation context these models read.
RECEIVED_AT: Final = "received_at"  # an aware datetime: the edge's receipt time, which bounds occurred_at
STORED: Final = "stored"  # True: a stored event read back, only structure is checked

EXCERPT_CHARS: Final = 60


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    """A bad value as a rejection reason may quote it: `repr`-escaped and short.

    Reasons are stored and logged, so an echoed 235 KB value would make an item DynamoDB refuses and a
    log line nobody reads; control characters are escaped so a reason stays one readable line. A string
    is cut to at most `limit` characters of its escaped form, anything else to `limit` characters of its
    repr, and a cut value says how long it was (a string in characters, anything else by its repr):
    "'abc'…(1234 chars)".
    """
    if not isinstance(value, str):
        shown = repr(value)
        return shown if len(shown) <= limit else f"{shown[:limit]}…({len(shown)} chars)"
    width = 0
    kept = 0
    for char in value:
        width += len(repr(char)) - 2
        if width > limit:
            break
        kept += 1
    if kept == len(value):
        return repr(value)
    return f"{value[:kept]!r}…({len(value)} chars)"


def _is_stored(info: ValidationInfo) -> bool:
    return isinstance(info.context, dict) and bool(info.context.get(STORED))


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _known_zone(name: str, info: ValidationInfo) -> str:
    if name not in _zones() and not _is_stored(info):
        raise ValueError(f"{excerpt(name)} is not an IANA time zone")
    return name


def _known_country(code: str, info: ValidationInfo) -> str:
    if _is_stored(info):
        return code
    import holidays  # slow to import; only plan changes name a country

    if code not in holidays.list_supported_countries():
        raise ValueError(f"{excerpt(code)} is not an ISO 3166 country code with known public holidays")
    return code


def _span(delta: timedelta) -> str:
    """A duration as a person reads it in a reason: '45 days 3 h', '1 day 10 min', '5 min 1 s'."""
    hours, rest = divmod(delta.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    day_unit = "day" if delta.days == 1 else "days"
    parts = [(delta.days, day_unit), (hours, "h"), (minutes, "min"), (seconds, "s")]
    return " ".join(f"{n} {unit}" for n, unit in parts if n) or "0 s"


def json_kind(value: object) -> str:
    """A JSON value as a reason names it: 'the number 12345', 'the boolean true', 'null', 'an object'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {excerpt(value)}"
    if isinstance(value, str):
        return f"the string {excerpt(value)}"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return excerpt(value)


def out_of_range(instant: datetime) -> str | None:
    """Why the engine cannot take the aware `instant`, or None when it can; never raises, whatever the year.

    Shared by the contract and the command line, so that both refuse the same instants in the same words.
    """
    if instant < EARLIEST_INSTANT:
        return f"{instant.isoformat()} is before 1970-01-01T00:00:00Z, the earliest instant the engine takes"
    if instant >= LATEST_INSTANT:
        return (
            f"{instant.isoformat()} is not before 2100-01-01T00:00:00Z, the end of the instants the engine "
            "takes (its calendars hold no public holidays after it)"
        )
    return None


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _instant_text(value: object) -> object:
    """An instant as the contract writes it: a JSON string holding an ISO 8601 date and time.

    Pydantic would take a number, or a string of digits, as epoch seconds: `12345` would be
    1970-01-01T03:25:45Z, a producer's bug taken for an instant. A datetime passes, for events built in
    Python rather than read from JSON.
    """
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError(
            "instant_not_a_string",
            "expected an ISO 8601 instant as a JSON string, like {example}; got {got}",
            {"example": INSTANT_EXAMPLE, "got": json_kind(value)},
        )
    if not _ISO_DATE.match(value):
        raise PydanticCustomError(
            "instant_format",
            "{got} is not an ISO 8601 instant like {example}",
            {"example": INSTANT_EXAMPLE, "got": excerpt(value)},
        )
    return value


Instant = Annotated[
    AwareDatetime,
    BeforeValidator(_instant_text),
    Field(
        description="An ISO 8601 instant with its offset, as a JSON string (e.g. 2026-04-03T17:30:00+02:00), "
        "from 1970-01-01T00:00:00Z up to 2100-01-01T00:00:00Z excluded, and at the edge at most 30 days "
        "before and 5 minutes after the engine receives the event."
    ),
]


def _sequence_bound(sequence: int, info: ValidationInfo) -> int:
    if sequence > MAX_SEQUENCE and not _is_stored(info):
        raise PydanticCustomError(
            "sequence_too_large",
            "{got} is more than {bound} (2**53 - 1), the largest integer every JSON producer holds exactly",
            {"got": excerpt(sequence), "bound": MAX_SEQUENCE},
        )
    return sequence


SequenceNumber = Annotated[
    int,
    Field(
        strict=True,
        ge=0,
        description="A JSON integer, at most 2**53 - 1: the per-ticket tie-breaker of events at one instant.",
        json_schema_extra={"maximum": MAX_SEQUENCE},
    ),
    AfterValidator(_sequence_bound),
]


def _within_bounds(occurred_at: datetime, info: ValidationInfo) -> datetime:
    """Bound `occurred_at` by the receipt time given in the context, then by the instants the engine takes.

    Without a receipt time (fold tests, replay of the log) only the latter apply; a stored event is not
    bounded at all. Comparisons of aware datetimes never overflow, so year 1 and year 9999 are refused like
    any other instant, not raised."""
    context = info.context if isinstance(info.context, dict) else {}
    if context.get(STORED):
        return occurred_at
    received_at = context.get(RECEIVED_AT)
    if isinstance(received_at, datetime):
        _within_receipt_bounds(occurred_at, received_at)
    problem = out_of_range(occurred_at)
    if problem is not None:
        raise PydanticCustomError("occurred_at_out_of_range", "{problem}", {"problem": problem})
    return occurred_at


def _within_receipt_bounds(occurred_at: datetime, received_at: datetime) -> None:
    if occurred_at < received_at - MAX_EVENT_AGE:
        raise PydanticCustomError(
            "occurred_at_too_old",
            "{occurred} is {span} before the engine received the event at {received}; "
            "at most {bound} days late is accepted (a clock skew or a producer bug)",
            {
                "occurred": occurred_at.isoformat(),
                "span": _span(received_at - occurred_at),
                "received": received_at.isoformat(),
                "bound": MAX_EVENT_AGE.days,
            },
        )
    if occurred_at > received_at + MAX_EVENT_LEAD:
        raise PydanticCustomError(
            "occurred_at_in_future",
            "{occurred} is {span} after the engine received the event at {received}; "
            "at most {bound} minutes ahead is accepted (a clock skew or a producer bug)",
            {
                "occurred": occurred_at.isoformat(),
                "span": _span(occurred_at - received_at),
                "received": received_at.isoformat(),
                "bound": MAX_EVENT_LEAD.seconds // 60,
            },
        )


class EventDetail(BaseModel):
    """What every event carries: its idempotency key, when it happened and the per-ticket tie-breaker."""

    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)
    detail_type: ClassVar[str]

    event_id: Identifier
    occurred_at: Instant
    sequence: SequenceNumber | None = None

    @field_validator("occurred_at")
    @classmethod
    def _bounded(cls, occurred_at: datetime, info: ValidationInfo) -> datetime:
        return _within_bounds(occurred_at, info)

    def order_key(self) -> tuple[datetime, int, str]:
        """The total order of SPEC section 5: (occurred_at, sequence, event_id); no sequence sorts first."""
        return (self.occurred_at, -1 if self.sequence is None else self.sequence, self.event_id)


class TicketEvent(EventDetail):
    ticket_id: Identifier
    customer_id: Identifier


SUBJECT_MAX_CHARS: Final = 500
NO_SUBJECT: Final = "(no subject)"


def _fit_subject(subject: str) -> str:
    """A subject too long is cut (with an ellipsis) and an empty one named, never refused: refusing the
    Ticket Opened would leave every later event of the ticket refused too, and a customer's outage untracked
    because of its title."""
    if not subject:
        return NO_SUBJECT
    if len(subject) > SUBJECT_MAX_CHARS:
        return subject[: SUBJECT_MAX_CHARS - 1] + "…"
    return subject


class TicketOpened(TicketEvent):
    detail_type: ClassVar[str] = "Ticket Opened"
    severity: Severity
    subject: Annotated[str, Field(strict=True), AfterValidator(_fit_subject)]
    category: Category | None = None


class TicketMessagePosted(TicketEvent):
    detail_type: ClassVar[str] = "Ticket Message Posted"
    author: Author
    visibility: Visibility
    message_id: Identifier
    # Who answered, from which support line, and whether it was an answer or a holding reply ("we are on
    # it"): SPEC section 9 counts reaction time to any reply and useful response time to an answer only.
    agent_id: Identifier | None = None
    line: Identifier | None = None
    kind: MessageKind = "answer"


class TicketStatusChanged(TicketEvent):
    detail_type: ClassVar[str] = "Ticket Status Changed"
    status: Status


class TicketSeverityChanged(TicketEvent):
    detail_type: ClassVar[str] = "Ticket Severity Changed"
    severity: Severity


class HardwareReplacementRequested(TicketEvent):
    detail_type: ClassVar[str] = "Hardware Replacement Requested"
    server_id: Identifier
    component: Component


class HardwareReplacementCompleted(TicketEvent):
    detail_type: ClassVar[str] = "Hardware Replacement Completed"
    server_id: Identifier
    component: Component


class SupportPlanChanged(EventDetail):
    detail_type: ClassVar[str] = "Support Plan Changed"
    customer_id: Identifier
    support_level: Annotated[str, Field(min_length=1, max_length=64)]
    timezone: Annotated[str, AfterValidator(_known_zone)] | None = None
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$"), AfterValidator(_known_country)] | None = None
    locale: Locale | None = None
    contact_email: Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None


class AlertAcknowledged(EventDetail):
    detail_type: ClassVar[str] = "Alert Acknowledged"
    ticket_id: Identifier
    metric: Metric
    acknowledged_by: Annotated[str, Field(min_length=1, max_length=200)]
    customer_id: Identifier | None = None


class SatisfactionRated(TicketEvent):
    """The customer's answer to the survey (SPEC section 9's CSAT); the latest rating of a ticket counts.

    `comment` is the customer's own words: validated here, then never stored (infra/store/codec.py drops
    it) nor logged, since no figure reads it.
    """

    detail_type: ClassVar[str] = "Satisfaction Rated"
    rating: Annotated[int, Field(strict=True, ge=1, le=5)]
    comment: Annotated[str, Field(max_length=10_000)] | None = None


class TicketEscalated(TicketEvent):
    """Functional escalation between support lines (SPEC section 10), up or down: the ticket moves to
    `to_line`. Whether that line exists is the catalog's to say, so the fold refuses an unknown one (with
    its reason), not the edge: a catalog edit must not make stored history unreadable."""

    detail_type: ClassVar[str] = "Ticket Escalated"
    to_line: Identifier
    reason: ShortText | None = None


INCIDENT_SERVERS_MAX: Final = 500
"""Servers an incident may name: its record stays one bounded item (500 ids of 128 characters: 64 KB)."""


class IncidentDeclared(EventDetail):
    """A provider-wide incident (an outage), SPEC sections 3 and 6: its own partition, not a ticket, so it
    names no ticket and no customer. Tickets are tied to it by `Ticket Linked To Incident`."""

    detail_type: ClassVar[str] = "Incident Declared"
    incident_id: Identifier
    summary: Annotated[str, Field(strict=True, min_length=1, max_length=1000)]
    server_ids: Annotated[tuple[Identifier, ...], Field(max_length=INCIDENT_SERVERS_MAX)] | None = None


class TicketLinkedToIncident(TicketEvent):
    """The ticket is a symptom of `incident_id`; the incident may be declared before or after (sla.incidents)."""

    detail_type: ClassVar[str] = "Ticket Linked To Incident"
    incident_id: Identifier


class IncidentResolved(EventDetail):
    detail_type: ClassVar[str] = "Incident Resolved"
    incident_id: Identifier


AnyTicketEvent = (
    TicketOpened
    | TicketMessagePosted
    | TicketStatusChanged
    | TicketSeverityChanged
    | HardwareReplacementRequested
    | HardwareReplacementCompleted
    | AlertAcknowledged
    | SatisfactionRated
    | TicketEscalated
    | TicketLinkedToIncident
)
AnyEvent = AnyTicketEvent | SupportPlanChanged | IncidentDeclared | IncidentResolved

DETAIL_MODELS: dict[str, type[EventDetail]] = {
    model.detail_type: model
    for model in (
        TicketOpened,
        TicketMessagePosted,
        TicketStatusChanged,
        TicketSeverityChanged,
        HardwareReplacementRequested,
        HardwareReplacementCompleted,
        SupportPlanChanged,
        AlertAcknowledged,
        SatisfactionRated,
        TicketEscalated,
        IncidentDeclared,
        TicketLinkedToIncident,
        IncidentResolved,
    )
}


class InvalidEvent(ValueError):
    """An event the engine refuses: `reason` names the field and the problem, for the rejection record."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def describe_validation_error(error: ValidationError) -> str:
    """Pydantic's errors as one line: 'detail.severity: Input should be ...; detail.subject: Field required'."""
    parts = []
    for item in error.errors(include_url=False):
        where = ".".join(str(p) for p in item["loc"]) or "detail"
        parts.append(f"{where}: {item['msg']}{_given(item)}")
    return "; ".join(parts)


def _given(item: ErrorDetails) -> str:
    """What was given instead, where pydantic's message does not say: a type, a length, a bound."""
    kind, value = item["type"], item.get("input")
    if kind in ("string_too_long", "string_too_short") and isinstance(value, str):
        return f", got {len(value)}"
    if kind.endswith("_type") or kind in ("literal_error", "enum", "less_than_equal", "greater_than_equal"):
        return f", got {json_kind(value)}"
    if kind == "timezone_aware":  # a naive time: which zone it meant would be a guess
        return f", got {json_kind(value)} without an offset (add one, like +02:00 or Z)"
    return ""


def parse_detail(detail_type: str, detail: Any, received_at: datetime | None = None) -> EventDetail:
    """Validate one event's detail by its detail-type; an unknown type or a bad field is an InvalidEvent.

    `received_at` is given at the edge only: it bounds `occurred_at` (SPEC section 3). Folds and stored
    events are not bounded by it, as their receipt was checked when they came in.
    """
    model = DETAIL_MODELS.get(detail_type)
    if model is None:
        known = ", ".join(DETAIL_MODELS)
        raise InvalidEvent(f"detail-type: unknown type {excerpt(detail_type)}; known: {known}")
    if received_at is not None and received_at.utcoffset() is None:
        raise ValueError("received_at must carry its offset")
    context = {RECEIVED_AT: received_at} if received_at is not None else None
    try:
        return model.model_validate(detail, context=context)
    except ValidationError as error:
        raise InvalidEvent(describe_validation_error(error)) from None
