"""The what-if as one self-contained HTML page: the report's style and chart helpers (`infra.report.html`),
with charts of its own: compliance per level and credits per level under both catalogs, pages per week per
route, and the staffing heat map (7 days × 24 hours) beside the shift rosters.

Differences are marked twice, by colour and by sign (▲ better, ▼ worse), so they read on a black-and-white
printer too. The same what-if always gives the same bytes (the report's fixed SVG salts, no dates).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import matplotlib
import numpy as np
from matplotlib.patches import Rectangle

from infra.report.html import (
    COLOURS,
    LINE_STYLES,
    MARKERS,
    RC,
    STYLE,
    escape,
    html_table,
    inline_svg,
    mark_empty,
    new_figure,
    tally,
)
from sla.kpi_stats import percent
from sla.staffing import DAYS, ROSTERS
from sla.whatif import SIDES, WhatIf

EXTRA_STYLE = """
td.better { color: #006b3c; font-weight: 600; }
td.worse { color: #b00020; font-weight: 600; }
"""
HEAT_MAP = "cividis"  # sequential, readable by colour-blind readers and in grey


def _marked(change: float | None, text: str, higher_is_better: bool = True) -> str:
    if not change:
        return "0" if change == 0 and text[:1] in "+-" else text
    return f"▲ {text}" if (change > 0) == higher_is_better else f"▼ {text}"


def _classed(table: str) -> str:
    """Cells that start with ▲ or ▼ get the class that colours them."""
    return table.replace("<td>▲", '<td class="better">▲').replace("<td>▼", '<td class="worse">▼')


def _by_level(doc: dict[str, Any], levels: Sequence[str]) -> dict[str, list[tuple[int, int]]]:
    """(met, decided) per level and side, every metric and severity together."""
    totals: dict[str, list[list[int]]] = defaultdict(lambda: [[0, 0], [0, 0]])
    for row in doc["compliance"]:
        for index, side in enumerate(SIDES):
            totals[row["level"]][index][0] += row[side]["met"]
            totals[row["level"]][index][1] += row[side]["met"] + row[side]["breached"]
    return {level: [(m, d) for m, d in totals[level]] for level in levels if level in totals}


def _pair_bars(axes: Any, labels: Sequence[str], values: Sequence[Sequence[float]], unit: str) -> None:
    width = 0.38
    for index, side in enumerate(SIDES):
        bars = axes.bar(
            [p + (index - 0.5) * width for p in range(len(labels))],
            [v[index] for v in values],
            width,
            label=f"{side} catalog",
            color=COLOURS[index],
            edgecolor="#000",
            linewidth=0.5,
            hatch="//" if index else "",
        )
        axes.bar_label(bars, labels=[f"{v[index]:g}{unit}" for v in values], padding=1, fontsize=7)
    axes.set_xticks(range(len(labels)), labels=labels)
    axes.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))


def compliance_chart(doc: dict[str, Any], levels: Sequence[str]) -> str:
    with matplotlib.rc_context(RC):
        figure, axes = new_figure()
        found = _by_level(doc, levels)
        if not found:
            mark_empty(axes, "No SLA clock cycle was decided in the period under either catalog.")
        else:
            values = [[percent(m, d) or 0.0 for m, d in found[level]] for level in found]
            _pair_bars(axes, list(found), values, " %")
            axes.set_ylim(0, 112)
            axes.set_ylabel("met / decided (%)")
        return inline_svg(
            figure, "chart-compliance", "Compliance per level under the current and proposed catalog"
        )


def credits_chart(doc: dict[str, Any], levels: Sequence[str]) -> str:
    with matplotlib.rc_context(RC):
        figure, axes = new_figure(height=2.6)
        fees: dict[str, list[float]] = {}
        for row in doc["credits"]["customers"]:
            entry = fees.setdefault(row["support_level"], [0.0, 0.0])
            for index, side in enumerate(SIDES):
                entry[index] += row[side]["percent"] / 100
        ordered = [level for level in levels if level in fees]
        if not ordered:
            mark_empty(axes, "No credit is owed in the period under either catalog.")
        else:
            _pair_bars(axes, ordered, [[round(v, 2) for v in fees[level]] for level in ordered], "")
            axes.set_ylabel("monthly fees credited")
        return inline_svg(figure, "chart-credits", "Service credits per level, in monthly fees")


def pages_chart(doc: dict[str, Any]) -> str:
    with matplotlib.rc_context(RC):
        figure, axes = new_figure()
        pages = doc["pages"]
        if not pages["routes"]:
            mark_empty(axes, "No page fired in the period under either catalog.")
        for index, row in enumerate(pages["routes"]):
            style = index % len(COLOURS)
            for side, line in (("current", "-"), ("proposed", LINE_STYLES[1])):
                axes.plot(
                    range(len(pages["weeks"])),
                    row[side],
                    label=f"{row['route']} ({side})",
                    color=COLOURS[style],
                    marker=MARKERS[style],
                    linestyle=line,
                    linewidth=1.4 if side == "current" else 1.8,
                    markersize=4,
                    fillstyle="full" if side == "current" else "none",
                )
        if pages["routes"]:
            step = max(1, len(pages["weeks"]) // 10)
            ticks = list(range(0, len(pages["weeks"]), step))
            axes.set_xticks(ticks, labels=[pages["weeks"][t][5:] for t in ticks])
            if len(ticks) > 6:
                axes.tick_params(axis="x", labelrotation=45)
            axes.set_xlabel("week starting (Monday, UTC)")
            axes.set_ylabel("pages (trigger alerts)")
            axes.set_ylim(bottom=0)
            axes.grid(axis="y", color="#ddd", linewidth=0.6)
            axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=7)
        return inline_svg(
            figure, "chart-pages", "Pages per route per week under the current and proposed catalog"
        )


def heat_colours(low: int, top: int) -> Any:
    """The heat map's colours: one per number of agents from `low` to `top`, so that a week that needs 9 to
    12 agents an hour spans the whole scale rather than its bright end."""
    return matplotlib.colormaps[HEAT_MAP].resampled(top - low + 1)


def heat_map(doc: dict[str, Any]) -> str:
    """Agents needed per hour of the week under the proposed catalog, each cell numbered; a cell that needs
    more agents than the current catalog is framed and marked +, fewer marked −."""
    plan = doc["staffing"]
    grid = np.array([hour["proposed_agents"] for hour in plan["hours"]]).reshape(7, 24)
    before = np.array([hour["current_agents"] for hour in plan["hours"]]).reshape(7, 24)
    with matplotlib.rc_context(RC):
        figure, axes = new_figure(height=3.2)
        low, top = int(grid.min()), max(1, int(grid.max()))
        # One colour per number of agents, and cells as vector shapes (not imshow's embedded bitmap): sharp
        # in print, their colours exact.
        image = axes.pcolormesh(
            np.arange(25) - 0.5,
            np.arange(8) - 0.5,
            grid,
            cmap=heat_colours(low, top),
            vmin=low - 0.5,
            vmax=top + 0.5,
            edgecolors="#fff",
            linewidth=0.3,
        )
        axes.set_ylim(6.5, -0.5)  # Monday on top
        for day in range(7):
            for hour in range(24):
                value, old = int(grid[day, hour]), int(before[day, hour])
                mark = "+" if value > old else "−" if value < old else ""
                colour = "#000" if value - low > (top - low) * 0.6 else "#fff"  # dark on the bright end
                axes.text(hour, day, f"{value}{mark}", ha="center", va="center", fontsize=6.5, color=colour)
                if mark:
                    axes.add_patch(
                        Rectangle(
                            (hour - 0.5, day - 0.5), 1, 1, fill=False, edgecolor="#D55E00", linewidth=1.5
                        )
                    )
        axes.set_xticks(range(24), labels=[f"{h:02d}" for h in range(24)])
        axes.set_yticks(range(7), labels=list(DAYS))
        axes.set_xlabel(f"hour of the day ({plan['timezone']})")
        axes.spines[:].set_visible(False)
        legend = figure.colorbar(image, ax=axes, label="agents", fraction=0.03, pad=0.01)
        legend.set_ticks(range(low, top + 1, max(1, (top - low) // 8)))
        return inline_svg(
            figure, "chart-staffing", "Agents needed per hour of the week under the proposed catalog"
        )


# -- tables -----------------------------------------------------------------------------------------------


def _compliance_table(doc: dict[str, Any]) -> str:
    rows = [
        [
            row["level"],
            row["severity"],
            row["metric"].replace("_", " "),
            tally(row["current"]),
            tally(row["proposed"]),
            "—"
            if row["change_points"] is None
            else _marked(row["change_points"], f"{row['change_points']:+g} pts"),
        ]
        for row in doc["compliance"]
    ]
    headers = ["level", "severity", "metric", "current", "proposed", "change"]
    return _classed(html_table(headers, rows, text_columns=3))


def _pages_table(doc: dict[str, Any]) -> str:
    rows = []
    for row in doc["pages"]["routes"]:
        delta = row["proposed_total"] - row["current_total"]
        rows.append(
            [
                row["route"],
                f"{row['current_per_week']:g}",
                f"{row['proposed_per_week']:g}",
                row["current_total"],
                row["proposed_total"],
                _marked(delta, f"{delta:+d}", higher_is_better=False),
            ]
        )
    headers = ["route", "current / week", "proposed / week", "current", "proposed", "change"]
    return _classed(html_table(headers, rows))


def _credits_table(doc: dict[str, Any]) -> str:
    moved = [row for row in doc["credits"]["customers"] if row["change_percent"]]
    if not moved:
        return '<p class="empty">No customer\'s credit changes.</p>'
    rows = [
        [
            row["customer_id"],
            row["support_level"],
            f"{row['current']['percent']:g} % ({row['current']['hours_late']} h late)",
            f"{row['proposed']['percent']:g} % ({row['proposed']['hours_late']} h late)",
            _marked(row["change_percent"], f"{row['change_percent']:+g} %", higher_is_better=False),
        ]
        for row in sorted(moved, key=lambda row: (-abs(row["change_percent"]), row["customer_id"]))
    ]
    headers = ["customer", "level", "current", "proposed", "change (% of the monthly fee)"]
    return _classed(html_table(headers, rows, text_columns=2))


def _shifts_table(doc: dict[str, Any]) -> str:
    plan = doc["staffing"]
    rows: list[list[object]] = []
    for roster, shifts in ROSTERS.items():
        for name, _, _ in shifts:
            cells = [c for c in plan["shifts"][roster] if c["shift"] == name]
            rows.append(
                [
                    f"{roster} {name}",
                    *(
                        _marked(
                            c["proposed_agents"] - c["current_agents"],
                            f"{c['current_agents']} → {c['proposed_agents']}",
                            False,
                        )
                        for c in cells
                    ),
                ]
            )
    hours = plan["agent_hours_per_week"]
    totals = html_table(
        ["roster", "current", "proposed"],
        [[name, hours[key]["current"], hours[key]["proposed"]] for key, name in
         (("hourly", "hour by hour (no roster does better)"), ("12h", "12-hour shifts"), ("8h", "8-hour shifts"))],
    )  # fmt: skip
    return _classed(html_table(["shift", *DAYS], rows)) + "<p>Agent-hours a week:</p>" + totals


def render_html(doc: dict[str, Any], whatif: WhatIf, levels: Sequence[str]) -> str:
    period, catalogs, plan = doc["period"], doc["catalogs"], doc["staffing"]
    title = f"What-if {period['from'][:10]} → {period['to'][:10]}: {catalogs['proposed']}"
    credits = doc["credits"]
    staffing_caption = (
        f"Agents needed per hour of the week ({plan['timezone']}) under the proposed catalog, by Erlang C: "
        f"{plan['probability'] * 100:g} % of the tickets answered within their first-response target, "
        f"{plan['tickets']:,} tickets opened in the period, handling time {round(plan['handling_seconds'] / 60)} "
        f"min a ticket ({plan['handling']}). A framed cell needs more agents (+) or fewer (−) than the "
        "current catalog."
    )
    figures = [
        ("Compliance per level, every metric and severity together: cycles met over cycles decided.",
         compliance_chart(doc, levels)),
        ("Pages (trigger alerts) per route and week: solid, the current catalog; dashed, the proposed one.",
         pages_chart(doc)),
        (f"Service credits per level, in monthly fees: {credits['current_monthly_fees']:g} now, "
         f"{credits['proposed_monthly_fees']:g} under the proposed catalog.", credits_chart(doc, levels)),
        (staffing_caption, heat_map(doc)),
    ]  # fmt: skip
    charts = "".join(
        f'<figure class="chart">{svg}<figcaption>{escape(caption)}</figcaption></figure>'
        for caption, svg in figures
    )
    weeks = doc["pages"]["span_weeks"]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}{EXTRA_STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1>"
        f'<p class="meta">Period [{escape(period["from"])}, {escape(period["to"])}) UTC, {weeks:g} weeks; current '
        f"catalog {escape(catalogs['current'])}. Figures as defined in SPEC section 9; ▲ better, ▼ worse "
        f"under the proposed catalog. {whatif.tickets:,} tickets folded under each.</p>"
        f"<h2>Charts</h2>{charts}"
        f"<h2>Compliance</h2>{_compliance_table(doc)}"
        f"<h2>Pages per route</h2>{_pages_table(doc)}"
        f"<h2>Service credits</h2>{_credits_table(doc)}"
        f"<h2>Shifts</h2><p>Each shift needs the most agents any hour it covers needs (current → proposed).</p>"
        f"{_shifts_table(doc)}</body></html>\n"
    )
