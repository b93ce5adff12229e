"""Catalog versions with `effective_from` (SPEC section 4): a clock keeps the promise in force when it started.

An operator who shortens enterprise's critical first response from 15 to 5 minutes on 1 June must not
re-target the tickets opened before, nor rewrite history when it is replayed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.catalog_source import CatalogError, load_catalog
from sla.catalog import chain_versions, parse_catalog
from sla.fold import fold
from tests.fold_helpers import (
    HOUR,
    MINUTE,
    default_catalog_toml,
    epoch,
    message,
    opened,
    plan,
    severity,
)

EDIT = "2026-06-01T00:00:00+00:00"
_V2_PREFIX = f"effective_from = {EDIT.replace('+00:00', 'Z')}\n"


def _v2_text() -> str:
    text = default_catalog_toml()
    shorter = text.replace('critical = "15m"', 'critical = "5m"', 1)
    assert shorter != text, "the default catalog's enterprise critical target moved: update this test"
    return _V2_PREFIX + shorter


@pytest.fixture
def versions(tmp_path: Path) -> Path:
    (tmp_path / "2026-01-base.toml").write_text(default_catalog_toml(), encoding="utf-8")
    (tmp_path / "2026-06-faster.toml").write_text(_v2_text(), encoding="utf-8")
    return tmp_path


def _first_response_target(catalog_dir: Path, opened_at: str) -> int:
    catalog = load_catalog(catalog_dir)
    start = epoch(opened_at)
    events = [opened(start, "critical")]
    plans = [plan(start - HOUR, "enterprise")]
    folded = fold("T-1", events, plans, catalog, start + MINUTE)
    assert folded.state is not None
    (first,) = [c for c in folded.state.clocks if c.metric == "first_response"]
    return first.target_seconds


@pytest.mark.parametrize(
    ("opened_at", "target"),
    [
        ("2026-05-31T23:59:59+00:00", 15 * MINUTE),  # the version before the edit
        (EDIT, 5 * MINUTE),  # in force from its instant on
        ("2026-07-15T10:00:00+00:00", 5 * MINUTE),
    ],
)
def test_a_clock_uses_the_version_in_force_when_it_started(
    versions: Path, opened_at: str, target: int
) -> None:
    assert _first_response_target(versions, opened_at) == target


def test_a_severity_change_after_the_edit_keeps_the_clocks_version(versions: Path) -> None:
    catalog = load_catalog(versions)
    start = epoch("2026-05-31T23:50:00+00:00")
    events = [opened(start, "high"), severity(start + 15 * MINUTE, "critical")]  # 00:05, after the edit
    folded = fold("T-1", events, [plan(start - HOUR, "enterprise")], catalog, start + 15 * MINUTE)
    assert folded.state is not None
    (first,) = [c for c in folded.state.clocks if c.metric == "first_response"]
    # Re-targeted within the version it started with: 15 minutes, due 00:05, not yet breached (under the
    # new version's 5 minutes it would have breached at 23:55).
    assert (first.target_seconds, first.state) == (15 * MINUTE, "running")


def test_replaying_history_after_the_edit_gives_what_was_promised_then(versions: Path) -> None:
    start = epoch("2026-05-20T10:00:00+00:00")
    events = [opened(start, "critical"), message(start + 10 * MINUTE)]
    plans = [plan(start - HOUR, "enterprise")]
    before = fold("T-1", events, plans, parse_catalog(default_catalog_toml()), start + HOUR)
    after = fold("T-1", events, plans, load_catalog(versions), start + HOUR)
    assert before.state == after.state
    assert [e.effect_id for e in before.effects] == [e.effect_id for e in after.effects]


def test_two_versions_at_one_instant_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(_v2_text(), encoding="utf-8")
    (tmp_path / "b.toml").write_text(_v2_text(), encoding="utf-8")
    with pytest.raises(CatalogError, match="effective_from: two catalog versions"):
        load_catalog(tmp_path)


def test_an_empty_directory_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"holds no \*\.toml file"):
        load_catalog(tmp_path)


def test_an_instant_before_every_version_uses_the_oldest() -> None:
    newer = parse_catalog(_v2_text())
    chained = chain_versions([newer])
    assert chained.at(0) is newer  # nothing older to fall back on: the only promise there is


def test_a_copy_walks_its_own_chain_not_the_one_its_original_kept() -> None:
    """`at` keeps the chain in the instance dict, which `model_copy` copies: a copy must still answer itself."""
    base, newer = parse_catalog(default_catalog_toml()), parse_catalog(_v2_text())
    chained = chain_versions([base, newer])
    assert chained.at(epoch(EDIT)) is newer  # the chain is kept now
    copy = chained.model_copy(update={"levels": {**newer.levels}})
    assert copy.at(epoch(EDIT)) is copy
    assert copy.at(epoch(EDIT) - 1) is base
    assert copy.versions == (copy, base)
    rechained = chained.with_earlier(())
    assert rechained.at(epoch(EDIT) - 1) is newer  # with nothing older, the oldest there is
