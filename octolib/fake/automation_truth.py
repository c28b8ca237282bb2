"""Detection measured against the planted truth of a local account (tests and benchmarks).

Why a module: the demo-scale check (recall and false positives) and
``benchmarks/bench_automation.py`` must score the same events the same way. The events are
what the sync would store: the account's per-contact report rows folded by the sync's own
:func:`~octolib.sync.documents.event_docs`, labelled by the sync's own
:func:`~octolib.sync.automation.label_events`. The truth is
:meth:`FakeAccount.automation_truth`, which the API never shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from octolib.api.models import ReportRow
from octolib.fake.account import FakeAccount
from octolib.metrics.automation import CLICK_RULES, OPEN_RULES, AutomationThresholds, detect_automation
from octolib.sync.automation import _seconds
from octolib.sync.documents import event_docs

__all__ = ["ScoredEvents", "score_account"]


@dataclass(frozen=True)
class ScoredEvents:
    """Every stored-shape open and click of an account, with the rules' verdicts and the truth."""

    keys: list[tuple[str, str, str]]  # (campaign_id, contact_id, event_type)
    rules: dict[str, np.ndarray]
    automated: np.ndarray  # bool: labelled automated by any rule
    truth: np.ndarray  # object: the planted pattern, or None (human)

    def precision_recall(self, mask: np.ndarray) -> tuple[float, float, int]:
        """(precision, recall over every planted event of the flagged kinds, flagged count)."""
        planted = self.truth != None  # noqa: E711 - object array
        hit = int((mask & planted).sum())
        flagged = int(mask.sum())
        precision = hit / flagged if flagged else float("nan")
        recall = hit / int(planted.sum()) if planted.any() else float("nan")
        return precision, recall, flagged


def score_account(account: FakeAccount, thresholds: AutomationThresholds | None = None) -> ScoredEvents:
    """Fold the account's opened/clicked rows as the sync does, detect, and attach the truth."""
    docs: list[dict[str, Any]] = []
    sent_at: dict[str, float] = {}
    for c in account.campaigns:
        if not c["sent_at"]:
            continue
        sent_at[c["id"]] = _seconds(datetime.fromisoformat(c["sent_at"]))
        for status in ("opened", "clicked"):
            rows = [ReportRow(campaign_id=c["id"], status=status, contact_id=r["contact_id"],
                              email_address=r["contact_email_address"],
                              occurred_at=datetime.fromisoformat(r["occurred_at"]), raw=r)
                    for r in account.report_rows(c["id"], status)]
            docs.extend(event_docs(c["id"], status, rows))
    camps = {c: i for i, c in enumerate(sent_at)}
    people: dict[str, int] = {}
    camp = np.array([camps[d["campaign_id"]] for d in docs], dtype=np.int64)
    who = np.array([people.setdefault(d["contact_id"], len(people)) for d in docs], dtype=np.int64)
    click = np.array([d["event_type"] == "clicked" for d in docs], dtype=bool)
    t = np.array([_seconds(d["occurred_at"]) for d in docs], dtype=np.float64)
    sent = np.array([sent_at[d["campaign_id"]] for d in docs], dtype=np.float64)
    result = detect_automation(camp, who, click, t, sent, thresholds)
    truth_map = account.automation_truth()
    keys = [(d["campaign_id"], d["contact_id"], d["event_type"]) for d in docs]
    truth = np.array([truth_map.get(k) for k in keys], dtype=object)
    rules = {name: result.rules[name] for name in OPEN_RULES + CLICK_RULES}
    return ScoredEvents(keys=keys, rules=rules, automated=result.machine_open | result.bot_click, truth=truth)
