"""The dashboard's charts as SVG, drawn by hand (no plotting library, nothing from a CDN).

Every series is told apart by line pattern and marker shape as well as colour, every line and bar
carries its value in text, and each chart has a `<title>` and a `<desc>` that say what it shows in
words, for screen readers and for anyone who cannot tell the colours apart.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from xml.sax.saxutils import escape

from assistant.monitoring.drift import PSI_DRIFT, PSI_WATCH

PALETTE = ["#0b57d0", "#b3261e", "#1e7a34", "#8a3ffc", "#a15c00", "#005f73"]
DASHES = ["", "7 4", "2 3", "9 3 2 3", "1 5", "12 5"]
MARKERS = ["circle", "square", "triangle", "diamond", "cross", "plus"]
WORDS = {"stable": "stable", "watch": "watch", "drift": "drifting"}
LEVEL_SHAPES = {"warn": "circle", "refuse": "triangle", "lock": "square", "critical": "diamond"}
LEVEL_COLOURS = {"warn": "#a15c00", "refuse": "#b3261e", "lock": "#5b0f16", "critical": "#5b0f16"}
FONT = 'font-family="system-ui, sans-serif" font-size="12"'


def _when(ts: float, with_day: bool = True) -> str:
    t = dt.datetime.fromtimestamp(ts, dt.timezone.utc)
    return t.strftime("%b %d %H:%M") if with_day else t.strftime("%H:%M")


def _marker(shape: str, x: float, y: float, colour: str, size: float = 4.5) -> str:
    s = size
    if shape == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{s:.1f}" fill="{colour}"/>'
    if shape == "square":
        return f'<rect x="{x - s:.1f}" y="{y - s:.1f}" width="{2 * s:.1f}" height="{2 * s:.1f}" fill="{colour}"/>'
    if shape == "triangle":
        return f'<polygon points="{x:.1f},{y - s - 1:.1f} {x - s - 1:.1f},{y + s:.1f} {x + s + 1:.1f},{y + s:.1f}" fill="{colour}"/>'
    if shape == "diamond":
        return f'<polygon points="{x:.1f},{y - s - 1:.1f} {x + s + 1:.1f},{y:.1f} {x:.1f},{y + s + 1:.1f} {x - s - 1:.1f},{y:.1f}" fill="{colour}"/>'
    if shape == "cross":
        return (f'<path d="M{x - s:.1f},{y - s:.1f}L{x + s:.1f},{y + s:.1f}M{x + s:.1f},{y - s:.1f}L{x - s:.1f},{y + s:.1f}" '
                f'stroke="{colour}" stroke-width="2.5"/>')
    return (f'<path d="M{x - s:.1f},{y:.1f}H{x + s:.1f}M{x:.1f},{y - s:.1f}V{y + s:.1f}" stroke="{colour}" '
            f'stroke-width="2.5"/>')


def _frame(width: int, height: int, title: str, desc: str, chart_id: str) -> list[str]:
    return [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'role="img" aria-labelledby="{chart_id}-t {chart_id}-d" {FONT} class="chart" data-chart="{chart_id}">',
            f'<title id="{chart_id}-t">{escape(title)}</title>', f'<desc id="{chart_id}-d">{escape(desc)}</desc>',
            f'<rect width="{width}" height="{height}" fill="#ffffff"/>']


def _empty(width: int, title: str, message: str, chart_id: str) -> str:
    out = _frame(width, 60, title, message, chart_id)
    out.append(f'<text x="12" y="34" fill="#3d4550">{escape(message)}</text></svg>')
    return "\n".join(out)


def drift_history_svg(model_id: str, snapshots: list[Any], *, width: int = 720, max_features: int = 6) -> str:
    """PSI per feature over the stored measurements (oldest left), against the Watch and At-risk lines."""
    chart_id = f"drift-{model_id}"
    title = f"{model_id}: input drift over time (PSI per input)"
    points = [s for s in snapshots if s.psi]
    if not points:
        return _empty(width, title, "No drift measurements yet: the history starts when inputs are scored "
                                    "or a batch is monitored.", chart_id)
    worst: dict[str, float] = {}
    for s in points:
        for name, value in s.psi.items():
            worst[name] = max(worst.get(name, 0.0), value)
    features = sorted(worst, key=lambda n: -worst[n])[:max_features]
    labels = {n: next((s.labels.get(n) for s in reversed(points) if s.labels.get(n)), n) for n in features}
    left, right, top, bottom = 52, 210, 16, 58
    height = 260
    plot_w, plot_h = width - left - right, height - top - bottom
    y_max = max(0.5, max(worst[n] for n in features) * 1.1)

    def x(i: int) -> float:
        return left + (plot_w * i / (len(points) - 1) if len(points) > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h * (1 - min(v, y_max) / y_max)

    latest = points[-1]
    summary = "; ".join(f"{labels[n]} PSI {latest.psi.get(n, 0):.2f} {WORDS.get(latest.levels.get(n, ''), '')}".strip()
                        for n in features)
    desc = (f"{len(points)} measurements from {_when(points[0].ts)} to {_when(points[-1].ts)} UTC. Latest ({latest.source}): "
            f"{summary}. Watch above {PSI_WATCH}, at risk above {PSI_DRIFT}.")
    out = _frame(width, height, title, desc, chart_id)
    # Axes and the two thresholds, labelled in words.
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#3d4550"/>')
    out.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#3d4550"/>')
    for v in (0.0, PSI_WATCH, PSI_DRIFT, y_max):
        out.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end" fill="#3d4550">{v:.2f}</text>')
    for value, name in ((PSI_WATCH, "watch"), (PSI_DRIFT, "at risk")):
        out.append(f'<line x1="{left}" y1="{y(value):.1f}" x2="{left + plot_w}" y2="{y(value):.1f}" stroke="#6b7380" '
                   f'stroke-dasharray="5 4"/>')
        out.append(f'<text x="{left + 4}" y="{y(value) - 4:.1f}" fill="#3d4550" font-size="11">{name} {value:g}</text>')
    ticks = sorted({0, len(points) - 1, (len(points) - 1) // 2})
    for i in ticks:
        out.append(f'<text x="{x(i):.1f}" y="{top + plot_h + 16}" text-anchor="middle" fill="#3d4550" font-size="11">'
                   f'{escape(_when(points[i].ts))}</text>')
    out.append(f'<text x="{left}" y="{height - 8}" fill="#3d4550" font-size="11">Each point is one measurement '
               f'(recent inputs, or a monitored batch); times in UTC.</text>')
    # One line per feature: its own colour, dash pattern and marker, and its name and latest value at the end.
    label_y: list[float] = []
    for k, name in enumerate(features):
        colour, dash, shape = PALETTE[k % 6], DASHES[k % 6], MARKERS[k % 6]
        series = [(i, s.psi[name], s) for i, s in enumerate(points) if name in s.psi]
        coords = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v, _ in series)
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<g class="series" data-feature="{escape(name)}">')
        if len(series) > 1:
            out.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"{dash_attr}/>')
        for i, v, s in series:
            level = WORDS.get(s.levels.get(name, ""), "")
            tip = f"{labels[name]}: PSI {v:.3f} {level}, {s.source}, {_when(s.ts)} UTC"
            out.append(f'<g>{_marker(shape, x(i), y(v), colour)}<title>{escape(tip)}</title></g>')
        last_i, last_v, last_s = series[-1]
        ly = y(last_v) + 4
        while any(abs(ly - other) < 13 for other in label_y):  # keep end labels from overlapping
            ly += 13
        label_y.append(ly)
        out.append(_marker(shape, left + plot_w + 14, ly - 4, colour, 4))
        out.append(f'<text x="{left + plot_w + 24}" y="{ly:.1f}" fill="{colour}">{escape(labels[name])} '
                   f'{last_v:.2f} {WORDS.get(last_s.levels.get(name, ""), "")}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


def alerts_timeline_svg(alerts: list[dict[str, Any]], now: float, *, days: int = 7, width: int = 720) -> str:
    """Probing alerts over the last `days`: one row per principal, a marker per alert, shaped by level."""
    chart_id = "alerts-timeline"
    title = f"Probing alerts in the last {days} days, by principal"
    if not alerts:
        return _empty(width, title, f"No probing alerts in the last {days} days.", chart_id)
    principals = list(dict.fromkeys(str(a.get("principal")) for a in sorted(alerts, key=lambda a: -float(a.get("ts", 0)))))[:12]
    left, right, top, row = 150, 20, 34, 28
    height = top + row * len(principals) + 46
    start = now - days * 86400

    def x(ts: float) -> float:
        return left + (width - left - right) * max(0.0, min(1.0, (ts - start) / (now - start)))

    levels = sorted({str(a.get("level")) for a in alerts})
    desc = (f"{len(alerts)} alerts from {len(principals)} principals. " + "; ".join(
        f"{p}: {sum(1 for a in alerts if str(a.get('principal')) == p)} alerts" for p in principals))
    out = _frame(width, height, title, desc, chart_id)
    legend_x = left
    for level in levels:  # the legend names each marker shape in words
        shape = LEVEL_SHAPES.get(level, "circle")
        out.append(_marker(shape, legend_x + 5, 14, LEVEL_COLOURS.get(level, "#3d4550")))
        out.append(f'<text x="{legend_x + 14}" y="18" fill="#1b1f24">{escape(level)}</text>')
        legend_x += 24 + 8 * len(level) + 20
    for d in range(days + 1):
        tx = x(start + d * 86400)
        out.append(f'<line x1="{tx:.1f}" y1="{top - 6}" x2="{tx:.1f}" y2="{top + row * len(principals)}" stroke="#e1e4e8"/>')
        if d % 2 == 0 or days <= 7:
            day = dt.datetime.fromtimestamp(start + d * 86400, dt.timezone.utc).strftime("%b %d")
            out.append(f'<text x="{tx:.1f}" y="{top + row * len(principals) + 16}" text-anchor="middle" fill="#3d4550" '
                       f'font-size="11">{day}</text>')
    for r, principal in enumerate(principals):
        cy = top + r * row + row / 2
        count = sum(1 for a in alerts if str(a.get("principal")) == principal)
        out.append(f'<text x="{left - 8}" y="{cy + 4:.1f}" text-anchor="end" fill="#1b1f24">{escape(principal)} '
                   f'({count} alert{"s" if count != 1 else ""})</text>')
        for a in alerts:
            if str(a.get("principal")) != principal:
                continue
            level = str(a.get("level"))
            tip = (f"{principal} on {a.get('model_id') or 'several models'}: {a.get('kind')} ({level}) at "
                   f"{_when(float(a.get('ts', 0)))} UTC — {a.get('detail', '')}")
            out.append(f'<g class="alert" data-principal="{escape(principal)}">'
                       f'{_marker(LEVEL_SHAPES.get(level, "circle"), x(float(a.get("ts", 0))), cy, LEVEL_COLOURS.get(level, "#3d4550"))}'
                       f'<title>{escape(tip)}</title></g>')
    out.append(f'<text x="{left}" y="{height - 8}" fill="#3d4550" font-size="11">Times in UTC; newest on the right.</text>')
    out.append("</svg>")
    return "\n".join(out)


def feedback_svg(days: list[Any], *, width: int = 720, chart_id: str = "feedback") -> str:
    """Helpful and not-helpful ratings per day: solid bars and hatched bars, each with its count."""
    title = "Answer feedback per day: helpful and not helpful"
    if not days:
        return _empty(width, title, "No feedback on answers yet.", chart_id)
    days = days[-14:]
    left, top, plot_h = 40, 44, 120
    height = top + plot_h + 44
    slot = (width - left - 20) / len(days)
    peak = max(max(d.helpful, d.not_helpful) for d in days) or 1
    desc = "; ".join(f"{d.day}: {d.helpful} helpful, {d.not_helpful} not helpful" for d in days)
    out = _frame(width, height, title, desc, chart_id)
    out.append(f'<defs><pattern id="{chart_id}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
               f'patternTransform="rotate(45)"><rect width="6" height="6" fill="#fde6e8"/>'
               f'<line x1="0" y1="0" x2="0" y2="6" stroke="#b3261e" stroke-width="3"/></pattern></defs>')
    out.append(f'<rect x="{left}" y="8" width="12" height="12" fill="#1e7a34"/><text x="{left + 18}" y="18">helpful</text>')
    out.append(f'<rect x="{left + 90}" y="8" width="12" height="12" fill="url(#{chart_id}-hatch)" stroke="#b3261e"/>'
               f'<text x="{left + 108}" y="18">not helpful</text>')
    base = top + plot_h
    bar = min(28.0, slot / 2 - 4)
    for i, d in enumerate(days):
        cx = left + slot * i + slot / 2
        for offset, value, fill, word in ((-bar - 1, d.helpful, "#1e7a34", "helpful"),
                                          (1, d.not_helpful, f"url(#{chart_id}-hatch)", "not helpful")):
            h = plot_h * value / peak
            out.append(f'<rect x="{cx + offset:.1f}" y="{base - h:.1f}" width="{bar:.1f}" height="{max(h, 0.5):.1f}" '
                       f'fill="{fill}" stroke="#3d4550" stroke-width="0.5"><title>{d.day}: {value} {word}</title></rect>')
            out.append(f'<text x="{cx + offset + bar / 2:.1f}" y="{base - h - 4:.1f}" text-anchor="middle" '
                       f'font-size="11">{value}</text>')
        out.append(f'<text x="{cx:.1f}" y="{base + 16}" text-anchor="middle" fill="#3d4550" font-size="11">{d.day[5:]}</text>')
    out.append(f'<line x1="{left}" y1="{base}" x2="{width - 20}" y2="{base}" stroke="#3d4550"/>')
    out.append("</svg>")
    return "\n".join(out)
