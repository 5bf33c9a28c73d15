"""The report's SVG charts: well-formed, drawn to scale from the report's own tables, text escaped.

The browser test (test_citations_report_browser.py) shows Chromium renders them; here the numbers
behind the shapes are checked against the tables they come from.
"""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET

import pytest

from citecast.citations.report import build_report, svg
from citecast.citations.report.html import charts, to_html
from tests.test_citations_report import NOW, data

NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def report():
    return build_report(data(), now=NOW)


def _bars(tree: ET.Element) -> dict[str, tuple[float, float]]:
    """title -> (height, bottom) of every bar."""
    out = {}
    for rect in tree.iter(NS + "rect"):
        title = rect.find(NS + "title")
        if title is not None:
            out[title.text] = (float(rect.get("height")), float(rect.get("y")) + float(rect.get("height")))
    return out


def test_every_chart_is_an_svg_image_in_the_html(report):
    html = to_html(report)
    uris = re.findall(r"src='data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)'", html)
    assert len(uris) == 5 and "image/png" not in html
    for uri in uris:
        root = ET.fromstring(base64.b64decode(uri))  # well-formed XML, or this raises
        assert root.tag == NS + "svg" and int(root.get("width")) > 200 and int(root.get("height")) > 100


def test_rate_bars_are_to_scale_with_the_cohort_topic_table(report):
    (chart,) = [s for title, s in charts(report) if title == "Citation rate by cohort and topic"]
    bars = _bars(ET.fromstring(chart))
    table = report.tables["cohort_topic"].as_dicts()
    # one bar per (cohort, topic) row with a mean rate, labelled with its value in percent
    expected = {f"{r['cohort']}, {r['topic']}: {r['mean_rate'] * 100:.1f}": r["mean_rate"] for r in table}
    assert set(bars) == set(expected)
    # every bar stands on the same baseline, and height / rate is one constant (up to the 0.1 px rounding)
    assert len({round(bottom, 1) for _, bottom in bars.values()}) == 1
    scales = [h / expected[k] for k, (h, _) in bars.items() if expected[k] > 0]
    assert max(scales) - min(scales) < 0.5


def test_share_of_voice_bars_follow_the_competitors_table(report):
    (chart,) = [s for title, s in charts(report) if title == "Share of voice per topic"]
    drawn = [(r.find(NS + "title").text, float(r.get("width")), r.get("fill"))
             for r in ET.fromstring(chart).iter(NS + "rect") if r.find(NS + "title") is not None]
    rows = report.tables["competitors"].as_dicts()
    topics = list(dict.fromkeys(r["topic"] for r in rows))[:4]
    expected = [r for t in topics for r in [r for r in rows if r["topic"] == t][:6]]  # panels, top to bottom
    assert [d[0] for d in drawn] == [f"{r['domain']}: {r['share_of_voice'] * 100:.1f}" for r in expected]
    assert [d[2] for d in drawn] == ["#c0392b" if r["ours"] else "#7f8c8d" for r in expected]
    for t in topics:  # within a panel, width / share is one constant
        scales = [w / r["share_of_voice"] for (_, w, _), r in zip(drawn, expected) if r["topic"] == t]
        assert max(scales) - min(scales) < 0.5


def test_survival_steps_hold_until_the_next_time(report):
    (chart,) = [s for title, s in charts(report) if title == "Time to first citation"]
    lines = [p for p in ET.fromstring(chart).iter(NS + "polyline")]
    assert len(lines) == len(report.survival.curves)
    for line, curve in zip(lines, report.survival.curves):
        pts = [tuple(map(float, xy.split(","))) for xy in line.get("points").split()]
        assert len(pts) == 2 * len(curve.points)
        # a step: the second point of each pair has the next time and the same height
        for k in range(0, len(pts) - 2, 2):
            assert pts[k][1] == pts[k + 1][1] and pts[k + 1][0] == pts[k + 2][0]


def test_text_from_the_data_is_escaped():
    chart = svg.grouped_bars(["<script>alert(1)</script>", "a & b"], [("x'y\"", [(10.0, 5.0, 15.0), None])],
                             "t < u", "%")
    root = ET.fromstring(chart)
    texts = [t.text for t in root.iter(NS + "text")]
    assert "<script>alert(1)</script>" in texts and "a & b" in texts and "x'y\"" in texts
    assert "<script>" not in chart
    panels = svg.hbar_panels([("<t>", [("<d>", 5.0, "#000")])], "share")
    assert "<d>" in [t.text for t in ET.fromstring(panels).iter(NS + "text")]


@pytest.mark.parametrize(("lo", "hi", "ticks"), [
    (0, 100, [0, 20, 40, 60, 80, 100]),
    (0, 0.37, [0, 0.1, 0.2, 0.3, 0.4]),
    (0, 7, [0, 2, 4, 6, 8]),
    (-3, 12, [-5, 0, 5, 10, 15]),
    (0, 0, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),
])
def test_nice_ticks_cover_the_range_with_round_steps(lo, hi, ticks):
    assert svg.nice_ticks(lo, hi) == pytest.approx(ticks)
