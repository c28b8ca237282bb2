"""Engagement (heatmap, time to open, recency), lists, and signup cohorts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from octolib.metrics import (
    delay_distribution,
    engagement_recency,
    half_life,
    last_engaged_at,
    last_event_at,
    list_counts,
    list_engagement,
    list_growth,
    median_delay,
    membership_times,
    recency_days,
    signup_cohorts,
    time_to_event,
    weekday_hour_heatmap,
)

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")
NAN = float("nan")


def T(*values: str) -> np.ndarray:
    return np.array(values, dtype="datetime64[s]")


# --- heatmap --------------------------------------------------------------------------

def test_heatmap_cells_by_hand_in_local_time():
    # 2024-07-01 is a Monday. In New York (EDT, UTC-4):
    #   Mon 13:10 UTC -> Mon 09:10; Mon 13:50 UTC -> Mon 09:50; Tue 03:00 UTC -> Mon 23:00
    #   Sun 2024-07-07 12:00 UTC -> Sun 08:00
    t = T("2024-07-01T13:10", "2024-07-01T13:50", "2024-07-02T03:00", "2024-07-07T12:00", "NaT")
    g = weekday_hour_heatmap(t, "America/New_York")
    assert g.counts.shape == (7, 24)
    assert (g.counts[0, 9], g.counts[0, 23], g.counts[6, 8]) == (2, 1, 1)
    assert g.total == 4 and g.counts.sum() == 4
    assert g.share[0, 9] == 0.5


def test_heatmap_of_nothing_is_zeros_and_nan_shares():
    g = weekday_hour_heatmap(T(), "Europe/Paris")
    assert g.total == 0 and np.isnan(g.share).all()


def test_heatmap_weights():
    g = weekday_hour_heatmap(T("2024-07-01T09:00", "2024-07-01T09:30"), weights=[2, 3])
    assert g.counts[0, 9] == 5


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 2_000_000_000), max_size=60), st.sampled_from(["UTC", "Europe/Berlin", "Asia/Kolkata"]))
def test_heatmap_total_is_the_number_of_valid_times(seconds, tz):
    g = weekday_hour_heatmap(np.array(seconds, dtype=np.int64).view("datetime64[s]"), tz)
    assert g.total == len(seconds) and (g.counts >= 0).all()


# --- time to open ---------------------------------------------------------------------

def test_time_to_event_by_hand():
    sent = T("2024-01-01T09:00", "NaT")
    at = T("2024-01-01T09:00", "2024-01-01T11:30", "2024-01-01T08:59", "2024-01-02", "2024-01-02", "NaT")
    d = time_to_event([0, 0, 0, 1, 5, 0], at, sent)
    # same second -> 0; 2.5 h -> 9000 s; before the send -> NaN; unsent campaign, unknown
    # campaign index (5) and a missing time -> NaN
    assert np.allclose(d, [0, 9000, NAN, NAN, NAN, NAN], equal_nan=True)


def test_delay_distribution_median_and_half_life_by_hand():
    delays = [600, 1800, 3600, 7200, 36000, NAN]
    d = delay_distribution(delays, edges_h=(0, 1, 6, 24))
    # bins [0,1h): 600, 1800 -> 2; [1h,6h): 3600, 7200 -> 2; [6h,24h): 36000 -> 1
    assert d.counts.tolist() == [2, 2, 1] and d.beyond == 0 and d.n == 5
    assert d.cumulative_share.tolist() == [0.4, 0.8, 1.0]
    assert d.median_s == 3600.0
    assert d.mean_s == 9840.0
    assert d.half_life_s == pytest.approx(math.log(2) * 9840.0)


def test_half_life_matches_the_median_for_exponential_delays():
    rng = np.random.default_rng(3)
    delays = rng.exponential(scale=7200, size=200_000)
    assert half_life(delays) == pytest.approx(median_delay(delays), rel=0.02)


def test_delay_distribution_of_nothing():
    d = delay_distribution([NAN])
    assert d.n == 0 and math.isnan(d.median_s) and math.isnan(d.half_life_s)
    assert d.counts.sum() == 0 and np.isnan(d.cumulative_share).all()


def test_delay_edges_must_increase():
    with pytest.raises(ValueError):
        delay_distribution([1.0], edges_h=(1, 1))


# --- recency --------------------------------------------------------------------------

def test_last_engaged_and_recency_windows_by_hand():
    opened = T("2024-06-25", "NaT", "2024-01-01", "NaT", "2024-07-05")
    clicked = T("NaT", "2024-04-10", "2024-02-01", "NaT", "NaT")
    last = last_engaged_at(opened, clicked)
    assert last.astype("datetime64[D]").astype(str).tolist() == \
        ["2024-06-25", "2024-04-10", "2024-02-01", "NaT", "2024-07-05"]
    as_of = np.datetime64("2024-07-01")
    # ages: 6, 82, 151, never, after as_of -> 0
    assert np.allclose(recency_days(last, as_of), [6, 82, 151, NAN, 0], equal_nan=True)
    r = engagement_recency(last, as_of)
    assert r.windows_days == (30, 90, 180)
    assert r.engaged_count.tolist() == [2, 3, 4]
    assert r.engaged_rate.tolist() == [0.4, 0.6, 0.8]
    assert (r.contacts, r.never_count) == (5, 1)


def test_recency_without_contacts_or_reference_day():
    r = engagement_recency(T(), np.datetime64("2024-07-01"))
    assert r.contacts == 0 and np.isnan(r.engaged_rate).all()
    assert np.isnan(recency_days(T("2024-01-01"), np.datetime64("NaT"))).all()


def test_last_event_per_contact_from_raw_events():
    at = T("2024-01-03", "2024-01-01", "2024-02-01", "2024-03-01")
    assert last_event_at([1, 1, 0, 9], at, 3).astype("datetime64[D]").astype(str).tolist() == \
        ["2024-02-01", "2024-01-03", "NaT"]


# --- lists ----------------------------------------------------------------------------

def test_membership_and_growth_by_hand():
    status = np.array(["subscribed", "subscribed", "unsubscribed", "unsubscribed", "pending"], dtype=object)
    created = T("2024-01-10", "2024-02-15", "2024-01-20", "2024-03-05", "2024-03-06")
    updated = T("2024-01-10", "2024-02-15", "2024-03-01", "2024-02-01", "2024-03-06")
    joined, left = membership_times(status, created, updated)
    # the 4th contact's update is before its creation: it cannot leave before joining
    assert left.astype("datetime64[D]").astype(str).tolist() == ["NaT", "NaT", "2024-03-01", "2024-03-05", "NaT"]
    g = list_growth(joined, left, unit="month")
    # Jan: +2 (c1, c3); Feb: +1 (c2); Mar: +1 (c4) -2 (c3, c4)
    assert g.start.astype(str).tolist() == ["2024-01-01", "2024-02-01", "2024-03-01"]
    assert g.joined_count.tolist() == [2, 1, 1]
    assert g.left_count.tolist() == [0, 0, 2]
    assert g.net_change.tolist() == [2, 1, -1]
    assert g.subscribers.tolist() == [2, 3, 2]
    # churn in March: 2 left / (3 at start + 1 joined)
    assert g.churn_rate.tolist() == [0.0, 0.0, 0.5]


def test_growth_of_nothing():
    g = list_growth(T(), T())
    assert len(g) == 0 and g.subscribers.size == 0


def test_list_counts_and_engagement_by_hand():
    lists = np.array(["b", "a", "a", "a", "b"], dtype=object)
    status = np.array(["subscribed", "subscribed", "subscribed", "unsubscribed", "pending"], dtype=object)
    c = list_counts(lists, status)
    assert c.list_id.tolist() == ["a", "b"]
    assert (c.subscribed.tolist(), c.unsubscribed.tolist(), c.pending.tolist(), c.total.tolist()) == \
        ([2, 1], [1, 0], [0, 1], [3, 2])
    last = T("NaT", "2024-06-20", "2024-01-01", "2024-06-30", "2024-06-30")
    e = list_engagement(lists, status, last, np.datetime64("2024-07-01"), days=30)
    # a: 2 subscribed, 1 engaged (the unsubscribed one does not count); b: 1 subscribed, 0 engaged
    assert e.subscribed_count.tolist() == [2, 1] and e.engaged_count.tolist() == [1, 0]
    assert e.engaged_rate.tolist() == [0.5, 0.0]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["subscribed", "unsubscribed", "pending"]),
                          st.integers(1_500_000_000, 1_800_000_000), st.integers(-10**7, 10**8)), max_size=40))
def test_growth_adds_up(rows):
    status = np.array([r[0] for r in rows], dtype=object)
    created = np.array([r[1] for r in rows], dtype=np.int64).view("datetime64[s]")
    updated = np.array([r[1] + r[2] for r in rows], dtype=np.int64).view("datetime64[s]")
    joined, left = membership_times(status, created, updated)
    g = list_growth(joined, left, "month", "Europe/London")
    assert g.joined_count.sum() == int((status != "pending").sum())
    assert g.left_count.sum() == int((status == "unsubscribed").sum())
    if len(g):
        assert g.subscribers[-1] == int((status == "subscribed").sum())
        assert (g.subscribers >= 0).all()
        assert np.all(np.isnan(g.churn_rate) | ((g.churn_rate >= 0) & (g.churn_rate <= 1)))


# --- cohorts --------------------------------------------------------------------------

def test_cohorts_by_hand():
    signup = T("2024-01-05", "2024-01-25", "2024-03-10", "NaT")
    # contact 0 opens in Jan (twice: counted once) and Mar; contact 1 in Feb;
    # contact 2 in Mar; contact 3 has no signup; -1 is an unknown contact
    at = T("2024-01-06", "2024-01-07", "2024-03-01", "2024-02-02", "2024-03-11", "2024-03-11", "2024-03-11")
    g = signup_cohorts(signup, [0, 0, 0, 1, 2, 3, -1], at, max_offset=3)
    assert g.cohort_start.astype(str).tolist() == ["2024-01-01", "2024-02-01", "2024-03-01"]
    assert g.size.tolist() == [2, 0, 1]
    assert g.engaged_count.tolist() == [[1, 1, 1, 0], [0, 0, 0, 0], [1, 0, 0, 0]]
    # last month with data is March: January lived offsets 0..2, March only 0
    assert np.allclose(g.engaged_rate, [[0.5, 0.5, 0.5, NAN], [NAN] * 4, [1.0, NAN, NAN, NAN]], equal_nan=True)


def test_cohorts_in_local_time_and_empty():
    # 2024-01-31 23:30 UTC is February in Tokyo
    g = signup_cohorts(T("2024-01-31T23:30"), [], T(), tz="Asia/Tokyo", max_offset=0)
    assert g.cohort_start.astype(str).tolist() == ["2024-02-01"]
    e = signup_cohorts(T(), [], T())
    assert len(e) == 0 and e.engaged_rate.shape == (0, 13)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from([0.0, 900.0, 1800.0, 3599.0, 3600.0, 86400.0, 2592000.0, 3e6, NAN, -5.0])
                | st.floats(0, 4e6), max_size=50))
def test_delay_bins_are_left_closed_and_add_up(delays):
    d = delay_distribution(delays)
    edges = d.edges_s
    known = [x for x in delays if not math.isnan(x) and x >= 0]
    expected = [sum(1 for x in known if lo <= x < hi) for lo, hi in zip(edges[:-1], edges[1:])]
    assert d.counts.tolist() == expected
    assert d.n == len(known) and int(d.counts.sum()) + d.beyond == d.n


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from([0.0, 899.0, 900.0, 900.5, 3600.0, 2592000.0, 2592001.0, 1e12, math.inf, NAN, -1.0])
                | st.floats(0, 3e6), max_size=60),
       st.sampled_from([(0, 0.25, 1, 720), (0.5, 2, 24), (0, 1 / 7, 1), (1, 3)]))
def test_delay_median_and_bins_agree_with_numpy_on_both_paths(delays, edges_h):
    # whole-second edges take the one-pass table (_below_and_median); 1/7 h does not
    d = delay_distribution(delays, edges_h)
    edges = np.asarray(edges_h, dtype=float) * 3600
    known = np.array([x for x in delays if x >= edges[0]], dtype=float)
    assert d.counts.tolist() == [int(((known >= lo) & (known < hi)).sum()) for lo, hi in zip(edges[:-1], edges[1:])]
    assert d.beyond == int((known >= edges[-1]).sum())
    if known.size:
        assert d.median_s == float(np.median(known))
    else:
        assert math.isnan(d.median_s)
