#!/usr/bin/env python3
"""How octopus's own cost grows with the account, on the embedded store (run by hand; asserts nothing).

For each size (``1`` = the demo account, ``N`` = N times its lists, contacts and campaigns,
so N times the events; see ``octolib.fake.account.scaled``) it generates the local
EmailOctopus account, serves it with the rate limit lifted on both sides (5000 req/s, burst
50000 by default) so only octopus's work counts, and measures on a fresh embedded store:

- full sync wall time, and the API's rate bound for the same requests at 10 req/s with a
  burst of 100 (what a real account would wait for anyway);
- an incremental sync with nothing changed;
  (every sync runs the after-sync customer link step, as ``octo sync`` does)
- an incremental sync after a day of activity (the account's clock moved 24 h);
- each dashboard page's build from a cold ``DashboardData`` (no cache), builders called directly;
- one partner report (``campaign_summary`` through papermill, kernel start included) for a
  partner that owns one list, so its own data does not grow with the account;
- the store's size on disk.

It prints a table and, per step between two sizes, the cost growth divided by the data
growth: about 1.0 is linear; well above 1 grows faster than the data (a defect to fix or
explain); the report and the idle sync should stay near 1 / data growth where their work
does not depend on the account's size.

    python benchmarks/bench_growth.py                       # 1x, 10x, 50x
    python benchmarks/bench_growth.py --sizes 1,5,10,20     # other sizes
    python benchmarks/bench_growth.py --sizes 1,10 --no-report --no-dashboards
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from octolib.api import EmailOctopusClient
from octolib.config import Settings
from octolib.customers.link import after_sync_hook
from octolib.fake import DEMO_API_KEY, FakeAccount, FakeServer
from octolib.store import Store, connect_embedded
from octolib.sync import run_sync

REAL_RATE, REAL_BURST = 10.0, 100

_warm = False

PAGES = ("overview", "campaigns", "campaign_detail", "lists", "contacts", "engagement")


def disk_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, value


def build_pages(store: Store) -> dict[str, float]:
    """Seconds per dashboard page, each from a cold DashboardData (reads and figures computed)."""
    from octolib import dashboards
    from octolib.dashboards.data import DashboardData

    global _warm
    if not _warm:  # first builds import plotly/ipywidgets and load plotly's validators: not growth
        for page in PAGES:
            getattr(dashboards, f"build_{page}")(DashboardData(store, cache_dir=None))
        _warm = True
    out: dict[str, float] = {}
    for page in PAGES:
        data = DashboardData(store, cache_dir=None)
        build = getattr(dashboards, f"build_{page}")
        out[page], _ = timed(lambda: build(data))
    return out


def partner_report(data_dir: Path, store: Store) -> float:
    """Seconds for one partner PDF; the partner owns the largest list (the same size at every scale)."""
    from octolib.reports.partners import save_partner
    from octolib.reports.runner import ReportRequest, run_batch

    lists = list(store.lists.find({}, {"_id": 0, "emailoctopus_id": 1, "counts": 1}))
    biggest = max(lists, key=lambda d: (d.get("counts") or {}).get("subscribed") or 0)
    save_partner(store, {"slug": "growth", "name": "Growth Partner", "brand_colour": "#1F6FEB",
                         "campaigns": {"list_ids": [biggest["emailoctopus_id"]]}, "default_range": "last_quarter"})
    settings = Settings(data_dir=data_dir, mongodb_uri="")
    seconds, batch = timed(lambda: run_batch(settings, [ReportRequest("growth", "campaign_summary")], workers=1))
    result = batch.results[0]
    if result.status != "succeeded":
        print(f"    report {result.status}: {getattr(result, 'error', '')}")
    return seconds


def measure(factor: int, args: argparse.Namespace, root: Path) -> dict[str, Any]:
    size = "demo" if factor == 1 else f"{factor}x"
    row: dict[str, Any] = {"size": f"{factor}x"}
    row["generate_s"], account = timed(lambda: FakeAccount.generate(seed=args.seed, size=size))
    data_dir = root / size
    # The embedded store where Settings(data_dir) puts it, so the report runner finds it.
    store = connect_embedded(data_dir / "embedded", "octopus")
    # Every sync runs the after-sync step as `octo sync` does (the customer link: it runs after
    # the first sync and is skipped when nothing it depends on changed).
    after = after_sync_hook(Settings(data_dir=data_dir, mongodb_uri=""))
    with FakeServer(account, api_key=DEMO_API_KEY, rate_per_s=args.rate, burst=args.burst) as server, \
            EmailOctopusClient(DEMO_API_KEY, server.base_url, rate_per_s=args.rate, burst=args.burst,
                               max_workers=args.workers) as client:
        row["full_s"], full = timed(lambda: run_sync(store, client, progress=False, trigger="bench", after=after))
        row["requests"] = full.requests
        row["rate_bound_s"] = max(0.0, full.requests - REAL_BURST) / REAL_RATE
        row["events"] = store.engagement_events.count_documents({})
        row["contacts"] = store.contacts.count_documents({})
        row["campaigns"] = store.campaigns.count_documents({})
        print(f"  {size}: {row['contacts']} contacts, {row['campaigns']} campaigns, {row['events']} events; "
              f"full sync {full.status} in {row['full_s']:.1f} s ({full.requests} requests)", flush=True)
        row["idle_s"], idle = timed(lambda: run_sync(store, client, progress=False, trigger="bench", after=after))
        account.advance(24)
        row["day_s"], day = timed(lambda: run_sync(store, client, progress=False, trigger="bench", after=after))
        print(f"    idle sync {idle.status} {row['idle_s']:.2f} s ({idle.after_note}); after a day {day.status} "
              f"{row['day_s']:.2f} s (+{day.written('engagement_events')} events; {day.after_note})", flush=True)
    row["disk_mb"] = disk_bytes(data_dir) / 1e6
    if not args.no_dashboards:
        for page, seconds in build_pages(store).items():
            row[f"page_{page}_s"] = seconds
        print("    pages " + ", ".join(f"{p} {row[f'page_{p}_s']:.2f} s" for p in PAGES), flush=True)
    if not args.no_report:
        row["report_s"] = partner_report(data_dir, store)
        print(f"    one partner report {row['report_s']:.1f} s", flush=True)
    store.close()
    if not args.keep:
        shutil.rmtree(data_dir, ignore_errors=True)
    return row


def print_table(rows: list[dict[str, Any]]) -> None:
    metrics = [("events", "events", "{:.0f}"), ("contacts", "contacts", "{:.0f}"), ("requests", "API requests", "{:.0f}"),
               ("rate_bound_s", "rate bound at 10/s (s)", "{:.1f}"), ("full_s", "full sync (s)", "{:.1f}"),
               ("idle_s", "sync, nothing changed (s)", "{:.2f}"), ("day_s", "sync after a day (s)", "{:.2f}")]
    metrics += [(f"page_{p}_s", f"page {p} (s)", "{:.2f}") for p in PAGES]
    metrics += [("report_s", "one partner report (s)", "{:.1f}"), ("disk_mb", "store on disk (MB)", "{:.1f}")]
    metrics = [m for m in metrics if all(m[0] in r for r in rows)]
    sizes = [r["size"] for r in rows]
    width = 28
    print("\n" + "".ljust(width) + "".join(s.rjust(11) for s in sizes)
          + "".join(f"{a}->{b}".rjust(13) for a, b in zip(sizes, sizes[1:])))
    for key, label, fmt in metrics:
        cells = "".join(fmt.format(r[key]).rjust(11) for r in rows)
        growth = ""
        for a, b in zip(rows, rows[1:]):
            data = b["events"] / a["events"] if a["events"] else float("nan")
            cost = b[key] / a[key] if a[key] else float("nan")
            growth += f"{cost:.1f}x ({cost / data:.2f})".rjust(13)
        print(label.ljust(width) + cells + growth)
    print("\ngrowth columns: cost ratio between sizes, and in brackets that ratio divided by the events' ratio "
          "(1.00 = linear in the data)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,10,50", help="scale factors, comma-separated (default 1,10,50)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rate", type=float, default=5000.0, help="req/s, server and client (default 5000)")
    parser.add_argument("--burst", type=int, default=50000, help="bucket, server and client (default 50000)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--no-report", action="store_true", help="skip the partner report")
    parser.add_argument("--no-dashboards", action="store_true", help="skip the dashboard pages")
    parser.add_argument("--keep", action="store_true", help="keep the stores (printed folder)")
    parser.add_argument("--data-dir", type=Path, default=None, help="where the stores go (default: a temp dir)")
    args = parser.parse_args(argv)
    try:
        factors = [int(x) for x in args.sizes.split(",") if x.strip()]
        if not factors or min(factors) < 1:
            raise ValueError
    except ValueError:
        parser.error(f"--sizes must be whole numbers >= 1 separated by commas, got {args.sizes!r}")
    logging.basicConfig(level=logging.WARNING)
    for noisy in ("octolib.store.core", "papermill", "choreographer", "kaleido"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    root = args.data_dir or Path(tempfile.mkdtemp(prefix="octo-bench-growth-"))
    print(f"stores under {root}; rate lifted to {args.rate:g}/s burst {args.burst}; {args.workers} workers")
    rows = []
    for factor in factors:
        rows.append(measure(factor, args, root))
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
