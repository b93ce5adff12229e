"""The what-if's HTML page in headless Chromium: self-contained, its four charts built and drawn, the staffing
heat map holding the hand-worked week of tests/test_simulate.py (Mon 10:00 and Wed 14:00 need 2 agents
under the proposed catalog, 1 now; Tue 09:00 needs 1 and Thu 09:00 2 under both; every other hour none)."""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from pathlib import Path

import matplotlib
import pytest
from typer.testing import CliRunner

from cli.main import app
from cli.simulate_html import heat_colours
from tests.browser import headless
from tests.test_simulate import FROM, PROPOSED, TO, week_events

runner = CliRunner(env={"SLA_CATALOG_PATH": None})
CHARTS = ("chart-compliance", "chart-pages", "chart-credits", "chart-staffing")


def _browse(page: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return headless(page.as_uri(), page.parent / "profile", *flags)


def _render(folder: Path, name: str) -> Path:
    events = folder / "week.jsonl"
    if not events.exists():
        events.write_text("".join(json.dumps(e) + "\n" for e in week_events()), encoding="utf-8")
    target = folder / name
    result = runner.invoke(
        app,
        ["simulate", str(events), "--catalog", str(PROPOSED), "--from", FROM, "--to", TO,
         "--format", "html", "--output", str(target)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return target


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _render(tmp_path_factory.mktemp("simulate-html"), "what-if.html")


def test_the_page_is_self_contained_and_the_same_every_time(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    for outside in (
        "<script",
        "<link",
        "<img",
        "<image",
        "<iframe",
        "@import",
        "url(http",
        'src="',
        "@font-face",
    ):
        assert outside not in text, outside  # no bitmap either: the heat map is vector cells
    assert set(re.findall(r"https?://[^\s\"'<>)]+", text)) <= {
        "http://www.w3.org/2000/svg",
        "http://www.w3.org/1999/xlink",
    }
    ids = re.findall(r'\bid="([^"]+)"', text)
    assert len(ids) == len(set(ids)), "ids must be unique across the inlined charts"
    assert _render(page.parent, "again.html").read_bytes() == page.read_bytes()


def test_chromium_builds_the_charts_and_the_heat_map(page: Path) -> None:
    dom = _browse(page, "--dump-dom", "--virtual-time-budget=2000").stdout
    figures = re.findall(r'<figure class="chart">(.*?)</figure>', dom, flags=re.DOTALL)
    assert len(figures) == len(CHARTS)
    for name, figure in zip(CHARTS, figures, strict=True):
        assert f'aria-labelledby="{name}-title"' in figure
        assert len(re.findall(r"<path\b", figure)) > 5, name  # drawn marks, not an empty frame
    compliance, pages, credits, staffing = figures
    assert ">current catalog<" in compliance and ">proposed catalog<" in compliance
    assert ">oncall-l2 (proposed)<" in pages and ">duty-manager (current)<" in pages
    assert ">premium<" in credits
    for label in ("mon", "tue", "wed", "thu", "fri", "sat", "sun", "00", "23", "hour of the day (UTC)"):
        assert f">{label}<" in staffing, label
    numbers = Counter(t for t in re.findall(r">(\d+[+−]?)<", staffing) if not re.fullmatch(r"\d\d", t))
    # 168 cells: Tue 09:00's 1, Thu 09:00's 2, 2+ at Mon 10:00 and Wed 14:00, 164 zeros; the legend's 0, 1, 2.
    assert numbers == {"0": 164 + 1, "1": 1 + 1, "2": 1 + 1, "2+": 2}
    assert "Erlang C: 80 % of the tickets" in dom and "handling time 25 min a ticket (measured)" in dom
    assert '<td class="worse">▼ -50 pts</td>' in dom
    assert '<td class="worse">▼ +15 %</td>' in dom


def test_chromium_draws_the_heat_map(page: Path) -> None:
    """The three hours that need 2 agents (the most) are painted in the heat map's top colour, each cell
    tens of pixels wide; the two that changed are framed in vermilion."""
    from PIL import Image as image

    shot = page.parent / "what-if.png"
    _browse(page, f"--screenshot={shot}", "--window-size=1000,3200", "--virtual-time-budget=2000")
    top = tuple(round(255 * c) for c in heat_colours(0, 2)(1.0)[:3])
    frame = tuple(round(255 * c) for c in matplotlib.colors.to_rgb("#D55E00"))
    with image.open(shot) as picture:
        rgb = picture.convert("RGB")
        colours = rgb.getcolors(maxcolors=rgb.size[0] * rgb.size[1]) or []

    def near(colour: tuple[int, ...], wanted: tuple[int, ...]) -> bool:
        return all(abs(a - b) <= 3 for a, b in zip(colour, wanted, strict=True))

    painted = sum(count for count, colour in colours if near(colour, top))
    framed = sum(count for count, colour in colours if near(colour, frame))
    assert painted > 3 * 300, painted
    assert framed > 2 * 40, framed
