"""``octo doctor``: is everything in place for octopus to keep running? A readable list, one line per check.

Checks, each ``ok``, ``warn`` or ``fail`` with what to do about it:

- **api key**: one cheap request (``GET /lists?limit=1``) with the configured key;
- **store**: MongoDB reachable, and its version (>= 5 for time-series snapshots), or the
  embedded store in use;
- **indexes**: every index octopus relies on exists (``--fix`` creates the missing ones);
- **last sync**: how long ago, and whether it succeeded;
- **disk**: free space where the data dir lives;
- **backups**: age of the newest archive in ``<data dir>/backups`` (a warning only);
- **smtp**: when delivery is configured, that the server answers and accepts the login;
- **chromium**: the browser every chart of a PDF is drawn with (no browser, no reports);
- **poppler**: ``pdftoppm``, for the report builder's page previews (a warning only).

``octo doctor`` exits 1 when any check fails; warnings alone exit 0. Each check is a small
function taking what it needs (a store, settings, a clock), so tests run each one against
the local EmailOctopus account and a fresh store.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NamedTuple

from octolib.config import DEFAULT_API_BASE, Settings
from octolib.errors import APIError, AuthError, ConfigError, OctoError, RateLimited, TransportError, redact
from octolib.store import Store
from octolib.store.data_as_of import data_as_of

__all__ = [
    "OK",
    "WARN",
    "FAIL",
    "Check",
    "DoctorReport",
    "expected_indexes",
    "check_api",
    "check_store",
    "check_indexes",
    "check_last_sync",
    "check_disk",
    "check_backups",
    "check_smtp",
    "check_chromium",
    "check_poppler",
    "run_doctor",
]

log = logging.getLogger(__name__)

OK, WARN, FAIL = "ok", "warn", "fail"
GiB = 1024**3


@dataclass
class Check:
    """One line of the report: ``fix`` says what to do when ``status`` is not ``ok``."""

    name: str
    status: str
    detail: str
    fix: str = ""

    def render(self) -> str:
        mark = {OK: "ok  ", WARN: "WARN", FAIL: "FAIL"}[self.status]
        line = f"{mark}  {self.name:<10} {self.detail}"
        if self.fix and self.status != OK:
            line += f"\n{'':16}-> {self.fix}"
        return line


@dataclass
class DoctorReport:
    checks: list[Check] = field(default_factory=list)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == FAIL]

    @property
    def warnings(self) -> list[Check]:
        return [c for c in self.checks if c.status == WARN]

    @property
    def ok(self) -> bool:
        return not self.failed

    def render(self) -> str:
        head = ("all checks passed" if self.ok and not self.warnings else
                f"{len(self.failed)} problem(s), {len(self.warnings)} warning(s)")
        return "\n".join([f"octo doctor: {head}", *(c.render() for c in self.checks)])


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _aware(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    return None


def _ago(delta: timedelta) -> str:
    s = max(0, int(delta.total_seconds()))
    if s < 120:
        return f"{s} s ago"
    if s < 7200:
        return f"{s // 60} min ago"
    if s < 172800:
        return f"{s / 3600:.1f} h ago"
    return f"{s / 86400:.1f} days ago"


# -- api ---------------------------------------------------------------------------------------

def check_api(settings: Settings, *, client_factory: Callable[..., Any] | None = None) -> Check:
    """One ``GET /lists?limit=1`` with the configured key: proves the key, the URL and the network."""
    from octolib.api import EmailOctopusClient

    factory = client_factory or EmailOctopusClient.from_settings
    name = "api key"
    if settings.demo and settings.api_base == DEFAULT_API_BASE:
        return Check(name, OK, "demo mode (OCTO_DEMO=1): the built-in account, no EmailOctopus key is used")
    try:
        client = factory(settings, max_attempts=2, timeout_s=min(settings.timeout_s, 15.0))
    except ConfigError as exc:
        return Check(name, FAIL, str(exc).split(":")[0], str(exc))
    started = time.perf_counter()
    try:
        with client:
            next(iter(client.list_pages(limit=1)), None)
    except AuthError as exc:
        return Check(name, FAIL, f"the key was refused ({exc.status})",
                     "create a v2 API key in EmailOctopus (Settings > API keys) and set OCTO_API_KEY")
    except RateLimited:
        return Check(name, WARN, "the key works but the API answers 429 (rate limit) right now",
                     "another client may be using the same account's budget; try again in a minute")
    except TransportError as exc:
        return Check(name, FAIL, f"cannot reach {settings.api_base}: {redact(str(exc), settings.api_key)}",
                     "check the network, a proxy, or OCTO_API_BASE")
    except (APIError, OctoError) as exc:
        return Check(name, FAIL, redact(str(exc), settings.api_key), "see the message; retry later if it is a 5xx")
    where = "the demo account" if settings.demo else settings.api_base
    return Check(name, OK, f"{where} answered GET /lists in {time.perf_counter() - started:.2f} s")


# -- store -------------------------------------------------------------------------------------

def check_store(store: Store) -> Check:
    """Reachability (a ping on MongoDB) and the server version."""
    name = "store"
    if store.kind == "embedded":
        try:
            store.db.list_collection_names()
        except Exception as exc:  # noqa: BLE001 - any failure to read is the finding
            return Check(name, FAIL, f"the embedded store cannot be read: {exc}", "check the data dir's permissions")
        return Check(name, OK, f"{store.description} (no MongoDB server: fine for small accounts)")
    started = time.perf_counter()
    try:
        store.client.admin.command("ping")
    except Exception as exc:  # noqa: BLE001
        return Check(name, FAIL, f"{store.description} does not answer: {redact(str(exc))[:200]}",
                     "start MongoDB or fix OCTO_MONGODB_URI")
    ms = (time.perf_counter() - started) * 1000
    version = store.server_version
    shown = ".".join(map(str, version))
    if version < (4, 0):
        return Check(name, FAIL, f"MongoDB {shown} is too old for pymongo 4", "upgrade MongoDB to 6.0 or later")
    if version < (5, 0):
        return Check(name, WARN, f"MongoDB {shown} ({ms:.0f} ms): snapshots are plain collections, not time series",
                     "upgrade MongoDB to 6.0 or later")
    return Check(name, OK, f"MongoDB {shown}, ping {ms:.0f} ms, {store.description}")


class IndexSpec(NamedTuple):
    collection: str
    keys: tuple[tuple[str, int], ...]
    unique: bool


def expected_indexes() -> list[IndexSpec]:
    """The indexes :meth:`Store.ensure_indexes` creates (read from the store module's table)."""
    from octolib.store import core

    table = core.INDEXES
    return [IndexSpec(c, tuple((k, int(d)) for k, d in keys), bool(opts.get("unique"))) for c, keys, opts in table]


def check_indexes(store: Store, *, fix: bool = False) -> Check:
    """Every expected index present (same keys; unique where it must be). ``fix`` creates them."""
    name = "indexes"
    if fix:
        store.ensure_indexes()
    missing: list[str] = []
    wanted = expected_indexes()
    by_collection: dict[str, list[tuple[tuple[tuple[str, int], ...], bool]]] = {}
    try:
        for spec in wanted:
            if spec.collection not in by_collection:
                info = store.db[spec.collection].index_information()
                by_collection[spec.collection] = [
                    (tuple((k, int(d)) for k, d in i.get("key", [])), bool(i.get("unique"))) for i in info.values()]
            have = by_collection[spec.collection]
            if not any(keys == spec.keys and (unique or not spec.unique) for keys, unique in have):
                shown = ", ".join(f"{k} {d:+d}" for k, d in spec.keys)
                missing.append(f"{spec.collection}({shown}{', unique' if spec.unique else ''})")
    except Exception as exc:  # noqa: BLE001
        return Check(name, FAIL, f"cannot read the indexes: {redact(str(exc))[:200]}", "check the store")
    if missing:
        return Check(name, FAIL, f"{len(missing)} missing: {'; '.join(missing[:5])}" + (" ..." if len(missing) > 5 else ""),
                     "run `octo doctor --fix` (or any `octo sync`) to create them")
    return Check(name, OK, f"all {len(wanted)} present" + (" (after --fix)" if fix else ""))


def check_last_sync(store: Store, *, now: datetime, sync_every_minutes: float) -> Check:
    """The newest ``sync_runs`` record: its status and age against the sync interval.

    The health question is about the newest *attempt* (a run still going or killed matters
    here); the detail also names the run the data is as of, by the one rule every page,
    PDF and export uses (:func:`octolib.store.data_as_of.data_as_of`).

    Older than twice the interval is a warning (one missed run can happen); older than
    three intervals and at least three hours is a failure (nobody is syncing any more).
    """
    from octolib.store.locks import lock_owner

    name = "last sync"
    run = next(iter(store.sync_runs.find({}).sort([("started_at", -1)]).limit(1)), None)
    if run is None:
        return Check(name, FAIL, "no sync has run yet", "run `octo sync`, then start `octo scheduler`")
    started = _aware(run.get("started_at")) or now
    finished = _aware(run.get("finished_at"))
    status = run.get("status", "?")
    age = now - (finished or started)
    as_of = data_as_of(store)
    rests_on = (f"; pages, reports and exports show data as of sync run {as_of.run_id[-6:]} ({as_of.status})"
                if as_of.run_id else "; no finished run to show data from")
    if status == "running":
        lock = lock_owner(store.locks, "sync")
        expires = _aware((lock or {}).get("expires_at"))
        if lock and expires and expires > now:
            return Check(name, OK, f"a sync is running, started {_ago(now - started)}{rests_on}")
        return Check(name, WARN, f"the sync started {_ago(now - started)} never finished (killed?){rests_on}",
                     "the next sync resumes from its checkpoints; run `octo sync` if none is scheduled")
    if status != "succeeded":
        errors = [e for e in run.get("errors") or [] if isinstance(e, dict) and e.get("level", "error") == "error"]
        why = redact(str(errors[0].get("message", "")))[:200] if errors else "no error recorded"
        return Check(name, FAIL, f"the last sync {status} {_ago(age)}: {why}{rests_on}",
                     "fix the cause (see `octo sync` output), then run `octo sync`")
    interval = timedelta(minutes=sync_every_minutes)
    if age > max(3 * interval, timedelta(hours=3)):
        return Check(name, FAIL, f"the last sync succeeded {_ago(age)}: the data is stale",
                     "is `octo scheduler` running? (systemctl status octopus-scheduler)")
    if age > 2 * interval:
        return Check(name, WARN, f"the last sync succeeded {_ago(age)} (expected every {sync_every_minutes:g} min)",
                     "check that `octo scheduler` is running")
    return Check(name, OK, f"succeeded {_ago(age)}")


def check_disk(path: Path, *, fail_below: int = 1 * GiB, warn_below: int = 5 * GiB,
               usage: Callable[[Path], Any] = shutil.disk_usage) -> Check:
    """Free space on the filesystem holding ``path`` (or its nearest existing parent)."""
    name = "disk"
    where = Path(path).expanduser()
    while not where.exists() and where != where.parent:
        where = where.parent
    u = usage(where)
    free_gib = u.free / GiB
    text = f"{free_gib:.1f} GiB free of {u.total / GiB:.1f} GiB at {where}"
    if u.free < fail_below:
        return Check(name, FAIL, text, "free some space (old backups in <data dir>/backups, old report batches)")
    if u.free < warn_below:
        return Check(name, WARN, text, "space is getting low; prune old backups (`octo backup --keep N`)")
    return Check(name, OK, text)


def check_backups(directory: Path, *, now: datetime, max_age_days: float = 7.0) -> Check:
    """Age of the newest backup archive; a warning only (backups may be kept elsewhere)."""
    from octolib.ops.backup import list_backups

    name = "backups"
    archives = [p for p in list_backups(directory) if not p.name.startswith("pre-restore-")]
    if not archives:
        return Check(name, WARN, f"no backup in {directory}", "schedule `octo backup --keep 14` daily (docs/operations.md)")
    newest = max(archives, key=lambda p: p.stat().st_mtime)
    age = now - datetime.fromtimestamp(newest.stat().st_mtime, timezone.utc)
    if age > timedelta(days=max_age_days):
        return Check(name, WARN, f"the newest backup is {_ago(age)}: {newest.name}", "is the backup cron job running?")
    return Check(name, OK, f"{len(archives)} archive(s), newest {_ago(age)}")


def check_smtp(settings: Settings) -> Check:
    """When delivery is configured: connect, TLS, log in, quit (nothing is sent)."""
    from octolib.ops.delivery import DeliveryError, SmtpConfig, smtp_session

    name = "smtp"
    config = SmtpConfig.from_settings(settings)
    if config is None:
        return Check(name, OK, "delivery off (OCTO_SMTP_HOST is empty): reports are not emailed")
    try:
        config.from_address
        with smtp_session(config):
            pass
    except DeliveryError as exc:
        return Check(name, FAIL, str(exc), "fix the OCTO_SMTP_* settings")
    return Check(name, OK, f"{config.describe()} accepted the connection")


def check_chromium(path: str | None = None) -> Check:
    """Chromium on ``PATH`` (``path``: a PATH-style string), found the way reports find it."""
    from octolib.charts.export import BROWSER_NAMES, CHROMIUM_INSTALL, find_chromium

    name = "chromium"
    found = find_chromium(path)
    if not found:
        return Check(name, FAIL, f"not on PATH (looked for {', '.join(BROWSER_NAMES)}): reports cannot draw charts "
                     "and refuse to run", CHROMIUM_INSTALL)
    return Check(name, OK, f"{found} (draws the charts of every PDF)")


def check_poppler(path: str | None = None) -> Check:
    """poppler's ``pdftoppm``: the report builder's previews. A warning: the PDFs do not need it."""
    name = "poppler"
    found = shutil.which("pdftoppm", path=path)
    if not found:
        return Check(name, WARN, "pdftoppm is not on PATH: the report builder shows no page previews",
                     "install it with `sudo apt-get install -y poppler-utils`")
    return Check(name, OK, f"{found} (report previews)")


def run_doctor(
    settings: Settings,
    *,
    store: Store | None = None,
    fix: bool = False,
    clock: Callable[[], datetime] = _utcnow,
    client_factory: Callable[..., Any] | None = None,
    skip: Sequence[str] = (),
) -> DoctorReport:
    """Run every check and return the report. ``store`` is opened from ``settings`` when not given.

    A store that cannot be opened fails the store check and skips the checks that need it.
    ``skip`` names checks to leave out (``api``, ``smtp``, ...).
    """
    from octolib.store import connect

    report = DoctorReport()
    now = clock()
    if "api" not in skip:
        report.checks.append(check_api(settings, client_factory=client_factory))
    own = store is None
    try:
        if store is None:
            try:
                store = connect(settings)
            except OctoError as exc:
                report.checks.append(Check("store", FAIL, redact(str(exc)), "start MongoDB or fix OCTO_MONGODB_URI"))
        if store is not None:
            report.checks.append(check_store(store))
            if report.checks[-1].status != FAIL:
                if "indexes" not in skip:
                    report.checks.append(check_indexes(store, fix=fix))
                if "sync" not in skip:
                    report.checks.append(check_last_sync(store, now=now, sync_every_minutes=settings.sync_every))
    finally:
        if own and store is not None:
            store.close()
    if "disk" not in skip:
        report.checks.append(check_disk(Path(settings.data_dir)))
    if "backups" not in skip:
        report.checks.append(check_backups(Path(settings.data_dir).expanduser() / "backups", now=now))
    if "smtp" not in skip:
        report.checks.append(check_smtp(settings))
    if "chromium" not in skip:
        report.checks.append(check_chromium())
    if "poppler" not in skip:
        report.checks.append(check_poppler())
    for c in report.checks:
        log.debug("doctor %s: %s %s", c.name, c.status, c.detail)
    return report
