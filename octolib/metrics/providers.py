"""Mailbox providers: which company's servers receive an address, and deliverability per provider.

Why: a campaign's bounce or open rate is an average over mailbox providers that filter very
differently (a block at one provider hides inside a healthy average). Grouping recipients by
the provider behind their domain shows where mail is refused, junked or unread.

The domain table is data (``providers.json`` beside this module: its ``about`` names the
sources and the review date); an address whose domain is not listed is "other / business
domains" (a company's own domain may well be hosted by Google or Microsoft, but nothing in an
address says so: no MX lookups are made).

Per provider, the counts are named like ``campaigns.current_metrics`` (``sent``,
``delivered``, ``opened``, ``clicked``, ``bounced_hard``, ``bounced_soft``,
``spam_complaints``), so the rates come from the one rate table
(:data:`octolib.metrics.rate_specs.RATES`). The per-contact ``bounced`` report does not say
hard or soft: every bounce is counted in ``bounced_hard`` with ``bounced_soft`` zero, so only
the sum (``bounce_rate``, ``delivered_rate``) is meaningful per provider.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from octolib.metrics.grouping import index_of
from octolib.metrics.rate_specs import RATES

__all__ = ["ProviderTable", "Provider", "provider_table", "provider_of", "provider_counts", "ProviderCounts",
           "ProviderView", "provider_view", "PROVIDER_RATES", "OTHER"]

TABLE_PATH = Path(__file__).with_name("providers.json")
#: The rates shown per provider (rows of :data:`RATES`).
PROVIDER_RATES: tuple[str, ...] = ("delivered_rate", "bounce_rate", "open_rate", "click_rate", "complaint_rate")
OTHER = "other"


@dataclass(frozen=True)
class Provider:
    key: str
    label: str
    domains: tuple[str, ...]


@dataclass(frozen=True)
class ProviderTable:
    """The providers in display order (``other`` last) and the domain → key lookup."""

    providers: tuple[Provider, ...]
    by_domain: dict[str, str]
    reviewed: str
    about: str

    def label(self, key: str) -> str:
        return next((p.label for p in self.providers if p.key == key), key)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(p.key for p in self.providers)


@lru_cache(maxsize=1)
def provider_table(path: str = str(TABLE_PATH)) -> ProviderTable:
    """The table from ``providers.json``; a domain listed twice is an error (it would be
    counted for whichever came first)."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    providers = [Provider(p["key"], p["label"], tuple(d.lower() for d in p["domains"])) for p in raw["providers"]]
    providers.append(Provider(raw["other"]["key"], raw["other"]["label"], ()))
    by_domain: dict[str, str] = {}
    for p in providers:
        for d in p.domains:
            if d in by_domain:
                raise ValueError(f"{path}: domain {d!r} is listed for both {by_domain[d]} and {p.key}")
            by_domain[d] = p.key
    return ProviderTable(tuple(providers), by_domain, str(raw.get("reviewed") or ""), str(raw.get("about") or ""))


def provider_of(emails: ArrayLike, table: ProviderTable | None = None) -> np.ndarray:
    """The provider key of each address (object array); ``other`` for unknown or malformed.

    >>> provider_of(["Ann@GMail.com", "bo@hotmail.co.uk", "cy@acme.example", "broken", None]).tolist()
    ['gmail', 'microsoft', 'other', 'other', 'other']
    """
    t = table or provider_table()
    arr = np.asarray(emails, dtype=object).reshape(-1)
    out = np.empty(arr.shape, dtype=object)
    lookup = t.by_domain
    for i, email in enumerate(arr):
        text = str(email) if email is not None else ""
        at = text.rfind("@")
        out[i] = lookup.get(text[at + 1:].strip().lower(), OTHER) if at >= 0 else OTHER
    return out


@dataclass(frozen=True)
class ProviderCounts:
    """Counts per (campaign, provider) row, ``current_metrics`` names; aligned arrays."""

    campaign_id: np.ndarray
    provider: np.ndarray
    counts: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.provider)

    def rates(self) -> dict[str, np.ndarray]:
        """Each of :data:`PROVIDER_RATES` per row, from the rate table (NaN: nothing to divide by)."""
        return {name: RATES[name].values(self.counts) for name in PROVIDER_RATES}


def provider_counts(recipient_campaign: ArrayLike, recipient_provider: ArrayLike, event_campaign: ArrayLike,
                    event_provider: ArrayLike, event_type: ArrayLike,
                    order: tuple[str, ...] | None = None) -> ProviderCounts:
    """Per (campaign, provider): recipients and contacts with each event, one row per pair
    with recipients or events, campaigns in first-seen order, providers in ``order``.

    Recipients are one row per (campaign, contact); events one row per (campaign, contact,
    type), as stored. An event whose contact is not among the recipients still counts (the
    inputs then disagree and the rate may pass 100 %: shown, not clipped).

    >>> c = provider_counts(["m", "m", "m"], ["gmail", "gmail", "other"], ["m", "m", "m"],
    ...                     ["gmail", "gmail", "other"], ["opened", "bounced", "opened"])
    >>> c.provider.tolist(), c.counts["sent"].tolist(), c.counts["delivered"].tolist(), c.counts["opened"].tolist()
    (['gmail', 'other'], [2, 1], [1, 1], [1, 1])
    >>> [round(float(x), 2) for x in c.rates()["bounce_rate"]]
    [0.5, 0.0]
    """
    rc = np.asarray(recipient_campaign, dtype=object).reshape(-1)
    rp = np.asarray(recipient_provider, dtype=object).reshape(-1)
    ec = np.asarray(event_campaign, dtype=object).reshape(-1)
    ep = np.asarray(event_provider, dtype=object).reshape(-1)
    et = np.asarray(event_type, dtype=object).reshape(-1)
    keys = order or provider_table().keys
    campaigns = list(dict.fromkeys([*rc.tolist(), *ec.tolist()]))
    pairs = [(c, p) for c in campaigns for p in keys]
    index = {pair: i for i, pair in enumerate(pairs)}
    n = len(pairs)

    def count(campaign: np.ndarray, provider: np.ndarray) -> np.ndarray:
        idx = np.fromiter((index.get((c, p), -1) for c, p in zip(campaign, provider)), dtype=np.int64,
                          count=len(campaign))
        return np.bincount(idx[idx >= 0], minlength=n).astype(np.int64)

    sent = count(rc, rp)
    per_type = {t: count(ec[et == t], ep[et == t]) for t in ("opened", "clicked", "bounced", "complained")}
    keep = (sent + sum(per_type.values())) > 0
    counts = {
        "sent": sent[keep],
        "bounced_hard": per_type["bounced"][keep],
        "bounced_soft": np.zeros(int(keep.sum()), dtype=np.int64),
        "delivered": (sent - per_type["bounced"])[keep],
        "opened": per_type["opened"][keep],
        "clicked": per_type["clicked"][keep],
        "spam_complaints": per_type["complained"][keep],
    }
    counts["bounced"] = counts["bounced_hard"]
    cids = np.array([c for c, _ in pairs], dtype=object)[keep]
    provs = np.array([p for _, p in pairs], dtype=object)[keep]
    return ProviderCounts(cids, provs, counts)


@dataclass(frozen=True)
class ProviderView:
    """Counts per (campaign, provider) of the chosen campaigns, and how recipients were found."""

    counts: ProviderCounts
    exact: bool  # recipients from stored ``sent`` events (else estimated from list membership)
    recipients: int
    summary_sent: int


def provider_view(campaign_ids: Sequence[str], campaigns: Mapping[str, np.ndarray],
                  contacts: Mapping[str, np.ndarray], events: Mapping[str, np.ndarray]) -> ProviderView:
    """Recipients and events of ``campaign_ids`` grouped by provider (summed over the campaigns
    when several are given: rows are then per provider, campaign ``*``). The one definition the
    pages (campaign detail, lists) and the PDF's providers section print.

    Recipients: the stored ``sent`` events when the chosen campaigns have any (exact);
    otherwise an estimate, the contacts of each campaign's lists who existed when it was sent
    (pending contacts left out; a contact who unsubscribed before the send cannot be told apart
    and is counted). ``summary_sent`` is EmailOctopus's own count, to set the recipients found
    against (never scaled to match).

    Inputs are reader columns: ``campaigns`` as ``campaign_arrays`` (``campaign_id``, ``sent``,
    ``sent_at``, ``list_ids`` or ``list_id``); ``contacts`` as ``contact_arrays`` plus ``email``;
    ``events`` as ``event_arrays`` (``campaign_id``, ``contact_id``, ``event_type``; ``sent``
    rows included when stored). Campaign ids not in ``campaigns`` are skipped.
    """
    wanted = [str(c) for c in campaign_ids]
    row_of = {str(c): i for i, c in enumerate(campaigns["campaign_id"].tolist())}
    email_of = dict(zip(contacts["contact_id"].tolist(), contacts["email"].tolist()))
    ev_campaign = np.asarray(events["campaign_id"], dtype=object)
    ev_type = np.asarray(events["event_type"], dtype=object)
    ev_contact = np.asarray(events["contact_id"], dtype=object)
    # index_of, not np.isin: isin compares object arrays pairwise (events x campaigns).
    chosen = index_of(ev_campaign, wanted) >= 0
    is_sent = ev_type == "sent"
    exact = bool((chosen & is_sent).any())
    # Rows of each list's contacts, found once: looking them up per campaign over every contact
    # cost campaigns x contacts (the lists page asks for every sent campaign).
    by_list = _rows_by_list(np.asarray(contacts["list_id"])) if not exact else {}
    eligible = (contacts["status"] != "pending") & ~np.isnat(contacts["created_at"])
    no_rows = np.zeros(0, dtype=np.int64)
    rc: list[str] = []
    rid: list[str] = []
    summary_sent = 0
    for cid in wanted:
        i = row_of.get(cid, -1)
        if i < 0:
            continue
        summary_sent += int(campaigns["sent"][i])
        if exact:
            mine = ev_contact[is_sent & (ev_campaign == cid)]
        else:
            lists = campaigns["list_ids"][i] if "list_ids" in campaigns else (campaigns["list_id"][i],)
            sent_at = campaigns["sent_at"][i]
            rows = np.concatenate([by_list.get(str(lst), no_rows) for lst in dict.fromkeys(lists)] or [no_rows])
            ok = rows[eligible[rows] & (contacts["created_at"][rows] <= sent_at)]
            mine = np.unique(contacts["contact_id"][ok])
        rc.extend([cid] * len(mine))
        rid.extend(str(x) for x in mine)
    ev = chosen & ~is_sent
    ev_ids = ev_contact[ev]
    many = len(wanted) > 1
    # Each address's provider once, not once per recipient and event.
    provider_by_id = dict(zip(email_of, provider_of([str(e or "") for e in email_of.values()]).tolist()))
    unknown = str(provider_of([""])[0])
    counts = provider_counts(
        ["*" if many else c for c in rc], [provider_by_id.get(x, unknown) for x in rid],
        np.full(len(ev_ids), "*", dtype=object) if many else ev_campaign[ev],
        [provider_by_id.get(str(x), unknown) for x in ev_ids], ev_type[ev])
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
