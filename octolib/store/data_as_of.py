"""Which sync run a view rests on: one rule for pages, PDFs, exports and the doctor.

The rule: the most recently *finished* run, whatever its outcome (``succeeded``,
``failed`` or ``interrupted``), by ``finished_at``. Why not "the last successful run": a
run that failed half way has already written what it fetched, so the store's data is as
of that run; naming an older successful run would claim the data is older and cleaner
than it is. The run's status travels with it, so every surface can say "failed".
A run still going (``running``) has not finished, so it is not what anything rests on.

Before this module the dashboards, the reports and the doctor each had their own rule, and
a PDF's "data as of" could name another run than the dashboard on the same store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from octolib.store.core import Store, first_sorted

__all__ = ["DataAsOf", "data_as_of", "format_local", "FINISHED_STATUSES"]

#: ``sync_runs`` statuses of a run that has stopped writing.
FINISHED_STATUSES: tuple[str, ...] = ("succeeded", "failed", "interrupted")


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class DataAsOf:
    """The sync run a view rests on (all empty before the first finished run)."""

    run_id: str
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    trigger: str
    user: str

    @property
    def key(self) -> str:
        """A cache key: the run id (``"none"`` before the first sync)."""
        return self.run_id or "none"

    def describe(self, tz: str = "UTC") -> str:
        """One line for a page header: when, which run, how it ended."""
        if not self.run_id:
            return "No sync has finished yet: run `octo sync` or use the Sync page."
        when = format_local(self.finished_at, tz) if self.finished_at else "?"
        who = f" by {self.user}" if self.user else ""
        return f"Data as of {when} (sync run {self.run_id[-6:]}, {self.trigger}{who}, {self.status})"


def format_local(value: datetime, tz: str) -> str:
    """``YYYY-MM-DD HH:MM <tz>`` of an (aware or UTC-naive) datetime; an unknown zone is UTC."""
    try:
        zone = ZoneInfo(tz or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone, tz = ZoneInfo("UTC"), "UTC"
    local = _aware(value).astimezone(zone)  # type: ignore[union-attr]
    return f"{local:%Y-%m-%d %H:%M} {tz}"


def data_as_of(store: Store) -> DataAsOf:
    """The run the store's data is as of (see the module doc for the rule)."""
    d = first_sorted(store.sync_runs,
                     {"status": {"$in": list(FINISHED_STATUSES)}, "finished_at": {"$ne": None}},
                     [("finished_at", -1), ("_id", -1)],
                     {"status": 1, "started_at": 1, "finished_at": 1, "trigger": 1, "user": 1})
    if d is None:
        return DataAsOf("", "", None, None, "", "")
    return DataAsOf(str(d["_id"]), str(d.get("status") or ""), _aware(d.get("started_at")),
                    _aware(d.get("finished_at")), str(d.get("trigger") or ""), str(d.get("user") or ""))
