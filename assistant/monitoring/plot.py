"""A drift chart as SVG, drawn by hand (no plotting library, no CDN): one bar per feature for its
PSI against the Watch and At-risk thresholds, each bar labelled in words as well as colour."""

from __future__ import annotations

from xml.sax.saxutils import escape

from assistant.monitoring.anomaly import AnomalyReport
from assistant.monitoring.drift import PSI_DRIFT, PSI_WATCH, DriftReport

COLOURS = {"stable": "#2e7d32", "watch": "#b26a00", "drift": "#c62828"}
WORDS = {"stable": "stable", "watch": "watch", "drift": "drifting"}


def drift_svg(report: DriftReport, anomalies: AnomalyReport | None = None, *, grade: str | None = None,
              width: int = 720) -> str:
    """The chart for one model's drift report (and, if given, its unusual-input share and grade)."""
    features = sorted(report.features, key=lambda f: -f.psi)
    row, top, left, right = 26, 70, 190, 150
    height = top + row * max(len(features), 1) + 60
    scale_max = max(0.5, max((f.psi for f in features), default=0.0) * 1.1)
    plot_w = width - left - right

    def x(value: float) -> float:
        return left + plot_w * min(value, scale_max) / scale_max

    title = f"{report.model_id}: input drift against the reference data"
    if grade:
        title += f" — posture {grade}"
    if report.judged:
        subtitle = f"{report.rows:,} recent inputs" + (f" since {report.since[:10]}" if report.since else "")
    else:
        subtitle = f"not enough recent inputs to judge drift ({report.rows:,} of {report.min_rows:,})"
    if anomalies is not None and anomalies.rows:
        subtitle += f"; unusual inputs {anomalies.share:.1%} (about {anomalies.expected_share:.0%} expected)"
    summary = ", ".join(f"{f.label} PSI {f.psi:.2f} {WORDS[f.level]}" for f in features) or "no inputs yet"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'role="img" aria-labelledby="t d" font-family="system-ui, sans-serif" font-size="13">',
           f'<title id="t">{escape(title)}</title>', f'<desc id="d">{escape(subtitle + ". " + summary)}</desc>',
           f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
           f'<text x="16" y="26" font-size="16" font-weight="600" fill="#111">{escape(title)}</text>',
           f'<text x="16" y="46" fill="#444">{escape(subtitle)}</text>']
    bottom = top + row * max(len(features), 1)
    for value, name in ((PSI_WATCH, "watch"), (PSI_DRIFT, "at risk")):
        out.append(f'<line x1="{x(value):.1f}" y1="{top - 8}" x2="{x(value):.1f}" y2="{bottom}" stroke="#777" '
                   f'stroke-dasharray="4 3"/>')
        out.append(f'<text x="{x(value):.1f}" y="{bottom + 16}" text-anchor="middle" fill="#555" font-size="11">'
                   f'{escape(name)} {value:g}</text>')
    for i, f in enumerate(features):
        y = top + i * row
        colour = COLOURS[f.level]
        out.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end" fill="#111">{escape(f.label)}</text>')
        out.append(f'<rect x="{left}" y="{y + 3}" width="{max(x(f.psi) - left, 1.5):.1f}" height="{row - 8}" '
                   f'fill="{colour}"><title>{escape(f"{f.label}: PSI {f.psi:.3f}, {f.reference} → {f.recent}")}'
                   f'</title></rect>')
        out.append(f'<text x="{x(f.psi) + 6:.1f}" y="{y + 15}" fill="{colour}">{f.psi:.2f} {WORDS[f.level]}</text>')
    out.append(f'<text x="{left}" y="{bottom + 36}" fill="#555" font-size="11">Population stability index (PSI) per '
               f'input. An input drifts when its bar passes a dashed line and a significance test confirms it.</text>')
    out.append("</svg>")
    return "\n".join(out)
