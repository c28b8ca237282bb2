"""Automated-activity detection against the planted truth of the local account (issue 14).

Run by hand: ``.venv/bin/python benchmarks/bench_automation.py [--seed 7] [--size demo]
[--seeds 7,11,23]``. Prints, per account, every rule's precision (flagged events that were
planted automated) and recall (planted automated events of the rule's kind it caught),
each planted pattern's catch rate, the overall recall and the share of human events
flagged (targets: >= 90 % and <= 2 %), the human clicks without an open that timing flags,
and the time detection took. Asserts nothing.

The events are those the sync would store (the per-contact report rows folded by the sync's
own ``event_docs``); the truth is :meth:`FakeAccount.automation_truth`, never served by the
API. See :mod:`octolib.fake.automation_truth`.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from octolib.fake import FakeAccount
from octolib.fake.automation_truth import score_account
from octolib.metrics.automation import CLICK_RULES, OPEN_RULES

PATTERNS = ("proxy_prefetch", "scanner_on_delivery", "scanner_batch")


def report(seed: int, size: str) -> None:
    account = FakeAccount.generate(seed=seed, size=size)
    started = time.perf_counter()
    s = score_account(account)
    kinds = np.array([k for _, _, k in s.keys], dtype=object)
    planted = s.truth != None  # noqa: E711 - object array
    human = ~planted
    print(f"\naccount seed {seed}, size {size}: {len(s.keys)} opens and clicks as stored, "
          f"{int(planted.sum())} planted automated ({time.perf_counter() - started:.2f} s to fold, detect and score)")
    print(f"{'rule':<22}{'kind':<8}{'flagged':>9}{'precision':>11}{'recall':>9}")
    for name in OPEN_RULES + CLICK_RULES:
        kind = "opened" if name in OPEN_RULES else "clicked"
        fired = s.rules[name]
        of_kind = planted & (kinds == kind)
        hit = int((fired & planted).sum())
        precision = hit / fired.sum() if fired.any() else float("nan")
        recall = int((fired & of_kind).sum()) / of_kind.sum() if of_kind.any() else float("nan")
        print(f"{name:<22}{kind:<8}{int(fired.sum()):>9}{precision:>11.3f}{recall:>9.3f}")
    for pattern in PATTERNS:
        mine = s.truth == pattern
        print(f"planted {pattern:<22} caught {int((s.automated & mine).sum()):>5} of {int(mine.sum()):>5}"
              f" ({(s.automated & mine).sum() / max(mine.sum(), 1):.1%})")
    recall = (s.automated & planted).sum() / planted.sum()
    flagged_human = (s.automated & human).sum()
    precision = (s.automated & planted).sum() / max(s.automated.sum(), 1)
    print(f"overall: precision {precision:.3f}, recall {recall:.1%} (target >= 90%), human events flagged "
          f"{int(flagged_human)} of {int(human.sum())} = {flagged_human / human.sum():.2%} (target <= 2%)")
    opened = {(c, p) for c, p, k in s.keys if k == "opened"}
    lone = np.array([k == "clicked" and (c, p) not in opened for c, p, k in s.keys]) & human
    print(f"human clicks without an open (images blocked): {int(lone.sum())}, flagged by timing "
          f"{int((s.automated & lone).sum())} (clicked within seconds of the send or inside a scanners' burst)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--seeds", default="", help="comma-separated seeds (overrides --seed)")
    parser.add_argument("--size", default="demo")
    args = parser.parse_args(argv)
    seeds = [int(x) for x in args.seeds.split(",") if x.strip()] or [args.seed]
    for seed in seeds:
        report(seed, args.size)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
