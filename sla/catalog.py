"""The support catalog as validated data: levels, their targets and the calendars they count in.

The catalog is data so that an operator can change a promise without a code change; validation is strict
(unknown keys are errors) because a typo in a promise is a broken promise.
"""

import itertools
import re
import tomllib
from datetime import date
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from sla.durations import Duration
from sla.vocabulary import COMPONENT_CLASS, Component, ComponentClass, Metric, Severity

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
DEFAULT_LEVEL = "standard"


def _parse_span(text: str) -> tuple[int, int]:
    """'08:00-18:00' as seconds since local midnight; '24:00' closes a day."""
    match = _SPAN.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a span like '08:00-18:00'")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 3600 + m1 * 60, h2 * 3600 + m2 * 60
    if h1 > 23 or m1 > 59 or m2 > 59 or end > 86_400:
        raise ValueError(f"{text!r} is not a valid time of day span")
    if start >= end:
        raise ValueError(f"{text!r} must end after it starts")
    return start, end


def _check_spans(spans: list[str]) -> list[str]:
    parsed = sorted(_parse_span(span) for span in spans)
    for (_, end), (start, _) in itertools.pairwise(parsed):
        if start < end:
            raise ValueError(f"spans {spans} overlap")
    return spans


Spans = Annotated[list[str], AfterValidator(_check_spans)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CalendarSpec(_Strict):
    """A coverage calendar: 24/7, or weekly hours with the customer's public holidays and extra closed dates."""

    always: bool = False
    weekly_hours: dict[Weekday, Spans] = Field(default_factory=dict)
    public_holidays: bool = False
    closed_dates: tuple[date, ...] = ()

    @model_validator(mode="after")
    def _shape(self) -> Self:
        if self.always and (self.weekly_hours or self.public_holidays or self.closed_dates):
            raise ValueError("an 'always' calendar takes no weekly_hours, public_holidays or closed_dates")
        if not self.always and not any(self.weekly_hours.values()):
            raise ValueError("weekly_hours needs at least one span, or set always = true")
        return self

    def weekly_seconds(self) -> tuple[tuple[tuple[int, int], ...], ...]:
        """Spans per weekday (Monday first) in seconds since local midnight."""
        return tuple(
            tuple(sorted(_parse_span(s) for s in self.weekly_hours.get(day, []))) for day in WEEKDAYS
        )


class SeverityTargets(_Strict):
    critical: Duration
    high: Duration
    medium: Duration
    low: Duration

    def for_severity(self, severity: Severity) -> int:
        seconds: int = getattr(self, severity)
        return seconds


class HardwareTargets(_Strict):
    hot_swap: Duration
    cold_swap: Duration
    board: Duration

    def for_component(self, component: Component) -> int:
        seconds: int = getattr(self, COMPONENT_CLASS[component])
        return seconds

    def for_class(self, component_class: ComponentClass) -> int:
        seconds: int = getattr(self, component_class)
        return seconds


def _check_fractions(fractions: list[float]) -> list[float]:
    for fraction in fractions:
        if not 0 < fraction < 1:
            raise ValueError(f"warning fraction {fraction} must be between 0 and 1, exclusive")
    if len(set(fractions)) != len(fractions):
        raise ValueError("warning fractions must be distinct")
    return sorted(fractions)


class Credit(_Strict):
    """A service credit (SPEC section 9): a share of the monthly fee per started hour late, up to a cap.

    Percentages of the fee. A level without one owes no credit; a rate above its cap is allowed (the first
    hour late then owes the cap), a cap above 100 % is not (a credit never exceeds the fee).
    """

    percent_per_hour: Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)]
    cap_percent: Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)]


class Level(_Strict):
    """One support level: its promises, where they are counted, and who is paged when one is broken."""

    coverage: str
    hardware_calendar: str
    warn_at: Annotated[list[float], AfterValidator(_check_fractions)]
    ladder: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)
    ack_timeout: Duration
    first_response: SeverityTargets
    next_response: SeverityTargets
    resolution: SeverityTargets | None = None
    hardware_replacement: HardwareTargets
    credit: Credit | None = None

    def target(self, metric: Metric, severity: Severity, component: Component | None = None) -> int | None:
        """Seconds of working time promised for a clock, or None where this level promises nothing."""
        if metric == "hardware_replacement":
            if component is None:
                raise ValueError("a hardware_replacement target needs a component")
            return self.hardware_replacement.for_component(component)
        targets: SeverityTargets | None = getattr(self, metric)
        return None if targets is None else targets.for_severity(severity)

    def calendar_name(self, metric: Metric) -> str:
        return self.hardware_calendar if metric == "hardware_replacement" else self.coverage


class Catalog(_Strict):
    """One version of the promises. `effective_from` (None: since always) says from when clocks use it.

    A clock keeps the version in force when it started (SPEC section 4), so an edit never re-targets a
    running or past clock, and replaying history gives what was promised then. The versions an operator
    keeps are chained: the newest carries the earlier ones, and `at` picks the one for an instant.
    """

    effective_from: AwareDatetime | None = None
    calendars: dict[str, CalendarSpec]
    levels: dict[str, Level]
    _earlier: tuple["Catalog", ...] = PrivateAttr(default=())

    @model_validator(mode="after")
    def _references(self) -> Self:
        if DEFAULT_LEVEL not in self.levels:
            raise ValueError(f"levels: the default level {DEFAULT_LEVEL!r} must be defined")
        for name, level in self.levels.items():
            for field in ("coverage", "hardware_calendar"):
                ref = getattr(level, field)
                if ref not in self.calendars:
                    raise ValueError(f"levels.{name}.{field}: unknown calendar {ref!r}")
        return self

    def at(self, instant: int) -> "Catalog":
        """The version in force at `instant` (epoch seconds): the latest whose effective_from is not after it."""
        for version in (self, *self._earlier):
            start = version.effective_from
            if start is None or int(start.timestamp()) <= instant:
                return version
        return self._earlier[-1] if self._earlier else self

    def with_earlier(self, earlier: "tuple[Catalog, ...]") -> "Catalog":
        """This version, newest, chained to the versions before it (newest first)."""
        self._earlier = earlier
        return self

    @property
    def versions(self) -> "tuple[Catalog, ...]":
        return (self, *self._earlier)

    def level(self, name: str) -> Level:
        try:
            return self.levels[name]
        except KeyError:
            raise ValueError(f"unknown support level {name!r}; known: {', '.join(self.levels)}") from None


def parse_catalog(text: str) -> Catalog:
    """Validate a catalog written in TOML; errors are pydantic's, each naming its field path."""
    return Catalog.model_validate(tomllib.loads(text))


def chain_versions(versions: list[Catalog]) -> Catalog:
    """The newest version, chained to the others; at most one may be in force since always."""

    def start(version: Catalog) -> float:
        return version.effective_from.timestamp() if version.effective_from else float("-inf")

    ordered = sorted(versions, key=start, reverse=True)
    starts = [start(v) for v in ordered]
    if len(set(starts)) != len(starts):
        raise ValueError("effective_from: two catalog versions take effect at the same instant")
    return ordered[0].with_earlier(tuple(ordered[1:]))
