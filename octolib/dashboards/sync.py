"""Sync: a "Sync now" button that runs the incremental sync in the background, with a live
progress bar per stage, the last runs with status, counts, duration and errors, and the recent
activity of ``audit_log`` (who did what; see :mod:`octolib.audit`).

The sync runs on a worker thread with its own store connection (the embedded store is tied
to the thread that opened it) and its own API client; the kernel's main thread stays free,
so the page keeps answering while the sync works. Only one sync runs at a time: the
``sync`` lock of :mod:`octolib.sync` decides, whichever process holds it (another page,
``octo sync``, cron), and a second request is refused with a message saying who holds it.
A click within ``COOLDOWN_S`` of the page's last run ending is refused too: an incremental
sync with nothing new can finish in a few hundred milliseconds, so a double-click used to
record two runs.

Per-stage progress: :class:`octolib.sync.SyncService` draws tqdm bars and offers no
callback, so :class:`WidgetSyncService` hands it bar objects with the same three methods
(``update``, ``set_postfix_str``, ``close``) that move widgets instead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import ipywidgets as w

from octolib import audit
from octolib.config import Settings
from octolib.dashboards.base import Dashboard, page_for_settings
from octolib.dashboards.data import DashboardData, latest_sync, recent_runs
from octolib.dashboards.identity import UNKNOWN_ANALYST, current_analyst
from octolib.dashboards.widgets import Column, DataTable, esc, message_html, section
from octolib.metrics import format_count, format_duration
from octolib.vocabulary import STAGE_LABELS
from octolib.metrics.display import plural
from octolib.sync.reconcile import differing_campaigns, describe, run_badge

__all__ = ["SyncPage", "WidgetSyncService", "StageBar", "build_sync", "sync_page", "STAGE_LABELS", "activity_rows"]

log = logging.getLogger(__name__)

#: Seconds after a run of this page ends during which "Sync now" is refused (a double-click).
COOLDOWN_S = 3.0

#: How many audit records the activity section lists.
ACTIVITY_LIMIT = 50



class StageBar:
    """One stage's progress: a bar and a line of text, moved from the worker thread.

    Updates are throttled (``min_interval`` seconds) so a stage of 10,000 contacts does not
    send 10,000 widget messages.
    """

    def __init__(self, label: str, min_interval: float = 0.2, clock: Callable[[], float] = time.monotonic) -> None:
        self.label = label
        self.bar = w.IntProgress(value=0, min=0, max=1, description=label, bar_style="",
                                 style={"description_width": "150px"}, layout=w.Layout(width="520px"))
        self.text = w.HTML('<span class="octo-muted">waiting</span>')
        self.widget = w.HBox([self.bar, self.text], layout=w.Layout(align_items="center"))
        self.min_interval = min_interval
        self.clock = clock
        self.reset()

    def reset(self) -> None:
        self.done = 0
        self.total: int | None = None
        self.unit = ""
        self.postfix = ""
        self.state = "waiting"
        self._last = 0.0
        self.bar.value, self.bar.max, self.bar.bar_style = 0, 1, ""
        self.text.value = '<span class="octo-muted">waiting</span>'

    # the tqdm-shaped interface the sync calls ----------------------------------------------

    def start(self, total: int | None, unit: str) -> "StageBar":
        self.total, self.unit, self.state = total, unit, "running"
        self.bar.max = max(1, total or 1)
        self.bar.bar_style = "info"
        self._draw(force=True)
        return self

    def update(self, n: int = 1) -> None:
        self.done += int(n)
        self._draw()

    def set_postfix_str(self, s: str) -> None:
        self.postfix = str(s)
        self._draw()

    def close(self) -> None:
        self._draw(force=True)

    # ----------------------------------------------------------------------------------------

    def finish(self, status: str) -> None:
        """Mark the stage as ended (succeeded, failed, skipped)."""
        self.state = status
        if status == "succeeded":
            self.bar.max = max(1, self.total or self.done or 1)
            self.bar.value = self.bar.max
            self.bar.bar_style = "success"
        elif status == "failed":
            self.bar.bar_style = "danger"
        self._draw(force=True)

    def _draw(self, force: bool = False) -> None:
        now = self.clock()
        if not force and now - self._last < self.min_interval:
            return
        self._last = now
        if self.total:
            self.bar.max = max(self.total, 1)
            self.bar.value = min(self.done, self.bar.max)
            count = f"{format_count(self.done)} of {plural(self.total, self.unit.strip())} read"
        else:
            # Unknown total: the bar fills as work arrives, the text gives the count.
            self.bar.max = max(self.bar.max, self.done, 1)
            self.bar.value = self.done
            count = f"{plural(self.done, self.unit.strip())} read"
        if self.state == "succeeded":
            self.bar.value = self.bar.max  # a finished stage is full, whatever the estimate said
        extra = f" · {self.postfix}" if self.postfix else ""
        self.text.value = f'<span class="octo-muted" data-state="{esc(self.state)}">{esc(self.state)}: ' \
                          f"{esc(count)}{esc(extra)}</span>"


class _BarsProgress:
    """Stands in for the sync's tqdm factory: ``bar(desc, total, unit)`` -> a :class:`StageBar`."""

    enabled = True

    def __init__(self, bars: dict[str, StageBar]) -> None:
        self.bars = bars

    def bar(self, desc: str, total: int | None, unit: str) -> Any:
        stage = desc.strip()
        bar = self.bars.get(stage)
        if bar is None:
            bar = StageBar(stage)
            self.bars[stage] = bar
        return bar.start(total, unit)


def _service_class() -> type:
    from octolib.sync import SyncService

    class WidgetSyncService(SyncService):  # type: ignore[misc, valid-type]
        """:class:`octolib.sync.SyncService` whose progress bars are widgets."""

        def __init__(self, *args: Any, bars: dict[str, StageBar], **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._bars = _BarsProgress(bars)

        @property
        def progress(self) -> Any:  # noqa: D401 - the sync reads this attribute
            return self._bars

        @progress.setter
        def progress(self, _value: Any) -> None:
            # run() installs its tqdm factory here; the widgets replace it.
            pass

    return WidgetSyncService


def __getattr__(name: str) -> Any:
    if name == "WidgetSyncService":
        return _service_class()
    raise AttributeError(name)


class SyncPage(Dashboard):
    """Controls: ``run_button``, ``full``. State: ``running``, ``bars`` (stage -> StageBar),
    ``result`` (the last :class:`~octolib.sync.SyncResult` of this page), ``runs`` (a
    :class:`DataTable` of the latest runs). ``wait(timeout)`` joins the worker (tests)."""

    def __init__(self, data: DashboardData, settings: Settings,
                 client_factory: Callable[[Settings], Any] | None = None,
                 store_factory: Callable[[Settings], Any] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 analyst: Callable[[], str] = current_analyst) -> None:
        super().__init__(data, "Sync", "sync")
        self.settings = settings
        self.clock = clock
        self.analyst = analyst
        self._ended_at: float | None = None
        self.client_factory = client_factory or _default_client
        self.store_factory = store_factory or _default_store
        self.run_button = w.Button(description="Sync now", button_style="primary", layout=w.Layout(width="140px"),
                                   tooltip="Fetch what changed in the EmailOctopus account since the last sync")
        self.full = w.Checkbox(value=False, description="Full sync (re-read everything; slower)", indent=False)
        self.refresh_button = w.Button(description="Refresh list", layout=w.Layout(width="120px"))
        self.bars: dict[str, StageBar] = {stage: StageBar(label) for stage, label in STAGE_LABELS}
        self.outcome = w.HTML()
        self.reconciliation = w.HTML()  # the latest run's check of summary vs rows vs links (sync/reconcile.py)
        self.runs = DataTable([
            Column("started_at", "Started", kind="datetime"),
            Column("trigger", "Trigger"),
            Column("user", "User"),
            Column("status", "Status"),
            Column("duration", "Duration"),
            Column("written", "Added or updated", kind="count"),
            Column("requests", "API requests", kind="count"),
            Column("errors", "Errors"),
            Column("reconciled", "Reconciliation"),
        ], page_size=10, default_sort="started_at", csv_name="sync-runs.csv", tz=data.tz,
            empty_text="No sync has run yet.")
        self.activity = DataTable([
            Column("at", "When", kind="datetime"),
            Column("actor", "Who"),
            Column("sentence", "What happened", sortable=False),
        ], page_size=15, default_sort="at", csv_name="activity.csv", tz=data.tz,
            empty_text="Nothing recorded yet.")
        self.running = False
        self.result: Any = None
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self.run_button.on_click(lambda _: self.guard(self.start)())
        self.refresh_button.on_click(lambda _: self.guard(self.update)())
        self.body.children = [
            w.HTML('<div class="octo-muted">Fetches what changed in the EmailOctopus account since the last sync. '
                   'It runs in the background: you can leave this page open or go elsewhere.<br>'
                   f'Account: {esc(settings.api_base)}{" (the local demo account)" if settings.demo else ""}'
                   '</div>'),
            w.HBox([self.run_button, self.full], layout=w.Layout(align_items="center")),
            w.VBox([b.widget for b in self.bars.values()]),
            self.outcome,
            section("Do the numbers agree?"), self.reconciliation,
            section("Last runs"), self.refresh_button, self.runs.widget,
            section("Recent activity"),
            w.HTML('<div class="octo-muted">Who did what, newest first: sign-ins, syncs, reports and '
                   'partner changes, by the analyst who was signed in.</div>'),
            self.activity.widget,
        ]
        self.activity.set_rows(activity_rows(audit.recent(data.store, ACTIVITY_LIMIT)))
        self.ready()

    # -- starting -------------------------------------------------------------------------

    def start(self) -> bool:
        """Start a sync in the background; False (and a message) when one is running."""
        if self.running:
            self.say("warn", "A sync started from this page is still running; wait for it to finish.")
            return False
        if self._ended_at is not None and self.clock() - self._ended_at < COOLDOWN_S:
            self.say("info", "A sync just finished (see above); nothing was started. Click again in a few "
                             "seconds to run another.")
            return False
        holder = self._lock_holder()
        if holder:
            self.say("warn", f"A sync is already running ({holder}). Only one sync runs at a time; "
                             "try again when it has finished.")
            return False
        actor = self.analyst()
        full = bool(self.full.value)
        audit.record(self.data.store, actor=actor, action="sync_started", full=full)
        self.say("info", "Sync started…")
        self.outcome.value = ""
        for bar in self.bars.values():
            bar.reset()
        self.running = True
        self.result, self.error = None, None
        self.run_button.disabled = True
        self.run_button.description = "Syncing…"
        self._started = self.clock()
        self._thread = threading.Thread(target=self._work, args=(full, actor), name="octo-dashboard-sync",
                                        daemon=True)
        self._thread.start()
        return True

    def _lock_holder(self) -> str:
        """Who holds the sync lock (text), or "" when nobody does."""
        from octolib.store.locks import lock_owner

        doc = lock_owner(self.data.store.locks, "sync")
        if not doc:
            return ""
        expires = doc.get("expires_at")
        if isinstance(expires, datetime):
            if expires.tzinfo is None:
                expires = expires.replace(tzinfo=timezone.utc)
            if expires <= datetime.now(timezone.utc):
                return ""  # stale: the sync will take it over
        owner = doc.get("owner") or {}
        since = doc.get("acquired_at")
        when = since.strftime("%H:%M UTC") if isinstance(since, datetime) else "?"
        return f"{owner.get('label') or 'another process'}, since {when}"

    def _work(self, full: bool, actor: str | None = None) -> None:
        store = client = None
        runs: list[dict[str, Any]] | None = None
        activity: list[audit.AuditRecord] | None = None
        latest = None
        recon: str | None = None
        from octolib.sync.priority import run_in_background_priority

        run_in_background_priority(self.settings.sync_nice)  # this thread only: the page stays responsive
        try:
            store = self.store_factory(self.settings)
            client = self.client_factory(self.settings)
            from octolib.dashboards.warm import after_sync_steps
            from octolib.sync.automation import automation_thresholds

            # The same thresholds and after-sync step as `octo sync` and the scheduler: a sync
            # started here must label and link exactly as one started anywhere else.
            service = _service_class()(store, client, sent_events=self.settings.sync_sent_events, bars=self.bars,
                                       automation=automation_thresholds(self.settings))
            self.result = service.run(full=full, trigger="dashboard",
                                      user=actor if actor != UNKNOWN_ANALYST else None, progress=True)
            if self.result is not None and self.result.ok:
                try:
                    after_sync_steps(self.settings)(store)
                except Exception:  # noqa: BLE001 - the sync's data is saved; the link step is logged
                    log.exception("after the sync: linking customers failed")
        except BaseException as exc:  # noqa: BLE001 - reported on the page
            self.error = exc
            if type(exc).__name__ != "SyncBusy":
                log.exception("dashboard sync failed")
        finally:
            # The store connection belongs to this thread: read what the page shows here.
            if store is not None:
                try:
                    runs = recent_runs(store, 20)
                    latest = latest_sync(store)
                    recon = _reconciliation_html(runs[0] if runs else None, differing_campaigns(store))
                    activity = audit.recent(store, ACTIVITY_LIMIT)
                except Exception:  # noqa: BLE001 - the runs table is secondary
                    log.exception("could not read the runs after the sync")
            for closing in (client, store):
                try:
                    if closing is not None:
                        closing.close()
                except Exception:  # noqa: BLE001
                    pass
            self._finished(runs, latest, activity, recon)

    def _finished(self, runs: list[dict[str, Any]] | None, latest: Any,
                  activity: list[audit.AuditRecord] | None = None, recon: str | None = None) -> None:
        """On the worker thread, after the run: show the outcome and the runs. Touches no
        store (the page's connection belongs to the kernel's main thread)."""
        self._ended_at = self.clock()
        self.running = False
        self.run_button.disabled = False
        self.run_button.description = "Sync now"
        seconds = self._ended_at - self._started
        if self.error is not None:
            name = type(self.error).__name__
            if name == "SyncBusy":
                self.say("warn", f"{self.error}. Try again when it has finished.")
            else:
                self.say("error", f"The sync could not run: {name}: {self.error}")
        elif self.result is not None:
            stages = self.result.stages or {}
            for stage, bar in self.bars.items():
                info = stages.get(stage) or {}
                bar.finish(str(info.get("status") or ("skipped" if bar.state == "waiting" else bar.state)))
            written = sum(int(c.get("inserted", 0)) + int(c.get("updated", 0)) for c in self.result.counts.values())
            errors = self.result.errors or []
            kind = "ok" if self.result.ok else "error"
            if written:
                changes = f"{plural(written, 'record')} added or updated"
            else:
                changes = "nothing had changed since the last sync, so no record was added or updated"
            text = (f"Sync {self.result.status} in {format_duration(seconds)}: {changes} "
                    f"({plural(self.result.requests, 'API request')})")
            if errors:
                text += f", {plural(len(errors), 'error')} (see the table below)"
            self.say(kind, text + ".")
        if latest is not None:
            self.data.adopt(latest)
            self._show_sync()
        if runs is not None:
            self.runs.set_rows(_run_rows(runs))
        if recon is not None:
            self.reconciliation.value = recon
        if activity is not None:
            self.activity.set_rows(activity_rows(activity))

    def wait(self, timeout: float | None = None) -> bool:
        """Join the worker thread; True if it finished (tests and scripts)."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # -- the runs table -------------------------------------------------------------------

    def update(self) -> None:
        runs = self.data.recent_runs(20)
        self.runs.set_rows(_run_rows(runs))
        self.reconciliation.value = _reconciliation_html(runs[0] if runs else None,
                                                         differing_campaigns(self.data.store))
        self.activity.set_rows(activity_rows(audit.recent(self.data.store, ACTIVITY_LIMIT)))


def _reconciliation_html(run: dict[str, Any] | None, differing: list[dict[str, Any]]) -> str:
    """The latest run's reconciliation badge, and the campaigns that still differ from earlier checks."""
    if run is None:
        return ""
    kind, text = run_badge(run)
    out = f'<div data-reconciliation="{esc(kind)}">{message_html(kind, "Last sync: " + text)}'
    in_run = {d.get("campaign_id") for d in (run.get("reconciliation") or {}).get("differ") or []}
    earlier = [d for d in differing if d["campaign_id"] not in in_run]
    if earlier:
        items = "".join(f'<li><a href="campaign.ipynb?id={esc(d["campaign_id"])}">{esc(d["name"])}</a>: '
                        f'{esc(describe(d["differences"]))}</li>' for d in earlier)
        out += ('<div class="octo-muted">Still differing since an earlier sync (their reports have not changed '
                f'since):</div><ul data-list="differing">{items}</ul>')
    return out + "</div>"


def activity_rows(records: list[audit.AuditRecord]) -> list[dict[str, Any]]:
    """Rows of the activity table: when, who, and the record as a sentence."""
    return [{"at": r.at, "actor": r.actor or "", "sentence": r.sentence} for r in records]


def _run_rows(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of the runs table from ``sync_runs`` documents."""
    rows = []
    for d in docs:
        started, finished = d.get("started_at"), d.get("finished_at")
        duration = format_duration((finished - started).total_seconds()) if started and finished else "running…"
        counts = d.get("counts") or {}
        written = sum(int((c or {}).get("inserted", 0)) + int((c or {}).get("updated", 0)) for c in counts.values())
        errors = d.get("errors") or []
        first = errors[0].get("message", "") if errors and isinstance(errors[0], dict) else ""
        rows.append({"run_id": d["run_id"], "started_at": started, "trigger": d.get("trigger") or "",
                     "user": d.get("user") or "", "status": d.get("status") or "", "duration": duration,
                     "written": written, "requests": int(d.get("requests") or 0),
                     "errors": (f"{len(errors)}: {first[:160]}" if errors else ""),
                     "reconciled": _reconciled_cell(d)})
    return rows


def _reconciled_cell(run: dict[str, Any]) -> str:
    """The runs table's short reconciliation word: agree (N) / differ in K of N / — ."""
    rec = run.get("reconciliation")
    if not isinstance(rec, dict) or not rec.get("checked"):
        return "—"
    n = int(rec["checked"])
    differ = {d.get("campaign_id") for d in rec.get("differ") or []}
    return f"differ in {len(differ)} of {n}" if differ else f"agree ({n})"


def _default_client(settings: Settings) -> Any:
    from octolib.api import EmailOctopusClient

    return EmailOctopusClient.from_settings(settings)


def _default_store(settings: Settings) -> Any:
    from octolib.store import connect

    return connect(settings)


def build_sync(data: DashboardData, settings: Settings, **kwargs: Any) -> SyncPage:
    """The sync page over ``data``; ``settings`` name the account and store the worker uses."""
    return SyncPage(data, settings, **kwargs)


def sync_page(settings: Settings) -> SyncPage:
    """The sync page for ``settings`` (what the notebook calls)."""
    return page_for_settings("Sync", "sync", build_sync, settings, pass_settings=True)  # type: ignore[return-value]
