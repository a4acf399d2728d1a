import re
from itertools import pairwise

from prefcontent.dashboard.charts import Series, line_chart, nice_ticks


def test_nice_ticks_cover_the_range_with_round_steps():
    assert nice_ticks(0, 1) == [0, 0.25, 0.5, 0.75, 1.0]
    ticks = nice_ticks(0.013, 0.087)
    assert ticks[0] <= 0.013 and ticks[-1] >= 0.087
    steps = {round(b - a, 10) for a, b in pairwise(ticks)}
    assert steps == {0.02}
    assert nice_ticks(3, 3)[0] == 3  # a flat series still gets an axis


def test_line_chart_maps_points_into_the_plot_area():
    svg = line_chart([Series("A", [(0, 0.0), (10, 1.0)]), Series("B", [(0, 1.0), (10, 0.0)])],
                     title="rates", width=200, height=100, y_min=0, y_max=1)
    assert svg.startswith("<svg") and "<title>rates</title>" in svg
    a = re.search(r'data-series="A" points="([^"]+)"', svg).group(1).split()
    # margins: left 48, right 12, top 12, axis band 30 (legend rows come on top of the 100):
    # (0, 0) is bottom-left at y = 100 - 30, (10, 1) top-right
    assert a == ["48.0,70.0", "188.0,12.0"]
    b = re.search(r'data-series="B" points="([^"]+)"', svg).group(1).split()
    assert b == ["48.0,12.0", "188.0,70.0"]
    assert 'viewBox="0 0 200 113"' in svg  # one legend row (two series per row)


def test_line_chart_escapes_labels_and_draws_bands_and_empty_state():
    svg = line_chart([Series("<b>x</b>", [(1, 2)], band=[(1, 1, 3), (2, 1, 3)])], title="t&t")
    assert "<b>" not in svg and "&lt;b&gt;x&lt;/b&gt;" in svg and "t&amp;t" in svg
    assert "<polygon" in svg and "<circle" in svg
    assert "No data yet" in line_chart([], title="empty")
