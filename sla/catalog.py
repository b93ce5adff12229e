"""The support catalog as validated data: levels, their targets and the calendars they count in.

The catalog is data so that an operator can change a promise without a code change; validation is strict
(unknown keys are errors) because a typo in a promise is a broken promise.
"""

import itertools
import math
import re
import tomllib
from datetime import date
from functools import lru_cache
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from sla.durations import Duration
from sla.vocabulary import COMPONENT_CLASS, Component, ComponentClass, Metric, Severity

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
DEFAULT_LEVEL = "standard"
_CHAIN = "_chain_kept"  # where a Catalog keeps `_chain()`: in its instance dict, not a field


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


def check_timezone(timezone: str) -> str:
    """Refuse a zone up front: a typo would otherwise surface as a failure deep in calendar compilation."""
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {timezone!r}; expected an IANA name like 'Europe/Paris'"
        ) from None
    return timezone


@lru_cache(maxsize=64)
def check_country(country: str, subdivision: str | None = None) -> str:
    """Refuse a country (or subdivision) without known public holidays rather than silently observe none.

    Imports `holidays` (slow), so the domain only calls it for calendars that observe public holidays; a
    caller taking user input calls it whatever the level, so that a typo is reported on every level.
    """
    import holidays  # 150 ms to import: only callers that need public holidays pay for it

    supported: dict[str, list[str]] = holidays.list_supported_countries()
    if country not in supported:
        raise ValueError(
            f"unknown country {country!r}; expected an ISO 3166-1 alpha-2 code with known holidays, like 'FR'"
        )
    if subdivision is not None and subdivision not in supported[country]:
        known = ", ".join(supported[country]) or "none"
        raise ValueError(f"unknown subdivision {subdivision!r} of {country}; known: {known}")
    return country


class CalendarSpec(_Strict):
    """A coverage calendar: 24/7, or weekly hours with public holidays and extra closed dates.

    Without `timezone` its hours are read in the customer's zone, with the customer's country's holidays
    (a level's promise). With `timezone` (and optional `country`, whose holidays `public_holidays` then
    observes) it is the provider's own: a line's or a route's hours, the same for every customer.
    """

    always: bool = False
    weekly_hours: dict[Weekday, Spans] = Field(default_factory=dict)
    public_holidays: bool = False
    closed_dates: tuple[date, ...] = ()
    timezone: Annotated[str, AfterValidator(check_timezone)] | None = None
    # Only its shape at load: the holidays library is slow to import (150 ms) and a deployed function loads
    # the catalog at cold start; `unknown_countries` is the full check, run by the CLI on every catalog it
    # opens (`sla-engine plans --catalog FILE` validates an operator's file), and sla.duty counts a country
    # the library does not know without holidays rather than fail a fold.
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None

    @model_validator(mode="after")
    def _shape(self) -> Self:
        if self.always and (self.weekly_hours or self.public_holidays or self.closed_dates):
            raise ValueError("an 'always' calendar takes no weekly_hours, public_holidays or closed_dates")
        if self.always and (self.timezone or self.country):
            raise ValueError("an 'always' calendar takes no timezone or country: 24/7 is 24/7 everywhere")
        if not self.always and not any(self.weekly_hours.values()):
            raise ValueError("weekly_hours needs at least one span, or set always = true")
        if self.country is not None and self.timezone is None:
            raise ValueError(
                "country: only a provider's calendar (one with its own timezone) names a country"
            )
        if self.timezone is not None and self.public_holidays and self.country is None:
            raise ValueError("country: a provider's calendar with public_holidays needs its country")
        return self

    @property
    def provider(self) -> bool:
        """The provider's hours (its own zone), or 24/7: what a line or a route may be covered by."""
        return self.always or self.timezone is not None

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
        targets: SeverityTargets | None = getattr(self, metric, None)  # line_pickup: a line's, not a level's
        return None if targets is None else targets.for_severity(severity)

    def calendar_name(self, metric: Metric) -> str:
        return self.hardware_calendar if metric == "hardware_replacement" else self.coverage


class Line(_Strict):
    """A support line (SPEC section 10): the route that pages it, its pickup target and its hours.

    `pickup` is the OLA between lines: an escalated ticket gets a message from this line within that much
    of the line's working time. Without `coverage` the line is on duty 24/7.
    """

    route: Annotated[str, Field(min_length=1)]
    pickup: Duration | None = None
    coverage: str | None = None


class Route(_Strict):
    """A route's on-duty hours: off duty, its alerts go to `fallback` (SPEC section 6)."""

    coverage: str
    fallback: Annotated[str, Field(min_length=1)]


class LimitedSupport(_Strict):
    """A dated period of limited support: response clocks starting in [from, to) use these targets, 24/7."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    starts: AwareDatetime = Field(alias="from")
    ends: AwareDatetime = Field(alias="to")
    levels: tuple[str, ...] | None = None
    first_response: SeverityTargets
    next_response: SeverityTargets

    @model_validator(mode="after")
    def _order(self) -> Self:
        if self.ends <= self.starts:
            raise ValueError(f"to: {self.ends.isoformat()} must be after from ({self.starts.isoformat()})")
        return self

    def covers(self, level: str, instant: int) -> bool:
        """Whether a clock of `level` starting at `instant` (epoch seconds) is in this period."""
        if self.levels is not None and level not in self.levels:
            return False
        return int(self.starts.timestamp()) <= instant < int(self.ends.timestamp())


class Catalog(_Strict):
    """One version of the promises. `effective_from` (None: since always) says from when clocks use it.

    A clock keeps the version in force when it started (SPEC section 4), so an edit never re-targets a
    running or past clock, and replaying history gives what was promised then. The versions an operator
    keeps are chained: the newest carries the earlier ones, and `at` picks the one for an instant.
    """

    effective_from: AwareDatetime | None = None
    calendars: dict[str, CalendarSpec]
    levels: dict[str, Level]
    entry_line: str | None = None
    lines: dict[str, Line] = Field(default_factory=dict)
    routes: dict[str, Route] = Field(default_factory=dict)
    limited_support: tuple[LimitedSupport, ...] = ()
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
        self._check_lines()
        for name, route in self.routes.items():
            self._check_coverage(f"routes.{name}.coverage", route.coverage)
        _check_fallbacks(self.routes)
        for index, period in enumerate(self.limited_support):
            unknown = [level for level in period.levels or () if level not in self.levels]
            if unknown:
                raise ValueError(
                    f"limited_support[{index}].levels: unknown level {unknown[0]!r}; known: {', '.join(self.levels)}"
                )
        return self

    def _check_lines(self) -> None:
        if self.lines and self.entry_line is None:
            raise ValueError("entry_line: required when the catalog defines lines (where a ticket starts)")
        if self.entry_line is not None and self.entry_line not in self.lines:
            known = ", ".join(self.lines) or "none"
            raise ValueError(f"entry_line: unknown line {self.entry_line!r}; known: {known}")
        for name, line in self.lines.items():
            if line.coverage is not None:
                self._check_coverage(f"lines.{name}.coverage", line.coverage)

    def _check_coverage(self, where: str, name: str) -> None:
        spec = self.calendars.get(name)
        if spec is None:
            raise ValueError(f"{where}: unknown calendar {name!r}; known: {', '.join(self.calendars)}")
        if not spec.provider:
            raise ValueError(
                f"{where}: calendar {name!r} has no timezone of its own; a line's or a route's hours are the "
                "provider's, the same for every customer (give the calendar a timezone)"
            )

    def at(self, instant: int) -> "Catalog":
        """The version in force at `instant` (epoch seconds): the latest whose effective_from is not after it."""
        versions, starts = self._chain()
        for version, start in zip(versions, starts, strict=True):
            if start <= instant:
                return version
        return versions[-1]

    def with_earlier(self, earlier: "tuple[Catalog, ...]") -> "Catalog":
        """This version, newest, chained to the versions before it (newest first)."""
        self._earlier = earlier
        self.__dict__.pop(_CHAIN, None)
        return self

    @property
    def versions(self) -> "tuple[Catalog, ...]":
        return self._chain()[0]

    def _chain(self) -> "tuple[tuple[Catalog, ...], tuple[float, ...]]":
        """This version and the earlier ones, newest first, and the instants they take effect (epoch seconds;
        -inf: since always).

        Worked out once and kept in the instance dict (the model is frozen; `with_earlier` drops it): every
        clock start asks `at`, and reading the private `_earlier` (pydantic's slow path) and converting each
        version's datetime cost more than the rest of it. Kept with this very instance: a copy
        (`model_copy`) carries the original's dict, and must walk its own chain.
        """
        chain = self.__dict__.get(_CHAIN)
        if chain is None or chain[0][0] is not self:
            versions = (self, *self._earlier)
            starts = tuple(
                -math.inf if v.effective_from is None else int(v.effective_from.timestamp()) for v in versions
            )
            chain = self.__dict__[_CHAIN] = (versions, starts)
        found: tuple[tuple[Catalog, ...], tuple[float, ...]] = chain
        return found

    def level(self, name: str) -> Level:
        try:
            return self.levels[name]
        except KeyError:
            raise ValueError(f"unknown support level {name!r}; known: {', '.join(self.levels)}") from None


def unknown_countries(catalog: Catalog) -> list[str]:
    """The provider calendars whose `country` the holidays library does not know, each naming its field."""
    problems = []
    for version in catalog.versions:
        for name, spec in version.calendars.items():
            if spec.country is None:
                continue
            try:
                check_country(spec.country)
            except ValueError as error:
                problems.append(f"calendars.{name}.country: {error}")
    return problems


def _check_fallbacks(routes: dict[str, Route]) -> None:
    """Every chain of fallbacks ends at a route without coverage (always on duty): a loop would page nobody.

    A route's fallback may be a route the table does not list (on duty 24/7); following the chain from
    each route must reach one without coverage before it comes back to a route already on it.
    """
    for start, route in routes.items():
        chain = [start]
        current = route.fallback
        while current in routes:
            if current in chain:
                loop = " -> ".join([*chain[chain.index(current) :], current])
                raise ValueError(f"routes: fallback loop {loop}")
            chain.append(current)
            current = routes[current].fallback


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
