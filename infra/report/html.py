"""The HTML report: one self-contained file, with its charts drawn by matplotlib as inline SVG.

Shared by `sla-engine report --format html` and the ReportFunction (infra.report.service), which cannot
import the command line: so it lives here, and matplotlib is in the ReportFunction's package.

Self-contained because it is mailed, archived on S3 and opened years later: no script, no font, no style
sheet and no image is fetched from anywhere; the charts are vector, so they stay sharp in print, and their
text is text (searchable, readable by a screen reader). Colours are told apart by marker, line style and
hatching too, so the page reads on a black-and-white printer. The same document and series always give the
same bytes (no dates in the SVG, fixed id salts).
"""

from __future__ import annotations

import html
import io
import math
import re
from collections.abc import Sequence
from typing import Any

import matplotlib
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from sla.catalog import Catalog
from sla.catalog_views import human
from sla.kpi_records import Records
from sla.kpi_series import RESPONSE_BUCKETS, Series, series
from sla.kpi_stats import percent
from sla.kpis import Period

COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000")  # Okabe-Ito
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
LINE_STYLES = ("-", "--", "-.", ":", "-", "--", "-.")
STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: #111; background: #fff; max-width: 62rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.4; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; }
h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #999; }
p.meta { color: #444; margin-top: 0; }
table { border-collapse: collapse; margin: .5rem 0 1.2rem; font-size: .88rem; }
th, td { border-bottom: 1px solid #ccc; padding: .2rem .6rem; text-align: right; vertical-align: top; }
th { background: #f2f2f2; }
th.text, td.text { text-align: left; }
figure { margin: 1rem 0 1.5rem; break-inside: avoid; page-break-inside: avoid; }
figcaption { font-size: .88rem; color: #333; }
figure svg { display: block; max-width: 100%; height: auto; }
.empty { color: #555; font-style: italic; }
@page { size: A4; margin: 14mm; }
@media print {
  body { max-width: none; margin: 0; padding: 0; font-size: 10pt; }
  h2 { break-after: avoid; page-break-after: avoid; }
  table, tr { break-inside: avoid; page-break-inside: avoid; }
}
"""
RC: dict[Any, Any] = {
    "svg.fonttype": "none",  # text stays text; the page's fonts draw it
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def escape(value: object) -> str:
    return html.escape("—" if value is None else str(value))


def inline_svg(figure: Figure, prefix: str, title: str) -> str:
    """The figure as an <svg> element to inline: no XML prolog, ids made unique on the page, a title."""
    FigureCanvasSVG(figure)
    buffer = io.StringIO()
    with matplotlib.rc_context({**RC, "svg.hashsalt": prefix}):
        figure.savefig(
            buffer,
            format="svg",
            metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
            bbox_inches="tight",
        )
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', text)
    text = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}-\1)", text)
    text = re.sub(r'href="#([^"]+)"', rf'href="#{prefix}-\1"', text)
    opening = text.index(">") + 1
    labelled = text[: opening - 1] + f' role="img" aria-labelledby="{prefix}-title">'
    return labelled + f'<title id="{prefix}-title">{escape(title)}</title>' + text[opening:]


def new_figure(width: float = 7.2, height: float = 3.0) -> tuple[Figure, Any]:
    with matplotlib.rc_context(RC):
        figure = Figure(figsize=(width, height), layout="constrained")
        axes = figure.add_subplot()
    return figure, axes


def mark_empty(axes: Any, words: str) -> None:
    """An empty chart says so in words, in a strip rather than a blank box."""
    axes.figure.set_size_inches(axes.figure.get_figwidth(), 0.6)
    axes.text(0.5, 0.5, words, ha="center", va="center", transform=axes.transAxes, fontsize=10)
    axes.set_axis_off()


def _counts(values: Sequence[int]) -> list[str]:
    """Bar labels: the count, and nothing over an empty bar."""
    return [str(value) if value else "" for value in values]


def compliance_chart(series: Series) -> str:
    with matplotlib.rc_context(RC):
        figure, axes = new_figure()
        levels = series.levels
        positions = {week: index for index, week in enumerate(series.weeks)}
        if not levels:
            mark_empty(axes, "No SLA clock cycle was decided in the period.")
        for index, level in enumerate(levels):
            values = [math.nan] * len(series.weeks)
            for point in series.compliance:
                if point.level == level and point.percent is not None:
                    values[positions[point.week]] = point.percent
            style = index % len(COLOURS)
            axes.plot(
                range(len(series.weeks)),
                values,
                label=level,
                color=COLOURS[style],
                marker=MARKERS[style],
                linestyle=LINE_STYLES[style],
                linewidth=1.6,
                markersize=5,
            )
        if levels:
            axes.set_xticks(range(len(series.weeks)), labels=[f"week of {w[5:]}" for w in series.weeks])
            axes.set_ylim(-2, 104)
            axes.set_ylabel("met / decided (%)")
            axes.grid(axis="y", color="#ddd", linewidth=0.6)
            axes.legend(title="level", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        return inline_svg(figure, "chart-compliance", "SLA compliance by week and support level")


def response_chart(series: Series) -> str:
    with matplotlib.rc_context(RC):
        figure, axes = new_figure()
        if not any(series.reaction) and not any(series.useful_response):
            mark_empty(axes, "No ticket opened in the period has had a reply.")
        else:
            width = 0.4
            positions = range(len(RESPONSE_BUCKETS))
            first = axes.bar(
                [p - width / 2 for p in positions],
                series.reaction,
                width,
                label="reaction (first reply)",
                color=COLOURS[0],
                edgecolor="#000",
                linewidth=0.5,
            )
            second = axes.bar(
                [p + width / 2 for p in positions],
                series.useful_response,
                width,
                label="useful response (first answer)",
                color=COLOURS[1],
                edgecolor="#000",
                linewidth=0.5,
                hatch="//",
            )
            axes.bar_label(first, labels=_counts(series.reaction), padding=1, fontsize=7)
            axes.bar_label(second, labels=_counts(series.useful_response), padding=1, fontsize=7)
            axes.yaxis.set_major_locator(MaxNLocator(integer=True))
            axes.set_xticks(list(positions), labels=[name for name, _ in RESPONSE_BUCKETS])
            axes.set_ylabel("tickets")
            axes.legend(frameon=False)
        return inline_svg(figure, "chart-reaction", "Distribution of reaction and useful response times")


def csat_chart(series: Series) -> str:
    with matplotlib.rc_context(RC):
        figure, axes = new_figure(height=2.6)
        total = sum(series.ratings)
        if not total:
            mark_empty(axes, "No rating was given in the period.")
        else:
            colours = ["#D55E00", "#E69F00", "#999999", "#56B4E9", "#0072B2"]
            hatches = ["xx", "x", "", "..", ""]
            bars = axes.bar(
                range(1, 6), series.ratings, color=colours, edgecolor="#000", linewidth=0.5, hatch=hatches
            )
            axes.bar_label(bars, labels=_counts(series.ratings), padding=1, fontsize=8)
            axes.yaxis.set_major_locator(MaxNLocator(integer=True))
            axes.set_xticks(range(1, 6), labels=["1", "2", "3", "4", "5"])
            axes.set_xlabel("rating (4 and 5 count as satisfied)")
            axes.set_ylabel("tickets")
        return inline_svg(figure, "chart-csat", "Customer satisfaction ratings")


# -- tables -----------------------------------------------------------------------------------------------


def html_table(headers: Sequence[str], rows: Sequence[Sequence[object]], text_columns: int = 1) -> str:
    """A table whose first `text_columns` columns are words (left-aligned) and the rest figures."""

    def cell(tag: str, index: int, value: object) -> str:
        align = ' class="text"' if index < text_columns else ""
        return f"<{tag}{align}>{escape(value)}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(cell("td", i, c) for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} %"


def tally(entry: dict[str, Any]) -> str:
    decided = entry["met"] + entry["breached"]
    return "—" if not decided else f"{_percent(entry['percent'])} ({entry['met']}/{decided})"


def _seconds(value: int | None) -> str:
    return "—" if value is None else human(value)


def _label(group: dict[str, Any]) -> str:
    return ", ".join(f"{k}={'—' if v is None else v}" for k, v in group["key"].items()) or "all"


def _sections(document: dict[str, Any]) -> str:
    groups = document["groups"]
    if not groups:
        return '<p class="empty">Nothing happened in the period.</p>'
    parts = ["<h2>Compliance</h2>"]
    metrics = [entry["metric"].replace("_", " ") for entry in groups[0]["compliance"]]
    parts.append(
        html_table(["group", *metrics], [[_label(g), *(tally(e) for e in g["compliance"])] for g in groups])
    )
    parts.append("<h2>Reaction and useful response</h2>")
    rows = []
    for group in groups:
        for name, figure in (("reaction", group["reaction"]), ("useful response", group["useful_response"])):
            rows.append(
                [
                    _label(group),
                    name,
                    figure["count"],
                    *(
                        _seconds(figure[k])
                        for k in ("mean_seconds", "median_seconds", "p90_seconds", "median_working_seconds")
                    ),
                    figure["waiting"],
                    figure["unanswered"],
                ]
            )
    headers = ["group", "figure", "count", "mean", "median", "p90", "median working", "waiting", "unanswered"]
    parts.append(html_table(headers, rows, text_columns=2))
    parts.append("<h2>Customer satisfaction</h2>")
    parts.append(
        html_table(
            ["group", "ratings", "good (4-5)", "CSAT", "feedback rate"],
            [
                [
                    _label(g),
                    g["csat"]["ratings"],
                    g["csat"]["good"],
                    _percent(g["csat"]["percent"]),
                    _percent(g["csat"]["feedback_rate"]),
                ]
                for g in groups
            ],
        )
    )
    parts.append("<h2>Hardware replacement</h2>")
    classes = [entry["component_class"] for entry in groups[0]["hardware"]]
    parts.append(
        html_table(["group", *classes], [[_label(g), *(tally(e) for e in g["hardware"])] for g in groups])
    )
    return "".join(parts)


def _lines_and_credits(document: dict[str, Any]) -> str:
    parts = ["<h2>Support lines</h2>"]
    if document["lines"]:
        parts.append(
            html_table(
                ["line", "escalations in", "pickup met", "pickup breached", "median pickup"],
                [
                    [
                        line["line"],
                        line["escalations"],
                        line["pickup_met"],
                        line["pickup_breached"],
                        _seconds(line["median_pickup_seconds"]),
                    ]
                    for line in document["lines"]
                ],
            )
        )
    else:
        parts.append('<p class="empty">No support line appears in the period.</p>')
    parts.append("<h2>Service credits</h2>")
    if document["credits"]:
        parts.append(
            html_table(
                ["customer", "level", "breaches", "hours late", "credit (% of the monthly fee)"],
                [
                    [
                        c["customer_id"],
                        c["support_level"],
                        c["breaches"],
                        c["hours_late"],
                        f"{c['percent']:g} %",
                    ]
                    for c in document["credits"]
                ],
                text_columns=2,
            )
        )
    else:
        parts.append('<p class="empty">No first-response or hardware promise was broken in the period.</p>')
    return "".join(parts)


def render_html(document: dict[str, Any], series: Series) -> str:
    period = document["period"]
    title = f"SLA report {period['from'][:10]} → {period['to'][:10]}"
    by = ", ".join(document["by"]) or "nothing (one group)"
    ratings = sum(series.ratings)
    good = series.ratings[3] + series.ratings[4]
    csat = f"CSAT {_percent(percent(good, ratings))} of {ratings} ratings" if ratings else "no ratings"
    csat += (
        f"; feedback rate {_percent(percent(ratings, series.resolved))} of {series.resolved} tickets resolved"
    )
    figures = [
        ("Compliance by week and level: cycles met over cycles decided, every metric together.",
         compliance_chart(series)),
        ("Reaction time (to the first public reply, holding replies included) and useful response time (to "
         "the first answer) of the tickets opened in the period, wall clock.", response_chart(series)),
        (f"Ratings of the period, each ticket's latest: {csat}.", csat_chart(series)),
    ]  # fmt: skip
    charts = "".join(
        f'<figure class="chart">{svg}<figcaption>{escape(caption)}</figcaption></figure>'
        for caption, svg in figures
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1>"
        f'<p class="meta">Period [{escape(period["from"])}, {escape(period["to"])}) UTC; grouped by {escape(by)}. '
        "Figures as defined in SPEC section 9: medians and p90 by nearest rank.</p>"
        f"<h2>Charts</h2>{charts}{_sections(document)}{_lines_and_credits(document)}"
        "</body></html>\n"
    )


def report_html(document: dict[str, Any], records: Records, catalog: Catalog, period: Period) -> str:
    """The page of a report `document`, its charts counted from the same `records` over `period`."""
    return render_html(document, series(records.tickets, records.cycles, period, list(catalog.levels)))
