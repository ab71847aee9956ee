"""Server-side SVG charts for the health dashboard: no JavaScript, no CDN, readable at a glance.

Every label is escaped; the result is marked safe only after that.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

BAR = "#3b6fd8"
WARN = "#d8573b"
AXIS = "#888"


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def column_chart_svg(
    *,
    series: Sequence[tuple[str, float]],
    title: str,
    width: int = 640,
    height: int = 180,
    label_every: int = 10,
) -> SafeString:
    """Vertical bars, one per item (e.g. posts per minute), with the maximum marked on the axis."""
    pad_left, pad_bottom, pad_top = 36, 22, 8
    plot_w, plot_h = width - pad_left - 4, height - pad_bottom - pad_top
    peak = max((v for _, v in series), default=0) or 1
    step = plot_w / max(len(series), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="{escape(title)}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{pad_left}" y1="{pad_top + plot_h}" x2="{width - 4}" y2="{pad_top + plot_h}" stroke="{AXIS}"/>',
        f'<text x="{pad_left - 4}" y="{pad_top + 10}" font-size="10" text-anchor="end">{_fmt(peak)}</text>',
        f'<text x="{pad_left - 4}" y="{pad_top + plot_h}" font-size="10" text-anchor="end">0</text>',
    ]
    for index, (label, value) in enumerate(series):
        bar_h = plot_h * (value / peak) if value > 0 else 0
        x = pad_left + index * step
        parts.append(
            f'<rect x="{x + 0.5:.1f}" y="{pad_top + plot_h - bar_h:.1f}" width="{max(step - 1, 1):.1f}" '
            f'height="{bar_h:.1f}" fill="{BAR}"><title>{escape(label)}: {_fmt(value)}</title></rect>'
        )
        if label_every and index % label_every == 0:
            parts.append(
                f'<text x="{x:.1f}" y="{height - 6}" font-size="10">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated label is escaped above


def bar_chart_svg(
    *,
    rows: Sequence[tuple[str, float]],
    title: str,
    width: int = 420,
    row_height: int = 22,
    highlight: set[str] | None = None,
) -> SafeString:
    """Horizontal bars with a label and value per row (e.g. events by lifecycle state, backlog)."""
    label_w, value_w = 110, 60
    plot_w = width - label_w - value_w
    height = row_height * max(len(rows), 1) + 4
    peak = max((v for _, v in rows), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="{escape(title)}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f"<title>{escape(title)}</title>",
    ]
    for index, (label, value) in enumerate(rows):
        y = index * row_height + 2
        bar_w = plot_w * (value / peak) if value > 0 else 0
        colour = WARN if highlight and label in highlight and value > 0 else BAR
        parts.append(f'<text x="{label_w - 6}" y="{y + row_height * 0.7:.1f}" font-size="12" text-anchor="end">{escape(label)}</text>')
        parts.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{bar_w:.1f}" height="{row_height - 6}" fill="{colour}">'
            f"<title>{escape(label)}: {_fmt(value)}</title></rect>"
        )
        parts.append(
            f'<text x="{label_w + bar_w + 4:.1f}" y="{y + row_height * 0.7:.1f}" font-size="12">{_fmt(value)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated label is escaped above
