#!/usr/bin/env python3
"""Benchmark the sync: full sync of the demo account from the local fake at 10 req/s and 100 ms latency.

Prints, and asserts nothing about time (run by hand):

- requests made by the full sync against the minimum needed (one request per page the data
  fills, computed from the account itself);
- its wall time against the rate-limit bound for that many requests: with a bucket of
  ``burst`` tokens refilled at ``rate`` per second, N requests need at least
  ``max(0, N - burst) / rate`` seconds, plus one latency;
- the time and requests of an incremental sync with nothing changed (target < 5 s, aim < 2 s);
- the time and requests of an incremental sync after the account's clock moves a day.

    python benchmarks/bench_sync.py                 # demo size, 10 req/s, burst 100, 100 ms
    python benchmarks/bench_sync.py --size small --latency 0.05
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

from octolib.api import EmailOctopusClient
from octolib.config import Settings
from octolib.fake import DEMO_API_KEY, SIZES, FakeAccount, FakeServer, Faults
from octolib.store import connect
from octolib.sync import EVENT_TYPES, REPORTABLE_STATUSES, run_sync


def pages(n: int) -> int:
    """Requests to read a collection of n items, 100 per page (an empty one still takes one)."""
    return max(1, math.ceil(n / 100))


def minimum_requests(account: FakeAccount) -> int:
    lists = account.lists
    n = pages(len(lists))
    for lst in lists:
        for status in ("subscribed", "unsubscribed", "pending"):
            n += pages(lst["counts"][status])
    campaigns = account.campaigns
    n += pages(len(campaigns))
    for camp in campaigns:
        if camp["status"] in REPORTABLE_STATUSES:
            n += 2  # summary + links
            n += sum(pages(len(account.report_rows(camp["id"], t))) for t in EVENT_TYPES)
    return n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="demo", choices=sorted(SIZES))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rate", type=float, default=10.0, help="requests/s, server and client (default 10)")
    parser.add_argument("--burst", type=int, default=100, help="bucket size, server and client (default 100)")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds added to every request (default 0.1)")
    parser.add_argument("--workers", type=int, default=4, help="client concurrency (default 4, OCTO_MAX_WORKERS)")
    parser.add_argument("--mongodb-uri", default="", help="run against this MongoDB instead of the embedded store")
    args = parser.parse_args(argv)

    account = FakeAccount.generate(seed=args.seed, size=args.size)
    minimum = minimum_requests(account)
    print(f"account: {account!r}")
    with tempfile.TemporaryDirectory() as tmp, \
            FakeServer(account, api_key=DEMO_API_KEY, faults=Faults(latency_s=args.latency),
                       rate_per_s=args.rate, burst=args.burst) as server, \
            EmailOctopusClient(DEMO_API_KEY, server.base_url, rate_per_s=args.rate, burst=args.burst,
                               max_workers=args.workers) as client:
        store = connect(Settings(data_dir=Path(tmp), mongodb_uri=args.mongodb_uri,
                                 db_name=f"bench_{int(time.time())}"))
        print(f"store: {store.description}")
        print(f"limits: {args.rate:g} req/s, burst {args.burst}, latency {args.latency * 1000:.0f} ms, "
              f"{args.workers} workers\n")

        t0 = time.perf_counter()
        full = run_sync(store, client, progress=False, trigger="bench")
        wall = time.perf_counter() - t0
        n = full.requests
        bound = max(0.0, n - args.burst) / args.rate + args.latency
        print(f"full sync: {full.status}")
        print(f"  requests      {n} made / {minimum} minimum needed ({n / minimum:.2f}x); "
              f"server saw {server.request_count}, 429s: {server.requests_by_status.get(429, 0)}")
        print(f"  wall time     {wall:.1f} s; rate-limit bound for {n} requests {bound:.1f} s "
              f"({wall / bound if bound else float('inf'):.2f}x the bound)")
        print(f"  written       " + ", ".join(f"{k} {v['inserted'] + v['updated']}" for k, v in sorted(full.counts.items())))
        print("  per stage     " + ", ".join(f"{k} {v.get('requests', 0)} req "
                                             f"{(v['finished_at'] - v['started_at']).total_seconds():.1f} s"
                                             for k, v in full.stages.items() if 'finished_at' in v))

        time.sleep(max(0.0, args.burst / args.rate))  # let the bucket refill, as between two real syncs
        t0 = time.perf_counter()
        idle = run_sync(store, client, progress=False, trigger="bench")
        wall_idle = time.perf_counter() - t0
        written = sum(v["inserted"] + v["updated"] for v in idle.counts.values())
        print(f"\nincremental, nothing changed: {idle.status} in {wall_idle:.2f} s (target < 5 s, aim < 2 s); "
              f"{idle.requests} requests, {written} documents written")

        changes = account.advance(24)
        time.sleep(max(0.0, args.burst / args.rate))
        t0 = time.perf_counter()
        day = run_sync(store, client, progress=False, trigger="bench")
        print(f"incremental after 24 h ({changes['new_contacts']} sign-ups, {changes['campaign_events']} campaign "
              f"events): {day.status} in {time.perf_counter() - t0:.2f} s; {day.requests} requests; events "
              f"+{day.written('engagement_events')}, contacts +{day.written('contacts')}, "
              f"snapshots +{day.written('campaign_metrics_snapshots')}")
        if args.mongodb_uri:
            store.client.drop_database(store.db.name)
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
