"""Chart builders: expected traces and titles, the empty figure, no NaN in text, offline."""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

import octolib.charts as charts
from octolib.charts import (
    NO_DATA,
    TEMPLATE_NAME,
    cohort_figure,
    comparison_figure,
    curve_figure,
    funnel_figure,
    heatmap_figure,
    link_bars_figure,
    list_growth_figure,
    rate_over_time_figure,
    recency_figure,
    time_to_open_figure,
)
from octolib.metrics import (
    Curve,
    delay_distribution,
    engagement_recency,
    funnel,
    link_performance,
    list_growth,
    rate_over_time,
    signup_cohorts,
    weekday_hour_heatmap,
)

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")
NAN = float("nan")


def T(*values: str) -> np.ndarray:
    return np.array(values, dtype="datetime64[s]")


def text_of(fig: go.Figure) -> str:
    """Every string a reader can see: title, annotations, trace names, texts, hovers, ticks."""
    return json.dumps(fig.to_plotly_json(), default=str)


def is_empty_figure(fig: go.Figure, title: str) -> bool:
    return (len(fig.data) == 0 and fig.layout.title.text == title
            and [a.text for a in fig.layout.annotations] == [NO_DATA])


def assert_no_nan_text(fig: go.Figure) -> None:
    # NaN data are fine (plotly writes them as null); NaN *text* is not
    body = text_of(fig)
    for bad in ("nan%", "NaN%", "nan ", " nan", "None%", "inf%"):
        assert bad not in body, bad
    assert "nan" not in (fig.layout.title.text or "").lower()


def sample_figures() -> dict[str, go.Figure]:
    t = T("2024-01-01T09:00", "2024-01-08T09:00", "2024-01-22T09:00")
    series = rate_over_time(t, [30, 0, 20], [100, 0, 40], unit="week")
    growth = list_growth(T("2024-01-05", "2024-02-05", "2024-02-06"), T("NaT", "NaT", "2024-03-01"))
    cohorts = signup_cohorts(T("2024-01-10", "2024-02-01"), [0, 1], T("2024-02-03", "2024-02-04"), max_offset=2)
    return {
        "funnel": funnel_figure(funnel([100], [95], [40], [8]), "Funnel"),
        "rate": rate_over_time_figure(series, "Open rate by week", window=2),
        "compare": comparison_figure(["A", "B", "C"], [0.4, NAN, 0.1], "Open rate by campaign", reference=0.3,
                                     highlight=[False, False, True]),
        "heatmap": heatmap_figure(weekday_hour_heatmap(t, "Europe/London"), "Opens by weekday and hour"),
        "growth": list_growth_figure(growth, "List growth"),
        "delay": time_to_open_figure(delay_distribution([600, 3600, 10**8]), "Time to open"),
        "links": link_bars_figure(link_performance(["https://a.example/?utm_source=x", "https://b.example/"],
                                                   [5, 2], [4, 2]), "Links"),
        "cohort": cohort_figure(cohorts, "Cohorts"),
        "curve": curve_figure({"May": Curve(np.array([0.0, 1.0, 2.0]), np.array([0.0, 0.1, NAN])),
                               "June": Curve(np.array([0.0, 1.0]), np.array([0.0, 0.2]))}, "After sending"),
        "recency": recency_figure(engagement_recency(T("2024-03-30", "NaT"), np.datetime64("2024-04-01")),
                                  "Recency"),
    }


def test_every_builder_uses_the_theme_and_the_title():
    for name, fig in sample_figures().items():
        assert isinstance(fig, go.Figure), name
        assert fig.layout.template.layout.colorway == pio.templates[TEMPLATE_NAME].layout.colorway, name
        assert fig.layout.title.text, name
        assert len(fig.data) >= 1, name
        assert_no_nan_text(fig)


def test_expected_traces():
    f = sample_figures()
    assert [tr.type for tr in f["funnel"].data] == ["funnel"]
    assert list(f["funnel"].data[0].x) == [100, 95, 40, 8]
    rate = f["rate"]
    assert [tr.name for tr in rate.data] == ["Open rate", "2-week moving average"]
    assert list(rate.data[0].x) == ["2024-01-01", "2024-01-08", "2024-01-15", "2024-01-22"]
    # the empty weeks are gaps (None), the rates are as computed
    assert list(rate.data[0].y) == [0.3, None, None, 0.5]
    # the moving average is pooled (week 4 with week 3 (empty) is 20/40) and drawn only
    # where a week has sends, never carried into empty weeks
    assert list(rate.data[1].y) == [0.3, None, None, 0.5]
    comp = f["compare"]
    assert list(comp.data[0].text) == ["40.0%", "—", "10.0%"]
    assert list(comp.data[0].marker.color)[2] == charts.theme.BAD
    assert any("Account median 30.0%" in (a.text or "") for a in comp.layout.annotations)
    heat = f["heatmap"]
    assert np.asarray(heat.data[0].z).sum() == 3
    assert [tr.name for tr in f["growth"].data] == ["Joined", "Left", "Subscribers"]
    assert list(f["growth"].data[1].y) == [0, 0, -1]
    assert [tr.name for tr in f["delay"].data] == ["Opens in bin", "Cumulative share"]
    assert any("Half of all opens came within" in (a.text or "") and "later than" in a.text
               for a in f["delay"].layout.annotations)
    assert not any("half-life" in (a.text or "").lower() for a in f["delay"].layout.annotations)
    assert list(f["links"].data[0].y) == ["a.example/", "b.example/"]
    assert [tr.name for tr in f["curve"].data] == ["May", "June"]
    cohort = f["cohort"]
    assert list(cohort.data[0].y) == ["2024-01 (n=1)", "2024-02 (n=1)"]
    assert cohort.data[0].text[1][1] == ""  # a month the February cohort has not reached
    assert list(f["recency"].data[0].x) == ["30 days", "90 days", "180 days", "Never"]


def test_empty_inputs_give_the_no_data_figure():
    empties = {
        "funnel": funnel_figure(funnel([], [], [], []), "Funnel"),
        "rate": rate_over_time_figure(rate_over_time(T(), [], []), "Rate"),
        "rate_all_nan": rate_over_time_figure(rate_over_time(T("2024-01-01"), [0], [0]), "Rate"),
        "compare": comparison_figure([], [], "Compare"),
        "compare_nan": comparison_figure(["A"], [NAN], "Compare"),
        "heatmap": heatmap_figure(weekday_hour_heatmap(T()), "Heat"),
        "growth": list_growth_figure(list_growth(T(), T()), "Growth"),
        "delay": time_to_open_figure(delay_distribution([]), "Delay"),
        "links": link_bars_figure(link_performance([], [], []), "Links"),
        "links_zero": link_bars_figure(link_performance(["https://a.example"], [0], [0]), "Links"),
        "cohort": cohort_figure(signup_cohorts(T(), [], T()), "Cohorts"),
        "curve": curve_figure({}, "Curve"),
        "curve_nan": curve_figure(Curve(np.array([1.0]), np.array([NAN])), "Curve"),
        "recency": recency_figure(engagement_recency(T(), np.datetime64("2024-01-01")), "Recency"),
    }
    for name, fig in empties.items():
        title = fig.layout.title.text
        assert is_empty_figure(fig, title), name
        assert fig.layout.template.layout.font.family == pio.templates[TEMPLATE_NAME].layout.font.family


def test_link_labels_that_shorten_alike_stay_separate_bars():
    long = "https://shop.example/" + "x" * 80
    links = link_performance([long + "1", long + "2"], [3, 2], [3, 2])
    fig = link_bars_figure(links, "Links")
    labels = list(fig.data[0].y)
    assert len(set(labels)) == 2 and all(len(lab) <= 64 for lab in labels)


def test_theme_is_registered_once_and_colour_blind_safe():
    before = pio.templates.default
    assert charts.register_theme() == TEMPLATE_NAME
    assert pio.templates.default == before  # builders name the template; the global default is left alone
    template = pio.templates[TEMPLATE_NAME]
    assert tuple(template.layout.colorway) == charts.PALETTE
    assert charts.PALETTE[:3] == ("#0072B2", "#E69F00", "#009E73")  # Okabe-Ito


def test_nothing_points_at_the_network():
    # no URL in the template, the layout of any figure, or the dashboard config
    assert "://" not in json.dumps(pio.templates[TEMPLATE_NAME].to_plotly_json())
    assert "://" not in json.dumps(charts.FIGURE_CONFIG)
    for name, fig in sample_figures().items():
        if name != "links":
            assert "://" not in text_of(fig), name
    fig = sample_figures()["funnel"]
    page = charts.to_html(fig, include_plotlyjs=False)
    assert "://" not in page and "<script src" not in page
    bundled = charts.to_html(fig)
    assert "<script src" not in bundled and "plotly.js v" in bundled  # plotly.js inlined
    # the only CDN address left is plotly.js's own default for geo maps, which no chart draws
    assert bundled.count("https://cdn.plot.ly") == bundled.count('dflt:"https://cdn.plot.ly/un/"') == 1
    assert all(tr.type not in ("scattergeo", "choropleth") for f in sample_figures().values() for tr in f.data)
    with pytest.raises(ValueError, match="CDN"):
        charts.to_html(go.Figure(), include_plotlyjs="cdn")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None and shutil.which("chromium-browser") is None,
                    reason="no chromium on PATH: kaleido cannot render PNGs here")
def test_to_png_renders_offline_without_the_kopts_warning():
    fig = sample_figures()["rate"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the kopts UserWarning must not escape
        first = charts.to_png(fig, width=400, height=300, scale=1)
        second = charts.to_png(fig, width=400, height=300, scale=1)
    assert first[:8] == b"\x89PNG\r\n\x1a\n" and second[:8] == first[:8]
    width = int.from_bytes(first[16:20], "big")
    height = int.from_bytes(first[20:24], "big")
    assert (width, height) == (400, 300)


def _tick_labels(axis_range, dtick, tickformat):
    """The labels plotly draws for a linear axis from tick0=0 (d3 percent formatting)."""
    digits = int(tickformat[1:-1])
    ticks = np.arange(0, axis_range[1] + 1e-12, dtick)
    return [f"{t * 100:.{digits}f}%" for t in ticks]


@pytest.mark.parametrize("top", [0.0, 0.004, 0.01, 0.03, 0.2, 0.9])
def test_rate_axes_never_repeat_a_tick_label(top):
    t = T("2024-01-01T09:00", "2024-01-08T09:00")
    fig = rate_over_time_figure(rate_over_time(t, [round(top * 1000), 0], [1000, 1000], unit="week"), "Rate", window=1)
    y = fig.layout.yaxis
    labels = _tick_labels(y.range, y.dtick, y.tickformat)
    assert 3 <= len(labels) <= 12 and len(set(labels)) == len(labels), labels


@pytest.mark.parametrize("top", [0.0, 0.003, 0.012, 0.4])
def test_comparison_bars_never_repeat_a_tick_label(top):
    x = comparison_figure(["A", "B"], [top, top / 2], "Open rate by campaign").layout.xaxis
    labels = _tick_labels(x.range, x.dtick, x.tickformat)
    assert 3 <= len(labels) <= 12 and len(set(labels)) == len(labels), labels


def test_a_curve_of_zeros_says_so_instead_of_drawing_a_flat_line():
    fig = curve_figure({"": Curve(np.array([0.0, 24.0, 168.0]), np.zeros(3))}, "Open rate", nothing="No opens recorded")
    assert fig.data == () and fig.layout.annotations[0].text == "No opens recorded"


def test_monthly_charts_tick_on_months():
    t = T(*[f"2024-{m:02d}-10T09:00" for m in range(1, 8)])
    fig = rate_over_time_figure(rate_over_time(t, [10] * 7, [100] * 7, unit="month"), "By month", window=1)
    assert fig.layout.xaxis.dtick == "M1" and fig.layout.xaxis.tickformat == "%b %Y"
    growth = list_growth(T("2024-01-05", "2024-02-05", "2024-06-06"), T("NaT", "NaT", "NaT"))
    assert list_growth_figure(growth, "Growth").layout.xaxis.dtick == "M1"


def test_the_growth_chart_shares_its_zero_and_ticks_round_subscriber_counts():
    joined = T(*(["2024-01-05"] * 1500 + ["2024-02-05"] * 700 + ["2024-03-05"] * 60))
    left = T(*(["NaT"] * 1500 + ["2024-03-20"] * 400 + ["NaT"] * 360))
    fig = list_growth_figure(list_growth(joined, left), "Growth")
    y1, y2 = fig.layout.yaxis, fig.layout.yaxis2
    zero_at = [-a.range[0] / (a.range[1] - a.range[0]) for a in (y1, y2)]
    assert zero_at[0] == pytest.approx(zero_at[1])  # the subscriber line cannot look below 0
    assert y2.tick0 == 0 and y2.dtick in (100, 200, 500, 1000)
    assert min(fig.data[2].y) >= 0


def test_the_funnel_names_the_base_of_each_share():
    fig = funnel_figure(funnel([1640], [1580], [570], [57]), "Funnel")
    text = list(fig.data[0].text)
    # the opened stage reads as the open rate (opens / delivered), as on the card beside it
    assert text[2] == "570 (36.1% of delivered)"
    assert text[1].endswith("of sent)") and text[3].endswith("of opened)")
