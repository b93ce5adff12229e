"""The HTML report: one self-contained page whose charts a real browser draws.

Headless Chromium (Debian's `chromium`, which `make test` installs when it is missing) opens the file with
the network off; the DOM it builds must hold the three charts as SVG with their text, and a screenshot must
show them drawn. A page that needed anything from outside (a script, a font, a style sheet) would show less.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.browser import headless
from tests.kpi_month import FROM, TO, month_events

runner = CliRunner(env={"SLA_CATALOG_PATH": None})
CHARTS = ("chart-compliance", "chart-reaction", "chart-csat")


def _browse(page: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return headless(page.as_uri(), page.parent / "profile", *flags)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("html")
    events = folder / "april.jsonl"
    events.write_text("".join(json.dumps(e) + "\n" for e in month_events()), encoding="utf-8")
    target = folder / "april.html"
    result = runner.invoke(
        app, ["report", str(events), "--from", FROM, "--to", TO, "--format", "html", "--output", str(target)]
    )
    assert result.exit_code == 0, result.output
    return target


def test_the_page_is_self_contained(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    for outside in ("<script", "<link", "<img", "<iframe", "@import", "url(http", 'src="', "@font-face"):
        assert outside not in text, outside
    # Only XML namespace names (identifiers, never fetched) look like addresses.
    assert set(re.findall(r"https?://[^\s\"'<>)]+", text)) <= {
        "http://www.w3.org/2000/svg",
        "http://www.w3.org/1999/xlink",
    }
    ids = re.findall(r'\bid="([^"]+)"', text)
    assert len(ids) == len(set(ids)), "ids must be unique across the inlined charts"
    assert "@media print" in text


def test_the_same_report_gives_the_same_bytes(page: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.html"
    events = page.parent / "april.jsonl"
    result = runner.invoke(
        app, ["report", str(events), "--from", FROM, "--to", TO, "--format", "html", "--output", str(again)]
    )
    assert result.exit_code == 0, result.output
    assert again.read_bytes() == page.read_bytes()


def test_chromium_builds_the_three_charts(page: Path) -> None:
    dom = _browse(page, "--dump-dom", "--virtual-time-budget=2000").stdout
    figures = re.findall(r'<figure class="chart">(.*?)</figure>', dom, flags=re.DOTALL)
    assert len(figures) == 3
    for name, figure in zip(CHARTS, figures, strict=True):
        assert f'aria-labelledby="{name}-title"' in figure
        assert re.search(r"<svg\b", figure)
        assert len(re.findall(r"<path\b", figure)) > 5, name  # drawn marks, not an empty frame
    compliance, reaction, csat = figures
    for level in ("business", "enterprise", "premium", "standard"):
        assert f">{level}<" in compliance  # the legend, as text
    assert "≤ 15 min" in reaction and "useful response (first answer)" in reaction
    assert "rating (4 and 5 count as satisfied)" in csat
    assert "CSAT 75.0 % of 4 ratings; feedback rate 80.0 % of 5 tickets resolved" in dom
    assert "Service credits" in dom and "C-E" in dom


def test_chromium_draws_the_charts(page: Path) -> None:
    from PIL import Image as image  # pillow comes with matplotlib

    shot = page.parent / "april.png"
    _browse(page, f"--screenshot={shot}", "--window-size=1000,1800", "--virtual-time-budget=2000")
    with image.open(shot) as picture:
        rgb = picture.convert("RGB")
        width, height = rgb.size
        colours = rgb.getcolors(maxcolors=width * height) or []
    # The charts' own colours (Okabe-Ito blue and orange) are on the screen, over a good many pixels.
    blue = sum(count for count, colour in colours if colour == (0, 114, 178))
    orange = sum(count for count, colour in colours if colour == (230, 159, 0))
    assert blue > 500 and orange > 500, (blue, orange)


def test_print_media_keeps_charts_whole(page: Path) -> None:
    pdf = page.parent / "april.pdf"
    _browse(page, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", "--virtual-time-budget=2000")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b", data)) >= 2  # an A4 report of charts and tables
