"""What the dashboards read, loaded once per sync run and cached on disk.

Why a cache: every page view is a fresh kernel (a new process), and reading 10,000
engagement events from the embedded store takes most of a second. Between two syncs the
answer cannot change, so :class:`DashboardData` keys everything it reads by the **last
finished sync run** and keeps it twice: in memory for the life of the kernel, and as a
pickle under ``<data dir>/cache/dashboards/`` for the next kernel. A new sync run gives a
new key; files of older runs are removed when a newer one is written.

The cache holds only what the store already holds (arrays and small dicts built from
projections), in a folder of the data dir that only octopus writes; it is never shared.

Numbers are computed by :mod:`octolib.metrics` from these arrays; this module does no
arithmetic on rates itself.
"""

from __future__ import annotations

import functools
import logging
import os
import pickle
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from octolib import metrics
from octolib.store import (
    Store,
    campaign_arrays,
    contact_arrays,
    event_arrays,
    iter_batches,
    link_rows,
    list_count_arrays,
    snapshot_arrays,
)
from octolib.store.data_as_of import DataAsOf, data_as_of, format_local
from octolib.vocabulary import EVENT_TYPES

__all__ = [
    "SyncInfo",
    "DashboardData",
    "CampaignTable",
    "latest_sync",
    "recent_runs",
    "local_day_bounds",
    "to_datetime",
    "in_window",
    "CACHE_VERSION",
    "EVENT_TYPES",
]

log = logging.getLogger(__name__)

#: Bump when the shape of a cached value changes, so old pickles are ignored.
CACHE_VERSION = 3



#: The run the data on screen is as of (the one rule of :mod:`octolib.store.data_as_of`).
SyncInfo = DataAsOf


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _fmt_local(value: datetime | None, tz: str) -> str:
    return "—" if value is None else format_local(value, tz)


def latest_sync(store: Store) -> SyncInfo:
    """The run the dashboards' data is as of: :func:`octolib.store.data_as_of.data_as_of`."""
    return data_as_of(store)


def recent_runs(store: Store, limit: int = 15) -> list[dict[str, Any]]:
    """The latest ``sync_runs`` documents, newest first, without their bulky state."""
    docs = list(store.sync_runs.aggregate([
        {"$sort": {"started_at": -1}},
        {"$limit": limit},
        {"$project": {"state": 0, "checkpoints": 0}},
    ]))
    for d in docs:
        d["run_id"] = str(d.pop("_id"))
        for k in ("started_at", "finished_at"):
            d[k] = _aware(d.get(k))
    return docs


def to_datetime(value: Any) -> datetime | None:
    """A ``datetime64`` (UTC) as an aware datetime, None for NaT."""
    if value is None:
        return None
    v = np.datetime64(value, "s")
    if np.isnat(v):
        return None
    return datetime.fromtimestamp(int(v.astype(np.int64)), tz=timezone.utc)


def local_day_bounds(start: date | None, end: date | None, tz: str) -> tuple[np.datetime64, np.datetime64]:
    """``[start 00:00, end+1 00:00)`` in ``tz`` as UTC ``datetime64[s]``; open ends are NaT.

    >>> a, b = local_day_bounds(date(2024, 7, 1), date(2024, 7, 1), "Europe/Berlin")
    >>> str(a), str(b)
    ('2024-06-30T22:00:00', '2024-07-01T22:00:00')
    """
    zone = _zone(tz)

    def bound(d: date | None) -> np.datetime64:
        if d is None:
            return np.datetime64("NaT", "s")
        local = datetime(d.year, d.month, d.day, tzinfo=zone)
        return np.datetime64(int(local.timestamp()), "s")

    lo = bound(start)
    hi = bound(end + timedelta(days=1)) if end is not None else np.datetime64("NaT", "s")
    return lo, hi


def in_window(times: np.ndarray, lo: np.datetime64, hi: np.datetime64) -> np.ndarray:
    """Mask of ``lo <= t < hi``; a NaT bound is open. NaT times (unsent campaigns) are
    outside any window that has a bound, and inside a window with none.

    >>> t = np.array(["2024-01-01", "NaT", "2024-02-01"], dtype="datetime64[s]")
    >>> in_window(t, np.datetime64("2024-01-15", "s"), np.datetime64("NaT", "s")).tolist()
    [False, False, True]
    """
    mask = ~np.isnat(times) if (not np.isnat(lo) or not np.isnat(hi)) else np.ones(len(times), bool)
    if not np.isnat(lo):
        mask &= times >= lo
    if not np.isnat(hi):
        mask &= times < hi
    return mask


@dataclass
class CampaignTable:
    """Every campaign with its rates and flags: the base of the overview and campaigns pages."""

    cols: dict[str, np.ndarray]
    rates: metrics.CampaignRates
    flags: metrics.CampaignFlags
    list_names: dict[str, str]
    #: settled at the data's as-of time (``octolib.metrics.maturity``); not given: all are
    settled: np.ndarray = field(default_factory=lambda: np.ones(0, dtype=bool))
    #: started but not settled: shown apart and marked "in progress"; not given: none is
    in_progress: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def __post_init__(self) -> None:
        n = len(self.cols["campaign_id"])
        if len(self.settled) != n:
            self.settled = np.ones(n, dtype=bool)
        if len(self.in_progress) != n:
            self.in_progress = np.zeros(n, dtype=bool)

    def __len__(self) -> int:
        return len(self.cols["campaign_id"])

    def list_name(self, list_id: str) -> str:
        return self.list_names.get(list_id, list_id or "—")

    def list_label(self, row: int) -> str:
        """Every list campaign ``row`` was sent to, by name (``—`` when none)."""
        ids = self.cols["list_ids"][row] if "list_ids" in self.cols else (self.cols["list_id"][row],)
        names = [self.list_name(str(i)) for i in ids if i]
        return ", ".join(names) if names else "—"

    def index(self, campaign_id: str) -> int:
        """Row of ``campaign_id``, -1 when unknown."""
        hits = np.flatnonzero(self.cols["campaign_id"] == campaign_id)
        return int(hits[0]) if len(hits) else -1

    def flag_messages(self) -> dict[int, list[str]]:
        """Per flagged campaign (row index), the sentences of :meth:`CampaignFlags.messages`."""
        names = np.array([str(n) for n in self.cols["name"]], dtype=object)
        messages = self.flags.messages(names)
        out: dict[int, list[str]] = {}
        pos = 0
        for i in np.flatnonzero(self.flags.any):
            n = int(self.flags.high_bounce[i]) + int(self.flags.high_complaints[i]) + int(self.flags.open_drop[i])
            out[int(i)] = messages[pos:pos + n]
            pos += n
        return out

    def flag_texts(self) -> list[str]:
        """Per campaign, the flags as short words (for a table column)."""
        out = []
        for i in range(len(self)):
            words = []
            if self.flags.high_bounce[i]:
                words.append("bounces")
            if self.flags.high_complaints[i]:
                words.append("complaints")
            if self.flags.open_drop[i]:
                words.append("open drop")
            out.append(", ".join(words))
        return out


class DashboardData:
    """The store behind a dashboard, with reads cached per sync run (see the module doc).

    ``cache_dir`` None disables the disk cache (the in-memory one stays). ``clock`` gives
    "now" for recency windows; tests pass a fixed one. ``settled_hours`` is
    ``OCTO_SETTLED_HOURS``: campaigns younger than that at :meth:`as_of` are in progress.
    """

    def __init__(
        self,
        store: Store,
        *,
        tz: str = "UTC",
        cache_dir: Path | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        settled_hours: float = metrics.DEFAULT_SETTLED_HOURS,
        flag_thresholds: metrics.FlagThresholds | None = None,
        flags_shown: int = 5,
        flag_half_life_days: float = 30.0,
    ) -> None:
        self.store = store
        self.settled_hours = settled_hours
        # flags worth reading (OCTO_FLAG_*): the thresholds, how many the overview shows, the ranking's half-life
        self.flag_thresholds = flag_thresholds or metrics.FlagThresholds()
        self.flags_shown = flags_shown
        self.flag_half_life_days = flag_half_life_days
        self.tz = tz or "UTC"
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.clock = clock
        self._memory: dict[tuple[str, str], Any] = {}
        self.sync = latest_sync(store)
        self.stats = {"memory_hits": 0, "disk_hits": 0, "computed": 0}

    # -- freshness -------------------------------------------------------------------------

    def refresh(self) -> bool:
        """Look at ``sync_runs`` again; True (and the memory cache dropped) if a newer run
        finished since this object was built or last refreshed."""
        latest = latest_sync(self.store)
        if latest.key == self.sync.key:
            return False
        self.sync = latest
        self._memory.clear()
        return True

    # -- the two-level cache ---------------------------------------------------------------

    def _path(self, name: str) -> Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / f"{name}-v{CACHE_VERSION}-{self.sync.key}.pickle"

    def cached(self, name: str, build: Callable[[], Any]) -> Any:
        """``build()`` once per sync run: from memory, else from disk, else computed."""
        key = (name, self.sync.key)
        if key in self._memory:
            self.stats["memory_hits"] += 1
            return self._memory[key]
        path = self._path(name)
        if path is not None and path.is_file():
            try:
                with path.open("rb") as fh:
                    value = pickle.load(fh)
                self._memory[key] = value
                self.stats["disk_hits"] += 1
                return value
            except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
                log.warning("ignoring unreadable dashboard cache %s: %s", path, exc)
        t0 = time.perf_counter()
        value = build()
        self.stats["computed"] += 1
        log.debug("computed %s in %.3f s", name, time.perf_counter() - t0)
        self._memory[key] = value
        if path is not None:
            self._write(path, name, value)
        return value

    def has_cached(self, name: str) -> bool:
        """Whether ``name`` is cached for the current sync run (in memory or on disk)."""
        if (name, self.sync.key) in self._memory:
            return True
        path = self._path(name)
        return path is not None and path.is_file()

    def _write(self, path: Path, name: str, value: Any) -> None:
        """Write atomically (another kernel may read at the same time), then drop older runs."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{name}-", suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
            for old in path.parent.glob(f"{name}-v*.pickle"):
                if old != path:
                    old.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not write the dashboard cache %s: %s", path, exc)

    # -- reads -----------------------------------------------------------------------------

    def list_docs(self) -> list[dict[str, Any]]:
        """Every list: id, name, counts, fields, tags, created_at (small: a few per account)."""

        def build() -> list[dict[str, Any]]:
            out: list[dict[str, Any]] = []
            for batch in iter_batches(self.store.lists, {}, {"_id": 0, "emailoctopus_id": 1, "name": 1,
                                                             "counts": 1, "fields": 1, "tags": 1,
                                                             "created_at": 1, "double_opt_in": 1}):
                for d in batch:
                    out.append({
                        "list_id": str(d.get("emailoctopus_id") or ""),
                        "name": str(d.get("name") or d.get("emailoctopus_id") or ""),
                        "counts": {k: int((d.get("counts") or {}).get(k) or 0)
                                   for k in ("subscribed", "unsubscribed", "pending")},
                        "fields": [dict(f) for f in (d.get("fields") or []) if isinstance(f, dict)],
                        "tags": sorted(str(t) for t in (d.get("tags") or [])),
                        "created_at": _aware(d.get("created_at")),
                        "double_opt_in": bool(d.get("double_opt_in")),
                    })
            out.sort(key=lambda r: (r["name"].lower(), r["list_id"]))
            return out

        return self.cached("lists", build)

    def list_names(self) -> dict[str, str]:
        return {d["list_id"]: d["name"] for d in self.list_docs()}

    def campaigns(self) -> CampaignTable:
        """Every campaign with rates (:func:`octolib.metrics.campaign_rates_from`) and flags."""

        def build() -> dict[str, np.ndarray]:
            return campaign_arrays(self.store)

        cols = self.cached("campaigns", build)
        rates = metrics.campaign_rates_from(cols)
        as_of = self.as_of()
        settled = metrics.settled(cols["status"], cols["sent_at"], as_of, self.settled_hours)
        started = metrics.in_progress(cols["status"], cols["sent_at"], as_of, self.settled_hours)
        flags = metrics.campaign_flags(rates, cols["list_id"], cols["sent_at"], self.flag_thresholds, eligible=settled)
        return CampaignTable(cols, rates, flags, self.list_names(), settled, started)

    def events(self, event_types: Iterable[str] = EVENT_TYPES) -> dict[str, np.ndarray]:
        """Engagement events of the given types (cached per type).

        Types not yet cached are read together in one pass (split by type afterwards), so
        asking for every type reads the collection once, not once per type.
        """
        types = list(event_types)
        missing = [t for t in types if not self.has_cached(f"events-{t}")]
        if len(missing) > 1:
            both = event_arrays(self.store, event_types=missing)
            kinds = both["event_type"].astype(str)
            for t in missing:
                keep = kinds == t
                part = {name: col[keep] for name, col in both.items()}
                self.cached(f"events-{t}", functools.partial(dict, part))
        parts = [self.cached(f"events-{t}", functools.partial(event_arrays, self.store, event_types=[t]))
                 for t in types]
        if len(parts) == 1:
            return parts[0]
        keys = parts[0].keys() if parts else ()
        return {k: np.concatenate([p[k] for p in parts]) for k in keys}

    def contacts(self) -> dict[str, np.ndarray]:
        """Every contact with the engagement summary, plus ``email`` and ``tags`` (lists of
        str, object array) for the contacts page: one read of the collection."""
        return self.cached("contacts", lambda: contact_arrays(self.store, with_email=True))

    def snapshots(self, campaign_id: str) -> dict[str, np.ndarray]:
        """One campaign's metric snapshots (small; read on demand, cached per run)."""
        return self.cached(f"snapshots-{campaign_id}", lambda: snapshot_arrays(self.store, [campaign_id]))

    def list_counts(self) -> dict[str, np.ndarray]:
        """List size snapshots over time (``list_count_snapshots``)."""
        return self.cached("list_counts", lambda: list_count_arrays(self.store))

    def links(self, campaign_id: str) -> list[dict[str, Any]]:
        """One campaign's links with their clicks."""
        return self.cached(f"links-{campaign_id}", lambda: link_rows(self.store, [campaign_id]))

    def recent_runs(self, limit: int = 15) -> list[dict[str, Any]]:
        """The latest sync runs, newest first (never cached: the Sync page watches them)."""
        return recent_runs(self.store, limit)

    def adopt(self, sync: SyncInfo) -> None:
        """Use ``sync`` as the latest run (read elsewhere, e.g. by a worker thread with its
        own store connection); drops the memory cache when it is newer."""
        if sync.key != self.sync.key:
            self.sync = sync
            self._memory.clear()

    def as_of(self) -> np.datetime64:
        """The data's "now" for maturity: when the last sync finished (the data cannot be
        newer), else the clock. UTC ``datetime64[s]``."""
        if self.sync.finished_at is not None:
            return np.datetime64(int(self.sync.finished_at.timestamp()), "s")
        return self.now()

    def now(self) -> np.datetime64:
        """The clock as UTC ``datetime64[s]`` (for recency windows)."""
        return np.datetime64(int(self.clock().timestamp()), "s")
