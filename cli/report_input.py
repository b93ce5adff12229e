"""What `sla-engine report` and `sla-engine sample` share: reading an events file, the period, `--output`.

The file is read here and only here, leniently: a line that is not an event of the contract is skipped and
reported by its line number on standard error, and every good line still counts (the same events a
deployment would have accepted), a line that is not UTF-8 text included. A file that is not JSON Lines at all
(binary, a JSON array) is a one-line error, exit status 2.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import typer

from cli.app import fail, open_catalog
from local.jsonl import NotJsonLines, decode_lines
from sla.calendar import to_epoch
from sla.catalog import Catalog
from sla.events import SOURCE, EventDetail, InvalidEvent, excerpt, parse_detail
from sla.kpi_history import fold_history
from sla.kpi_records import Records
from sla.kpis import Period

MAX_SKIPPED_SHOWN = 20
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
"""The bounds a period must keep: the fold counts working time up to `--to` on calendars with public
holidays, and centuries of holidays would take minutes to compute for a figure nobody needs."""


@dataclass
class History:
    events: list[EventDetail] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)


def parse_envelopes(lines: Iterable[tuple[int, Any]]) -> History:
    """EventBridge events (parsed JSON, with their line numbers) read by the contract of SPEC section 3.

    No receipt time: a history is not bounded by when it is read, only its structure is checked.
    """
    history = History()
    for number, envelope in lines:
        reason = _problem(envelope)
        if reason is None:
            try:
                history.events.append(parse_detail(envelope["detail-type"], envelope["detail"]))
                continue
            except InvalidEvent as invalid:
                reason = invalid.reason
        history.skipped.append((number, reason))
    return history


def _problem(envelope: Any) -> str | None:
    if not isinstance(envelope, dict):
        return "not a JSON object"
    if envelope.get("source") != SOURCE:
        return f"source: expected {SOURCE!r}, got {excerpt(envelope.get('source'))}"
    if not isinstance(envelope.get("detail-type"), str):
        return "detail-type: missing"
    if not isinstance(envelope.get("detail"), dict):
        return "detail: missing or not an object"
    return None


def read_history(path: Path, option: str = "EVENTS") -> History:
    """The events of a JSON Lines file; a file that cannot be read as one is a one-line error."""
    try:
        data = path.read_bytes()
    except OSError as error:
        fail(option, f"cannot read {path}: {error.strerror or error}")
    try:
        lines = decode_lines(data)  # a BOM dropped; a line that is not UTF-8 text skipped by its number
    except NotJsonLines as error:
        fail(option, f"{path}: {error}")
    parsed: list[tuple[int, Any]] = []
    skipped: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if isinstance(line, bytes):
            skipped.append((number, "not UTF-8 text"))
            continue
        try:
            parsed.append((number, json.loads(line)))
        except json.JSONDecodeError as error:
            skipped.append((number, f"not JSON ({error.msg} at column {error.colno})"))
        except RecursionError:
            skipped.append((number, "not JSON (nested too deeply)"))
    history = parse_envelopes(parsed)
    history.skipped = sorted(skipped + history.skipped)
    return history


def fold_file(
    events: Path, catalog: Path | None, output: Path | None, period: Period
) -> tuple[Catalog, History, Records]:
    """The catalog, the file's events and their records folded at the period's end, for `report` and
    `sample`; a bad catalog or `--output` is refused before the file is read."""
    loaded = open_catalog(catalog)
    check_output(output)
    history = read_history(events)
    return loaded, history, fold_history(history.events, loaded, period.end)


def report_skipped(path: Path, skipped: list[tuple[int, str]]) -> None:
    """Skipped lines on standard error, one line each (the first few), so stdout stays the report."""
    for number, reason in skipped[:MAX_SKIPPED_SHOWN]:
        typer.echo(f"{path} line {number}: skipped: {' '.join(reason.split())}", err=True)
    if len(skipped) > MAX_SKIPPED_SHOWN:
        typer.echo(f"{path}: {len(skipped) - MAX_SKIPPED_SHOWN} more lines skipped", err=True)


def parse_bound(option: str, text: str | None) -> int:
    """A period bound: a date (midnight UTC, as SPEC section 9's period is in UTC) or an instant with offset."""
    if text is None:
        fail(option, "missing; give a date like 2026-04-01 (midnight UTC) or an instant with its offset")
    try:
        instant = datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
    except ValueError:
        try:
            instant = datetime.fromisoformat(text)
        except ValueError:
            fail(option, f"{text!r} is not a date like 2026-04-01 or an instant like 2026-04-01T00:00:00Z")
    if instant.utcoffset() is None:
        fail(option, f"{text!r} has no UTC offset; add one, like {text}Z, or give a date")
    if not EARLIEST <= instant <= LATEST:
        fail(option, f"{text!r} is outside the years 1970 to 2199 that a report covers")
    return to_epoch(instant)


def parse_period(start: str | None, end: str | None) -> Period:
    first, last = parse_bound("--from", start), parse_bound("--to", end)
    if last <= first:
        fail("--to", f"{end} is not after --from {start}: the period is [from, to)")
    return Period(first, last)


def check_output(output: Path | None) -> None:
    """Refuse an --output that cannot be written before the work, not after it."""
    if output is None:
        return
    if output.is_dir():
        fail("--output", f"{output} is a directory; give a file name")
    if not output.parent.is_dir():
        fail("--output", f"{output.parent} does not exist")


def write_output(text: str, output: Path | None) -> None:
    if output is None:
        typer.echo(text, nl=not text.endswith("\n"))
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        fail("--output", f"cannot write {output}: {error.strerror or error}")
