"""The ``sync_runs`` record of one sync, its carried-forward state and its resume checkpoints.

One document per run::

    {_id, trigger, user, host, pid, full, only, started_at, finished_at,
     status: running | succeeded | failed | interrupted,
     stages: {lists: {status, started_at, finished_at, requests}, ...},
     counts: {<collection>: {inserted, updated, unchanged}, ...},
     requests, retries, rate_limit_waits, wait_seconds,
     errors: [{stage, level: error | warning, kind, message, at}],
     reconciliation: {checked, differ: [...]},  # octolib.sync.reconcile: campaigns checked, differences
     resumed_from,                  # the unfinished run this one continues, if any
     state: {...},                  # carried from run to run, see below
     checkpoints: {...}}            # how far this run (chain) got, see below

``state`` is what the next run needs whatever happened: contact watermarks per (list,
status), campaigns whose per-contact reports must be re-read (``reports_pending``) and
campaigns whose contacts' engagement summaries must be recomputed (``summary_pending``).
Every run starts from the latest run's ``state``, so work noted by a killed or failed run
is never lost.

``checkpoints`` say what is already done in this attempt: finished stages, finished contact
and report units, and the cursor of each contact unit in progress. A run inherits them
from the previous run when that one did not succeed (killed: left ``running``; failed;
interrupted) and started less than ``resume_window`` ago, so it continues where that one
stopped instead of starting over.

All writes are single-document updates of this run's own document.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from octolib.errors import APIError, redact
from octolib.store import Store
from octolib.store.core import first_sorted

__all__ = ["RunRecorder", "RUN_STATUSES"]

log = logging.getLogger(__name__)

RUN_STATUSES = ("running", "succeeded", "failed", "interrupted")


def _unit_key(*parts: str) -> str:
    return "\x1f".join(parts)


class RunRecorder:
    """Creates and updates one ``sync_runs`` document; holds the run's state in memory."""

    def __init__(
        self,
        store: Store,
        *,
        trigger: str,
        user: str | None,
        full: bool,
        only: Iterable[str] | None,
        clock: Callable[[], datetime],
        resume_window: timedelta = timedelta(hours=24),
    ) -> None:
        self.store = store
        self.clock = clock
        self.trigger = trigger
        self.user = user
        self.full = full
        self.only = list(only) if only else None
        self.resume_window = resume_window
        self.run_id: Any = None
        self.resumed_from: Any = None
        self.started_at: datetime | None = None
        self.stages: dict[str, dict[str, Any]] = {}
        self.counts: dict[str, dict[str, int]] = {}
        self.errors: list[dict[str, Any]] = []
        self.reconciliation: dict[str, Any] = {"checked": 0, "differ": []}
        # state (carried forward)
        self.watermarks: dict[str, datetime] = {}
        self.reports_pending: list[str] = []
        self.summary_pending: list[str] = []
        # checkpoints (this attempt)
        self.stages_done: list[str] = []
        self.contacts_done: set[str] = set()
        self.contacts_open: dict[str, dict[str, Any]] = {}
        self.reports_done: set[str] = set()

    unit_key = staticmethod(_unit_key)

    # -- start / finish ------------------------------------------------------------------

    def start(self) -> None:
        """Insert the run document, after settling the previous run (the caller holds the lock)."""
        now = self.clock()
        self.started_at = now
        prev = first_sorted(self.store.sync_runs, {}, [("started_at", -1)])
        if prev is not None:
            self._load_state(prev.get("state") or {})
            status = prev.get("status")
            if status == "running":
                # We hold the lock, so its owner is gone (killed, or the machine went down).
                self.store.sync_runs.update_one(
                    {"_id": prev["_id"]},
                    {"$set": {"status": "interrupted", "interrupted_detected_at": now}},
                )
                status = "interrupted"
            started = prev.get("started_at")
            recent = isinstance(started, datetime) and now - _aware(started) <= self.resume_window
            if status in ("interrupted", "failed") and recent:
                self.resumed_from = prev["_id"]
                self._load_checkpoints(prev.get("checkpoints") or {})
        doc = {
            "trigger": self.trigger,
            "user": self.user,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "full": self.full,
            "only": self.only,
            "started_at": now,
            "finished_at": None,
            "status": "running",
            "resumed_from": self.resumed_from,
            "stages": {},
            "counts": {},
            "errors": [],
            "reconciliation": self.reconciliation,
            "requests": 0,
            "retries": 0,
            "rate_limit_waits": 0,
            "wait_seconds": 0.0,
            "state": self._state_doc(),
            "checkpoints": self._checkpoints_doc(),
        }
        self.run_id = self.store.sync_runs.insert_one(doc).inserted_id
        if self.resumed_from is not None:
            log.info("sync run %s resumes run %s from its checkpoints", self.run_id, self.resumed_from)

    def finish(self, status: str, stats: dict[str, Any]) -> None:
        self.save(status=status, finished_at=self.clock(), **stats)

    def save(self, **extra: Any) -> None:
        """Persist state, checkpoints, counts, stages and errors (one update)."""
        fields = {
            "state": self._state_doc(),
            "checkpoints": self._checkpoints_doc(),
            "counts": self.counts,
            "stages": self.stages,
            "errors": self.errors,
            "reconciliation": self.reconciliation,
        }
        fields.update(extra)
        self.store.sync_runs.update_one({"_id": self.run_id}, {"$set": fields})

    # -- recording -----------------------------------------------------------------------

    def add_counts(self, collection: str, counts: Any) -> None:
        mine = self.counts.setdefault(collection, {"inserted": 0, "updated": 0, "unchanged": 0})
        for key, value in counts.as_dict().items():
            mine[key] = mine.get(key, 0) + value

    def error(self, stage: str, problem: BaseException | str, *, level: str = "error",
              cause: BaseException | None = None) -> None:
        """Record an error (the run fails) or a warning (it does not); ``cause`` adds its type, status, URL."""
        cause = cause or (problem if isinstance(problem, BaseException) else None)
        kind = type(cause).__name__ if cause is not None else "note"
        entry: dict[str, Any] = {
            "stage": stage,
            "level": level,
            "kind": kind,
            "message": redact(str(problem))[:2000],
            "at": self.clock(),
        }
        if isinstance(cause, APIError):
            entry["status"] = cause.status
            entry["url"] = redact(cause.url)
        self.errors.append(entry)
        (log.warning if level == "warning" else log.error)("sync %s: %s", stage, entry["message"])

    def reconciled(self, campaign_id: str, name: str, differences: list[Any]) -> None:
        """Note one campaign's reconciliation (``differences``: :class:`~octolib.sync.reconcile.Difference`)."""
        self.reconciliation["checked"] += 1
        self.reconciliation["differ"] = [d for d in self.reconciliation["differ"] if d["campaign_id"] != campaign_id]
        self.reconciliation["differ"].extend(dict(d.as_dict(), campaign_id=campaign_id, name=name)
                                             for d in differences)

    def stage_started(self, stage: str, requests: int) -> None:
        self.stages[stage] = {"status": "running", "started_at": self.clock(), "requests_at_start": requests}
        self.save()

    def stage_finished(self, stage: str, status: str, requests: int) -> None:
        entry = self.stages.setdefault(stage, {})
        entry["status"] = status
        entry["finished_at"] = self.clock()
        entry["requests"] = requests - entry.pop("requests_at_start", requests)
        if status == "succeeded" and stage not in self.stages_done:
            self.stages_done.append(stage)
        self.save()

    def stage_skipped(self, stage: str, reason: str) -> None:
        self.stages[stage] = {"status": "skipped", "reason": reason}

    # -- (de)serialisation ---------------------------------------------------------------

    def _state_doc(self) -> dict[str, Any]:
        return {
            "watermarks": [{"unit": k, "at": v} for k, v in sorted(self.watermarks.items())],
            "reports_pending": list(self.reports_pending),
            "summary_pending": list(self.summary_pending),
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        self.watermarks = {w["unit"]: _aware(w["at"]) for w in state.get("watermarks") or [] if w.get("at")}
        self.reports_pending = list(state.get("reports_pending") or [])
        self.summary_pending = list(state.get("summary_pending") or [])

    def _checkpoints_doc(self) -> dict[str, Any]:
        return {
            "stages_done": list(self.stages_done),
            "contacts_done": sorted(self.contacts_done),
            "contacts_open": [dict(v, unit=k) for k, v in sorted(self.contacts_open.items())],
            "reports_done": sorted(self.reports_done),
        }

    def _load_checkpoints(self, cp: dict[str, Any]) -> None:
        self.stages_done = list(cp.get("stages_done") or [])
        self.contacts_done = set(cp.get("contacts_done") or [])
        self.contacts_open = {}
        for item in cp.get("contacts_open") or []:
            item = dict(item)
            unit = item.pop("unit")
            for key in ("max_seen", "gte"):
                if isinstance(item.get(key), datetime):
                    item[key] = _aware(item[key])
            self.contacts_open[unit] = item
        self.reports_done = set(cp.get("reports_done") or [])


def _aware(value: datetime) -> datetime:
    from octolib.sync.compare import as_utc

    return as_utc(value)
