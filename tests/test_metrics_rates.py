"""Per-campaign rates, safe ratios, display formatting, definitions and aggregates.

Expected values are worked out by hand in the comments. Every module here turns
RuntimeWarning into an error: a zero denominator must give NaN quietly, on purpose.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import octolib.metrics as m
from octolib.metrics import (
    METRIC_DEFINITIONS,
    campaign_rates,
    campaign_rates_from,
    definitions_markdown,
    delivered_count,
    format_count,
    format_delta,
    format_duration,
    format_rate,
    funnel,
    grouped_rates,
    is_small,
    pooled_rate,
    safe_ratio,
    summarize,
    top_bottom,
    totals,
)
from octolib.metrics.rates import RATE_NAMES

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

NAN = float("nan")


def same(a, b) -> bool:
    """Equal lists where NaN equals NaN."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))


# --- safe ratios, small numbers -------------------------------------------------------

def test_safe_ratio_zero_negative_and_missing_denominators_are_nan():
    out = safe_ratio([1, 1, 1, NAN, 2], [0, -5, NAN, 4, 8])
    assert same(out, [NAN, NAN, NAN, NAN, 0.25])


def test_safe_ratio_never_clips_and_a_negative_count_is_undefined():
    # 12 over 10 means the inputs disagree: kept as 1.2, not hidden as 100 %; -3 is not a count
    assert same(safe_ratio([12, -3], [10, 10]), [1.2, NAN])


def test_safe_ratio_broadcasts_a_scalar_denominator_and_keeps_shape():
    assert safe_ratio(np.array([[1, 2], [3, 4]]), 4).tolist() == [[0.25, 0.5], [0.75, 1.0]]
    assert safe_ratio([], []).shape == (0,)


def test_is_small_threshold_is_inclusive_and_missing_is_small():
    assert is_small([0, 49, 50, NAN]).tolist() == [True, True, False, True]
    assert is_small(20, minimum=10) is False


# --- display --------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [NAN, None, float("inf"), "abc", np.float64("nan")])
def test_formatters_never_print_nan(bad):
    for fmt in (format_rate, format_count, format_delta, format_duration):
        text = fmt(bad)
        assert text == "—", (fmt.__name__, text)


def test_format_rate_digits_and_rounding():
    assert format_rate(0.38249) == "38.2%"
    assert format_rate(0.001, digits=2) == "0.10%"
    assert format_rate(np.float64(0.5)) == "50.0%"


def test_format_count_and_duration_examples():
    assert format_count(1234567.4) == "1,234,567"
    assert format_duration(3600) == "1 h"
    assert format_duration(86400 * 2) == "2 d"
    assert format_duration(59.6) == "1 min"  # rounds to 60 s first
    assert format_duration(-1) == "—"


# --- definitions ----------------------------------------------------------------------

def test_definitions_cover_every_rate_and_the_table_has_one_row_each():
    names = {d.name for d in METRIC_DEFINITIONS}
    assert set(RATE_NAMES) <= names
    assert "delivered_count" in names
    lines = definitions_markdown().strip().splitlines()
    assert lines[0] == "| Metric | Formula | Meaning |"
    assert len(lines) == 2 + len(METRIC_DEFINITIONS)
    for d, line in zip(METRIC_DEFINITIONS, lines[2:]):
        assert f"`{d.name}`" in line and line.count(" | ") == 2


def test_definitions_name_the_thresholds_the_flags_use():
    flags = m.FlagThresholds()
    text = definitions_markdown()
    assert format_rate(flags.bounce_rate, 0) in text  # "2%"
    assert format_rate(flags.complaint_rate) in text  # "0.1%"


def test_readme_shows_the_definitions_table_verbatim():
    readme = Path(__file__).resolve().parents[1] / "README.md"
    text = readme.read_text(encoding="utf-8")
    assert definitions_markdown().strip() in text, "paste definitions_markdown() output into the README"


def test_unknown_definition_names_the_known_ones():
    with pytest.raises(KeyError, match="open_rate"):
        m.definition("opens")


# --- per campaign ---------------------------------------------------------------------

def test_campaign_rates_by_hand():
    # campaign 0: 1000 sent, 15 hard + 5 soft -> 980 delivered; 245/980 opened = 0.25;
    #             49/980 clicked = 0.05; 49/245 CTOR = 0.2; bounces 20/1000 = 0.02;
    #             unsubscribes 10/980; complaints 1/980
    # campaign 1: a draft (all zero) -> every rate NaN, delivered 0
    # campaign 2: every address bounced -> bounce rate 1, engagement NaN
    r = campaign_rates(sent=[1000, 0, 40], bounced_hard=[15, 0, 30], bounced_soft=[5, 0, 10],
                       opened_unique=[245, 0, 0], clicked_unique=[49, 0, 0],
                       unsubscribed=[10, 0, 0], complained=[1, 0, 0])
    assert r.delivered_count.tolist() == [980, 0, 0]
    assert r.delivered_count.dtype == np.int64
    assert same(r.open_rate, [0.25, NAN, NAN])
    assert same(r.click_rate, [0.05, NAN, NAN])
    assert same(r.click_to_open_rate, [0.2, NAN, NAN])
    assert same(r.bounce_rate, [0.02, NAN, 1.0])
    assert same(r.hard_bounce_rate, [0.015, NAN, 0.75])
    assert same(r.soft_bounce_rate, [0.005, NAN, 0.25])
    assert same(r.unsubscribe_rate, [10 / 980, NAN, NAN])
    assert same(r.complaint_rate, [1 / 980, NAN, NAN])
    assert len(r) == 3


def test_bounces_above_sent_give_zero_delivered_not_negative():
    assert delivered_count([10], [8], [5]).tolist() == [0]


def test_a_missing_count_makes_only_the_rates_that_need_it_nan():
    # opens unknown (NaN): open rate and CTOR NaN, click rate still defined
    r = campaign_rates([100.0], [0.0], [0.0], [NAN], [10.0], [0.0], [0.0])
    assert same(r.open_rate, [NAN]) and same(r.click_to_open_rate, [NAN])
    assert r.click_rate.tolist() == [0.1]


def test_campaign_rates_from_store_columns_and_missing_columns():
    cols = {"sent": np.array([200]), "bounced_hard": np.array([0]), "bounced_soft": np.array([0]),
            "opened": np.array([50]), "clicked": np.array([10]), "unsubscribed": np.array([2]),
            "spam_complaints": np.array([1])}
    r = campaign_rates_from(cols)
    assert r.open_rate.tolist() == [0.25] and r.complaint_rate.tolist() == [0.005]
    del cols["spam_complaints"]
    assert same(campaign_rates_from(cols).complaint_rate, [NAN])  # absent is unknown, not zero


def test_rate_lookup_and_denominators():
    r = campaign_rates([100], [5], [5], [30], [6], [1], [0])
    assert r.rate("open_rate") is r.open_rate
    assert r.denominator("soft_bounce_rate").tolist() == [100]
    assert r.denominator("click_to_open_rate").tolist() == [30]
    assert r.denominator("unsubscribe_rate").tolist() == [90]
    with pytest.raises(KeyError):
        r.rate("opens")


def test_empty_selection_gives_empty_arrays():
    r = campaign_rates([], [], [], [], [], [], [])
    assert len(r) == 0 and r.open_rate.shape == (0,)


def test_funnel_sums_and_stage_rates():
    f = funnel([100, 300], [90, 290], [45, 100], [9, 11])
    assert f.counts.tolist() == [400, 380, 145, 20]
    assert same(f.rate_of_previous, [NAN, 0.95, 145 / 380, 20 / 145])
    assert f.rate_of_first.tolist() == [1.0, 0.95, 145 / 400, 0.05]


def test_empty_funnel_is_zero_counts_and_nan_rates():
    f = funnel([], [], [], [])
    assert f.counts.tolist() == [0, 0, 0, 0]
    assert np.isnan(f.rate_of_first).all()


# --- aggregates -----------------------------------------------------------------------

def test_totals_skip_missing_and_return_ints():
    assert totals({"sent": np.array([1, 2, 3]), "opened": [1.0, NAN]}) == {"sent": 6, "opened": 1}
    assert totals({"sent": np.array([], dtype=np.int64)}) == {"sent": 0}


def test_pooled_rate_is_sum_over_sum():
    # (10 + 30 + 0) / (100 + 300 + 0); the NaN pair and the zero denominator are skipped
    assert pooled_rate([10, 30, 5, NAN], [100, 300, 0, 50]) == 0.1
    assert math.isnan(pooled_rate([1], [0]))


def test_summarize_by_hand():
    # rates 0.1, 0.2, 0.6 with weights 100, 100, 800 (NaN ignored):
    # mean 0.3, weighted (10 + 20 + 480) / 1000 = 0.51, median 0.2,
    # sample std sqrt(((-.2)^2 + (-.1)^2 + .3^2) / 2) = sqrt(0.07)
    s = summarize([0.1, NAN, 0.2, 0.6], weights=[100, 5, 100, 800], percentiles=(50, 75))
    assert (s.n, s.n_valid) == (4, 3)
    assert s.mean == pytest.approx(0.3)
    assert s.weighted_mean == pytest.approx(0.51)
    assert s.median == pytest.approx(0.2)
    assert s.std == pytest.approx(math.sqrt(0.07))
    assert (s.min, s.max) == (0.1, 0.6)
    assert s.percentiles[50] == pytest.approx(0.2) and s.percentiles[75] == pytest.approx(0.4)


def test_summarize_one_and_none():
    one = summarize([0.3])
    assert one.mean == 0.3 and math.isnan(one.std)  # one campaign has no spread
    none = summarize([NAN, NAN], weights=[0, 0])
    assert none.n_valid == 0 and all(math.isnan(x) for x in (none.mean, none.weighted_mean, none.median))
    assert all(format_rate(v) == "—" for v in none.percentiles.values())


def test_top_bottom_skips_nan_and_ineligible_and_breaks_ties_by_order():
    values = [0.5, NAN, 0.9, 0.1, 0.9, 0.3]
    r = top_bottom(values, k=2)
    assert r.top.tolist() == [2, 4] and r.bottom.tolist() == [3, 5]
    eligible = ~is_small([1000, 1000, 10, 1000, 1000, 1000])  # campaign 2 is tiny
    r = top_bottom(values, k=2, eligible=eligible)
    assert r.top.tolist() == [4, 0]
    assert top_bottom([], k=3).top.size == 0


def test_grouped_rates_per_list():
    g = grouped_rates(np.array(["l2", "l1", "l2", "l1"], dtype=object), [10, 0, 20, 5], [100, 0, 100, 50])
    assert g.keys.tolist() == ["l1", "l2"]
    assert g.count.tolist() == [2, 2]
    assert g.rate.tolist() == [0.1, 0.15]


def test_factorize_survives_a_none_among_string_ids():
    keys, inverse = m.factorize(np.array(["b", None, "a"], dtype=object))
    assert len(keys) == 3 and inverse.size == 3


def test_index_of_maps_ids_and_marks_unknown():
    assert m.index_of(np.array(["c2", "zz", "c1"], dtype=object), np.array(["c1", "c2"], dtype=object)).tolist() \
        == [1, -1, 0]
    assert m.index_of([], ["a"]).tolist() == []


# --- properties -----------------------------------------------------------------------

counts = st.integers(min_value=0, max_value=10**7)


@st.composite
def campaigns(draw):
    """Consistent campaigns: bounces <= sent, engagement <= delivered."""
    n = draw(st.integers(min_value=0, max_value=25))
    rows = []
    for _ in range(n):
        sent = draw(counts)
        hard = draw(st.integers(0, sent))
        soft = draw(st.integers(0, sent - hard))
        delivered = sent - hard - soft
        opened = draw(st.integers(0, delivered))
        # clickers without a recorded open (image blocking) are openers too: unique clicks
        # may exceed unique opens, never opens + those
        without_open = draw(st.integers(0, delivered - opened))
        clicked = without_open + draw(st.integers(0, opened))
        rows.append((sent, hard, soft, opened, clicked, draw(st.integers(0, delivered)),
                     draw(st.integers(0, delivered)), without_open))
    cols = np.array(rows, dtype=np.int64).reshape(n, 8).T
    return cols


@settings(max_examples=150, deadline=None)
@given(campaigns())
def test_rates_stay_in_unit_interval_and_totals_add_up(cols):
    r = campaign_rates(*cols)
    for name in RATE_NAMES:
        v = r.rate(name)
        assert np.all(np.isnan(v) | ((v >= 0) & (v <= 1))), name
    sent, hard, soft = cols[0], cols[1], cols[2]
    assert np.array_equal(r.delivered_count + hard + soft, sent)
    t = totals({"sent": sent, "delivered": r.delivered_count, "hard": hard, "soft": soft})
    assert t["delivered"] + t["hard"] + t["soft"] == t["sent"]
    f = funnel(sent, r.delivered_count, cols[3], cols[4])
    assert f.counts[0] == t["sent"] and f.counts[1] == t["delivered"]
    # the weighted mean of open rates is the pooled open rate
    s = summarize(r.open_rate, weights=r.delivered_count)
    pooled = pooled_rate(cols[3], r.delivered_count)
    assert (math.isnan(s.weighted_mean) and math.isnan(pooled)) or s.weighted_mean == pytest.approx(pooled)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(-5, 10**6) | st.just(-1), st.integers(-5, 10**6)), max_size=30))
def test_safe_ratio_is_the_plain_ratio_or_nan_on_bad_input(pairs):
    # bad input that must survive: negative counts, zero and negative denominators
    num = np.asarray([p[0] for p in pairs], dtype=float)
    den = np.asarray([p[1] for p in pairs], dtype=float)
    out = safe_ratio(num, den)
    assert out.shape == (len(pairs),)
    assert np.all(np.isnan(out) == ((den <= 0) | (num < 0)))
    ok = ~np.isnan(out)
    assert np.array_equal(out[ok], num[ok] / den[ok])  # never clipped


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 1) | st.just(NAN), max_size=40))
def test_summary_bounds(values):
    s = summarize(values)
    if s.n_valid == 0:
        assert math.isnan(s.mean)
    else:
        assert s.min <= s.median <= s.max and s.min <= s.mean <= s.max
        assert all(s.min <= p <= s.max for p in s.percentiles.values())
    assert re.fullmatch(r"(\d+\.\d%|—)", format_rate(s.mean))


def test_exported_names_exist():
    assert [n for n in m.__all__ if not hasattr(m, n)] == []
    assert len(set(m.__all__)) == len(m.__all__)


def test_the_library_does_not_import_pandas():
    import subprocess
    import sys

    code = ("import sys, numpy as np, octolib.metrics as m, octolib.charts as c\n"
            "c.funnel_figure(m.funnel([1], [1], [1], [1]), 't').to_json()\n"
            "print('pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_delivered_rate_is_delivered_over_sent():
    # 1000 sent, 15 hard + 5 soft bounces -> 980 delivered -> 98 %; nothing sent -> undefined
    r = campaign_rates([1000, 0], [15, 0], [5, 0], [0, 0], [0, 0], [0, 0], [0, 0])
    assert same(r.delivered_rate, [0.98, NAN])
    assert same(r.delivered_rate + r.bounce_rate, [1.0, NAN])
