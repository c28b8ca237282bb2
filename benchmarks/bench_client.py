"""Does the client use the whole 10 requests/s budget when each request takes 150 ms?

Run by hand (about 90 s): ``/work/venv/bin/python benchmarks/bench_client.py [--pages 1000]``.
Prints figures; asserts nothing.

Set-up: the local fake EmailOctopus (``octolib.fake``, the "demo" account) with 150 ms
latency on every request and a server-side bucket of 100 refilled at 10/s; the client with
the same bucket. Many independent page streams (campaign x report status, limit=10) are
pulled through ``client.map`` until ``--pages`` pages have arrived.

The bound: the first ``burst`` requests are free, the rest come at ``rate`` per second, so
N requests cannot take less than ``(N - burst) / rate`` seconds. Figures printed:
- overall requests/s and the ratio ``bound / wall`` (1.0 = no time wasted);
- the rate after the burst (pages after the 100th / time after the 100th; slightly above the
  limit because the bucket refills while the burst is being spent) and the steady rate from
  the 300th page on, each as a ratio to the limit (target >= 0.95);
- 429s, retries and the time spent waiting on the local bucket.
"""

from __future__ import annotations

import argparse
import logging
import threading
import time
from collections.abc import Iterator

from octolib.api import EmailOctopusClient
from octolib.fake import DEMO_API_KEY, FakeAccount, FakeServer, Faults


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.15)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--burst", type=int, default=100)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--size", default="demo")
    parser.add_argument("--limit", type=int, default=10)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    t0 = time.monotonic()
    account = FakeAccount.generate(seed=7, size=args.size)
    print(f"account generated in {time.monotonic() - t0:.1f} s ({args.size})")

    # Discover the streams with latency and rate limits off, then start the measured run
    # on a fresh server so both buckets start full.
    with FakeServer(account, api_key=DEMO_API_KEY, rate_per_s=1000, burst=1000) as server:
        with EmailOctopusClient(DEMO_API_KEY, server.base_url, rate_per_s=1000, burst=1000) as probe:
            campaigns = [c.id for c in probe.iter_campaigns() if c.status in ("sent", "sending")]
    statuses = ("sent", "not-clicked", "not-opened", "opened", "clicked", "unsubscribed", "bounced", "complained")
    streams = [(cid, st) for st in statuses for cid in campaigns]
    print(f"{len(streams)} page streams (campaign x status), limit={args.limit}")

    faults = Faults(latency_s=args.latency)
    done: list[float] = []
    lock = threading.Lock()
    stop = threading.Event()

    with FakeServer(account, api_key=DEMO_API_KEY, faults=faults, rate_per_s=args.rate, burst=args.burst) as server:
        client = EmailOctopusClient(
            DEMO_API_KEY, server.base_url, rate_per_s=args.rate, burst=args.burst, max_workers=args.workers
        )

        def pull(stream: tuple[str, str]) -> int:
            cid, status = stream
            n = 0
            pages: Iterator = client.pages(f"/campaigns/{cid}/reports", {"status": status}, limit=args.limit)
            while not stop.is_set():  # checked before each request: the next page costs one
                if next(pages, None) is None:
                    break
                n += 1
                with lock:
                    done.append(time.monotonic())
                    if len(done) >= args.pages:
                        stop.set()
            return n

        start = time.monotonic()
        total = sum(client.map(pull, streams))
        wall = time.monotonic() - start
        stats = client.stats
        client.close()

    n = stats.requests
    bound = max(0.0, (n - args.burst) / args.rate)
    print(f"pages pulled: {total} (requests {n}, retries {stats.retries}, by status {stats.by_status})")
    print(f"wall time: {wall:.1f} s; bound (N - {args.burst}) / {args.rate:g} = {bound:.1f} s; bound/wall = {bound / wall:.3f}")
    print(f"overall: {n / wall:.2f} requests/s ({n / wall / args.rate:.3f} x the limit, burst included)")
    done.sort()
    if len(done) > args.burst + 1:
        t_burst = done[args.burst - 1]
        after = (len(done) - args.burst) / (done[-1] - t_burst)
        print(f"after the burst: {after:.2f} pages/s = {after / args.rate:.3f} x the limit "
              f"(burst of {args.burst} done {t_burst - start:.1f} s in; the bucket refilled meanwhile)")
    skip = 3 * args.burst  # well past the burst and the tokens refilled while it ran
    if len(done) > skip + 1:
        steady = (len(done) - skip) / (done[-1] - done[skip - 1])
        print(f"steady state (page {skip} to {len(done)}): {steady:.2f} pages/s = {steady / args.rate:.3f} x the limit")
    print(f"local bucket waits: {stats.rate_limit_waits} ({stats.wait_seconds:.1f} s in total across workers)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
