"""The sync: copy an EmailOctopus account into the store, incrementally and resumably.

:func:`run_sync` (or :class:`SyncService`) is the single entry point; ``octo sync``,
``scripts/manual_sync.py`` and the demo call it. Stages, in order (``only`` picks some):

``lists``
    Every list, with fields and counts; a ``list_count_snapshots`` entry when counts change.
``contacts``
    Every stored list read for ``subscribed``, ``unsubscribed`` and ``pending`` (trap T3).
    Incremental runs ask only for contacts with ``last_updated_at >= watermark - overlap``,
    the watermark being the latest ``last_updated_at`` seen for that list and status.
``campaigns``
    Every campaign; for ``sending``/``sent`` ones the summary report (every run: it is how
    changes are noticed) and, when the summary changed or the campaign is still sending,
    the links report. ``current_metrics`` follows the summary; a campaign whose summary
    changed is queued for its per-contact reports, and its metrics snapshot waits for them
    (it needs ``clicked_without_open``, counted from the events: :mod:`~octolib.sync.derived`).
``reports``
    For each queued campaign, the per-contact reports (opened, clicked, bounced,
    complained, unsubscribed; ``sent`` too with ``sent_events``) into ``engagement_events``.
then the contacts' engagement summary is recomputed for the contacts of re-read campaigns.

``full=True`` ignores watermarks and re-reads every report. Errors: a page that breaks the
schema fails its stage (nothing of that page is written) and the run ends ``failed``; the
other stages still run. A 404 on a list or campaign (deleted mid-run) is a warning. Rate
limits, server errors and network failures that outlast the client's retries, and auth
errors, stop the run (``failed``); its checkpoints let the next run resume.

Only one sync runs at a time (the ``sync`` lock in ``locks``); a second one raises
:class:`SyncBusy`. The store is used only from the calling thread; worker threads only fetch.
"""

from __future__ import annotations

import getpass
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from octolib.api import EmailOctopusClient
from octolib.api.models import CONTACT_STATUSES
from octolib.errors import (
    APIError,
    AuthError,
    NotFound,
    OctoError,
    RateLimited,
    ServerError,
    TransportError,
    ValidationError,
    redact,
)
from octolib.store import Store, iter_batches
from octolib.store.locks import LockHeld, acquire_lock, new_owner, refresh_lock, release_lock
from octolib.sync.compare import as_utc, canon
from octolib.metrics.automation import AutomationThresholds
from octolib.sync.automation import carried_automation, stale_campaigns
from octolib.sync.derived import carried_clicked_without_open, finish_campaigns
from octolib.sync.documents import (
    EVENT_TYPES,
    REPORTABLE_STATUSES,
    campaign_doc,
    contact_doc,
    event_docs,
    link_doc,
    list_doc,
    metrics_from_summary,
)
from octolib.sync.runs import RunRecorder
from octolib.sync.streams import DONE, ERROR, PAGE, stream_units
from octolib.sync.writers import (
    Counts,
    contacts_with_events,
    refresh_contact_summaries,
    save_campaigns,
    save_contacts,
    save_events,
    save_links,
    save_lists,
    save_metric_snapshots,
)
from octolib.vocabulary import SYNC_STAGES

__all__ = ["SyncService", "SyncResult", "SyncBusy", "run_sync", "STAGES"]

log = logging.getLogger(__name__)

#: The stages ``only`` can name, in the order they run.
STAGES: tuple[str, ...] = SYNC_STAGES

#: About how many times a long stage saves its checkpoints (see ``SyncService._checkpoint``).
CHECKPOINTS_PER_STAGE = 200

#: ... and at most once per this many seconds (wall time): a save rewrites the run record
#: (tens of milliseconds on the embedded store), and an idle sync's steps are so quick that
#: saving ~200 times cost half of it. A resumed run redoes at most this much work.
CHECKPOINT_MIN_SECONDS = 1.0

LOCK_NAME = "sync"

# Errors after which talking to the API again is pointless in this run.
_FATAL = (RateLimited, ServerError, TransportError, AuthError)


class SyncBusy(OctoError):
    """Another sync holds the lock."""


class _StageFailed(Exception):
    """A stage could not finish; the cause is already recorded."""


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class SyncResult:
    """What a run did; the same figures are in its ``sync_runs`` document."""

    run_id: Any
    status: str
    full: bool
    only: list[str] | None
    started_at: datetime
    finished_at: datetime
    counts: dict[str, dict[str, int]]
    requests: int
    retries: int
    rate_limit_waits: int
    wait_seconds: float
    errors: list[dict[str, Any]] = field(default_factory=list)
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    resumed_from: Any = None
    #: what the step run after the sync did (e.g. "customer link: skipped (...)"), printed by :meth:`table`
    after_note: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    @property
    def seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    def written(self, collection: str) -> int:
        c = self.counts.get(collection, {})
        return int(c.get("inserted", 0)) + int(c.get("updated", 0))

    def table(self) -> str:
        """A plain-text summary table for the terminal."""
        rows = [("collection", "inserted", "updated", "unchanged")]
        for name in sorted(self.counts):
            c = self.counts[name]
            rows.append((name, str(c.get("inserted", 0)), str(c.get("updated", 0)), str(c.get("unchanged", 0))))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = ["  ".join(cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(r))
                 for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        head = (f"sync {self.status} in {self.seconds:.1f} s: {self.requests} requests, {self.retries} retries, "
                + (f"{self.rate_limit_waits} rate-limit waits (together {self.wait_seconds:.1f} s, "
                 f"summed over the parallel requests)" if self.rate_limit_waits else "no rate-limit waits")
                + (f"; resumed run {self.resumed_from}" if self.resumed_from else ""))
        out = [head, *lines]
        for err in self.errors:
            out.append(f"{err['level']}: [{err['stage']}] {err['message']}")
        if self.after_note:
            out.append(self.after_note)
        return "\n".join(out)


class _Progress:
    """tqdm bars when asked for, nothing otherwise (tests, cron)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def bar(self, desc: str, total: int | None, unit: str) -> Any:
        if not self.enabled:
            return _NoBar()
        from tqdm import tqdm

        return tqdm(total=total, desc=f"{desc:<9}", unit=f" {unit}", leave=True, dynamic_ncols=True)


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, s: str) -> None:
        pass

    def close(self) -> None:
        pass


class SyncService:
    """Runs syncs of one account (``client``) into one store.

    ``clock`` gives ``synced_at``/``snapshot_time`` (UTC now by default); ``overlap`` is how
    far before the watermark incremental contact reads start; ``workers`` bounds concurrent
    fetches (default: the client's ``max_workers``).
    """

    def __init__(
        self,
        store: Store,
        client: EmailOctopusClient,
        *,
        sent_events: bool = False,
        clock: Callable[[], datetime] = _utcnow,
        overlap: timedelta = timedelta(minutes=15),
        lock_ttl_s: float = 300.0,
        resume_window: timedelta = timedelta(hours=24),
        workers: int | None = None,
        automation: AutomationThresholds | None = None,
    ) -> None:
        self.store = store
        self.automation = automation or AutomationThresholds()
        self.client = client
        self.event_types: tuple[str, ...] = EVENT_TYPES + (("sent",) if sent_events else ())
        self.clock = clock
        self.overlap = overlap
        self.lock_ttl_s = lock_ttl_s
        self.resume_window = resume_window
        self.workers: int = workers if workers else getattr(client, "max_workers", 4)

    # -- the run ---------------------------------------------------------------------------

    def run(
        self,
        *,
        full: bool = False,
        only: Iterable[str] | None = None,
        trigger: str = "cli",
        user: str | None = None,
        progress: bool = False,
    ) -> SyncResult:
        """Run one sync; returns its result (``status`` says whether it succeeded).

        Raises :class:`SyncBusy` when another sync runs, and re-raises ``KeyboardInterrupt``
        after recording the run as ``interrupted``.
        """
        plan = self._plan(only)
        self.store.ensure_indexes()
        owner = new_owner(label=f"{trigger} sync by {user or _whoami()}")
        try:
            acquire_lock(self.store.locks, LOCK_NAME, owner, self.lock_ttl_s, now=self.clock())
        except LockHeld as exc:
            holder = exc.holder.get("owner") or {}
            raise SyncBusy(
                f"another sync is running ({holder.get('label', '?')}, pid {holder.get('pid')} on "
                f"{holder.get('host')}, since {exc.holder.get('acquired_at')}); only one sync runs at a time"
            ) from None
        self._owner = owner
        self._last_refresh = self.clock()
        self._steps = 0
        self._every = 1
        self._last_save = time.monotonic()
        self.rec = RunRecorder(self.store, trigger=trigger, user=user or _whoami(), full=full,
                               only=None if only is None else plan, clock=self.clock,
                               resume_window=self.resume_window)
        self.full = full
        self.progress = _Progress(progress)
        stats0 = self.client.stats
        status = "running"
        try:
            self.rec.start()
            failed = False
            aborted = False
            for stage in plan:
                if stage in self.rec.stages_done:
                    self.rec.stage_skipped(stage, f"done by run {self.rec.resumed_from}")
                    continue
                outcome = self._run_stage(stage, getattr(self, f"_stage_{stage}"))
                failed |= outcome != "succeeded"
                if outcome == "aborted":
                    aborted = True
                    break
            if not aborted and self.rec.summary_pending:
                failed |= self._run_stage("summary", self._stage_summary) != "succeeded"
            status = "failed" if failed else "succeeded"
        except KeyboardInterrupt:
            status = "interrupted"
            self.rec.error("sync", "interrupted by the user", level="error")
            raise
        except BaseException as exc:
            status = "failed"
            if self.rec.run_id is not None:
                self.rec.error("sync", exc)
            raise
        finally:
            stats = self._stats_since(stats0)
            if self.rec.run_id is not None:
                self.rec.finish(status, stats)
            release_lock(self.store.locks, LOCK_NAME, owner)
        return SyncResult(
            run_id=self.rec.run_id,
            status=status,
            full=full,
            only=self.rec.only,
            started_at=self.rec.started_at or self.clock(),
            finished_at=self.clock(),
            counts=self.rec.counts,
            errors=self.rec.errors,
            stages=self.rec.stages,
            resumed_from=self.rec.resumed_from,
            **stats,
        )

    def _plan(self, only: Iterable[str] | None) -> list[str]:
        if only is None:
            return list(STAGES)
        wanted = [only] if isinstance(only, str) else list(only)
        unknown = sorted(set(wanted) - set(STAGES))
        if unknown or not wanted:
            raise ValueError(f"unknown sync stage(s) {unknown or wanted}; choose from {', '.join(STAGES)}")
        return [s for s in STAGES if s in wanted]

    def _stats_since(self, before: Any) -> dict[str, Any]:
        now = self.client.stats
        return {
            "requests": now.requests - before.requests,
            "retries": now.retries - before.retries,
            "rate_limit_waits": now.rate_limit_waits - before.rate_limit_waits,
            "wait_seconds": round(now.wait_seconds - before.wait_seconds, 3),
        }

    def _run_stage(self, stage: str, body: Callable[[], None]) -> str:
        self.rec.stage_started(stage, self.client.stats.requests)
        outcome = "succeeded"
        try:
            body()
        except ValidationError as exc:
            self.rec.error(stage, exc)
            outcome = "failed"
        except _FATAL as exc:
            self.rec.error(stage, exc)
            outcome = "aborted"
        except APIError as exc:
            self.rec.error(stage, exc)
            outcome = "failed"
        except _StageFailed:
            outcome = "failed"
        self.rec.stage_finished(stage, "succeeded" if outcome == "succeeded" else "failed",
                                self.client.stats.requests)
        return outcome

    def _checkpoint(self, *, step: bool = False) -> None:
        """Persist progress, and keep the lock while we work.

        ``step`` marks a checkpoint after one page or unit: those are saved every
        ``self._every`` steps (:meth:`_pace`), and at most once per
        :data:`CHECKPOINT_MIN_SECONDS`, because each save rewrites the run record, whose
        queues grow with the account; saving after every unit made a stage cost units x
        queue length. A resumed run redoes at most the steps since the last save,
        which the idempotent writers make harmless.
        """
        if step:
            self._steps += 1
            if self._steps % self._every or time.monotonic() - self._last_save < CHECKPOINT_MIN_SECONDS:
                self._keep_lock()
                return
        self.rec.save()
        self._last_save = time.monotonic()
        self._keep_lock()

    def _pace(self, units: int) -> None:
        """Checkpoint a stage of ``units`` units about :data:`CHECKPOINTS_PER_STAGE` times (every unit when few)."""
        self._steps = 0
        self._every = max(1, units // CHECKPOINTS_PER_STAGE)

    def _keep_lock(self) -> None:
        """Push the lock's expiry every 30 s (at most a quarter of its TTL) while the run works."""
        now = self.clock()
        if (now - self._last_refresh).total_seconds() > min(30.0, self.lock_ttl_s / 4):
            if not refresh_lock(self.store.locks, LOCK_NAME, self._owner, self.lock_ttl_s, now=now):
                raise OctoError("the sync lock was taken over by another process (this run was presumed dead)")
            self._last_refresh = now

    def _count(self, collection: str, counts: Counts) -> None:
        self.rec.add_counts(collection, counts)

    # -- stages ----------------------------------------------------------------------------

    def _stage_lists(self) -> None:
        bar = self.progress.bar("lists", None, "list")
        try:
            docs: list[dict[str, Any]] = []
            for page in self.client.list_pages():
                docs.extend(list_doc(lst) for lst in page.items)
                bar.update(len(page.items))
            for name, counts in save_lists(self.store, docs, self.clock(), self.rec.run_id).items():
                self._count(name, counts)
            self._checkpoint()
        finally:
            bar.close()

    def _stage_contacts(self) -> None:
        lists = [d for b in iter_batches(self.store.lists, {"deleted_at": None},
                                         {"_id": 0, "emailoctopus_id": 1, "counts": 1}) for d in b]
        units = []
        for lst in lists:
            for status in CONTACT_STATUSES:
                key = self.rec.unit_key(lst["emailoctopus_id"], status)
                if key not in self.rec.contacts_done:
                    units.append((lst["emailoctopus_id"], status))
        total = None
        if self.full or not self.rec.watermarks:
            total = sum(int((lst.get("counts") or {}).get(s) or 0) for lst in lists for s in CONTACT_STATUSES)
        bar = self.progress.bar("contacts", total, "contact")
        counts = Counts()
        missing_lists: set[str] = set()

        # Register every unit's filter and cursor before the workers start: they only read them.
        for unit in units:
            key = self.rec.unit_key(*unit)
            if key not in self.rec.contacts_open:
                mark = None if self.full else self.rec.watermarks.get(key)
                self.rec.contacts_open[key] = {"gte": mark - self.overlap if mark else None, "cursor": None,
                                               "max_seen": None}

        def produce_registered(unit: tuple[str, str]) -> Iterable[Any]:
            entry = self.rec.contacts_open[self.rec.unit_key(*unit)]
            return self.client.contact_pages(unit[0], status=unit[1], updated_gte=entry.get("gte"),
                                             start_after=entry.get("cursor"))

        self._pace(total // 100 + len(units) if total else len(units))
        stream = stream_units(units, produce_registered, self.workers)
        try:
            for unit, kind, payload in stream:
                key = self.rec.unit_key(*unit)
                entry = self.rec.contacts_open[key]
                if kind == PAGE:
                    contacts, cursor = payload.items, payload.next_cursor
                    counts += save_contacts(self.store, [contact_doc(c) for c in contacts], self.clock())
                    seen = [as_utc(c.last_updated_at) for c in contacts if c.last_updated_at is not None]
                    if seen:
                        top = max(seen)
                        if entry.get("max_seen") is None or top > entry["max_seen"]:
                            entry["max_seen"] = top
                    entry["cursor"] = cursor
                    bar.update(len(contacts))
                    self._checkpoint(step=True)
                elif kind == DONE:
                    self._finish_contact_unit(key, entry)
                    self._checkpoint(step=True)
                else:
                    if isinstance(payload, NotFound):
                        if unit[0] not in missing_lists:
                            missing_lists.add(unit[0])
                            self.rec.error("contacts", f"list {unit[0]} was not found (deleted?); its contacts "
                                           f"were skipped: {payload}", level="warning", cause=payload)
                            self.store.lists.update_one({"emailoctopus_id": unit[0]},
                                                        {"$set": {"deleted_at": self.clock()}})
                        self.rec.contacts_open.pop(key, None)
                        self.rec.contacts_done.add(key)
                        self._checkpoint()
                        continue
                    raise payload
        finally:
            stream.close()
            bar.close()
            self._count("contacts", counts)

    def _finish_contact_unit(self, key: str, entry: dict[str, Any]) -> None:
        top = entry.get("max_seen")
        if top is not None:
            old = self.rec.watermarks.get(key)
            self.rec.watermarks[key] = top if old is None or top > old else old
        self.rec.contacts_open.pop(key, None)
        self.rec.contacts_done.add(key)

    def _stage_campaigns(self) -> None:
        bar = self.progress.bar("campaigns", None, "campaign")
        try:
            campaigns = [c for page in self.client.campaign_pages() for c in page.items]
            stored = {
                d["emailoctopus_id"]: d
                for b in iter_batches(self.store.campaigns, {}, {"_id": 0, "emailoctopus_id": 1, "current_metrics": 1})
                for d in b
            }
            reportable = [c for c in campaigns if (c.status or "") in REPORTABLE_STATUSES]
            bar.total = len(campaigns)

            def summary(cid: str) -> tuple[str, Any]:
                try:
                    return cid, self.client.get_campaign_summary(cid)
                except NotFound as exc:
                    return cid, exc
                except APIError as exc:
                    if isinstance(exc, (_FATAL + (ValidationError,))):
                        raise
                    return cid, exc

            summaries: dict[str, Any] = {}
            for cid, result in self.client.map(summary, [c.id for c in reportable]):
                summaries[cid] = result
                bar.update(1)
            bar.update(len(campaigns) - len(reportable))

            now = self.clock()
            metrics: dict[str, dict[str, int]] = {}
            changed: set[str] = set()
            for c in reportable:
                result = summaries[c.id]
                old = (stored.get(c.id) or {}).get("current_metrics") or None
                if isinstance(result, APIError):
                    self.rec.error("campaigns", f"no summary report for campaign {c.id} ({result}); "
                                   "stored numbers kept", level="warning", cause=result)
                    continue
                new = metrics_from_summary(result)
                # Only the summary's own counts say whether it changed (not the ones derived from events).
                old_counts = {k: old.get(k) for k in new} if isinstance(old, dict) else None
                if old_counts and any(old_counts.values()) and not any(new.values()):
                    # Trap T15: a report that went to zero (retention, downgrade) must not erase numbers.
                    self.rec.error("campaigns", f"summary of campaign {c.id} came back all zero; stored "
                                   "numbers kept", level="warning")
                    continue
                # clicked_without_open is carried until the campaign's reports are read again
                # (counted from the stored events for a store synced before it existed).
                metrics[c.id] = dict(new, clicked_without_open=carried_clicked_without_open(self.store, c.id, old),
                                     **carried_automation(old))
                if old_counts is None or canon(old_counts) != canon(new):
                    changed.add(c.id)

            refresh = [c.id for c in reportable if c.id in metrics
                       and (self.full or c.id in changed or c.status == "sending")]

            def links(cid: str) -> tuple[str, Any]:
                try:
                    return cid, self.client.get_campaign_links(cid)
                except APIError as exc:
                    if isinstance(exc, (_FATAL + (ValidationError,))):
                        raise
                    return cid, exc

            link_docs: list[dict[str, Any]] = []
            for cid, result in self.client.map(links, refresh):
                if isinstance(result, APIError):
                    self.rec.error("campaigns", f"no links report for campaign {cid} ({result})", level="warning",
                                   cause=result)
                    continue
                link_docs.extend(link_doc(cid, link) for link in result)

            # Everything is fetched and valid: now write, reports queue first (kill-safe).
            for cid in refresh:
                if cid not in self.rec.reports_pending:
                    self.rec.reports_pending.append(cid)
                for event_type in self.event_types:
                    self.rec.reports_done.discard(self.rec.unit_key(cid, event_type))
            self._checkpoint()
            self._count("campaign_links", save_links(self.store, link_docs, now))
            # A campaign queued for its reports gets its snapshot when they are read (sync/derived.py).
            ready = {cid: m for cid, m in metrics.items() if cid not in self.rec.reports_pending}
            self._count("campaign_metrics_snapshots", save_metric_snapshots(self.store, ready, now, self.rec.run_id))
            docs = []
            for c in campaigns:
                doc = campaign_doc(c)
                if c.id in metrics:
                    old = (stored.get(c.id) or {}).get("current_metrics") or {}
                    last = now if (c.id in changed or not old.get("last_updated")) else old.get("last_updated")
                    doc["current_metrics"] = dict(metrics[c.id], last_updated=last)
                docs.append(doc)
            self._count("campaigns", save_campaigns(self.store, docs, now))
            self._checkpoint()
        finally:
            bar.close()

    def _stage_reports(self) -> None:
        if self.full and not self.rec.reports_pending:
            query = {"status": {"$in": sorted(REPORTABLE_STATUSES)}}
            self.rec.reports_pending = [d["emailoctopus_id"] for b in iter_batches(
                self.store.campaigns, query, {"_id": 0, "emailoctopus_id": 1}) for d in b]
        pending = list(self.rec.reports_pending)
        units = [(cid, t) for cid in pending for t in self.event_types
                 if self.rec.unit_key(cid, t) not in self.rec.reports_done]
        bar = self.progress.bar("reports", len(units), "report")
        counts = Counts()
        rows: dict[tuple[str, str], list[Any]] = {}
        self._pace(len(units))
        stream = stream_units(units, lambda u: self.client.campaign_report_pages(u[0], u[1]), self.workers)
        try:
            for unit, kind, payload in stream:
                if kind == PAGE:
                    rows.setdefault(unit, []).extend(payload.items)
                    self._keep_lock()
                    continue
                if kind == ERROR:
                    if isinstance(payload, APIError) and not isinstance(payload, (_FATAL + (ValidationError,))):
                        self.rec.error("reports", f"{unit[1]} report of campaign {unit[0]} skipped: {payload}",
                                       level="warning", cause=payload)
                    else:
                        raise payload
                else:
                    docs = event_docs(unit[0], unit[1], rows.get(unit, []))
                    counts += save_events(self.store, docs, self.clock())
                rows.pop(unit, None)
                self.rec.reports_done.add(self.rec.unit_key(*unit))
                bar.update(1)
                self._finish_campaigns([unit[0]])
                self._checkpoint(step=True)
            self._finish_campaigns()
            self._relabel_stale()
            self._checkpoint()
        finally:
            stream.close()
            bar.close()
            self._count("engagement_events", counts)

    def _finish_campaigns(self, campaign_ids: Sequence[str] | None = None) -> None:
        """Snapshot campaigns whose report units are all done (with the counts derived from
        their events), then move them from the reports queue to the summary queue.

        ``campaign_ids`` limits the check to those (after one unit, only its campaign can
        have finished: checking the whole queue each time cost units x campaigns).
        """
        if campaign_ids is None:
            campaign_ids = list(self.rec.reports_pending)
        done = [cid for cid in campaign_ids if cid in self.rec.reports_pending
                and all(self.rec.unit_key(cid, t) in self.rec.reports_done for t in self.event_types)]
        if done:
            snaps, warnings = finish_campaigns(self.store, done, self.clock(), self.rec.run_id, self.automation,
                                               on_reconciled=self.rec.reconciled)
            self._count("campaign_metrics_snapshots", snaps)
            for text in warnings:
                self.rec.error("reports", text, level="warning")
        for cid in done:
            if cid in self.rec.reports_pending:
                self.rec.reports_pending.remove(cid)
                if cid not in self.rec.summary_pending:
                    self.rec.summary_pending.append(cid)
                for t in self.event_types:
                    self.rec.reports_done.discard(self.rec.unit_key(cid, t))

    def _relabel_stale(self) -> None:
        """Relabel automated activity of campaigns labelled under other rules or thresholds
        (or never), from their stored events: no API request (octolib.sync.automation)."""
        stale = [cid for cid in stale_campaigns(self.store, self.automation) if cid not in self.rec.reports_pending]
        if stale:
            snaps, warnings = finish_campaigns(self.store, stale, self.clock(), self.rec.run_id, self.automation)
            self._count("campaign_metrics_snapshots", snaps)
            for text in warnings:
                self.rec.error("reports", text, level="warning")
        self.rec.save(automation={"fingerprint": self.automation.fingerprint(), "relabelled_campaigns": len(stale)})

    def _stage_summary(self) -> None:
        """Engagement summaries of the contacts of re-read campaigns.

        When the re-read campaigns are most of them (a first or full sync), every contact is
        checked in one sequential pass; otherwise only the contacts with events in them.
        """
        cids = list(self.rec.summary_pending)
        reportable = self.store.campaigns.count_documents({"status": {"$in": sorted(REPORTABLE_STATUSES)}})
        everyone = 2 * len(cids) >= max(reportable, 1)
        contact_ids = None if everyone else contacts_with_events(self.store, cids)
        bar = self.progress.bar("summary", None if everyone else len(contact_ids or []), "contact")
        try:
            counts = refresh_contact_summaries(self.store, contact_ids, self.clock())
            bar.update(counts.updated + counts.unchanged)
            self._count("contact_summaries", counts)
            done = set(cids)
            self.rec.summary_pending = [c for c in self.rec.summary_pending if c not in done]
            self._checkpoint()
        finally:
            bar.close()


def _whoami() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name is not a reason to fail a sync
        return "unknown"


def run_sync(
    store: Store,
    client: EmailOctopusClient,
    *,
    full: bool = False,
    only: Sequence[str] | str | None = None,
    trigger: str = "cli",
    user: str | None = None,
    progress: bool = True,
    sent_events: bool = False,
    clock: Callable[[], datetime] = _utcnow,
    after: Callable[[Store], object] | None = None,
    automation: AutomationThresholds | None = None,
) -> SyncResult:
    """Run one sync of the account behind ``client`` into ``store`` (see the module docstring).

    ``only`` names stages (``lists``, ``contacts``, ``campaigns``, ``reports``); ``trigger``
    and ``user`` are recorded in ``sync_runs``; ``progress`` shows tqdm bars on stderr.
    ``after`` runs once the sync succeeded (the customer link step,
    :func:`octolib.customers.link.after_sync_hook`); its failure is logged, not the sync's.
    """
    service = SyncService(store, client, sent_events=sent_events, clock=clock, automation=automation)
    result = service.run(full=full, only=only, trigger=trigger, user=user, progress=progress)
    if after is not None and result.ok:
        try:
            outcome = after(store)
            line = getattr(outcome, "line", None)
            if callable(line):
                result.after_note = str(line())
        except Exception as exc:  # noqa: BLE001 - the sync's data is saved; the link step says what failed
            log.warning("after the sync: %s", exc)
            result.after_note = f"after the sync: {redact(str(exc))}"
    return result
