"""The event contract with the control panel (SPEC section 3) as pydantic models.

These are the `detail` of the EventBridge events. Readers are tolerant (unknown extra fields are ignored) so
the control panel can add fields; a missing or invalid known field is an error that names it.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Annotated, Any, ClassVar
from zoneinfo import available_timezones

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from sla.vocabulary import Author, Category, Component, Locale, Metric, Severity, Status, Visibility

SOURCE = "controlpanel.support"

Identifier = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@/+=-]+$")]
ShortText = Annotated[str, Field(max_length=1000)]


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _known_zone(name: str) -> str:
    if name not in _zones():
        raise ValueError(f"{name!r} is not an IANA time zone")
    return name


def _known_country(code: str) -> str:
    import holidays  # slow to import; only plan changes name a country

    if code not in holidays.list_supported_countries():
        raise ValueError(f"{code!r} is not an ISO 3166 country code with known public holidays")
    return code


class EventDetail(BaseModel):
    """What every event carries: its idempotency key, when it happened and the per-ticket tie-breaker."""

    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)
    detail_type: ClassVar[str]

    event_id: Identifier
    occurred_at: AwareDatetime
    sequence: Annotated[int, Field(ge=0)] | None = None

    def order_key(self) -> tuple[datetime, int, str]:
        """The total order of SPEC section 5: (occurred_at, sequence, event_id); no sequence sorts first."""
        return (self.occurred_at, -1 if self.sequence is None else self.sequence, self.event_id)


class TicketEvent(EventDetail):
    ticket_id: Identifier
    customer_id: Identifier


class TicketOpened(TicketEvent):
    detail_type: ClassVar[str] = "Ticket Opened"
    severity: Severity
    subject: Annotated[str, Field(min_length=1, max_length=500)]
    category: Category | None = None


class TicketMessagePosted(TicketEvent):
    detail_type: ClassVar[str] = "Ticket Message Posted"
    author: Author
    visibility: Visibility
    message_id: Identifier


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


AnyTicketEvent = (
    TicketOpened
    | TicketMessagePosted
    | TicketStatusChanged
    | TicketSeverityChanged
    | HardwareReplacementRequested
    | HardwareReplacementCompleted
    | AlertAcknowledged
)
AnyEvent = AnyTicketEvent | SupportPlanChanged

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
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def parse_detail(detail_type: str, detail: Any) -> EventDetail:
    """Validate one event's detail by its detail-type; an unknown type or a bad field is an InvalidEvent."""
    model = DETAIL_MODELS.get(detail_type)
    if model is None:
        raise InvalidEvent(f"detail-type: unknown type {detail_type!r}; known: {', '.join(DETAIL_MODELS)}")
    try:
        return model.model_validate(detail)
    except ValidationError as error:
        raise InvalidEvent(describe_validation_error(error)) from None
