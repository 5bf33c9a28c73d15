"""The report's charts as small SVG documents (no plotting library: matplotlib's import and drawing cost
about 1.5 s of CPU per report, more than everything else the report does besides reading its rows).

Five shapes, each a function from plain numbers to an SVG string: grouped bars with error bars, step
curves with a band, lines over categories, horizontal bars in small multiples, and markers on a time
axis. Every text is XML-escaped (page slugs, topics and domains are data). The HTML embeds them as
`<img src="data:image/svg+xml;base64,...">`: an image cannot run script, and the file stays self-contained.
"""

from __future__ import annotations

import base64
import math
from datetime import datetime
from html import escape
from typing import Sequence

# matplotlib's default cycle ("tab10"): the colours the PNG charts had
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")
FONT = "font-family='system-ui,sans-serif'"


def data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About n round tick values (1, 2, 2.5 or 5 times a power of ten) covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / max(1, n)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.floor(lo / step) * step
    ticks, t = [], first
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 10))
        t += step
    if ticks[-1] < hi - step * 1e-9:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _num(x: float) -> str:
    return f"{x:.1f}"


def _label(v: float) -> str:
    return f"{v:g}"


class Frame:
    """A plot area inside a w x h picture, with a linear y axis (and x mapped by the caller's function)."""

    def __init__(self, w: int, h: int, title: str, *, left: int = 56, right: int = 12, top: int = 26,
                 bottom: int = 40) -> None:
        self.w, self.h, self.left, self.right, self.top, self.bottom = w, h, left, right, top, bottom
        self.parts: list[str] = [f"<text x='{w / 2:.0f}' y='16' text-anchor='middle' font-size='13'>"
                                 f"{escape(title)}</text>"] if title else []
        self.y0, self.y1 = 0.0, 1.0

    @property
    def x_lo(self) -> float:
        return self.left

    @property
    def x_hi(self) -> float:
        return self.w - self.right

    def y(self, v: float) -> float:
        bottom, top = self.h - self.bottom, self.top
        return bottom - (v - self.y0) / ((self.y1 - self.y0) or 1) * (bottom - top)

    def y_axis(self, lo: float, hi: float, label: str) -> None:
        ticks = nice_ticks(lo, hi)
        self.y0, self.y1 = ticks[0], ticks[-1]
        for t in ticks:
            y = _num(self.y(t))
            self.parts.append(f"<line x1='{self.x_lo}' x2='{self.x_hi}' y1='{y}' y2='{y}' stroke='#e5e5e5'/>"
                              f"<text x='{self.x_lo - 4}' y='{y}' dy='4' text-anchor='end' font-size='10'>"
                              f"{_label(t)}</text>")
        mid = (self.top + self.h - self.bottom) / 2
        self.parts.append(f"<text transform='translate(12,{mid:.0f}) rotate(-90)' text-anchor='middle' "
                          f"font-size='11'>{escape(label)}</text>")

    def x_labels(self, labels: Sequence[tuple[float, str]], rotate: int = 0) -> None:
        base = self.h - self.bottom + 12
        for x, text in labels:
            if rotate:
                self.parts.append(f"<text transform='translate({_num(x)},{base}) rotate(-{rotate})' "
                                  f"text-anchor='end' font-size='9'>{escape(text)}</text>")
            else:
                self.parts.append(f"<text x='{_num(x)}' y='{base}' text-anchor='middle' font-size='10'>"
                                  f"{escape(text)}</text>")

    def axes(self) -> None:
        b = self.h - self.bottom
        self.parts.append(f"<line x1='{self.x_lo}' x2='{self.x_lo}' y1='{self.top}' y2='{b}' stroke='#333'/>"
                          f"<line x1='{self.x_lo}' x2='{self.x_hi}' y1='{b}' y2='{b}' stroke='#333'/>")

    def legend(self, entries: Sequence[tuple[str, str]]) -> None:
        """(label, colour) in a row under the title, left to right."""
        x = self.x_lo + 8
        for label, color in entries:
            self.parts.append(f"<rect x='{x}' y='{self.top - 16}' width='10' height='10' fill='{color}'/>"
                              f"<text x='{x + 14}' y='{self.top - 7}' font-size='10'>{escape(label)}</text>")
            x += 24 + 6 * len(label)

    def svg(self) -> str:
        return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{self.w}' height='{self.h}' "
                f"viewBox='0 0 {self.w} {self.h}' {FONT}><rect width='100%' height='100%' fill='white'/>"
                + "".join(self.parts) + "</svg>")


def grouped_bars(groups: Sequence[str], series: Sequence[tuple[str, Sequence[tuple[float, float, float] | None]]],
                 title: str, ylabel: str, w: int = 630, h: int = 306) -> str:
    """One bar per (series, group) with its interval: series = [(label, [(value, low, high) or None per group])]."""
    f = Frame(w, h, title, top=40, bottom=70)
    values = [v for _, vals in series for v in vals if v is not None]
    f.y_axis(0.0, max([hi for _, _, hi in values] + [v for v, _, _ in values] + [1e-9]), ylabel)
    slot = (f.x_hi - f.x_lo) / max(1, len(groups))
    width = 0.8 * slot / max(1, len(series))
    for i, (label, vals) in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        for j, v in enumerate(vals):
            if v is None:
                continue
            value, lo, hi = v
            x = f.x_lo + slot * j + 0.1 * slot + width * i
            top, base = f.y(value), f.y(f.y0)
            f.parts.append(f"<rect x='{_num(x)}' y='{_num(top)}' width='{_num(width)}' height='{_num(base - top)}' "
                           f"fill='{color}'><title>{escape(f'{label}, {groups[j]}: {value:.1f}')}</title></rect>")
            cx = _num(x + width / 2)
            f.parts.append(f"<line x1='{cx}' x2='{cx}' y1='{_num(f.y(lo))}' y2='{_num(f.y(hi))}' stroke='#222'/>")
    f.axes()
    f.x_labels([(f.x_lo + slot * (j + 0.5), g) for j, g in enumerate(groups)], rotate=30)
    f.legend([(label, PALETTE[i % len(PALETTE)]) for i, (label, _) in enumerate(series)])
    return f.svg()


def steps(series: Sequence[tuple[str, Sequence[tuple[float, float, float, float]]]], title: str, xlabel: str,
          ylabel: str, w: int = 630, h: int = 306, ymax: float = 100.0) -> str:
    """Step curves (the value holds until the next x) with a shaded band: [(label, [(x, y, low, high)])]."""
    f = Frame(w, h, title, top=40)
    f.y_axis(0.0, ymax, ylabel)
    xmax = max([p[0] for _, pts in series for p in pts] + [1e-9])
    xt = nice_ticks(0.0, xmax)
    sx = lambda x: f.x_lo + x / (xt[-1] or 1) * (f.x_hi - f.x_lo)  # noqa: E731
    for i, (_, pts) in enumerate(series):
        if not pts:
            continue
        color = PALETTE[i % len(PALETTE)]
        line, upper, lower = [], [], []
        for k, (x, y, lo, hi) in enumerate(pts):
            nxt = pts[k + 1][0] if k + 1 < len(pts) else x
            for xx in (x, nxt):
                line.append(f"{_num(sx(xx))},{_num(f.y(y))}")
                upper.append(f"{_num(sx(xx))},{_num(f.y(hi))}")
                lower.append(f"{_num(sx(xx))},{_num(f.y(lo))}")
        f.parts.append(f"<polygon points='{' '.join(upper + lower[::-1])}' fill='{color}' fill-opacity='0.15'/>"
                       f"<polyline points='{' '.join(line)}' fill='none' stroke='{color}' stroke-width='1.5'/>")
    f.axes()
    f.x_labels([(sx(t), _label(t)) for t in xt])
    f.parts.append(f"<text x='{(f.x_lo + f.x_hi) / 2:.0f}' y='{h - 8}' text-anchor='middle' font-size='11'>"
                   f"{escape(xlabel)}</text>")
    f.legend([(label, PALETTE[i % len(PALETTE)]) for i, (label, _) in enumerate(series)])
    return f.svg()


def lines(categories: Sequence[str], series: Sequence[tuple[str, Sequence[tuple[int, float]]]], title: str,
          ylabel: str, w: int = 630, h: int = 306) -> str:
    """Lines with point markers over categorical x (e.g. weeks): [(label, [(category index, y)])]."""
    f = Frame(w, h, title, top=40, bottom=70)
    ys = [y for _, pts in series for _, y in pts]
    f.y_axis(min(ys + [0.0]), max(ys + [1e-9]), ylabel)
    slot = (f.x_hi - f.x_lo) / max(1, len(categories))
    sx = lambda i: f.x_lo + slot * (i + 0.5)  # noqa: E731
    for i, (_, pts) in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        coords = [f"{_num(sx(x))},{_num(f.y(y))}" for x, y in pts]
        f.parts.append(f"<polyline points='{' '.join(coords)}' fill='none' stroke='{color}' stroke-width='1.5'/>")
        f.parts += [f"<circle cx='{c.split(',')[0]}' cy='{c.split(',')[1]}' r='2.5' fill='{color}'/>" for c in coords]
    f.axes()
    every = max(1, math.ceil(len(categories) / 26))  # at most ~26 labels: a year of weeks stays legible
    f.x_labels([(sx(j), c) for j, c in enumerate(categories) if j % every == 0], rotate=45)
    f.legend([(label, PALETTE[i % len(PALETTE)]) for i, (label, _) in enumerate(series)])
    return f.svg()


def hbar_panels(panels: Sequence[tuple[str, Sequence[tuple[str, float, str]]]], xlabel: str,
                panel_w: int = 306, h: int = 288) -> str:
    """Small multiples of horizontal bars: [(panel title, [(label, value, colour)] top to bottom)]."""
    w = panel_w * max(1, len(panels))
    parts = []
    for k, (title, bars) in enumerate(panels):
        x0, plot_l, plot_r, top, bottom = panel_w * k, panel_w * k + 110, panel_w * (k + 1) - 12, 28, h - 36
        vmax = nice_ticks(0.0, max([v for _, v, _ in bars] + [1e-9]), 3)[-1]
        parts.append(f"<text x='{x0 + panel_w / 2:.0f}' y='16' text-anchor='middle' font-size='11'>"
                     f"{escape(title)}</text>")
        slot = (bottom - top) / max(1, len(bars))
        for i, (label, value, color) in enumerate(bars):
            y = top + slot * i + 0.15 * slot
            parts.append(f"<rect x='{plot_l}' y='{_num(y)}' width='{_num(value / vmax * (plot_r - plot_l))}' "
                         f"height='{_num(0.7 * slot)}' fill='{color}'><title>{escape(f'{label}: {value:.1f}')}"
                         f"</title></rect><text x='{plot_l - 4}' y='{_num(y + 0.35 * slot)}' dy='3' "
                         f"text-anchor='end' font-size='8'>{escape(label[:24])}</text>")
        for t in nice_ticks(0.0, vmax, 3):
            x = _num(plot_l + t / vmax * (plot_r - plot_l))
            parts.append(f"<text x='{x}' y='{bottom + 12}' text-anchor='middle' font-size='8'>{_label(t)}</text>")
        parts.append(f"<line x1='{plot_l}' x2='{plot_l}' y1='{top}' y2='{bottom}' stroke='#333'/>"
                     f"<line x1='{plot_l}' x2='{plot_r}' y1='{bottom}' y2='{bottom}' stroke='#333'/>"
                     f"<text x='{(plot_l + plot_r) / 2:.0f}' y='{h - 8}' text-anchor='middle' font-size='9'>"
                     f"{escape(xlabel)}</text>")
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' viewBox='0 0 {w} {h}' {FONT}>"
            f"<rect width='100%' height='100%' fill='white'/>" + "".join(parts) + "</svg>")


MARKERS = {"square": "M-4,-4h8v8h-8z", "up": "M0,-5L5,4H-5z", "down": "M0,5L5,-4H-5z", "x": "M-4,-4L4,4M-4,4L4,-4",
           "star": "M0,-6L1.8,-1.8L6,-1.8L2.6,1L3.8,5.5L0,2.8L-3.8,5.5L-2.6,1L-6,-1.8L-1.8,-1.8z",
           "circle": "M-4,0a4,4 0 1,0 8,0a4,4 0 1,0 -8,0", "dot": "M-2,0a2,2 0 1,0 4,0a2,2 0 1,0 -4,0"}


def timeline(rows: Sequence[str], points: Sequence[tuple[datetime, int, str, str]],
             legend: Sequence[tuple[str, str]], title: str, w: int = 810) -> str:
    """Markers on a time axis, one row per label: points = [(time, row, marker, colour)]."""
    h = int(26 * max(len(rows), 2) + 90)
    f = Frame(w, h, title, left=200, right=150, top=30, bottom=50)
    times = [p[0].timestamp() for p in points] or [0.0, 1.0]
    lo, hi = min(times), max(times)
    if hi <= lo:
        lo, hi = lo - 86400, hi + 86400
    sx = lambda t: f.x_lo + (t - lo) / (hi - lo) * (f.x_hi - f.x_lo)  # noqa: E731
    slot = (f.h - f.bottom - f.top) / max(1, len(rows))
    sy = lambda i: f.top + slot * (i + 0.5)  # noqa: E731
    for i, label in enumerate(rows):
        f.parts.append(f"<line x1='{f.x_lo}' x2='{f.x_hi}' y1='{_num(sy(i))}' y2='{_num(sy(i))}' stroke='#eee'/>"
                       f"<text x='{f.x_lo - 6}' y='{_num(sy(i))}' dy='3' text-anchor='end' font-size='9'>"
                       f"{escape(label)}</text>")
    for at, row, marker, color in points:
        stroke = f" stroke='{color}' stroke-width='1.5'" if marker == "x" else ""
        f.parts.append(f"<path d='{MARKERS.get(marker, MARKERS['dot'])}' fill='{color}'{stroke} "
                       f"transform='translate({_num(sx(at.timestamp()))},{_num(sy(row))})'/>")
    f.axes()
    ticks = [lo + (hi - lo) * k / 4 for k in range(5)]
    f.x_labels([(sx(t), datetime.fromtimestamp(t, points[0][0].tzinfo if points else None).strftime("%Y-%m-%d"))
                for t in ticks], rotate=30)
    y = f.top
    for label, color in legend:
        f.parts.append(f"<rect x='{f.x_hi + 10}' y='{y}' width='10' height='10' fill='{color}'/>"
                       f"<text x='{f.x_hi + 24}' y='{y + 9}' font-size='10'>{escape(label)}</text>")
        y += 16
    return f.svg()
