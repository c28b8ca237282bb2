"""Links by destination, comparisons with baselines, and flags."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from octolib.metrics import (
    FlagThresholds,
    campaign_flags,
    campaign_rates,
    compare_campaigns,
    link_performance,
    normalize_url,
    trailing_history,
)

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")
NAN = float("nan")


def T(*values: str) -> np.ndarray:
    return np.array(values, dtype="datetime64[s]")


def days(n: int, start: str = "2024-01-01") -> np.ndarray:
    return np.datetime64(start, "s") + np.arange(n) * np.timedelta64(7, "D").astype("timedelta64[s]")


# --- links ----------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("https://shop.example/p?utm_source=eo&utm_medium=email&utm_campaign=may", "https://shop.example/p"),
    ("https://shop.example/p?UTM_Source=x&id=7&gclid=abc&fbclid=1&mc_eid=2", "https://shop.example/p?id=7"),
    ("HTTP://Shop.EXAMPLE:80/Path/", "http://shop.example/Path"),
    ("https://shop.example:8443/a#section", "https://shop.example:8443/a"),
    ("https://shop.example/?b=2&a=1&a=0", "https://shop.example/?a=0&a=1&b=2"),
    ("https://[2001:db8::1]/x", "https://[2001:db8::1]/x"),
    ("not a url", "not a url"),
    ("", ""),
    ("https://shop.example:99999/x", "https://shop.example:99999/x"),  # bad port: left as it is
])
def test_normalize_url(raw, expected):
    assert normalize_url(raw) == expected


def test_normalize_url_extra_parameters():
    assert normalize_url("https://a.example/?ref=nl&x=1", strip=["REF"]) == "https://a.example/?x=1"


def test_link_performance_groups_by_destination_by_hand():
    urls = np.array(["https://a.example/sale?utm_campaign=may", "https://a.example/sale?utm_campaign=june",
                     "https://A.example/sale/", "https://b.example/", None, "https://b.example/"], dtype=object)
    total = [10, 5, 1, 4, 2, 0]
    unique = [8, 4, 1, 3, 2, 0]
    s = link_performance(urls, total, unique)
    assert s.url.tolist() == ["https://a.example/sale", "https://b.example/", ""]
    assert s.clicked_total.tolist() == [16, 4, 2]
    assert s.clicked_unique.tolist() == [13, 3, 2]
    assert s.variants.tolist() == [3, 2, 1]
    assert s.click_share.tolist() == [16 / 22, 4 / 22, 2 / 22]


def test_link_performance_of_nothing_and_of_zero_clicks():
    assert len(link_performance([], [], [])) == 0
    s = link_performance(["https://a.example/"], [0], [0])
    assert s.clicked_total.tolist() == [0] and math.isnan(s.click_share[0])


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["https://a.example/x", "https://a.example/x?utm_source=1",
                                           "https://b.example/", "weird", ""]),
                          st.integers(0, 1000)), max_size=30))
def test_link_clicks_add_up(rows):
    s = link_performance([r[0] for r in rows], [r[1] for r in rows], [r[1] for r in rows])
    assert int(s.clicked_total.sum()) == sum(r[1] for r in rows)
    assert int(s.variants.sum()) == len(rows)
    assert list(s.clicked_total) == sorted(s.clicked_total, reverse=True)


def _normalize_whole(url: str, strip: tuple[str, ...] = ()) -> str:
    """The reference: normalize_url as it was written before it was cut into origin, path
    and query (one urlsplit of the whole URL). The cut version must agree with it."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    from octolib.metrics.links import _DEFAULT_PORTS, _is_tracking

    text = (url or "").strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return text
    if not parts.scheme or not parts.netloc:
        return text
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    if parts.username or parts.password:
        host = f"{parts.username or ''}@{host}"
    if port is not None and _DEFAULT_PORTS.get(scheme) != port:
        host = f"{host}:{port}"
    path = parts.path or "/"
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    extra = frozenset(s.lower() for s in strip)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k, extra)]
    return urlunsplit((scheme, host, path, urlencode(sorted(query)), ""))


# URLs built from pieces that sit at urlsplit's joints: schemes (valid or not), userinfo,
# hosts (IPv6, empty, bad brackets), ports (default, odd, invalid), paths with slashes,
# queries with tracking and repeated names, fragments holding '?', stray tabs and controls
_URL_PIECES = st.tuples(
    st.sampled_from(["", " ", "\x01", "\t"]),
    st.sampled_from(["https", "HTTP", "ftp", "mailto", "1x", "a b", "", "h-t.t+p"]),
    st.sampled_from(["://", ":", ":/", "//", ":///"]),
    st.sampled_from(["", "user@", "u:p@", ":p@"]),
    st.sampled_from(["Shop.Example", "a.example", "[2001:DB8::1]", "[::1", "::1]", "", "b.example\t"]),
    st.sampled_from(["", ":443", ":80", ":8443", ":99999", ":x", ":"]),
    st.sampled_from(["", "/", "/Sale/", "//x//", "/a/b?", "/p:q", "/?", "/#"]),
    st.sampled_from(["", "?", "?utm_source=eo&b=2&a=1", "?a=1&a=0&fbclid=x", "?REF=nl&x", "?x=%20y", "?a=1#b?c"]),
    st.sampled_from(["", "#top", "#?q=1", "#/p"]),
    st.sampled_from(["", " ", "\n"]),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_URL_PIECES, min_size=1, max_size=8), st.sampled_from([(), ("ref",), ("X", "b")]))
def test_normalize_url_cut_at_the_joints_agrees_with_parsing_the_whole_url(pieces, strip):
    urls = ["".join(p) for p in pieces]
    expected = [_normalize_whole(u, strip) for u in urls]
    assert [normalize_url(u, strip) for u in urls] == expected
    # link_performance normalises with one memo of origins and queries for all its rows
    s = link_performance(urls, [1] * len(urls), [1] * len(urls), strip=strip)
    assert sorted(s.url.tolist()) == sorted(set(expected))


# --- comparisons ----------------------------------------------------------------------

def test_trailing_history_by_hand_per_group_and_time_order():
    # list a, in time order: 0.40, 0.50, 0.30, 0.60 (given out of order); list b: 0.2, 0.9
    values = [0.60, 0.40, 0.20, 0.50, 0.30, 0.90]
    groups = ["a", "a", "b", "a", "a", "b"]
    t = T("2024-01-04", "2024-01-01", "2024-01-01", "2024-01-02", "2024-01-03", "2024-01-02")
    h = trailing_history(values, groups, t, window=2, min_history=2)
    # a@01-04 sees [0.30, 0.50] -> median 0.40, std 0.1414; a@01-03 sees [0.50, 0.40] -> 0.45
    assert h.n.tolist() == [2, 0, 0, 1, 2, 1]
    assert np.allclose(h.median, [0.40, NAN, NAN, NAN, 0.45, NAN], equal_nan=True)
    assert h.std[0] == pytest.approx(math.sqrt(0.02))


def test_trailing_history_skips_nan_and_handles_nothing():
    h = trailing_history([0.1, NAN, 0.3, 0.5], ["x"] * 4, days(4), window=3, min_history=2)
    assert h.n.tolist() == [0, 1, 1, 2]
    assert np.allclose(h.median, [NAN, NAN, NAN, 0.2], equal_nan=True)
    e = trailing_history([], [], T())
    assert e.median.size == 0
    with pytest.raises(ValueError):
        trailing_history([1.0], ["a"], T("2024-01-01"), window=0)


def test_compare_campaigns_account_and_list():
    c = compare_campaigns([0.2, 0.4, NAN, 0.3], ["a", "a", "a", "b"], days(4), min_history=1)
    assert c.account_median == 0.3
    assert np.allclose(c.vs_account, [-0.1, 0.1, NAN, 0.0], equal_nan=True)
    assert np.allclose(c.list_median, [NAN, 0.2, 0.3, NAN], equal_nan=True)
    assert np.allclose(c.vs_list, [NAN, 0.2, NAN, NAN], equal_nan=True)
    assert math.isnan(compare_campaigns([], [], T()).account_median)


# --- flags ----------------------------------------------------------------------------

def rates_for(sent, bounced, opened, complained):
    n = len(sent)
    return campaign_rates(sent, bounced, [0] * n, opened, [0] * n, [0] * n, complained)


def test_bounce_and_complaint_thresholds_are_strict_and_small_campaigns_skipped():
    # bounce 20/1000 = 2.0 % is not above 2 %; 21/1000 is. Complaint 1/980 > 0.1 %; 1/1000 is not.
    r = rates_for(sent=[1000, 1000, 1001, 40], bounced=[20, 21, 1, 10], opened=[0, 0, 0, 0],
                  complained=[1, 0, 1, 5])
    f = campaign_flags(r, ["a"] * 4, days(4))
    assert f.high_bounce.tolist() == [False, True, False, False]  # the 40-send campaign is small
    assert f.high_complaints.tolist() == [True, False, False, False]
    f = campaign_flags(r, ["a"] * 4, days(4), FlagThresholds(min_denominator=0))
    assert f.high_bounce.tolist() == [False, True, False, True]


def test_a_flag_prints_its_value_and_threshold_so_the_reader_sees_the_difference():
    # 21/1000 = 2.1 % and 204/10000 = 2.04 %: both above 2 %; the second rounds to "2.0%" at one decimal
    r = rates_for(sent=[1000, 10000], bounced=[21, 204], opened=[0, 0], complained=[2, 0])
    msgs = campaign_flags(r, ["a", "a"], days(2)).messages(["A", "B"])
    assert "A: bounce rate 2.1% is above 2.0%" in msgs
    assert "B: bounce rate 2.04% is above 2.00%" in msgs
    for m in msgs:  # never "x is above x"
        value, limit = m.split(" rate ")[1].split(" is above ")
        assert value != limit, m


def test_open_drop_against_the_lists_trailing_median():
    # list a: open rates 0.40, 0.42, 0.38, 0.41, then 0.20 -> median 0.405, std 0.017 -> floor 0.37
    # list b: history too short to judge. The 0.20 campaign on list b is not flagged.
    opened = [400, 420, 380, 410, 200, 100, 200]
    r = rates_for(sent=[1000] * 7, bounced=[0] * 7, opened=opened, complained=[0] * 7)
    lists = ["a", "a", "a", "a", "a", "b", "b"]
    f = campaign_flags(r, lists, days(7))
    assert f.open_drop.tolist() == [False, False, False, False, True, False, False]
    assert f.open_baseline[4] == pytest.approx(0.405)
    msg = f.messages([f"C{i}" for i in range(7)])
    assert msg == ["C4: open rate 20.0% is more than 2 standard deviations below the list's recent median (40.5%)"]


def test_flat_history_uses_the_minimum_spread():
    # history exactly 0.40 three times: std 0, minimum spread 0.5 pp -> floor 0.39
    r = rates_for(sent=[1000] * 5, bounced=[0] * 5, opened=[400, 400, 400, 395, 380], complained=[0] * 5)
    f = campaign_flags(r, ["a"] * 5, days(5))
    assert f.open_drop.tolist() == [False, False, False, False, True]


def test_thresholds_are_configurable():
    r = rates_for(sent=[1000], bounced=[15], opened=[0], complained=[0])
    assert not campaign_flags(r, ["a"], days(1)).high_bounce[0]
    assert campaign_flags(r, ["a"], days(1), FlagThresholds(bounce_rate=0.01)).high_bounce[0]


def test_flags_on_empty_and_undefined_input():
    r = rates_for([], [], [], [])
    f = campaign_flags(r, [], T())
    assert f.any.size == 0 and f.messages([]) == []
    draft = rates_for([0], [0], [0], [0])
    f = campaign_flags(draft, ["a"], T("NaT"), FlagThresholds(min_denominator=0))
    assert not f.any[0]
    assert all("nan" not in m.lower() for m in f.messages(["d"]))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.floats(0, 1) | st.just(NAN),
                          st.integers(0, 10**6)), max_size=40),
       st.integers(1, 6), st.integers(1, 4))
def test_trailing_history_matches_a_plain_loop(rows, window, min_history):
    groups = [r[0] for r in rows]
    values = [r[1] for r in rows]
    times = np.array([r[2] for r in rows], dtype=np.int64).view("datetime64[s]")
    h = trailing_history(values, groups, times, window, min_history)
    for i, (g, _, t) in enumerate(rows):
        # the same group's earlier items in (time, position) order, the last `window` of them
        earlier = sorted((rows[j][2], j) for j in range(len(rows)) if rows[j][0] == g and (rows[j][2], j) < (t, i))
        hist = [values[j] for _, j in earlier[-window:] if not math.isnan(values[j])]
        assert h.n[i] == len(hist)
        if len(hist) >= min_history:
            assert h.median[i] == pytest.approx(float(np.median(hist)))
            if len(hist) >= 2:
                assert h.std[i] == pytest.approx(float(np.std(hist, ddof=1)), abs=1e-12)
        else:
            assert math.isnan(h.median[i])
