"""Reconciliation: a campaign's three reports must tell one story, and each sync checks it.

Why: EmailOctopus reports a campaign three ways — the summary (``/reports/summary``: unique
and total opens and clicks), the per-contact rows (``/reports?status=opened|clicked``: one
row per contact) and the per-link totals (``/reports/links``: clicks per URL, no contact
ids). They are three views of one truth, so after a sync:

- ``unique opens``: the summary's unique opens = the contacts with an ``opened`` row;
- ``unique clicks``: the summary's unique clicks = the contacts with a ``clicked`` row;
- ``link clicks``: the summary's total clicks = the sum of the links' total clicks.

A difference means a partial read (a report page skipped with a warning), a campaign still
changing between the requests, or a fault on EmailOctopus's side; the numbers shown are
then not defensible, so the sync records it (on the run: ``reconciliation``; on the
campaign: ``reconciliation``) and every surface says so instead of hiding it.

A campaign is checked when its per-contact reports are read (a new or changed campaign),
because only then are its three views from the same sync; its last result stays on the
campaign document until then.

Shapes written::

    campaigns.reconciliation = {status: "agree" | "differ", checked_at, run_id,
                                differences: [{check, summary, found, by}]}
        (written only when the result changes: ``checked_at``/``run_id`` say since when and by
        which run it holds, so a sync that finds what the last one found writes nothing)
    sync_runs.reconciliation = {checked: int, differ: [{campaign_id, name, check, summary, found, by}]}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from octolib.store import Store, iter_batches

__all__ = ["Difference", "CampaignEvents", "read_campaign_events", "compare_views", "reconcile_campaign", "run_badge",
           "differing_campaigns", "campaign_result", "results_for", "report_note",
           "describe", "badge_text", "AGREE", "DIFFER"]

AGREE = "agree"
DIFFER = "differ"


@dataclass(frozen=True)
class Difference:
    """One check that failed: what the summary says, what the other view found, and by how much
    (``by`` = found − summary: negative when the rows or links fall short)."""

    check: str
    summary: int
    found: int

    @property
    def by(self) -> int:
        return self.found - self.summary

    def as_dict(self) -> dict[str, Any]:
        return dict(asdict(self), by=self.by)


@dataclass(frozen=True)
class CampaignEvents:
    """The contacts with an ``opened`` and with a ``clicked`` row in one campaign's stored events."""

    opened: frozenset[str]
    clicked: frozenset[str]

    @property
    def clicked_without_open(self) -> int:
        return len(self.clicked - self.opened)


def events_of(rows: Iterable[Mapping[str, Any]]) -> CampaignEvents:
    """:class:`CampaignEvents` from event documents (``contact_id``, ``event_type``).

    >>> e = events_of([{"contact_id": "a", "event_type": "opened"}, {"contact_id": "b", "event_type": "clicked"}])
    >>> sorted(e.opened), sorted(e.clicked), e.clicked_without_open
    (['a'], ['b'], 1)
    """
    opened: set[str] = set()
    clicked: set[str] = set()
    for ev in rows:
        kind = ev.get("event_type")
        if kind == "opened":
            opened.add(str(ev.get("contact_id")))
        elif kind == "clicked":
            clicked.add(str(ev.get("contact_id")))
    return CampaignEvents(frozenset(opened), frozenset(clicked))


def read_campaign_events(store: Store, campaign_id: str) -> CampaignEvents:
    """The stored events of ``campaign_id``, read once (the query names only the campaign: a
    query on ``event_type`` makes the embedded store copy most of the collection)."""
    rows = (d for batch in iter_batches(store.engagement_events, {"campaign_id": campaign_id},
                                        {"_id": 0, "contact_id": 1, "event_type": 1}) for d in batch)
    return events_of(rows)


def compare_views(summary: Mapping[str, Any], events: CampaignEvents, link_clicks: int | None) -> list[Difference]:
    """The checks of the module doc that fail. ``summary`` is ``current_metrics``; ``link_clicks``
    is the sum of the links' ``clicked_total`` (``None``: no links report stored, not checked).

    >>> ev = CampaignEvents(frozenset("abc"), frozenset("a"))
    >>> compare_views({"opened": 3, "clicked": 1, "clicked_total": 2}, ev, 2)
    []
    >>> [d.as_dict() for d in compare_views({"opened": 5, "clicked": 1, "clicked_total": 2}, ev, 4)]
    [{'check': 'unique opens', 'summary': 5, 'found': 3, 'by': -2}, {'check': 'link clicks', 'summary': 2, 'found': 4, 'by': 2}]
    """
    out = []
    pairs = [("unique opens", summary.get("opened"), len(events.opened)),
             ("unique clicks", summary.get("clicked"), len(events.clicked))]
    if link_clicks is not None:
        pairs.append(("link clicks", summary.get("clicked_total"), link_clicks))
    for check, said, found in pairs:
        if isinstance(said, (int, float)) and int(said) != int(found):
            out.append(Difference(check, int(said), int(found)))
    return out


def _link_clicks(store: Store, campaign_id: str) -> int | None:
    docs = list(store.campaign_links.find({"campaign_id": campaign_id}, {"_id": 0, "clicked_total": 1}))
    if not docs:
        return None
    return sum(int(d.get("clicked_total") or 0) for d in docs)


def reconcile_campaign(store: Store, campaign_id: str, metrics: Mapping[str, Any], events: CampaignEvents,
                       now: datetime, run_id: Any) -> list[Difference]:
    """Compare the three views of one campaign and keep the result on its document."""
    differences = compare_views(metrics, events, _link_clicks(store, campaign_id))
    status, found = DIFFER if differences else AGREE, [d.as_dict() for d in differences]
    old = (store.campaigns.find_one({"emailoctopus_id": campaign_id}, {"_id": 0, "reconciliation": 1}) or {}
           ).get("reconciliation")
    if isinstance(old, Mapping) and old.get("status") == status and old.get("differences") == found:
        return differences  # the same result as before: nothing to write (a quiet sync writes nothing)
    store.campaigns.update_one({"emailoctopus_id": campaign_id}, {"$set": {"reconciliation": {
        "status": status, "checked_at": now, "run_id": run_id, "differences": found}}})
    return differences


def describe(differences: Sequence[Mapping[str, Any]]) -> str:
    """One phrase for a campaign's differences, as the badges and the PDF footer print it.

    >>> describe([{"check": "unique opens", "summary": 40, "found": 33, "by": -7}])
    'unique opens: summary 40, per-contact rows 33 (differ by 7)'
    """
    parts = []
    for d in differences:
        other = "sum of link clicks" if d.get("check") == "link clicks" else "per-contact rows"
        parts.append(f"{d.get('check')}: summary {d.get('summary')}, {other} {d.get('found')} "
                     f"(differ by {abs(int(d.get('by') or 0))})")
    return "; ".join(parts)


def badge_text(result: Mapping[str, Any] | None) -> tuple[str, str]:
    """(kind, text) of a campaign's reconciliation badge: ``ok`` / ``warn`` / ``muted``.

    >>> badge_text({"status": "agree", "differences": []})
    ('ok', 'Numbers agree: summary, per-contact rows and link totals')
    >>> badge_text(None)[0]
    'muted'
    """
    if not isinstance(result, Mapping) or result.get("status") not in (AGREE, DIFFER):
        return "muted", "Not reconciled yet: the next sync that reads this campaign's reports checks it"
    if result["status"] == AGREE:
        return "ok", "Numbers agree: summary, per-contact rows and link totals"
    return "warn", "Numbers differ — " + describe(result.get("differences") or [])


def run_badge(run: Mapping[str, Any] | None) -> tuple[str, str]:
    """(kind, text) of one sync run's reconciliation, as the Sync page shows it.

    >>> run_badge({"reconciliation": {"checked": 4, "differ": []}})
    ('ok', 'Numbers agree: 4 campaigns reconciled (summary = per-contact rows = link totals)')
    >>> run_badge({"reconciliation": {"checked": 4, "differ": [{"campaign_id": "c", "name": "May",
    ...     "check": "unique opens", "summary": 9, "found": 2, "by": -7}]}})[1]
    'Numbers differ in 1 of 4 campaigns reconciled — May: unique opens: summary 9, per-contact rows 2 (differ by 7)'
    """
    rec = (run or {}).get("reconciliation")
    if not isinstance(rec, Mapping):
        return "info", "Not reconciled: this run was made before syncs checked their numbers"
    checked = int(rec.get("checked") or 0)
    differ = list(rec.get("differ") or [])
    if not checked:
        return "info", ("No campaign's reports were read in this run, so none was reconciled "
                        "(each campaign keeps the result of its last check)")
    if not differ:
        return "ok", f"Numbers agree: {checked} campaign{'s' if checked != 1 else ''} reconciled " \
                     "(summary = per-contact rows = link totals)"
    by_campaign: dict[str, list[Mapping[str, Any]]] = {}
    for d in differ:
        by_campaign.setdefault(str(d.get("name") or d.get("campaign_id")), []).append(d)
    parts = "; ".join(f"{name}: {describe(ds)}" for name, ds in by_campaign.items())
    return "warn", f"Numbers differ in {len(by_campaign)} of {checked} campaigns reconciled — {parts}"


def differing_campaigns(store: Store) -> list[dict[str, Any]]:
    """Campaigns whose last check found differences: ``{campaign_id, name, differences}``."""
    docs = store.campaigns.find({"reconciliation.status": DIFFER},
                                {"_id": 0, "emailoctopus_id": 1, "name": 1, "reconciliation": 1})
    return [{"campaign_id": d["emailoctopus_id"], "name": d.get("name") or d["emailoctopus_id"],
             "differences": (d.get("reconciliation") or {}).get("differences") or []} for d in docs]


def campaign_result(store: Store, campaign_id: str) -> dict[str, Any] | None:
    """The last reconciliation of one campaign (``None``: never checked)."""
    doc = store.campaigns.find_one({"emailoctopus_id": campaign_id}, {"_id": 0, "reconciliation": 1})
    result = (doc or {}).get("reconciliation")
    return result if isinstance(result, dict) else None


def results_for(store: Store, campaign_ids: Iterable[str]) -> list[dict[str, Any]]:
    """``{campaign_id, name, reconciliation}`` of the named campaigns (one query), in id order."""
    ids = sorted({str(c) for c in campaign_ids})
    if not ids:
        return []
    docs = store.campaigns.find({"emailoctopus_id": {"$in": ids}},
                                {"_id": 0, "emailoctopus_id": 1, "name": 1, "reconciliation": 1})
    by_id = {d["emailoctopus_id"]: d for d in docs}
    return [{"campaign_id": cid, "name": (by_id.get(cid) or {}).get("name") or cid,
             "reconciliation": (by_id.get(cid) or {}).get("reconciliation")} for cid in ids]


def report_note(results: Sequence[Mapping[str, Any]]) -> tuple[str, str]:
    """(footer words, sentence) a report prints about its campaigns' reconciliation.

    Only the campaigns given are named, so a partner's report names only its own.

    >>> ok = {"status": "agree", "differences": []}
    >>> report_note([{"name": "May", "reconciliation": ok}])
    ('numbers reconciled', 'Reconciled at sync: for each of the 1 campaigns in this report, the summary, the per-contact rows and the link totals agree.')
    >>> bad = {"status": "differ", "differences": [{"check": "unique clicks", "summary": 5, "found": 4, "by": -1}]}
    >>> report_note([{"name": "May", "reconciliation": ok}, {"name": "June", "reconciliation": bad}])[0]
    'not reconciled: 1 campaign'
    """
    if not results:
        return "", ""
    differ = [r for r in results if (r.get("reconciliation") or {}).get("status") == DIFFER]
    unchecked = [r for r in results if (r.get("reconciliation") or {}).get("status") not in (AGREE, DIFFER)]
    n = len(results)
    if differ:
        parts = "; ".join(f"{r['name']}: {describe((r.get('reconciliation') or {}).get('differences') or [])}"
                          for r in differ)
        return (f"not reconciled: {len(differ)} campaign{'s' if len(differ) != 1 else ''}",
                f"Not reconciled: the summary, the per-contact rows and the link totals disagree for {parts}. "
                "The report prints the summary's numbers, as EmailOctopus reports them.")
    if unchecked:
        return (f"{len(unchecked)} campaign{'s' if len(unchecked) != 1 else ''} not yet reconciled",
                f"{len(unchecked)} of the {n} campaigns in this report were synced before syncs checked their "
                "numbers; the others' summary, per-contact rows and link totals agree.")
    return ("numbers reconciled",
            f"Reconciled at sync: for each of the {n} campaigns in this report, the summary, the per-contact rows "
            "and the link totals agree.")
