"""numpy metrics against an equivalent pandas implementation, on a large synthetic account.

Run by hand: ``/work/venv/bin/python benchmarks/bench_metrics.py [--events 1000000]
[--campaigns 10000] [--repeat 5] [--tz Europe/Berlin] [--only links]``. Prints a table; asserts nothing
about time. pandas is a benchmark-only dependency (``pip install -e .[bench]``); the
library never imports it.

Set-up (seeded): ``--campaigns`` campaigns over three years on 100 lists, 200,000 contacts,
and ``--events`` engagement events (70 % opens, 20 % clicks, the rest bounces,
unsubscribes, complaints), each some exponential delay after its campaign's send; 100,000
link rows over 2,000 distinct raw URLs. Each metric is computed both ways from the same
data, already in memory (numpy arrays for octolib; a DataFrame built once, outside the
timing, for pandas), the results are checked to agree, and each is timed ``--repeat``
times; the table shows the median time per metric, the ratio pandas / numpy of the medians
and of the best runs (on a loaded machine the best run is the least disturbed one), and
the median ratio over all metrics.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from octolib import metrics as m
from octolib.metrics.links import normalize_url
from octolib.metrics.rate_specs import AUTOMATION_COUNT_NAMES

EDGES_H = m.DEFAULT_DELAY_EDGES_H
WINDOWS_S = m.FIRST_HOUR_DAY_WEEK_S


# --- data -------------------------------------------------------------------------------

def make_data(n_events: int, n_campaigns: int, seed: int = 42) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    start = np.datetime64("2023-01-01T00:00:00").astype(np.int64)
    span = 3 * 365 * 86400
    sent_at = (start + rng.integers(0, span, n_campaigns)).view("datetime64[s]")
    sent_at[rng.random(n_campaigns) < 0.01] = np.datetime64("NaT")  # drafts
    sent = rng.integers(50, 20000, n_campaigns)
    sent[np.isnat(sent_at)] = 0
    hard = rng.binomial(sent, 0.005)
    soft = rng.binomial(sent - hard, 0.01)
    delivered = sent - hard - soft
    opened = rng.binomial(delivered, rng.uniform(0.15, 0.55, n_campaigns))
    clicked = rng.binomial(opened, rng.uniform(0.05, 0.3, n_campaigns))
    campaigns = {
        "sent_at": sent_at, "sent": sent, "bounced_hard": hard, "bounced_soft": soft, "opened": opened,
        "clicked": clicked, "unsubscribed": rng.binomial(delivered, 0.002),
        "spam_complaints": rng.binomial(delivered, 0.0003),
        "list_id": np.array([f"list-{i:03d}" for i in rng.integers(0, 100, n_campaigns)], dtype=object),
    }
    # The counts the sync derives from the events (clickers without an open; machine opens
    # and bot clicks, issue 14), so both sides compute every rate of the rate table.
    campaigns["clicked_without_open"] = rng.binomial(delivered - opened, 0.01)
    # (AUTOMATION_COUNT_NAMES)
    campaigns["opened_automated"] = rng.binomial(opened, 0.1)
    campaigns["clicked_automated"] = rng.binomial(clicked, 0.05)
    campaigns["opened_human"] = opened - campaigns["opened_automated"]
    campaigns["clicked_human"] = clicked - campaigns["clicked_automated"]
    campaigns["clicked_without_open_human"] = rng.binomial(campaigns["clicked_without_open"], 0.9)
    n_contacts = 200_000
    signup = (start - 365 * 86400 + rng.integers(0, span + 365 * 86400, n_contacts)).view("datetime64[s]")
    sent_ok = np.flatnonzero(~np.isnat(sent_at))
    camp = rng.choice(sent_ok, n_events)
    delay = rng.exponential(6 * 3600, n_events).astype(np.int64)
    occurred = (sent_at[camp].astype(np.int64) + delay).view("datetime64[s]")
    kind = rng.choice(np.array(["opened", "clicked", "bounced", "unsubscribed", "complained"], dtype=object),
                      n_events, p=[0.7, 0.2, 0.06, 0.03, 0.01])
    events = {"campaign": camp, "contact": rng.integers(0, n_contacts, n_events), "occurred_at": occurred,
              "event_type": kind}
    base = [f"https://shop{i % 50}.example/p/{i}" for i in range(400)]
    raw = [u + s for u in base for s in ("", "?utm_source=eo", "?utm_campaign=may&x=1", "/", "#top")]
    urls = np.array(raw, dtype=object)[rng.integers(0, len(raw), 100_000)]
    links = {"url": urls, "clicked_total": rng.integers(0, 500, urls.size),
             "clicked_unique": rng.integers(0, 300, urls.size)}
    return {"campaigns": campaigns, "events": events, "contacts": {"signup": signup}, "links": links}


def frames(data: dict[str, Any]) -> dict[str, pd.DataFrame]:
    c = pd.DataFrame(data["campaigns"])
    e = pd.DataFrame(data["events"])
    return {"campaigns": c, "events": e, "opens": e[e.event_type == "opened"].reset_index(drop=True),
            "contacts": pd.DataFrame(data["contacts"]), "links": pd.DataFrame(data["links"])}


# --- pandas implementations (idiomatic, same definitions) -------------------------------

def pd_ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    # octolib.metrics.safe_ratio: NaN for a negative count or a denominator <= 0; never clipped
    return num.where(num >= 0) / den.where(den > 0)


def pd_rates(c: pd.DataFrame) -> pd.DataFrame:
    delivered = (c.sent - c.bounced_hard - c.bounced_soft).clip(lower=0)
    return pd.DataFrame({
        "delivered": delivered,
        "open_rate": pd_ratio(c.opened, delivered),
        "click_rate": pd_ratio(c.clicked, delivered),
        "click_to_open_rate": pd_ratio(c.clicked, c.opened + c.clicked_without_open),
        "bounce_rate": pd_ratio(c.bounced_hard + c.bounced_soft, c.sent),
        "hard_bounce_rate": pd_ratio(c.bounced_hard, c.sent),
        "soft_bounce_rate": pd_ratio(c.bounced_soft, c.sent),
        "unsubscribe_rate": pd_ratio(c.unsubscribed, delivered),
        "complaint_rate": pd_ratio(c.spam_complaints, delivered),
        "delivered_rate": pd_ratio(delivered, c.sent),
        "human_open_rate": pd_ratio(c.opened_human, delivered),
        "human_click_rate": pd_ratio(c.clicked_human, delivered),
        "human_click_to_open_rate": pd_ratio(c.clicked_human, c.opened_human + c.clicked_without_open_human),
        "machine_open_share": pd_ratio(c.opened_automated, c.opened),
        "bot_click_share": pd_ratio(c.clicked_automated, c.clicked),
    })


def pd_summary(rate: pd.Series, weight: pd.Series) -> dict[str, float]:
    ok = rate.notna() & (weight > 0)
    q = rate.quantile([0.10, 0.25, 0.75, 0.90])
    return {"mean": rate.mean(), "weighted": (rate[ok] * weight[ok]).sum() / weight[ok].sum(),
            "median": rate.median(), "std": rate.std(), "p90": q.loc[0.90]}


def pd_local(times: pd.Series, tz: str) -> pd.Series:
    return times.dt.tz_localize("UTC").dt.tz_convert(tz).dt.tz_localize(None)


def pd_weekly_rate(c: pd.DataFrame, delivered: pd.Series, tz: str) -> pd.Series:
    week = pd_local(c.sent_at, tz).dt.to_period("W-SUN").dt.start_time
    g = pd.DataFrame({"opened": c.opened, "delivered": delivered}).groupby(week).sum()
    full = pd.date_range(g.index.min(), g.index.max(), freq="7D")
    g = g.reindex(full, fill_value=0)
    return pd_ratio(g.opened, g.delivered)


def pd_heatmap(opens: pd.DataFrame, tz: str) -> np.ndarray:
    local = pd_local(opens.occurred_at, tz)
    grid = local.groupby([local.dt.day_of_week, local.dt.hour]).size().unstack(fill_value=0)
    return grid.reindex(index=range(7), columns=range(24), fill_value=0).to_numpy()


def pd_delays(opens: pd.DataFrame, c: pd.DataFrame) -> pd.Series:
    joined = opens.join(c[["sent_at"]], on="campaign")
    delay = (joined.occurred_at - joined.sent_at).dt.total_seconds()
    return delay.where(delay >= 0)


def pd_time_to_open(opens: pd.DataFrame, c: pd.DataFrame) -> dict[str, Any]:
    delay = pd_delays(opens, c).dropna()
    edges = np.asarray(EDGES_H) * 3600
    counts = pd.cut(delay, bins=edges, right=False).value_counts(sort=False).to_numpy()
    return {"median": delay.median(), "half_life": np.log(2) * delay.mean(), "counts": counts}


def pd_events_within(opens: pd.DataFrame, c: pd.DataFrame) -> np.ndarray:
    delay = pd_delays(opens, c)
    out = [(delay <= w).groupby(opens.campaign).sum().reindex(range(len(c)), fill_value=0) for w in WINDOWS_S]
    return np.column_stack([s.to_numpy() for s in out])


def pd_daily_opens(opens: pd.DataFrame, tz: str) -> pd.Series:
    day = pd_local(opens.occurred_at, tz).dt.floor("D")
    counts = day.value_counts().sort_index()
    return counts.reindex(pd.date_range(counts.index.min(), counts.index.max(), freq="D"), fill_value=0)


def pd_last_event(e: pd.DataFrame, n: int) -> pd.Series:
    return e.groupby("contact").occurred_at.max().reindex(range(n))


def pd_cohorts(contacts: pd.DataFrame, opens: pd.DataFrame, tz: str, max_offset: int = 12) -> np.ndarray:
    signup_m = pd_local(contacts.signup, tz).dt.to_period("M")
    ev_m = pd_local(opens.occurred_at, tz).dt.to_period("M")
    first = signup_m.min()
    cohort = (signup_m - first).apply(lambda x: x.n)
    ev = pd.DataFrame({"contact": opens.contact, "m": ev_m.astype("int64")})
    ev["offset"] = ev.m - signup_m.astype("int64").to_numpy()[ev.contact.to_numpy()]
    ev = ev[(ev.offset >= 0) & (ev.offset <= max_offset)].drop_duplicates(["contact", "offset"])
    ev["cohort"] = cohort.to_numpy()[ev.contact.to_numpy()]
    n_cohorts = int(cohort.max()) + 1
    counts = ev.groupby(["cohort", "offset"]).size().unstack(fill_value=0)
    counts = counts.reindex(index=range(n_cohorts), columns=range(max_offset + 1), fill_value=0)
    size = cohort.value_counts().reindex(range(n_cohorts), fill_value=0)
    rate = counts.div(size.where(size > 0), axis=0)
    last = int(max(signup_m.astype("int64").max(), ev_m.astype("int64").max())) - first.ordinal
    lived = (np.arange(n_cohorts)[:, None] + np.arange(max_offset + 1)[None, :]) <= last
    return rate.where(lived).to_numpy()


def pd_trailing(c: pd.DataFrame, open_rate: pd.Series, window: int = 10, min_history: int = 3) -> np.ndarray:
    df = pd.DataFrame({"list_id": c.list_id, "t": c.sent_at, "v": open_rate})
    df = df.sort_values(["list_id", "t"], na_position="last", kind="stable")
    df["prev"] = df.groupby("list_id").v.shift(1)
    med = df.groupby("list_id").prev.rolling(window, min_periods=min_history).median()
    return med.reset_index(level=0, drop=True).reindex(c.index).to_numpy()


def pd_links(links: pd.DataFrame) -> pd.DataFrame:
    codes, uniques = pd.factorize(links.url)
    dest = pd.Series(uniques).map(normalize_url).to_numpy()[codes]
    g = links.assign(dest=dest).groupby("dest")[["clicked_total", "clicked_unique"]].sum()
    return g.sort_values("clicked_total", ascending=False, kind="stable")


# --- numpy (octolib) --------------------------------------------------------------------

def np_rates(c: dict[str, np.ndarray]) -> m.CampaignRates:
    return m.campaign_rates(c["sent"], c["bounced_hard"], c["bounced_soft"], c["opened"], c["clicked"],
                            c["unsubscribed"], c["spam_complaints"], c["clicked_without_open"],
                            derived={k: c[k] for k in AUTOMATION_COUNT_NAMES})


def opens_of(e: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    mask = e["event_type"] == "opened"
    return {k: v[mask] for k, v in e.items()}


def np_cohorts(signup: np.ndarray, opens: dict[str, np.ndarray], tz: str) -> np.ndarray:
    return m.signup_cohorts(signup, opens["contact"], opens["occurred_at"], tz, 12).engaged_rate


# --- harness ----------------------------------------------------------------------------

def timed_pair(np_fn: Callable[[], Any], pd_fn: Callable[[], Any], repeat: int
               ) -> tuple[list[float], list[float], Any, Any]:
    """Seconds of each run, interleaved so load from other processes hits both alike."""
    t_np, t_pd = [], []
    r_np = r_pd = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        r_np = np_fn()
        t1 = time.perf_counter()
        r_pd = pd_fn()
        t2 = time.perf_counter()
        t_np.append(t1 - t0)
        t_pd.append(t2 - t1)
    return t_np, t_pd, r_np, r_pd


def close(a: Any, b: Any) -> bool:
    return bool(np.allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), equal_nan=True, rtol=1e-9))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--campaigns", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--tz", default="Europe/Berlin")
    parser.add_argument("--only", default="", help="run only the metrics whose name contains this text")
    args = parser.parse_args(argv)
    tz = args.tz

    data = make_data(args.events, args.campaigns)
    c, e, contacts, links = data["campaigns"], data["events"], data["contacts"], data["links"]
    df = frames(data)
    rates = np_rates(c)
    pd_r = pd_rates(df["campaigns"])
    delivered_s = pd_r.delivered
    opens_np = opens_of(e)
    n_contacts = contacts["signup"].size

    cases: list[tuple[str, str, Callable[[], Any], Callable[[], Any], Callable[[Any, Any], bool]]] = [
        (f"campaign rates ({len(m.RATE_NAMES)} per campaign)", f"{args.campaigns:,} campaigns",
         lambda: np_rates(c), lambda: pd_rates(df["campaigns"]),
         lambda a, b: all(close(getattr(a, k), b[k]) for k in m.RATE_NAMES) and close(a.delivered_count,
                                                                                      b.delivered)),
        ("summary of a rate (mean, weighted, median, std, pct)", f"{args.campaigns:,} campaigns",
         lambda: m.summarize(rates.open_rate, rates.delivered_count),
         lambda: pd_summary(pd_r.open_rate, delivered_s),
         lambda a, b: close([a.mean, a.weighted_mean, a.median, a.std, a.percentiles[90.0]],
                            [b["mean"], b["weighted"], b["median"], b["std"], b["p90"]])),
        ("open rate by local week", f"{args.campaigns:,} campaigns",
         lambda: m.rate_over_time(c["sent_at"], c["opened"], rates.delivered_count, "week", tz),
         lambda: pd_weekly_rate(df["campaigns"], delivered_s, tz),
         lambda a, b: close(a.rate, b.to_numpy())),
        ("trailing list median of open rate (flags)", f"{args.campaigns:,} campaigns",
         lambda: m.trailing_history(rates.open_rate, c["list_id"], c["sent_at"], 10, 3),
         lambda: pd_trailing(df["campaigns"], pd_r.open_rate),
         lambda a, b: close(a.median, b)),
        ("weekday x hour heatmap of opens", f"{opens_np['campaign'].size:,} opens",
         lambda: m.weekday_hour_heatmap(opens_np["occurred_at"], tz),
         lambda: pd_heatmap(df["opens"], tz),
         lambda a, b: close(a.counts, b)),
        ("opens per local day", f"{opens_np['campaign'].size:,} opens",
         lambda: m.count_over_time(opens_np["occurred_at"], "day", tz),
         lambda: pd_daily_opens(df["opens"], tz),
         lambda a, b: close(a.count, b.to_numpy())),
        ("time to open: histogram, median, half-life", f"{opens_np['campaign'].size:,} opens",
         lambda: m.delay_distribution(m.time_to_event(opens_np["campaign"], opens_np["occurred_at"], c["sent_at"])),
         lambda: pd_time_to_open(df["opens"], df["campaigns"]),
         lambda a, b: close([a.median_s, a.half_life_s], [b["median"], b["half_life"]]) and close(a.counts,
                                                                                                   b["counts"])),
        ("opens in first hour/day/week per campaign", f"{opens_np['campaign'].size:,} opens",
         lambda: m.events_within(opens_np["campaign"], opens_np["occurred_at"], c["sent_at"]),
         lambda: pd_events_within(df["opens"], df["campaigns"]),
         close),
        ("last event per contact (recency)", f"{args.events:,} events",
         lambda: m.last_event_at(e["contact"], e["occurred_at"], n_contacts),
         lambda: pd_last_event(df["events"], n_contacts),
         lambda a, b: close(a.astype(np.int64)[~np.isnat(a)], b.dropna().astype("int64").to_numpy() // 10**9)
         if b.dtype.kind == "M" and b.dt.unit == "ns" else close(a.astype(np.int64)[~np.isnat(a)],
                                                                  b.dropna().astype("int64").to_numpy())),
        ("signup cohorts x 13 months", f"{opens_np['campaign'].size:,} opens, {n_contacts:,} contacts",
         lambda: np_cohorts(contacts["signup"], opens_np, tz),
         lambda: pd_cohorts(df["contacts"], df["opens"], tz),
         close),
        ("links by destination (utm stripped)", f"{links['url'].size:,} link rows",
         lambda: m.link_performance(links["url"], links["clicked_total"], links["clicked_unique"]),
         lambda: pd_links(df["links"]),
         lambda a, b: close(np.sort(a.clicked_total), np.sort(b.clicked_total.to_numpy()))),
    ]

    print(f"numpy {np.__version__}, pandas {pd.__version__}; tz={tz}; median of {args.repeat} runs")
    header = (f"| {'metric':<52} | {'input':<32} | {'numpy ms':>9} | {'pandas ms':>9} | {'pandas/numpy':>12} "
              f"| {'best/best':>9} | same |")
    print(header)
    print("|" + "|".join("-" * (len(part)) for part in header.split("|")[1:-1]) + "|")
    ratios, best_ratios = [], []
    for name, size, np_fn, pd_fn, check in cases:
        if args.only not in name:
            continue
        np_fn(), pd_fn()  # warm-up: first-call costs (imports, caches) are not the metric
        runs_np, runs_pd, r_np, r_pd = timed_pair(np_fn, pd_fn, args.repeat)
        t_np, t_pd = statistics.median(runs_np), statistics.median(runs_pd)
        ratio = t_pd / t_np if t_np > 0 else float("inf")
        ratios.append(ratio)
        best_ratios.append(min(runs_pd) / min(runs_np))
        ok = "yes" if check(r_np, r_pd) else "NO"
        print(f"| {name:<52} | {size:<32} | {t_np * 1e3:9.1f} | {t_pd * 1e3:9.1f} | {ratio:11.1f}x "
              f"| {best_ratios[-1]:8.1f}x | {ok:<4} |")
    print(f"\nmedian ratio pandas/numpy: {statistics.median(ratios):.1f}x "
          f"(min {min(ratios):.1f}x, max {max(ratios):.1f}x); "
          f"from the best run of each instead of the median: {statistics.median(best_ratios):.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
