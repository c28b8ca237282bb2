"""After a sync: read what the dashboard pages read first, once, into the per-sync-run cache.

Why: the pages' reads are cached per sync run (:mod:`octolib.dashboards.data`), but a new
run makes a new cache key, and the first page kernels to render after it each read the
store again at the same time: every pool refill after a sync read the engagement events
(3.4 s on the demo account) in parallel with the others, while analysts waited. The process
that ran the sync (``octo sync``, the scheduler, the Sync page) has just written that data:
it now also builds the cache entries the pages start from, so a refill reads pickles.

Only where dashboards are served from this data folder (the cache folder exists), so a sync
that feeds only reports or exports pays nothing. This module does not import the widget
libraries: ``octo sync`` stays light.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from octolib.config import Settings
from octolib.dashboards.data import DashboardData
from octolib.metrics.flags import FlagThresholds
from octolib.store import Store

__all__ = ["cache_dir_for", "data_options", "warm_dashboard_cache", "after_sync_steps"]

log = logging.getLogger(__name__)


def cache_dir_for(settings: Settings) -> Path:
    """Where the dashboards keep their per-sync-run cache: ``<data dir>/cache/dashboards``."""
    return Path(settings.data_dir).expanduser() / "cache" / "dashboards"


def flag_thresholds(settings: Settings) -> FlagThresholds:
    """The flag thresholds the ``OCTO_FLAG_*`` settings choose (the rest keep their defaults)."""
    return FlagThresholds(bounce_rate=settings.flag_bounce_rate, complaint_rate=settings.flag_complaint_rate,
                          open_drop_sigma=settings.flag_open_drop_sigma, min_denominator=settings.flag_min_recipients)


def data_options(settings: Settings) -> dict[str, Any]:
    """:class:`DashboardData`'s options from settings (the pages and the warm-up use the same)."""
    return {"tz": settings.timezone, "cache_dir": cache_dir_for(settings), "settled_hours": settings.settled_hours,
            "flag_thresholds": flag_thresholds(settings), "flags_shown": settings.flags_shown,
            "flag_half_life_days": settings.flag_half_life_days}


def warm_dashboard_cache(store: Store, settings: Settings) -> dict[str, int] | None:
    """Build the cache entries every page starts from for the latest sync run; ``None`` (and
    nothing read) when no dashboard has used this data folder. Returns the data's counters."""
    if not cache_dir_for(settings).is_dir():
        return None
    started = time.perf_counter()
    data = DashboardData(store, **data_options(settings))
    data.campaigns()
    data.events()
    data.contacts()
    data.list_docs()
    data.list_counts()
    log.info("dashboard cache ready for the new sync run in %.1f s (%s)", time.perf_counter() - started, data.stats)
    return dict(data.stats)


def after_sync_steps(settings: Settings) -> Callable[[Store], object]:
    """What runs after every successful sync (``run_sync(after=...)``, the Sync page, the
    scheduler): the customer link step, then the dashboards' cache. Either one failing is
    logged; the sync's data is saved either way. Returns the link step's result."""
    from octolib.customers.link import after_sync_hook

    link = after_sync_hook(settings)

    def steps(store: Store) -> object:
        try:
            return link(store)
        finally:
            try:
                warm_dashboard_cache(store, settings)
            except Exception as exc:  # noqa: BLE001 - a cold cache only costs the next page view time
                log.warning("after the sync: the dashboard cache was not built: %s", exc)

    return steps
