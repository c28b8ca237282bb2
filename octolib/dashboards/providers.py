"""The "Deliverability by mailbox provider" section, shared by the campaign detail and lists pages.

Recipients per provider: the stored ``sent`` events when the sync keeps them
(``OCTO_SYNC_SENT_EVENTS=1``: exact); otherwise an estimate, the contacts of the campaign's
lists who existed when it was sent (pending contacts left out; a contact who unsubscribed
before the send cannot be told apart and is counted). The section says which it used, and
compares the recipients found with the summary's ``sent``. Rates resting on fewer than
:data:`~octolib.metrics.SMALL_DENOMINATOR` are marked, as in the reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from octolib.dashboards.data import DashboardData
from octolib.dashboards.widgets import esc
from octolib.metrics import RATES, format_count, index_of
from octolib.metrics.providers import PROVIDER_RATES, ProviderCounts, provider_counts, provider_of, provider_table
from octolib.reports.builders.common import SMALL_NOTE, rate_cell

__all__ = ["ProviderView", "provider_view", "provider_html"]


@dataclass(frozen=True)
class ProviderView:
    """Counts per (campaign, provider) of the chosen campaigns, and how recipients were found."""

    counts: ProviderCounts
    exact: bool  # recipients from stored ``sent`` events (else estimated from list membership)
    recipients: int
    summary_sent: int


def provider_view(data: DashboardData, campaign_ids: Sequence[str]) -> ProviderView:
    """Recipients and events of ``campaign_ids`` grouped by provider (summed over the campaigns
    when several are given: rows are then per provider, campaign ``*``)."""
    t = data.campaigns()
    wanted = [str(c) for c in campaign_ids]
    contacts = data.contacts()
    email_of = dict(zip(contacts["contact_id"].tolist(), contacts["email"].tolist()))
    events = data.events()  # every type in one read; "sent" below then comes from the cache
    sent_ev = data.events(["sent"])
    has_sent = index_of(sent_ev["campaign_id"], wanted) >= 0
    exact = bool(has_sent.any())
    # Rows of each list's contacts, found once: looking them up per campaign over every
    # contact cost campaigns x contacts (the lists page asks for every sent campaign).
    by_list = _rows_by_list(contacts["list_id"]) if not exact else {}
    eligible = (contacts["status"] != "pending") & ~np.isnat(contacts["created_at"])
    no_rows = np.zeros(0, dtype=np.int64)
    rc: list[str] = []
    rid: list[str] = []
    summary_sent = 0
    for cid in wanted:
        i = t.index(cid)
        if i < 0:
            continue
        summary_sent += int(t.cols["sent"][i])
        if exact:
            mine = sent_ev["contact_id"][sent_ev["campaign_id"] == cid]
        else:
            lists = t.cols["list_ids"][i] if "list_ids" in t.cols else (t.cols["list_id"][i],)
            sent_at = t.cols["sent_at"][i]
            rows = np.concatenate([by_list.get(str(lst), no_rows) for lst in dict.fromkeys(lists)] or [no_rows])
            ok = rows[eligible[rows] & (contacts["created_at"][rows] <= sent_at)]
            mine = np.unique(contacts["contact_id"][ok])
        rc.extend([cid] * len(mine))
        rid.extend(str(x) for x in mine)
    # index_of, not np.isin: isin compares object arrays pairwise (events x campaigns).
    ev = index_of(events["campaign_id"], wanted) >= 0
    ev_ids = events["contact_id"][ev]
    many = len(wanted) > 1
    # Each address's provider once, not once per recipient and event.
    provider_by_id = dict(zip(email_of, provider_of([str(e or "") for e in email_of.values()]).tolist()))
    unknown = str(provider_of([""])[0])
    counts = provider_counts(
        ["*" if many else c for c in rc], [provider_by_id.get(x, unknown) for x in rid],
        np.full(len(ev_ids), "*", dtype=object) if many else events["campaign_id"][ev],
        [provider_by_id.get(str(x), unknown) for x in ev_ids], events["event_type"][ev])
    return ProviderView(counts, exact, len(rid), summary_sent)


def _rows_by_list(list_ids: np.ndarray) -> dict[str, np.ndarray]:
    """Row numbers of each list's contacts, ascending (one stable sort, not a scan per list)."""
    if not len(list_ids):
        return {}
    keys = list_ids.astype(str)
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(ordered)]
    return {str(ordered[a]): order[a:b] for a, b in zip(starts, ends)}


def provider_html(view: ProviderView) -> str:
    """The section's table: one row per provider, the rates of :data:`PROVIDER_RATES`."""
    table = provider_table()
    c = view.counts
    if not len(c):
        return '<div class="octo-muted" data-providers="empty">No recipients or events to group by provider.</div>'
    rates = c.rates()
    head = "".join(f'<th class="num">{esc(RATES[r].label)}</th>' for r in PROVIDER_RATES)
    rows = []
    for k in range(len(c)):
        sent, delivered = int(c.counts["sent"][k]), int(c.counts["delivered"][k])
        cells = []
        for r in PROVIDER_RATES:
            n = sent if RATES[r].denominator == ("sent",) else delivered
            cells.append(f'<td class="num">{esc(rate_cell(float(rates[r][k]), n))}</td>')
        rows.append(f'<tr data-provider="{esc(c.provider[k])}"><td>{esc(table.label(str(c.provider[k])))}</td>'
                    f'<td class="num">{esc(format_count(sent))}</td>{"".join(cells)}</tr>')
    how = ("Recipients from the stored per-contact sends." if view.exact else
           "Recipients estimated from list membership at the time of sending (pending contacts left out; turn on "
           "OCTO_SYNC_SENT_EVENTS for exact recipients).")
    compare = (f" {format_count(view.recipients)} recipients found against {format_count(view.summary_sent)} sent "
               "in EmailOctopus's summary.")
    note = (f'<div class="octo-muted">Provider from the address\'s domain (table reviewed {esc(table.reviewed)}); '
            f'company domains are “other / business domains”. {esc(how)}{esc(compare)} Bounces are not split into '
            f'hard and soft per contact. {esc(SMALL_NOTE)}</div>')
    return (f'<table class="octo-table" data-table="providers"><tr><th>Mailbox provider</th>'
            f'<th class="num">Recipients</th>{head}</tr>{"".join(rows)}</table>{note}')
