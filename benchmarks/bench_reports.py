#!/usr/bin/env python3
"""How long partner reports take on the demo account (run by hand; asserts nothing).

    python benchmarks/bench_reports.py                 # sync the demo account into a temp dir, then time
    python benchmarks/bench_reports.py --data-dir D    # reuse (or create) a synced store in D
    python benchmarks/bench_reports.py --all-templates # the batch of 10 partners runs all 3 templates

Prints seconds per report (each papermill run, kernel start included) for one partner's
three reports, and the wall time of a batch of 10 partners on ``--workers`` (default 2).
Targets (issue #5): under 30 s per PDF (aim: under 10 s); the batch of 10 under 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def sync_demo(data_dir: Path) -> None:
    from octolib.api.client import EmailOctopusClient
    from octolib.config import Settings
    from octolib.fake import DEMO_API_KEY, FakeAccount, FakeServer
    from octolib.store import connect
    from octolib.sync import run_sync

    store = connect(Settings(data_dir=data_dir))
    try:
        if store.sync_runs.find_one({"status": "succeeded"}):
            return
        t = time.perf_counter()
        account = FakeAccount.generate(seed=7, size="demo")
        with FakeServer(account, api_key=DEMO_API_KEY, rate_per_s=1000, burst=1000) as srv:
            client = EmailOctopusClient(DEMO_API_KEY, srv.base_url, rate_per_s=1000, burst=1000)
            run_sync(store, client, full=True, progress=False)
        print(f"synced the demo account in {time.perf_counter() - t:.1f} s")
    finally:
        store.close()


def define_partners(data_dir: Path) -> list[str]:
    """Ten partners over the demo account, mixing every kind of campaign rule."""
    from octolib.config import Settings
    from octolib.reports.partners import save_partner
    from octolib.store import connect

    store = connect(Settings(data_dir=data_dir))
    try:
        lists = sorted(d["emailoctopus_id"] for d in store.lists.find({}, {"emailoctopus_id": 1}))
        names = sorted({d["name"].split(" — ")[0] for d in store.campaigns.find({}, {"name": 1})})
        ids = [d["emailoctopus_id"] for d in store.campaigns.find({"status": "sent"}, {"emailoctopus_id": 1})]
        rules: list[dict] = [{"list_ids": lists}]
        rules += [{"list_ids": [lst]} for lst in lists]
        rules += [{"name_pattern": "^" + n} for n in names]
        rules += [{"ids": ids[i::3]} for i in range(3)]
        rules += [{"subject_pattern": "new|update", "list_ids": lists[:1]}]
        colours = ["#1F6FEB", "#C0392B", "#0B6E4F", "#8E44AD", "#D35400", "#2C3E50", "#16A085", "#7F8C8D",
                   "#B7950B", "#1A5276"]
        slugs = []
        for i, rule in enumerate(rules[:10]):
            slug = f"partner-{i + 1:02d}"
            save_partner(store, {"slug": slug, "name": f"Partner {i + 1:02d}", "brand_colour": colours[i],
                                 "campaigns": rule, "default_range": "last_quarter",
                                 "note": "Benchmark partner."})
            slugs.append(slug)
        return slugs
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--all-templates", action="store_true", help="the batch runs every template per partner")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    for noisy in ("choreographer", "kaleido", "papermill", "octolib.store.core"):
        logging.getLogger(noisy).setLevel(logging.ERROR)

    from octolib.config import Settings
    from octolib.reports.runner import ReportRequest, run_batch
    from octolib.reports.templates import TEMPLATES

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="octo-bench-reports-"))
    sync_demo(data_dir)
    slugs = define_partners(data_dir)
    settings = Settings(data_dir=data_dir)
    print(f"data: {data_dir}; {os.cpu_count()} cores; workers {args.workers}")

    t = time.perf_counter()
    one = run_batch(settings, [ReportRequest(slugs[0], name) for name in TEMPLATES], workers=args.workers)
    wall_one = time.perf_counter() - t
    print(f"\none partner, three reports (batch wall {wall_one:.1f} s):")
    for r in one.results:
        pages = ""
        if r.pdf is not None:
            try:
                import pypdf

                pages = f", {len(pypdf.PdfReader(str(r.pdf)).pages)} pages"
            except ImportError:
                pass
        print(f"  {r.request.template:22} {r.status:9} {r.duration_s:5.1f} s{pages}")

    templates = list(TEMPLATES) if args.all_templates else ["campaign_summary"]
    requests = [ReportRequest(s, name) for s in slugs for name in templates]
    t = time.perf_counter()
    batch = run_batch(settings, requests, workers=args.workers)
    wall = time.perf_counter() - t
    per = [r.duration_s for r in batch.results]
    print(f"\nbatch of {len(slugs)} partners x {len(templates)} template(s) = {len(requests)} reports: "
          f"wall {wall:.1f} s, {len(batch.succeeded)} ok, {len(batch.failed)} failed")
    print(f"  per report: median {statistics.median(per):.1f} s, max {max(per):.1f} s")
    for r in batch.failed:
        print(f"  FAILED {r.request.partner}/{r.request.template}: {r.error}")
    return 0 if not (one.failed or batch.failed) else 1


if __name__ == "__main__":
    sys.exit(main())
