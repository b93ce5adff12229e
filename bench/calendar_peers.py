"""Our working-time calendar against two peers on the same random inputs: how fast, and who is right.

The question a reviewer asks of a home-made calendar is "why not a library?". This answers it with figures:
the same Mon–Fri 08:00–18:00 Europe/Paris schedule with French holidays, the same 100,000 random (start,
duration) and (start, end) pairs, timed here against businesstimedelta and pandas' CustomBusinessHour.
The peers are much slower, so they run on a subsample; on that subsample every answer is compared with ours,
and every disagreement is settled by a minute-stepping reference that shares no code with any of the three.
"""

from __future__ import annotations

import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from itertools import compress, count, islice
from typing import Any
from zoneinfo import ZoneInfo

import holidays

from sla.calendar import Schedule, WorkingTime, from_epoch, to_epoch

SEED = 20260403
PAIRS = 100_000
PEER_SAMPLE = 2_000
REFERENCE_SAMPLE = 2_000
GOAL_MICROSECONDS = 5.0

ZONE_NAME = "Europe/Paris"
PARIS = ZoneInfo(ZONE_NAME)
OPEN, CLOSE = 8, 18
H = 3600
MONDAY_TO_FRIDAY = tuple(((OPEN * H, CLOSE * H),) if day < 5 else () for day in range(7))
SCHEDULE = Schedule(zone=ZONE_NAME, weekly=MONDAY_TO_FRIDAY, country="FR")

FIRST_START = datetime(2026, 1, 1, tzinfo=PARIS)
LAST_START = datetime(2028, 1, 1, tzinfo=PARIS)
MIN_DURATION, MAX_DURATION = 15 * 60, 72 * H
MAX_SPAN = timedelta(days=30)
# Inputs start in 2026-2027 but answers run into January 2028 (1 January is a holiday): every calendar is
# given the French holidays of 2025-2028, from the same library our Schedule reads.
HOLIDAY_YEARS = range(2025, 2029)
FR_HOLIDAYS = frozenset(holidays.country_holidays("FR", years=HOLIDAY_YEARS))

Case = tuple[datetime, Any]


# -- inputs -------------------------------------------------------------------------------------------------


def make_inputs(rng: random.Random) -> tuple[list[tuple[datetime, int]], list[tuple[datetime, datetime]]]:
    """Minute-aligned aware starts over 2026-2027; durations and spans in whole minutes."""
    first, minutes = to_epoch(FIRST_START), (to_epoch(LAST_START) - to_epoch(FIRST_START)) // 60

    def start() -> datetime:
        return datetime.fromtimestamp(first + 60 * rng.randrange(minutes), PARIS)

    afters = [(start(), 60 * rng.randrange(MIN_DURATION // 60, MAX_DURATION // 60 + 1)) for _ in range(PAIRS)]
    withins = []
    for _ in range(PAIRS):
        begin = start()
        withins.append(
            (begin, begin + timedelta(minutes=rng.randrange(MAX_SPAN // timedelta(minutes=1) + 1)))
        )
    return afters, withins


# -- timing -------------------------------------------------------------------------------------------------


def timed(call: Callable[[Any, Any], Any], cases: Sequence[Case]) -> tuple[list[Any], list[int]]:
    """Answers and nanoseconds of each call, one at a time, so that a median can be taken."""
    clock = time.perf_counter_ns
    answers: list[Any] = []
    samples: list[int] = []
    for a, b in cases:
        t0 = clock()
        answer = call(a, b)
        t1 = clock()
        answers.append(answer)
        samples.append(t1 - t0)
    return answers, samples


def timer_overhead() -> float:
    clock = time.perf_counter_ns
    samples = []
    for _ in range(20_000):
        t0 = clock()
        t1 = clock()
        samples.append(t1 - t0)
    return statistics.median(samples) / 1000


def micros(samples: Sequence[int]) -> tuple[float, float]:
    return statistics.median(samples) / 1000, statistics.fmean(samples) / 1000


# -- peers --------------------------------------------------------------------------------------------------


class BusinessTimeDeltaPeer:
    """businesstimedelta: a work-day rule and a holiday rule, both in pytz's Europe/Paris (it needs pytz)."""

    name = "businesstimedelta"

    def __init__(self) -> None:
        import businesstimedelta
        import pytz

        zone = pytz.timezone(ZONE_NAME)
        workday = businesstimedelta.WorkDayRule(
            start_time=clock_time(OPEN), end_time=clock_time(CLOSE), working_days=[0, 1, 2, 3, 4], tz=zone
        )
        self.rules = businesstimedelta.Rules([workday, businesstimedelta.HolidayRule(FR_HOLIDAYS, tz=zone)])
        self.delta = businesstimedelta.BusinessTimeDelta

    def after(self, start: datetime, seconds: int) -> datetime:
        result: datetime = start + self.delta(self.rules, seconds=seconds)
        return result

    def within(self, start: datetime, end: datetime) -> int:
        return int(self.rules.difference(start, end).timedelta.total_seconds())


class PandasPeer:
    """pandas' CustomBusinessHour on tz-aware Timestamps, one offset object per whole number of hours.

    Its `n` must be an integer number of hours, so it answers `after` for whole hours only, and pandas has
    no business-time difference between two instants, so it has no `within`.
    """

    name = "pandas CustomBusinessHour"

    def __init__(self) -> None:
        import pandas

        self.pandas = pandas
        holidays_list = sorted(FR_HOLIDAYS)
        self.offsets = {
            hours: pandas.offsets.CustomBusinessHour(
                n=hours, start=f"{OPEN:02d}:00", end=f"{CLOSE:02d}:00", holidays=holidays_list
            )
            for hours in range(1, MAX_DURATION // H + 1)
        }

    def timestamp(self, start: datetime) -> Any:
        return self.pandas.Timestamp(start)

    def after(self, start: Any, hours: int) -> Any:
        return start + self.offsets[hours]


def whole_hours(seconds: int) -> int:
    return max(1, seconds // H)


# -- the minute-stepping reference --------------------------------------------------------------------------


class Reference:
    """One flag per UTC minute, from zoneinfo's local time of each minute; answers by counting flags.

    Nothing here converts wall-clock hours to instants, compiles intervals or sums prefixes, so it cannot
    share a mistake with the calendar it checks. Paris is always a whole number of hours off UTC, so the
    local time is looked up once per UTC hour.
    """

    def __init__(self) -> None:
        self.first = to_epoch(datetime(2025, 12, 31, tzinfo=UTC)) // 60
        last = to_epoch(datetime(2028, 4, 1, tzinfo=UTC)) // 60
        flags = bytearray()
        for hour in range(self.first // 60, last // 60):
            local = datetime.fromtimestamp(hour * H, PARIS)
            open_hour = local.weekday() < 5 and local.date() not in FR_HOLIDAYS and OPEN <= local.hour < CLOSE
            flags.extend(b"\x01" * 60 if open_hour else b"\x00" * 60)
        self.flags = flags
        self.view = memoryview(flags)

    def after(self, start: int, seconds: int) -> int:
        """Step minute by minute from `start` until `seconds` of working minutes have gone by."""
        assert start % 60 == 0 and seconds % 60 == 0, "the reference counts whole minutes"
        index = start // 60 - self.first
        minutes = seconds // 60
        if minutes == 0:
            return start
        last = next(islice(compress(count(index), self.view[index:]), minutes - 1, None))
        return (self.first + last + 1) * 60

    def within(self, start: int, end: int) -> int:
        if end <= start:
            return 0
        return self.flags[start // 60 - self.first : end // 60 - self.first].count(1) * 60

    def next_opening(self, instant: int) -> int:
        return self.after(instant, 60) - 60


# -- disagreements ------------------------------------------------------------------------------------------


def local(epoch: int) -> str:
    return from_epoch(epoch).astimezone(PARIS).strftime("%a %Y-%m-%d %H:%M%z")


def dst_changes(first: int, last: int) -> bool:
    return from_epoch(first).astimezone(PARIS).utcoffset() != from_epoch(last).astimezone(PARIS).utcoffset()


def classify_after(reference: Reference, start: datetime, seconds: int, ours: int, peer: int) -> str:
    """The kind of an `after` disagreement, found from what the answers are, not from what we expect."""
    begin = to_epoch(start)
    if reference.after(begin, seconds) != ours:
        return "OURS WRONG: the reference disagrees with ours"
    ours_local = from_epoch(ours).astimezone(PARIS)
    if ours_local.hour == CLOSE and ours_local.minute == 0 and peer == reference.next_opening(ours):
        return "closing-time boundary: used up exactly at 18:00, the peer answers the next opening (SPEC 4: 18:00)"
    written_in = start.tzinfo
    zone_name = getattr(written_in, "key", None) or (start.tzname() if written_in is not None else None)
    if zone_name and zone_name != ZONE_NAME:
        # What the schedule gives when its hours are read in the zone the instant happens to be written in.
        elsewhere = WorkingTime(Schedule(zone=zone_name, weekly=MONDAY_TO_FRIDAY, country="FR")).calendar
        misread = elsewhere.after(begin, seconds)
        if misread == peer:
            return f"local-time handling: the peer reads 08:00–18:00 in the instant's own zone ({zone_name})"
        if peer == elsewhere.after(misread, 1) - 1:
            return (
                f"local-time handling ({zone_name} hours) and then the closing-time boundary (next opening "
                "instead of 18:00)"
            )
    if peer > ours and reference.within(ours, peer) == 0 and dst_changes(begin, peer):
        return "DST: the peer is off by the change of offset"
    if from_epoch(peer).astimezone(PARIS).date() in FR_HOLIDAYS:
        return "holiday: the peer's answer falls on a French public holiday"
    return "unexplained (see example)"


def classify_within(reference: Reference, start: int, end: int, ours: int, peer: int) -> str:
    if reference.within(start, end) != ours:
        return "OURS WRONG: the reference disagrees with ours"
    if abs(peer - ours) == H and dst_changes(start, end):
        return "DST: the peer is off by the change of offset"
    days = {
        from_epoch(start).astimezone(PARIS).date() + timedelta(days=i)
        for i in range((end - start) // 86_400 + 2)
    }
    if days & FR_HOLIDAYS and (peer - ours) % ((CLOSE - OPEN) * H) == 0:
        return "holiday: the peer counts (or skips) whole holiday days"
    return "unexplained (see example)"


def report_disagreements(title: str, kinds: Counter[str], examples: dict[str, str], total: int) -> None:
    print(f"  {title}: {sum(kinds.values()):,} of {total:,} disagree")
    for kind, number in kinds.most_common():
        print(f"    {number:>6,}  {kind}")
        print(f"            e.g. {examples[kind]}")


# Hand-picked edges that random minutes rarely hit: (what it probes, start, whole hours of working time).
PROBES: list[tuple[str, datetime, int]] = [
    ("target used up at closing time", datetime(2026, 3, 16, 8, tzinfo=PARIS), 10),
    ("start at closing time", datetime(2026, 3, 16, 18, tzinfo=PARIS), 1),
    ("start on Easter Monday", datetime(2026, 4, 6, 9, tzinfo=PARIS), 1),
    ("over the spring DST weekend", datetime(2026, 3, 27, 17, 30, tzinfo=PARIS), 1),
    ("over the autumn DST weekend", datetime(2026, 10, 23, 17, 30, tzinfo=PARIS), 1),
    ("start in the repeated autumn hour", datetime(2026, 10, 25, 2, 30, tzinfo=PARIS, fold=1), 1),
    ("start written in UTC, as stored (SPEC 4)", datetime(2026, 3, 27, 17, 30, tzinfo=UTC), 1),
    ("start written in UTC, Monday morning", datetime(2026, 3, 16, 7, 30, tzinfo=UTC), 10),
]


def run_probes(
    clock: WorkingTime, reference: Reference, peers: list[tuple[str, Callable[[datetime, int], int]]]
) -> None:
    print(
        "probes (edges the random sample rarely hits; answers in Paris time; ✗ = differs from the reference):"
    )
    for label, start, hours in PROBES:
        seconds = hours * H
        truth = reference.after(to_epoch(start), seconds)
        ours = to_epoch(clock.after(start, seconds))
        print(f"  {label}: {start.isoformat()} + {hours} h → reference {local(truth)}")
        answers = [("ours", ours), *((name, answer(start, hours)) for name, answer in peers)]
        for name, answer in answers:
            mark = "✓" if answer == truth else "✗"
            why = "" if answer == truth else f"  ({classify_after(reference, start, seconds, ours, answer)})"
            print(f"      {mark} {name:<27} {local(answer)}{why}")


# -- the section --------------------------------------------------------------------------------------------


@dataclass
class Section:
    """What the run has measured so far, printed together at the end so the table reads as one."""

    rows: list[tuple[str, int, str, str]] = field(default_factory=list)
    ratios: list[str] = field(default_factory=list)
    disagreements: list[tuple[str, Counter[str], dict[str, str]]] = field(default_factory=list)
    probe_peers: list[tuple[str, Callable[[datetime, int], int]]] = field(default_factory=list)

    def row(
        self, name: str, calls: int, after_ns: Sequence[int] | None, within_ns: Sequence[int] | None
    ) -> None:
        def cell(samples: Sequence[int] | None) -> str:
            if samples is None:
                return "n/a"
            median, mean = micros(samples)
            digits = 2 if median < 100 else 1
            return f"{median:8.{digits}f} / {mean:8.{digits}f}"

        self.rows.append((name, calls, cell(after_ns), cell(within_ns)))


def compare_businesstimedelta(
    section: Section,
    clock: WorkingTime,
    reference: Reference,
    after_sample: list[tuple[datetime, int]],
    within_sample: list[tuple[datetime, datetime]],
    ours_ns: tuple[list[int], list[int]],
) -> None:
    try:
        peer = BusinessTimeDeltaPeer()
    except ImportError as missing:
        print(f"businesstimedelta: not installed ({missing.name}); pip install -e '.[bench]'")
        return
    afters, after_ns = timed(peer.after, after_sample)
    withins, within_ns = timed(peer.within, within_sample)
    section.row(peer.name, len(after_sample), after_ns, within_ns)
    section.ratios.append(ratio(peer.name, "after", ours_ns[0], after_ns))
    section.ratios.append(ratio(peer.name, "within", ours_ns[1], within_ns))

    kinds: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for (start, seconds), answer in zip(after_sample, afters, strict=True):
        ours, theirs = to_epoch(clock.after(start, seconds)), to_epoch(answer)
        if ours != theirs:
            kind = classify_after(reference, start, seconds, ours, theirs)
            kinds[kind] += 1
            examples.setdefault(
                kind,
                f"{local(to_epoch(start))} + {seconds / H:g} h: ours {local(ours)}, peer {local(theirs)}",
            )
    section.disagreements.append((f"{peer.name} after", kinds, examples))

    kinds, examples = Counter(), {}
    for (start, end), answer in zip(within_sample, withins, strict=True):
        ours = clock.within(start, end)
        if ours != answer:
            kind = classify_within(reference, to_epoch(start), to_epoch(end), ours, answer)
            kinds[kind] += 1
            examples.setdefault(
                kind,
                f"{local(to_epoch(start))} → {local(to_epoch(end))}: ours {ours / H:g} h, peer {answer / H:g} h",
            )
    section.disagreements.append((f"{peer.name} within", kinds, examples))
    section.probe_peers.append((peer.name, lambda start, hours: to_epoch(peer.after(start, hours * H))))


def compare_pandas(
    section: Section, clock: WorkingTime, reference: Reference, after_sample: list[tuple[datetime, int]]
) -> None:
    try:
        peer = PandasPeer()
    except ImportError as missing:
        print(f"pandas: not installed ({missing.name}); pip install -e '.[bench]'")
        return
    # The same starts, durations cut to whole hours; Timestamps are made before timing, as a pandas user
    # would already hold them.
    hour_sample = [(start, whole_hours(seconds)) for start, seconds in after_sample]
    stamps = [(peer.timestamp(start), hours) for start, hours in hour_sample]
    ours_inputs = [(start, hours * H) for start, hours in hour_sample]
    timed(clock.after, ours_inputs)  # warm-up: importing pandas just now disturbed caches and the allocator
    _, ours_ns = timed(clock.after, ours_inputs)
    timed(peer.after, stamps[:200])  # the same courtesy for the peer
    afters, after_ns = timed(peer.after, stamps)
    section.row("ours, whole-hour sample", len(hour_sample), ours_ns, None)
    section.row(peer.name, len(hour_sample), after_ns, None)
    section.ratios.append(ratio(peer.name, "after", ours_ns, after_ns))

    kinds: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for (start, hours), answer in zip(hour_sample, afters, strict=True):
        ours, theirs = to_epoch(clock.after(start, hours * H)), int(answer.timestamp())
        if ours != theirs:
            kind = classify_after(reference, start, hours * H, ours, theirs)
            kinds[kind] += 1
            examples.setdefault(
                kind, f"{local(to_epoch(start))} + {hours} h: ours {local(ours)}, peer {local(theirs)}"
            )
    section.disagreements.append((f"{peer.name} after (whole hours)", kinds, examples))
    section.probe_peers.append(
        (peer.name, lambda start, hours: int(peer.after(peer.timestamp(start), hours).timestamp()))
    )


def ratio(peer: str, operation: str, ours_ns: Sequence[int], peer_ns: Sequence[int]) -> str:
    ours, theirs = statistics.median(ours_ns), statistics.median(peer_ns)
    return f"{operation:<6} vs {peer:<27} {ours / theirs:.4f}  (ours {theirs / ours:,.0f}× faster)"


def run() -> None:
    rng = random.Random(SEED)
    afters, withins = make_inputs(rng)
    clock = WorkingTime(SCHEDULE)
    clock.after(afters[0][0], 60)  # compile the calendar (and import holidays) outside the timing
    reference = Reference()

    print(f"schedule: Mon–Fri {OPEN:02d}:00–{CLOSE:02d}:00 {ZONE_NAME}, FR public holidays")
    print(
        f"inputs (seed {SEED}): {PAIRS:,} after(start, 15 min..72 h of working time) and {PAIRS:,} "
        "within(start, end ≤ 30 days later); minute-aligned starts over 2026–2027, aware, in Europe/Paris"
    )
    print(
        f"holidays given to the peers: the {len(FR_HOLIDAYS)} French holidays of "
        f"{HOLIDAY_YEARS[0]}–{HOLIDAY_YEARS[-1]} from the holidays library (answers reach January 2028)"
    )
    print(
        f"timings: each call alone with perf_counter_ns (timer overhead ≈ {timer_overhead():.2f} µs, included)"
    )
    print(
        f"peers are slow: they run on a random subsample of {PEER_SAMPLE:,}, and ours again on the same one"
    )

    section = Section()
    _, after_ns = timed(clock.after, afters)
    _, within_ns = timed(clock.within, withins)
    section.row("ours (WorkingTime)", PAIRS, after_ns, within_ns)

    sample = rng.sample(range(PAIRS), PEER_SAMPLE)
    after_sample = [afters[i] for i in sample]
    within_sample = [withins[i] for i in sample]
    _, ours_after_ns = timed(clock.after, after_sample)
    _, ours_within_ns = timed(clock.within, within_sample)
    section.row("ours, peer sample", PEER_SAMPLE, ours_after_ns, ours_within_ns)

    compare_businesstimedelta(
        section, clock, reference, after_sample, within_sample, (ours_after_ns, ours_within_ns)
    )
    compare_pandas(section, clock, reference, after_sample)

    print()
    print(
        f"  {'µs per call':<27} {'calls':>7}   {'after: median /     mean':>25}   {'within: median /     mean':>25}"
    )
    for name, calls, after_cell, within_cell in section.rows:
        print(f"  {name:<27} {calls:>7,}   {after_cell:>25}   {within_cell:>25}")
    print(
        "  pandas: `n` must be a whole number of hours, and there is no business-time difference (no within)"
    )
    print()
    print("ratios ours/peer, medians on the same sample:")
    for line in section.ratios:
        print(f"  {line}")
    print()
    print(
        f"disagreements with ours on the {PEER_SAMPLE:,} sample, each settled by the minute-stepping reference:"
    )
    for title, kinds, examples in section.disagreements:
        report_disagreements(title, kinds, examples, PEER_SAMPLE)
    print()
    run_probes(clock, reference, section.probe_peers)

    # Ours against the reference on a sample of its own.
    checked = rng.sample(range(PAIRS), REFERENCE_SAMPLE)
    wrong_after = sum(
        to_epoch(clock.after(*afters[i])) != reference.after(to_epoch(afters[i][0]), afters[i][1])
        for i in checked
    )
    wrong_within = sum(
        clock.within(*withins[i]) != reference.within(to_epoch(withins[i][0]), to_epoch(withins[i][1]))
        for i in checked
    )
    print()
    print(
        f"minute-stepping reference vs ours on {REFERENCE_SAMPLE:,} after + {REFERENCE_SAMPLE:,} within: "
        f"{wrong_after} + {wrong_within} disagreements"
    )
    after_median, within_median = micros(after_ns)[0], micros(within_ns)[0]
    verdict = "within" if max(after_median, within_median) <= GOAL_MICROSECONDS else "ABOVE"
    print(
        f"goal, median ≤ {GOAL_MICROSECONDS:g} µs per call: after {after_median:.2f} µs, "
        f"within {within_median:.2f} µs ({verdict} the goal)"
    )
