"""Timezones, buckets by send date, moving averages and curves after sending.

The timezone conversion is checked element by element against zoneinfo (the slow, obvious
way), around DST changes and in zones with odd offsets.
"""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from octolib.errors import ConfigError
from octolib.metrics import (
    bucket_starts,
    count_over_time,
    event_curve,
    events_within,
    moving_average,
    rate_over_time,
    rolling_rate,
    snapshot_curve,
    to_local,
    utc_offsets,
)

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")
NAN = float("nan")


def T(*values: str) -> np.ndarray:
    return np.array(values, dtype="datetime64[s]")


def reference_local(times: np.ndarray, tz: str) -> list[str]:
    """One zoneinfo call per element: slow and obviously right."""
    out = []
    for t in times:
        if np.isnat(t):
            out.append("NaT")
            continue
        aware = datetime.fromtimestamp(int(t.astype(np.int64)), tz=timezone.utc).astimezone(ZoneInfo(tz))
        out.append(aware.replace(tzinfo=None).isoformat())
    return out


# --- timezones ------------------------------------------------------------------------

def test_offsets_switch_exactly_at_the_dst_instant():
    # Europe/Berlin: 2024-03-31 01:00 UTC -> CEST; 2024-10-27 01:00 UTC -> CET
    t = T("2024-03-31T00:59:59", "2024-03-31T01:00:00", "2024-10-27T00:59:59", "2024-10-27T01:00:00")
    assert utc_offsets(t, "Europe/Berlin").tolist() == [3600, 7200, 7200, 3600]


@pytest.mark.parametrize("tz", ["Europe/London", "America/New_York", "Australia/Lord_Howe",
                                "America/St_Johns", "Asia/Kathmandu", "Pacific/Chatham", "UTC"])
def test_to_local_matches_zoneinfo_element_by_element(tz):
    rng = np.random.default_rng(7)
    start = np.datetime64("2022-01-01T00:00:00").astype(np.int64)
    secs = start + rng.integers(0, 3 * 365 * 86400, size=3000)
    # and every minute around each DST change of 2023 in the zone (found the slow way)
    hours = np.arange(start, start + 3 * 365 * 86400, 3600)
    offs = np.array([datetime.fromtimestamp(int(h), tz=timezone.utc).astimezone(ZoneInfo(tz)).utcoffset()
                     .total_seconds() for h in hours])
    for change in hours[1:][np.diff(offs) != 0]:
        secs = np.concatenate([secs, np.arange(change - 7200, change + 7200, 59)])
    times = np.concatenate([secs.view("datetime64[s]"), T("NaT")])
    assert to_local(times, tz).astype(str).tolist() == reference_local(times, tz)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 2_000_000_000), min_size=0, max_size=50),
       st.sampled_from(["Europe/Berlin", "America/Los_Angeles", "Australia/Adelaide", "Asia/Tokyo"]))
def test_to_local_property(seconds, tz):
    times = np.array(seconds, dtype=np.int64).view("datetime64[s]")
    assert to_local(times, tz).astype(str).tolist() == reference_local(times, tz)


def test_data_around_but_not_on_a_dst_day():
    # London changed on 2017-10-29 at 01:00 UTC; no element falls on that day (found by hypothesis)
    t = T("2017-07-14T09:00", "2017-10-30T00:00")
    assert to_local(t, "Europe/London").astype(str).tolist() == ["2017-07-14T10:00:00", "2017-10-30T00:00:00"]


def test_unknown_timezone_is_a_config_error_naming_the_fix():
    with pytest.raises(ConfigError, match="IANA"):
        to_local(T("2024-01-01"), "Mars/Olympus")
    with pytest.raises(ConfigError):
        to_local(T(), "Not/AZone")  # even with nothing to convert


def test_empty_and_all_nat_inputs():
    assert to_local(T(), "Europe/Paris").size == 0
    assert to_local(T("NaT", "NaT"), "Europe/Paris").astype(str).tolist() == ["NaT", "NaT"]


# --- buckets --------------------------------------------------------------------------

def test_week_bucket_uses_local_time_across_the_dst_end():
    # 2024-11-04 04:30 UTC is Sunday 2024-11-03 23:30 in New York (EST, after the change):
    # it belongs to the week of Monday 2024-10-28, not to the week of 2024-11-04
    t = T("2024-11-04T04:30:00", "2024-11-04T05:30:00")
    assert bucket_starts(t, "week", "America/New_York").astype(str).tolist() == ["2024-10-28", "2024-11-04"]
    assert bucket_starts(t, "week", "UTC").astype(str).tolist() == ["2024-11-04", "2024-11-04"]


def test_month_and_day_buckets_near_midnight():
    t = T("2024-01-31T23:30:00", "2024-02-29T23:30:00")
    assert bucket_starts(t, "month", "Asia/Tokyo").astype(str).tolist() == ["2024-02-01", "2024-03-01"]
    assert bucket_starts(t, "day", "America/Sao_Paulo").astype(str).tolist() == ["2024-01-31", "2024-02-29"]


def test_unknown_unit_is_refused():
    with pytest.raises(ValueError, match="unit"):
        bucket_starts(T("2024-01-01"), "quarter")


def test_rate_over_time_by_hand_with_gap_and_unsent():
    # week of 2024-01-01: (10 + 30) / (100 + 300) = 0.1 over 2 campaigns
    # week of 2024-01-08: nothing sent -> count 0, rate NaN (a gap, not a zero)
    # week of 2024-01-15: 0 / 0 -> NaN; the unsent campaign (NaT) is left out
    sent_at = T("2024-01-01T08:00", "2024-01-07T20:00", "2024-01-16T09:00", "NaT")
    s = rate_over_time(sent_at, [10, 30, 0, 99], [100, 300, 0, 99], unit="week", tz="UTC")
    assert s.start.astype(str).tolist() == ["2024-01-01", "2024-01-08", "2024-01-15"]
    assert s.count.tolist() == [2, 0, 1]
    assert s.numerator.tolist() == [40, 0, 0] and s.denominator.tolist() == [400, 0, 0]
    assert np.allclose(s.rate, [0.1, NAN, NAN], equal_nan=True)


def test_rate_over_time_fixed_range_drops_outside_and_pads():
    sent_at = T("2024-01-15T08:00", "2024-03-02T08:00")
    s = rate_over_time(sent_at, [5, 7], [10, 10], unit="month", first="2023-12-01", last="2024-02-15")
    assert s.start.astype(str).tolist() == ["2023-12-01", "2024-01-01", "2024-02-01"]
    assert s.numerator.tolist() == [0, 5, 0]


def test_series_of_nothing_is_empty():
    s = rate_over_time(T(), [], [], unit="day")
    assert len(s) == 0 and s.rate.size == 0
    assert count_over_time(T("NaT"), "day").count.size == 0


def test_count_over_time_with_float_weights_skips_nan():
    c = count_over_time(T("2024-01-01", "2024-01-01", "2024-01-02"), "day", weights=[1.5, NAN, 2.0])
    assert c.count.tolist() == [1.5, 2.0]


def test_moving_average_by_hand():
    # window 3 over [1, 2, NaN, 4]: [1], [1,2], [1,2,-], [2,-,4]
    assert moving_average([1, 2, NAN, 4], 3).tolist() == [1.0, 1.5, 1.5, 3.0]
    out = moving_average([NAN, NAN, 3.0], 2, min_periods=1)
    assert np.isnan(out[:2]).all() and out[2] == 3.0
    assert np.isnan(moving_average([1.0, 2.0], 2, min_periods=2)[0])
    with pytest.raises(ValueError):
        moving_average([1.0], 0)


def test_rolling_rate_is_pooled():
    # rates 10/100 = 0.1 and 450/900 = 0.5; window 2 pooled: 460/1000 = 0.46 (the plain mean is 0.3)
    assert rolling_rate([10, 450], [100, 900], 2).tolist() == [0.1, 0.46]
    assert np.isnan(rolling_rate([0, 0], [0, 0], 2)).all()


# --- curves ---------------------------------------------------------------------------

def test_snapshot_curve_sorts_and_drops_snapshots_before_the_send():
    t = T("2024-05-01T12:00", "2024-05-01T09:30", "2024-05-01T08:00", "NaT")
    c = snapshot_curve(t, [50, 20, 0, 1], [200, 200, 200, 200], np.datetime64("2024-05-01T09:00"))
    assert c.hours.tolist() == [0.5, 3.0]
    assert c.value.tolist() == [0.1, 0.25]
    assert len(snapshot_curve(t, [1] * 4, [1] * 4, np.datetime64("NaT"))) == 0


def test_event_curve_share_and_rate():
    delays = [1800, 3600, 5400, 100 * 3600, NAN]
    share = event_curve(delays, horizon_h=2)
    # at 0 h: none; at 1 h: 1800 and 3600 (inclusive) -> 2/4; at 2 h: 3/4
    assert share.hours.tolist() == [0.0, 1.0, 2.0]
    assert share.value.tolist() == [0.0, 0.5, 0.75]
    rate = event_curve(delays, denominator=40, horizon_h=2)
    assert rate.value.tolist() == [0.0, 0.05, 0.075]
    assert np.isnan(event_curve([], horizon_h=1).value).all()


def test_events_within_first_hour_day_week():
    sent = T("2024-01-01T00:00", "NaT", "2024-01-10T00:00")
    at = T("2024-01-01T00:59", "2024-01-01T01:00", "2024-01-01T01:01",  # campaign 0: 1 h is inclusive
           "2024-01-02T00:00", "2024-01-08T00:01",                      # 1 d inclusive; > 1 week
           "2024-01-05T00:00",                                          # campaign 1 unsent: no delay
           "2024-01-09T00:00",                                          # before campaign 2's send
           "2024-01-10T00:00")
    out = events_within([0, 0, 0, 0, 0, 1, 2, 2], at, sent)
    assert out.tolist() == [[2, 4, 4], [0, 0, 0], [1, 1, 1]]
    assert events_within([], T(), T()).shape == (0, 3)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1711760000, 1711760000 + 14 * 86400) | st.integers(1698530000, 1698640000),
                min_size=0, max_size=300),
       st.sampled_from(["Europe/Berlin", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe", "UTC"]),
       st.sampled_from(["day", "week", "month"]))
def test_counting_per_quarter_hour_gives_the_counts_of_converting_every_event(seconds, tz, unit):
    # around the spring and autumn DST changes (Lord Howe moves by 30 minutes at 2:00 local,
    # Kathmandu is +5:45): the quarter-hour shortcut and the per-event path must agree
    from octolib.metrics import timezones, weekday_hour_heatmap

    times = np.repeat(np.array(seconds, dtype="datetime64[s]"), 40)  # enough per slot to take the shortcut
    saved = timezones.SLOT_MIN_FILL
    try:
        fast_series, fast_grid = count_over_time(times, unit, tz), weekday_hour_heatmap(times, tz)
        timezones.SLOT_MIN_FILL = 10**12  # never pays: every event converted
        slow_series, slow_grid = count_over_time(times, unit, tz), weekday_hour_heatmap(times, tz)
    finally:
        timezones.SLOT_MIN_FILL = saved
    assert fast_series.start.tolist() == slow_series.start.tolist()
    assert fast_series.count.tolist() == slow_series.count.tolist()
    assert fast_series.count.dtype == slow_series.count.dtype == np.int64
    assert fast_grid.counts.tolist() == slow_grid.counts.tolist()
