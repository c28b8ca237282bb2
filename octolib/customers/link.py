"""Link contacts to customers: ``contacts.customer_id``, and a report of what matched.

A contact is linked by, in order:

1. the custom field named by ``OCTO_LINK_FIELD`` (e.g. ``CustomerId``) when it holds the id
   of a known customer: the owner put it there on purpose, so it wins over the address;
2. its address, normalised (trimmed, lower case, and with ``OCTO_LINK_STRIP_PLUS`` the
   ``+tag`` of the local part dropped), when exactly one customer has that address.

An address shared by two or more customers is *ambiguous*: the contact is not linked (a
wrong link is worse than none) and is listed in the report. Nothing but ``customer_id`` is
written to a contact, and only when it changes, so a second run writes nothing. The step
reads the addresses octopus already holds and makes no new copy of them (the report lists
contact ids, not addresses).

Cost: one projection of contacts and one of customers, no writes when nothing changed; it
returns at once when there are no customers, so accounts without them pay nothing.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from collections.abc import Callable
from typing import Any

from pymongo import UpdateOne

from octolib.config import Settings
from octolib.customers.source import CustomerSource
from octolib.store.core import iter_batches

__all__ = ["LinkOptions", "LinkReport", "AfterSyncLink", "normalise_email", "link_contacts", "link_after_sync",
           "last_link_report", "after_sync_hook"]

logger = logging.getLogger(__name__)
_REPORT_ID = "contacts"
_MAX_LISTED = 200


@dataclass(frozen=True)
class LinkOptions:
    """How contacts are matched (from ``OCTO_LINK_STRIP_PLUS`` and ``OCTO_LINK_FIELD``)."""

    strip_plus: bool = False
    field_tag: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> "LinkOptions":
        return cls(strip_plus=settings.link_strip_plus, field_tag=settings.link_field)


def normalise_email(address: Any, *, strip_plus: bool = False) -> str:
    """The form addresses are compared in: trimmed, lower case, optionally without ``+tag``.

    >>> normalise_email("  Ana.Reef+news@Example.COM ")
    'ana.reef+news@example.com'
    >>> normalise_email("Ana.Reef+news@Example.COM", strip_plus=True)
    'ana.reef@example.com'
    >>> normalise_email(None)
    ''
    """
    text = str(address or "").strip().lower()
    if strip_plus and "@" in text:
        local, _, domain = text.rpartition("@")
        text = f"{local.split('+', 1)[0]}@{domain}"
    return text


@dataclass
class LinkReport:
    """Counts of contacts: matched (by field, by address), unmatched, ambiguous; and what changed."""

    contacts: int = 0
    by_field: int = 0
    by_email: int = 0
    unmatched: int = 0
    ambiguous: int = 0
    changed: int = 0
    customers: int = 0
    customers_without_contact: int = 0
    ambiguous_contacts: list[dict[str, Any]] = field(default_factory=list)  # {contact_id, customer_ids}
    ran_at: datetime | None = None

    @property
    def matched(self) -> int:
        return self.by_field + self.by_email

    def as_document(self) -> dict[str, Any]:
        return {"contacts": self.contacts, "by_field": self.by_field, "by_email": self.by_email,
                "unmatched": self.unmatched, "ambiguous": self.ambiguous, "changed": self.changed,
                "customers": self.customers, "customers_without_contact": self.customers_without_contact,
                "ambiguous_contacts": self.ambiguous_contacts[:_MAX_LISTED], "ran_at": self.ran_at}

    def render(self) -> str:
        lines = [f"{self.contacts} contacts: {self.matched} linked ({self.by_email} by address, "
                 f"{self.by_field} by custom field), {self.unmatched} without a customer, "
                 f"{self.ambiguous} ambiguous (not linked)",
                 f"{self.customers} customers, {self.customers_without_contact} without a contact; "
                 f"{self.changed} contact(s) changed"]
        for amb in self.ambiguous_contacts[:20]:
            lines.append(f"  ambiguous: contact {amb['contact_id']} matches customers {', '.join(amb['customer_ids'])}")
        if self.ambiguous > 20:
            lines.append(f"  ... and {self.ambiguous - 20} more (octo link --json lists them all)")
        return "\n".join(lines)


def link_contacts(source: CustomerSource, options: LinkOptions | None = None, *, save: bool = True) -> LinkReport:
    """Set ``customer_id`` on every contact from the customers of ``source`` (see the module doc)."""
    options = options or LinkOptions()
    store = source.store
    report = LinkReport(ran_at=datetime.now(timezone.utc))
    if source.customers.find_one({}, {"_id": 1}) is None and store.contacts.find_one({"customer_id": {"$exists": True}}) is None:
        return report  # no customers and nothing linked: nothing to do
    email_field = source.email_field()
    by_address: dict[str, list[str]] = defaultdict(list)
    known: set[str] = set()
    for batch in iter_batches(source.customers, {}, {"_id": 1, email_field: 1}):
        for doc in batch:
            cid = str(doc["_id"])
            known.add(cid)
            address = normalise_email(doc.get(email_field), strip_plus=options.strip_plus)
            if address:
                by_address[address].append(cid)
    report.customers = len(known)
    projection: dict[str, Any] = {"_id": 1, "email": 1, "customer_id": 1}
    if options.field_tag:
        projection[f"fields.{options.field_tag}"] = 1
    ops: list[UpdateOne] = []
    linked: set[str] = set()
    for batch in iter_batches(store.contacts, {}, projection):
        for doc in batch:
            report.contacts += 1
            target: str | None = None
            tagged = (doc.get("fields") or {}).get(options.field_tag) if options.field_tag else None
            if tagged is not None and str(tagged).strip() in known:
                target = str(tagged).strip()
                report.by_field += 1
            else:
                candidates = by_address.get(normalise_email(doc.get("email"), strip_plus=options.strip_plus), [])
                if len(candidates) == 1:
                    target = candidates[0]
                    report.by_email += 1
                elif len(candidates) > 1:
                    report.ambiguous += 1
                    report.ambiguous_contacts.append({"contact_id": str(doc["_id"]), "customer_ids": sorted(candidates)})
                else:
                    report.unmatched += 1
            if target is not None:
                linked.add(target)
            if doc.get("customer_id") != target:
                update = {"$set": {"customer_id": target}} if target is not None else {"$unset": {"customer_id": ""}}
                ops.append(UpdateOne({"_id": doc["_id"]}, update))
    for start in range(0, len(ops), 1000):
        store.contacts.bulk_write(ops[start:start + 1000], ordered=False)
    report.changed = len(ops)
    report.customers_without_contact = len(known - linked)
    if save:
        store.link_reports.replace_one({"_id": _REPORT_ID}, {"_id": _REPORT_ID, **report.as_document()}, upsert=True)
    if report.changed:
        logger.info("linked contacts to customers: %d changed", report.changed)
    return report


def last_link_report(source: CustomerSource) -> dict[str, Any] | None:
    """The report of the last link run (as stored), or None."""
    return source.store.link_reports.find_one({"_id": _REPORT_ID})


#: The after-sync step's record of what it last linked against (see :func:`after_sync_hook`).
_STAMP_ID = "after-sync-stamp"


@dataclass(frozen=True)
class AfterSyncLink:
    """What the after-sync link step did: ``report`` when it linked, ``skipped`` (why) when not."""

    report: LinkReport | None
    skipped: str = ""

    def line(self) -> str:
        """One line for the sync's output."""
        if self.report is None:
            return f"customer link: skipped ({self.skipped})"
        r = self.report
        return (f"customer link: {r.matched} of {r.contacts} contacts linked, {r.changed} changed, "
                f"{r.ambiguous} ambiguous")


def _customers_fingerprint(source: CustomerSource) -> tuple[int, str]:
    """How many customers there are, and a digest of their ids and addresses (order included)."""
    email_field = source.email_field()
    digest = hashlib.sha256()
    count = 0
    for batch in iter_batches(source.customers, {}, {"_id": 1, email_field: 1}):
        for doc in batch:
            count += 1
            digest.update(f"{doc['_id']}\x00{doc.get(email_field)}\x01".encode())
    return count, digest.hexdigest()


def _runs_since(store: Any, since: datetime | None) -> tuple[datetime | None, bool]:
    """(start of the latest sync run, whether any run started after ``since`` may have changed
    contacts): it wrote some, or it did not succeed (its counts may be unsaved)."""
    latest: datetime | None = None
    changed = since is None
    for batch in iter_batches(store.sync_runs, {}, {"_id": 0, "started_at": 1, "status": 1, "counts": 1}, scan=True):
        for doc in batch:
            started = doc.get("started_at")
            if not isinstance(started, datetime):
                continue
            started = started if started.tzinfo else started.replace(tzinfo=timezone.utc)
            latest = started if latest is None or started > latest else latest
            if since is not None and started > since:
                written = (doc.get("counts") or {}).get("contacts") or {}
                if doc.get("status") != "succeeded" or int(written.get("inserted") or 0) + int(written.get("updated") or 0):
                    changed = True
    return latest, changed


def link_after_sync(source: CustomerSource, options: LinkOptions) -> AfterSyncLink:
    """Link contacts after a sync unless nothing it depends on changed since the last time.

    Why: linking reads every contact (seconds at tens of thousands), and most syncs change no
    contact. The step records what it linked against (``link_reports`` document
    ``after-sync-stamp``): the options, the customers' count and digest, the latest sync run,
    and how many contacts it linked. It skips when the options and customers are the same and
    no sync run since has written a contact (or failed part-way), or when there are no
    customers and none was linked last time. Only the sync writes contacts' addresses and
    fields, so a contact changed by hand in the store is not noticed: ``octo link`` always links.
    """
    store = source.store
    stamp = store.link_reports.find_one({"_id": _STAMP_ID}) or {}
    count, digest = _customers_fingerprint(source)
    since = stamp.get("latest_run_started_at")
    if isinstance(since, datetime) and since.tzinfo is None:
        since = since.replace(tzinfo=timezone.utc)
    latest, contacts_changed = _runs_since(store, since if isinstance(since, datetime) else None)
    wanted_options = {"strip_plus": options.strip_plus, "field_tag": options.field_tag}
    if stamp and count == 0 and not stamp.get("linked"):
        return AfterSyncLink(None, "no customers, and no contact was linked before")
    if stamp and stamp.get("options") == wanted_options and stamp.get("customers") == count \
            and stamp.get("customers_digest") == digest and not contacts_changed:
        return AfterSyncLink(None, "no contact or customer changed since the last link")
    report = link_contacts(source, options)
    store.link_reports.replace_one({"_id": _STAMP_ID}, {
        "_id": _STAMP_ID, "options": wanted_options, "customers": count, "customers_digest": digest,
        "latest_run_started_at": latest, "linked": report.matched, "linked_at": report.ran_at}, upsert=True)
    return AfterSyncLink(report)


def after_sync_hook(settings: Settings) -> Callable[[Any], object]:
    """The step ``run_sync(after=...)`` runs after each successful sync: link contacts to
    customers (:func:`link_after_sync`: skipped when nothing it depends on changed) and
    campaigns to projects, with the settings' options. Returns an :class:`AfterSyncLink`,
    whose :meth:`~AfterSyncLink.line` the sync prints."""
    from octolib.customers.projects import link_projects
    from octolib.customers.source import SourceConfig, open_source

    def hook(store: Any) -> object:
        source = open_source(store, SourceConfig.from_settings(settings))
        outcome = link_after_sync(source, LinkOptions.from_settings(settings))
        if store.project_rules.find_one({}, {"_id": 1}) is not None:
            link_projects(source)
        return outcome

    return hook
