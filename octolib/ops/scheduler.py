"""``octo scheduler``: the long-running process that syncs every hour and makes scheduled reports.

Jobs:

- ``sync``: the incremental sync every ``OCTO_SYNC_EVERY`` minutes (first run at start),
  through :func:`octolib.sync.run_sync`, which takes the same ``sync`` lock as the
  dashboard's button: when a sync is already running, this run is logged as *skipped*.
- ``reports: <when>``: one report batch per distinct schedule found in the ``partners``
  documents (every partner sharing a schedule goes in the same batch), run through the
  report runner; finished PDFs are then emailed to partners whose document says
  ``delivery: true``, when SMTP is configured (:mod:`octolib.ops.delivery`).
- ``retention``: nightly at 03:30 (account timezone), snapshots older than
  ``OCTO_RETENTION_DAYS`` thinned (:mod:`octolib.ops.retention`).
- ``schedules``: every 10 minutes, re-reads the partners so an edited schedule takes
  effect without a restart.

A partner's schedule (read leniently from its document; a bad one is logged and skipped,
the others still run)::

    schedule: "first monday monthly at 07:00"   # or "last friday monthly", "daily at 06:00",
                                                 # "weekly on monday at 08:30",
                                                 # "monthly on day 2", or 5-field cron
                                                 # "0 7 1-7 * mon" (APScheduler: fields AND)
    schedule: {when: "first monday monthly", templates: [monthly]}   # only some templates
    delivery: true

Times are in the account's timezone (``OCTO_TIMEZONE``); the default time is 07:00.

Why our own loop around APScheduler's triggers rather than its ``BlockingScheduler``: the
triggers (cron fields, "1st mon", DST) are APScheduler's, but the loop takes an injected
``clock`` and ``sleep``, so tests check which job fires when over simulated months without
waiting; and jobs run one after another on one thread, which suits a 2-core machine and the
embedded store (tied to the thread that opened it). A job that fails is logged with its
error and runs again at its next time; the loop never dies of it. Missed times (the machine
slept, a long job ran) are coalesced into one run.

Only one scheduler runs per database: it holds the ``scheduler`` lock, refreshed on every
loop turn; a second one refuses to start.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from octolib.config import Settings
from octolib.errors import ConfigError, OctoError, redact
from octolib.schedules import parse_schedule

if TYPE_CHECKING:
    from octolib.store import Store

__all__ = [
    "Job",
    "JobFailed",
    "Scheduler",
    "ReportSchedule",
    "schedules_from_partners",
    "sync_job",
    "report_job",
    "retention_job",
    "build_scheduler",
    "hold_scheduler_lock",
    "describe_plan",
    "SCHEDULER_LOCK",
]

log = logging.getLogger(__name__)

SCHEDULER_LOCK = "scheduler"
REFRESH_MINUTES = 10
RETENTION_AT = (3, 30)


class JobFailed(OctoError):
    """A job ran but did not do its work (a failed sync, failed reports)."""


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class ReportSchedule:
    """One report batch: when, for which partners, which templates (``None``: all)."""

    when: str
    partners: tuple[str, ...]
    templates: tuple[str, ...] | None = None

    @property
    def job_name(self) -> str:
        t = f" [{', '.join(self.templates)}]" if self.templates else ""
        return f"reports: {self.when}{t}"


def schedules_from_partners(partners: Iterable[Mapping[str, Any]], tz: str = "UTC"
                            ) -> tuple[list[ReportSchedule], list[str]]:
    """Group partner documents by schedule; return the schedules and the problems found.

    A partner without ``schedule`` is not scheduled; one with a schedule that does not parse
    is reported in the problems (by slug) and left out, so one typo does not stop the others.
    """
    # Grouped by what the schedule means (its trigger), not how it is written, so "first
    # monday monthly" and "First Monday of the month" make one batch.
    groups: dict[tuple[str, tuple[str, ...] | None], tuple[str, list[str]]] = {}
    problems: list[str] = []
    for doc in sorted(partners, key=lambda d: str(d.get("slug") or "")):
        slug = str(doc.get("slug") or "?")
        raw = doc.get("schedule")
        if raw in (None, "", False):
            continue
        templates: tuple[str, ...] | None = None
        if isinstance(raw, Mapping):
            when = raw.get("when") or raw.get("cron") or ""
            t = raw.get("templates")
            if isinstance(t, str):
                t = [t]
            templates = tuple(sorted(str(x) for x in t)) if t else None
        else:
            when = raw
        when = " ".join(str(when).split())
        try:
            meaning = repr(parse_schedule(when, tz))
        except ConfigError as exc:
            problems.append(f"partner {slug!r}: {exc}")
            continue
        groups.setdefault((meaning, templates), (when, []))[1].append(slug)
    schedules = [ReportSchedule(when, tuple(slugs), templates) for (_, templates), (when, slugs) in groups.items()]
    schedules.sort(key=lambda s: (s.when.lower(), s.templates or ()))
    return schedules, problems


# -- the loop ----------------------------------------------------------------------------------

@dataclass
class Job:
    """A named function and the trigger that says when it runs, with its run history."""

    name: str
    trigger: BaseTrigger
    func: Callable[[], Any]
    description: str = ""
    next_run: datetime | None = None
    last_run: datetime | None = None
    last_status: str = ""
    last_error: str = ""
    runs: int = 0
    failures: int = 0
    history: list[tuple[datetime, str]] = field(default_factory=list)

    def following(self, after: datetime) -> datetime | None:
        """The first fire time strictly after ``after`` (missed ones coalesced)."""
        t = self.trigger.get_next_fire_time(self.next_run, after)
        while t is not None and t <= after:
            t = self.trigger.get_next_fire_time(t, after)
        return t


class Scheduler:
    """Runs jobs when their triggers say, one at a time, on the calling thread.

    ``clock`` gives aware UTC datetimes; ``sleep(seconds)`` waits (default: an interruptible
    wait that :meth:`stop` ends early). ``on_tick`` runs every loop turn (the lock refresh).
    """

    def __init__(self, *, clock: Callable[[], datetime] = _utcnow, sleep: Callable[[float], Any] | None = None,
                 max_sleep_s: float = 60.0, on_tick: Callable[[], None] | None = None,
                 history: int = 50) -> None:
        self.clock = clock
        self._stop = threading.Event()
        self.sleep = sleep or self._stop.wait
        self.max_sleep_s = max_sleep_s
        self.on_tick = on_tick
        self.keep_history = history
        self.jobs: dict[str, Job] = {}

    def add(self, job: Job, *, now: datetime | None = None) -> Job:
        """Add (or replace) a job; its first run is the trigger's first time from ``now`` (default: the clock)."""
        job.next_run = job.trigger.get_next_fire_time(None, now or self.clock())
        self.jobs[job.name] = job
        log.info("scheduled %s: next %s", job.name, _when(job.next_run))
        return job

    def replace_group(self, prefix: str, jobs: Sequence[Job]) -> None:
        """Make the jobs named ``prefix…`` exactly ``jobs``; unchanged ones keep their state."""
        wanted = {j.name: j for j in jobs}
        for name in [n for n in self.jobs if n.startswith(prefix) and n not in wanted]:
            log.info("unscheduled %s", name)
            del self.jobs[name]
        for name, job in wanted.items():
            old = self.jobs.get(name)
            if old is not None and repr(old.trigger) == repr(job.trigger):
                old.func, old.description = job.func, job.description
            else:
                self.add(job)

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def next_wake(self) -> datetime | None:
        times = [j.next_run for j in self.jobs.values() if j.next_run is not None]
        return min(times) if times else None

    def run_due(self) -> list[Job]:
        """Run every job whose time has come (earliest first); return them."""
        now = self.clock()
        due = sorted((j for j in self.jobs.values() if j.next_run is not None and j.next_run <= now),
                     key=lambda j: (j.next_run, j.name))
        for job in due:
            if self.stopped:
                break
            if self.jobs.get(job.name) is job:  # a job run earlier in this turn may have replaced it
                self._run(job)
        return due

    def _run(self, job: Job) -> None:
        started = self.clock()
        t0 = time.perf_counter()
        log.info("job %s: started", job.name)
        try:
            outcome = job.func()
            status = outcome if isinstance(outcome, str) and outcome else "succeeded"
            job.last_error = ""
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # noqa: BLE001 - the scheduler outlives every job
            status = "failed"
            job.failures += 1
            job.last_error = redact(f"{type(exc).__name__}: {exc}")
            log.error("job %s: failed: %s", job.name, job.last_error,
                      exc_info=not isinstance(exc, OctoError))
        job.runs += 1
        job.last_run, job.last_status = started, status
        job.history = (job.history + [(started, status)])[-self.keep_history:]
        job.next_run = job.following(max(self.clock(), started))
        level = logging.WARNING if status == "failed" else logging.INFO
        log.log(level, "job %s: %s in %.1fs; next %s", job.name, status, time.perf_counter() - t0, _when(job.next_run))

    def run(self, until: datetime | None = None) -> None:
        """Loop until :meth:`stop` (a signal) or, for tests, until the clock reaches ``until``."""
        while not self.stopped:
            if self.on_tick is not None:
                self.on_tick()
            self.run_due()
            now = self.clock()
            if until is not None and now >= until:
                return
            wake = self.next_wake()
            delay = self.max_sleep_s if wake is None else (wake - now).total_seconds()
            if until is not None:
                delay = min(delay, (until - now).total_seconds())
            self.sleep(min(max(delay, 0.0), self.max_sleep_s))

    def plan(self, count: int = 3) -> list[tuple[str, list[datetime]]]:
        """The next ``count`` times of every job (for ``octo scheduler --show``)."""
        out = []
        for job in sorted(self.jobs.values(), key=lambda j: j.name):
            times: list[datetime] = []
            t = job.next_run
            while t is not None and len(times) < count:
                times.append(t)
                t = job.trigger.get_next_fire_time(t, t)
            out.append((job.name, times))
        return out


def _when(t: datetime | None) -> str:
    return "never" if t is None else t.isoformat(timespec="minutes")


# -- the jobs ----------------------------------------------------------------------------------

def sync_job(
    settings: Settings,
    *,
    connect_fn: Callable[[Settings], Any] | None = None,
    client_factory: Callable[[Settings], Any] | None = None,
    sync_fn: Callable[..., Any] | None = None,
) -> Callable[[], str]:
    """The hourly sync: ``"skipped"`` when another sync holds the lock, :class:`JobFailed` when it fails."""

    def run() -> str:
        from octolib.api import EmailOctopusClient
        from octolib.store import connect
        from octolib.sync import SyncBusy, run_sync
        from octolib.dashboards.warm import after_sync_steps
        from octolib.sync.priority import call_in_background_thread
        from octolib.sync.automation import automation_thresholds

        with (connect_fn or connect)(settings) as store, \
                (client_factory or EmailOctopusClient.from_settings)(settings) as client:
            try:
                # In a thread of its own at OCTO_SYNC_NICE: background work, pages go first.
                result = call_in_background_thread(
                    lambda: (sync_fn or run_sync)(store, client, trigger="scheduler", user="scheduler", progress=False,
                                                  sent_events=settings.sync_sent_events,
                                                  automation=automation_thresholds(settings),
                                                  after=after_sync_steps(settings)),
                    settings.sync_nice)
            except SyncBusy as exc:
                log.info("sync skipped: %s", exc)
                return "skipped"
        if not result.ok:
            errors = [e.get("message", "") for e in result.errors if e.get("level", "error") == "error"]
            raise JobFailed(f"sync {result.status}: {errors[0] if errors else 'see sync_runs'}")
        return "succeeded"

    return run


def report_job(
    settings: Settings,
    schedule: ReportSchedule,
    *,
    batch_fn: Callable[[Settings, Sequence[str], Sequence[str] | None], Any] | None = None,
    deliver_fn: Callable[[Settings, Sequence[str]], Any] | None = None,
) -> Callable[[], str]:
    """One scheduled batch: run the partners' reports, then deliver the finished ones.

    ``batch_fn(settings, partners, templates)`` returns an object with ``results`` (each
    with ``report_id`` and ``ok``); the default calls :func:`octolib.reports.runner.run_batch`.
    ``deliver_fn(settings, report_ids)`` defaults to :func:`octolib.ops.delivery.deliver_reports`
    for partners with ``delivery: true``, and does nothing without SMTP settings.
    """

    def run() -> str:
        batch = (batch_fn or _run_report_batch)(settings, schedule.partners, schedule.templates)
        results = list(getattr(batch, "results", []))
        done = [r.report_id for r in results if r.ok]
        if done:
            (deliver_fn or _deliver)(settings, done)
        failed = [r for r in results if not r.ok]
        if failed:
            raise JobFailed(f"{len(failed)} of {len(results)} reports failed: "
                            + "; ".join(f"{r.request.partner}/{r.request.template}: {r.error}" if hasattr(r, "request")
                                        else str(getattr(r, "report_id", "?")) for r in failed[:5]))
        return "succeeded"

    return run


def _run_report_batch(settings: Settings, partners: Sequence[str], templates: Sequence[str] | None) -> Any:
    from octolib.reports.runner import requests_for, run_batch
    from octolib.store import connect

    with connect(settings) as store:
        requests = requests_for(store, partners=list(partners), templates=list(templates) if templates else None)
    return run_batch(settings, requests, user="scheduler")


def _deliver(settings: Settings, report_ids: Sequence[str]) -> Any:
    from octolib.ops.delivery import SmtpConfig, deliver_reports
    from octolib.store import connect

    config = SmtpConfig.from_settings(settings)
    if config is None:
        log.info("reports not emailed: SMTP is not configured (OCTO_SMTP_HOST is empty)")
        return []
    with connect(settings) as store:
        results = deliver_reports(store, report_ids, config, user="scheduler")
    bad = [r for r in results if not r.ok]
    if bad:
        raise JobFailed("delivery failed for " + "; ".join(r.summary() for r in bad))
    return results


def retention_job(settings: Settings, *, connect_fn: Callable[[Settings], Any] | None = None) -> Callable[[], str]:
    """Nightly thinning of old snapshots (``OCTO_RETENTION_DAYS``)."""

    def run() -> str:
        from octolib.ops.retention import thin_snapshots
        from octolib.store import connect

        with (connect_fn or connect)(settings) as store:
            result = thin_snapshots(store, settings.retention_days, tz=settings.timezone)
        return "succeeded" if result.deleted == 0 else f"succeeded ({result.deleted} snapshots thinned)"

    return run


def _partner_documents(settings: Settings) -> list[Mapping[str, Any]]:
    from octolib.store import connect

    with connect(settings) as store:
        # Archived partners keep their schedule text but are not run (octolib.reports.partners).
        return list(store.partners.find({"archived": {"$ne": True}}, {"_id": 0, "slug": 1, "schedule": 1}))


def build_scheduler(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = _utcnow,
    sleep: Callable[[float], Any] | None = None,
    partners: Callable[[], Iterable[Mapping[str, Any]]] | None = None,
    sync: Callable[[], Any] | None = None,
    reports: Callable[[ReportSchedule], Callable[[], Any]] | None = None,
    retention: Callable[[], Any] | None = None,
    with_retention: bool = True,
    on_tick: Callable[[], None] | None = None,
    refresh_minutes: float = REFRESH_MINUTES,
    max_sleep_s: float = 60.0,
) -> Scheduler:
    """The scheduler ``octo scheduler`` runs, with every job; each part can be swapped by tests.

    ``partners()`` returns the partner documents (default: read from the store on every
    refresh); ``reports(schedule)`` makes the job function of one batch.
    """
    zone = ZoneInfo(settings.timezone)
    sched = Scheduler(clock=clock, sleep=sleep, on_tick=on_tick, max_sleep_s=max_sleep_s)
    start = clock()
    # now=start: the first sync and the first partner read happen at start, not an interval later.
    sched.add(Job("sync", IntervalTrigger(minutes=settings.sync_every, start_date=start, timezone=zone),
                  sync or sync_job(settings), f"incremental sync every {settings.sync_every:g} min"), now=start)
    if with_retention:
        sched.add(Job("retention", CronTrigger(hour=RETENTION_AT[0], minute=RETENTION_AT[1], timezone=zone),
                      retention or retention_job(settings),
                      f"thin snapshots older than {settings.retention_days:g} days"))
    read_partners = partners or (lambda: _partner_documents(settings))
    make_report_job = reports or (lambda s: report_job(settings, s))

    def refresh() -> str:
        found, problems = schedules_from_partners(read_partners(), settings.timezone)
        for p in problems:
            log.error("schedule skipped: %s", p)
        sched.replace_group("reports: ", [
            Job(s.job_name, parse_schedule(s.when, settings.timezone), make_report_job(s),
                f"report batch for {', '.join(s.partners)}") for s in found])
        if problems:
            raise JobFailed(f"{len(problems)} partner schedule(s) could not be read: " + "; ".join(problems))
        return f"succeeded ({len(found)} report schedule(s))"

    sched.add(Job("schedules", IntervalTrigger(minutes=refresh_minutes, start_date=start, timezone=zone), refresh,
                  "re-read partner schedules"), now=start)
    # Know the report jobs before the first turn, so --show lists them.
    try:
        refresh()
    except JobFailed as exc:
        log.error("%s", exc)
    return sched


def hold_scheduler_lock(store: Store, *, ttl_s: float = 6 * 3600.0,
                        clock: Callable[[], datetime] = _utcnow) -> tuple[dict[str, Any], Callable[[], None]]:
    """Take the ``scheduler`` lock (or raise :class:`ConfigError` naming the holder).

    Returns the owner and a ``refresh()`` to call on every loop turn. The TTL is long
    because a long job (a full sync) holds up the refresh; a holder that died on this host
    is taken over at once (see :mod:`octolib.store.locks`).
    """
    from octolib.store.locks import LockHeld, acquire_lock, new_owner, refresh_lock

    owner = new_owner(label="octo scheduler")
    try:
        acquire_lock(store.locks, SCHEDULER_LOCK, owner, ttl_s, now=clock())
    except LockHeld as exc:
        raise ConfigError(f"another octo scheduler is running ({exc}); run only one per database") from None

    def refresh() -> None:
        if not refresh_lock(store.locks, SCHEDULER_LOCK, owner, ttl_s, now=clock()):
            log.warning("the scheduler lock was taken over; taking it back")
            acquire_lock(store.locks, SCHEDULER_LOCK, owner, ttl_s, now=clock())

    return owner, refresh


def describe_plan(sched: Scheduler, count: int = 3, tz: str = "UTC") -> str:
    """Human text: every job and its next times in the account's timezone."""
    zone = ZoneInfo(tz)
    lines = []
    for name, times in sched.plan(count):
        job = sched.jobs[name]
        shown = ", ".join(t.astimezone(zone).strftime("%a %Y-%m-%d %H:%M") for t in times) or "never"
        lines.append(f"{name:<40} {shown}")
        if job.description:
            lines.append(f"{'':<40} {job.description}")
    return "\n".join(lines)
