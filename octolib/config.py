"""Settings: built once at the edge (CLI, notebook, server) and passed inward.

Every field maps to one ``OCTO_*`` variable. The README's settings table lists each of them;
``tests/test_config.py`` fails when one is missing there.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from octolib.errors import ConfigError
from octolib.metrics.automation import AutomationThresholds
from octolib.metrics.flags import FLAG_HALF_LIFE_DAYS, FlagThresholds

DEFAULT_API_BASE = "https://api.emailoctopus.com"


def _nice(raw: str) -> int:
    """``OCTO_SYNC_NICE``: a whole number from 0 to 19 (a clear message otherwise)."""
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"OCTO_SYNC_NICE={raw!r} is not a whole number from 0 to 19") from None
    if not 0 <= value <= 19:
        raise ConfigError(f"OCTO_SYNC_NICE must be from 0 to 19, got {raw!r}")
    return value


@dataclass(frozen=True)
class Setting:
    """One ``OCTO_*`` variable: its default (as text) and what it does."""

    env: str
    default: str
    help: str


# The rules' thresholds are defined, with their defaults, where the rules are
# (octolib.metrics.automation and .flags); the settings below only name them.
_AUTOMATION = AutomationThresholds()
_FLAGS = FlagThresholds()


def _text(value: float) -> str:
    """A default number as the settings table writes it (10.0 -> "10", 0.001 -> "0.001")."""
    return f"{value:g}"


# The one table of settings. Order is the README's order.
SETTINGS: tuple[Setting, ...] = (
    Setting("OCTO_API_KEY", "", "EmailOctopus API v2 key (Bearer). Required unless OCTO_DEMO=1. Never logged."),
    Setting("OCTO_API_BASE", DEFAULT_API_BASE, "Base URL of the EmailOctopus API (the demo points it at the local account)."),
    Setting("OCTO_DEMO", "0", "1 = use the built-in local EmailOctopus account instead of the real API."),
    Setting("OCTO_MONGODB_URI", "", "MongoDB connection string. Empty = a local mongod if on PATH, else the embedded store."),
    Setting("OCTO_DB_NAME", "octopus", "Database name inside MongoDB."),
    Setting("OCTO_DATA_DIR", "~/.octopus", "Folder for the embedded store, a private mongod's data, reports and backups."),
    Setting("OCTO_WORKSPACE_DIR", "", "The one folder analysts edit: dashboards and `_report_templates/`; JupyterLab shows it and reports run from it. Empty = OCTO_DATA_DIR/workspace. Seeded from the package; an edit is never overwritten."),
    Setting("OCTO_RATE_PER_S", "10", "Client-side request rate (tokens per second) for the EmailOctopus API."),
    Setting("OCTO_RATE_BURST", "100", "Token-bucket size (burst) for the EmailOctopus API."),
    Setting("OCTO_MAX_WORKERS", "4", "Concurrent requests in flight, so latency does not waste the rate budget."),
    Setting("OCTO_TIMEOUT_S", "30", "Per-request timeout in seconds."),
    Setting("OCTO_MAX_ATTEMPTS", "6", "Attempts per request on 429, 5xx and timeouts before giving up."),
    Setting("OCTO_TIMEZONE", "UTC", "IANA timezone for day/week/month buckets and heatmaps."),
    Setting("OCTO_SYNC_SENT_EVENTS", "0", "1 = also store a `sent` engagement event per contact (costly)."),
    Setting("OCTO_LOG_LEVEL", "WARNING", "Log level of the octo command (INFO shows one line per API request)."),
    Setting("OCTO_SESSION_IDLE_MINUTES", "30", "Minutes without activity after which a login session of `octo serve` ends."),
    Setting("OCTO_LOCKOUT_ATTEMPTS", "5", "Failed logins for one user that lock that user (the attempt before warns)."),
    Setting("OCTO_LOCKOUT_ADDRESS_ATTEMPTS", "50", "Failed logins from one client address, any user, that lock that address (high, so colleagues behind one office address do not lock each other out)."),
    Setting("OCTO_LOCKOUT_MINUTES", "15", "How long a lockout lasts, in minutes."),
    Setting("OCTO_SYNC_EVERY", "60", "Minutes between incremental syncs run by `octo scheduler`."),
    Setting("OCTO_SMTP_HOST", "", "SMTP server for emailing report PDFs to partners. Empty = delivery is off, nothing is sent."),
    Setting("OCTO_SMTP_PORT", "587", "SMTP port (587 with STARTTLS; 465 implicit TLS; 25 plain)."),
    Setting("OCTO_SMTP_USER", "", "SMTP login name (empty = no login)."),
    Setting("OCTO_SMTP_PASSWORD", "", "SMTP password. Never logged."),
    Setting("OCTO_SMTP_FROM", "", "Sender address of report emails (default: OCTO_SMTP_USER)."),
    Setting("OCTO_SMTP_STARTTLS", "1", "1 = upgrade the SMTP connection with STARTTLS (refuse to send if the server cannot)."),
    Setting("OCTO_RETENTION_DAYS", "90", "Metric snapshots older than this many days are thinned to one per campaign per day by `octo retention`."),
    Setting("OCTO_SETTLED_HOURS", "72", "Hours after sending before a campaign is judged; younger or still-sending campaigns are shown as \"in progress\" and left out of medians, rankings, flags, trends and comparisons."),
    # conversions (issue 13): uploaded outcomes are attributed to the last campaign clicked within this window
    Setting("OCTO_CONVERSION_WINDOW_DAYS", "7", "Days after a click in which an uploaded outcome (conversion) counts for the campaign clicked last; older clicks do not count."),
    # Customers and energy projects (issue 15).
    Setting("OCTO_CUSTOMERS_SOURCE", "import", "`import` = octopus's own customers/projects collections, filled by `octo customers import` / `octo projects import`; `existing` = the owner's collections (named below), read and never written."),
    Setting("OCTO_CUSTOMERS_DB", "", "Database holding the customer collections (empty = OCTO_DB_NAME)."),
    Setting("OCTO_CUSTOMERS_COLLECTION", "customers", "Collection of customer records (`_id` = customer id)."),
    Setting("OCTO_PROJECTS_COLLECTION", "energy_analyses", "Collection of energy-analysis projects (`_id` = project id)."),
    Setting("OCTO_LINK_STRIP_PLUS", "0", "1 = ignore `+tag` parts of addresses when linking contacts to customers (ana+news@x = ana@x)."),
    Setting("OCTO_LINK_FIELD", "", "Tag of an EmailOctopus custom field holding the customer id; it links a contact before its address does. Empty = by address only."),
    Setting("OCTO_SEGMENT_MIN_GROUP", "10", "Smallest segment (contacts) shown, printed or exported; smaller ones are merged into \"Other\" (and left out when \"Other\" is small too)."),
    # Automated-activity detection (issue 14): the thresholds of octolib.metrics.automation's rules.
    Setting("OCTO_AUTOMATION_INSTANT_S", _text(_AUTOMATION.instant_s), "Automated-activity rules `open_at_send`/`click_at_send`: an open or click within this many seconds of the campaign's send time is a machine open / bot click."),
    Setting("OCTO_AUTOMATION_SEND_WINDOW_S", _text(_AUTOMATION.send_window_s), "Seconds after the send during which bursts of opens or clicks count as automated (the sending period)."),
    Setting("OCTO_AUTOMATION_BURST_S", _text(_AUTOMATION.burst_s), "Width in seconds of the window in which burst rules count a campaign's opens or clicks around each one."),
    Setting("OCTO_AUTOMATION_OPEN_BURST", _text(_AUTOMATION.open_burst), "Rule `open_send_burst`: at least this many opens in the window, in the sending period, make machine opens."),
    Setting("OCTO_AUTOMATION_CLICK_BURST", _text(_AUTOMATION.click_burst), "Rule `click_send_burst`: at least this many clicks in the window, in the sending period, make bot clicks."),
    Setting("OCTO_AUTOMATION_SAME_SECOND", _text(_AUTOMATION.same_second), "Rule `click_same_second`: at least this many contacts of one campaign clicking in the same second make bot clicks (a gateway's batch scan)."),
    Setting("OCTO_AUTOMATION_CLICK_BEFORE_OPEN_S", _text(_AUTOMATION.click_before_open_s), "Rule `click_before_open`: a click this many seconds or more before the same contact's open is a bot click. Changing any OCTO_AUTOMATION_* value relabels the stored events at the next sync."),
    # flags worth reading (issue 14, octolib/metrics/flags.py)
    Setting("OCTO_FLAG_BOUNCE_RATE", _text(_FLAGS.bounce_rate), "A campaign is flagged when its bounce rate (of sent) is above this ratio (0.02 = 2 %)."),
    Setting("OCTO_FLAG_COMPLAINT_RATE", _text(_FLAGS.complaint_rate), "A campaign is flagged when its complaint rate (of delivered) is above this ratio (0.001 = 0.1 %)."),
    Setting("OCTO_FLAG_OPEN_DROP_SIGMA", _text(_FLAGS.open_drop_sigma), "A campaign is flagged when its open rate is this many standard deviations below its list's median of the previous 10 settled campaigns."),
    Setting("OCTO_FLAG_MIN_RECIPIENTS", _text(_FLAGS.min_denominator), "Campaigns with fewer recipients than this are never flagged (small numbers swing a lot)."),
    Setting("OCTO_FLAGS_SHOWN", "5", "How many flags the overview shows before \"show all\" (the most important first)."),
    Setting("OCTO_FLAG_HALF_LIFE_DAYS", _text(FLAG_HALF_LIFE_DAYS), "Ranking of flags: a flag this many days older than another, equally severe, counts half as much."),
    # Two analysts at once (issue 17)
    Setting("OCTO_SYNC_NICE", "10", "CPU priority a sync runs at, as `nice` counts (0-19; 0 = the same as the pages): a sync is background work, and a page an analyst waits for goes first."),
)


def _choice(value: str, name: str, options: tuple[str, ...]) -> str:
    if value not in options:
        raise ConfigError(f"{name}={value!r} is not one of {', '.join(options)}")
    return value


def _truthy(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Frozen settings. Build with :meth:`from_env`; tests build it directly."""

    api_key: str = field(default="", repr=False)
    api_base: str = DEFAULT_API_BASE
    demo: bool = False
    mongodb_uri: str = field(default="", repr=False)
    db_name: str = "octopus"
    data_dir: Path = Path("~/.octopus").expanduser()
    workspace_dir: Path | None = None  # None: data_dir / "workspace" (see workspace_root)
    rate_per_s: float = 10.0
    rate_burst: int = 100
    max_workers: int = 4
    timeout_s: float = 30.0
    max_attempts: int = 6
    timezone: str = "UTC"
    sync_sent_events: bool = False
    log_level: str = "WARNING"
    session_idle_minutes: float = 30.0
    lockout_attempts: int = 5
    lockout_minutes: float = 15.0
    lockout_address_attempts: int = 50
    sync_every: float = 60.0
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_from: str = ""
    smtp_starttls: bool = True
    retention_days: float = 90.0
    settled_hours: float = 72.0
    # conversions (issue 13): attribution window of uploaded outcomes, in days
    conversion_window_days: float = 7.0
    # Customers and energy projects (issue 15).
    customers_source: str = "import"
    customers_db: str = ""
    customers_collection: str = "customers"
    projects_collection: str = "energy_analyses"
    link_strip_plus: bool = False
    link_field: str = ""
    segment_min_group: int = 10
    # Automated-activity detection (issue 14); see octolib.metrics.automation.AutomationThresholds.
    automation_instant_s: float = _AUTOMATION.instant_s
    automation_send_window_s: float = _AUTOMATION.send_window_s
    automation_burst_s: float = _AUTOMATION.burst_s
    automation_open_burst: int = _AUTOMATION.open_burst
    automation_click_burst: int = _AUTOMATION.click_burst
    automation_same_second: int = _AUTOMATION.same_second
    automation_click_before_open_s: float = _AUTOMATION.click_before_open_s
    # flags worth reading (issue 14, octolib/metrics/flags.py)
    flag_bounce_rate: float = _FLAGS.bounce_rate
    flag_complaint_rate: float = _FLAGS.complaint_rate
    flag_open_drop_sigma: float = _FLAGS.open_drop_sigma
    flag_min_recipients: int = _FLAGS.min_denominator
    flags_shown: int = 5
    flag_half_life_days: float = FLAG_HALF_LIFE_DAYS
    # Two analysts at once (issue 17)
    sync_nice: int = 10

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, dotenv: str | Path | None = ".env"
    ) -> "Settings":
        """Read ``OCTO_*`` from the environment, after an optional ``.env`` file.

        Real environment variables win over the ``.env`` file, as with docker and systemd.
        """
        env: dict[str, str] = {}
        if dotenv is not None and Path(dotenv).is_file():
            from dotenv import dotenv_values

            env.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
        env.update(os.environ if environ is None else environ)
        defaults = {s.env: s.default for s in SETTINGS}

        def get(name: str) -> str:
            return env.get(name, defaults[name]).strip()

        def number(name: str, kind: type) -> float | int:
            raw = get(name)
            try:
                value = kind(raw)
            except ValueError:
                raise ConfigError(f"{name}={raw!r} is not a valid {kind.__name__}") from None
            if value <= 0:
                raise ConfigError(f"{name} must be greater than 0, got {raw!r}")
            return value

        settings = cls(
            api_key=get("OCTO_API_KEY"),
            api_base=get("OCTO_API_BASE").rstrip("/") or DEFAULT_API_BASE,
            demo=_truthy(get("OCTO_DEMO")),
            mongodb_uri=get("OCTO_MONGODB_URI"),
            db_name=get("OCTO_DB_NAME") or "octopus",
            data_dir=Path(get("OCTO_DATA_DIR") or "~/.octopus").expanduser(),
            workspace_dir=Path(get("OCTO_WORKSPACE_DIR")).expanduser() if get("OCTO_WORKSPACE_DIR") else None,
            rate_per_s=float(number("OCTO_RATE_PER_S", float)),
            rate_burst=int(number("OCTO_RATE_BURST", int)),
            max_workers=int(number("OCTO_MAX_WORKERS", int)),
            timeout_s=float(number("OCTO_TIMEOUT_S", float)),
            max_attempts=int(number("OCTO_MAX_ATTEMPTS", int)),
            timezone=get("OCTO_TIMEZONE") or "UTC",
            sync_sent_events=_truthy(get("OCTO_SYNC_SENT_EVENTS")),
            log_level=get("OCTO_LOG_LEVEL").upper() or "WARNING",
            session_idle_minutes=float(number("OCTO_SESSION_IDLE_MINUTES", float)),
            lockout_attempts=int(number("OCTO_LOCKOUT_ATTEMPTS", int)),
            lockout_minutes=float(number("OCTO_LOCKOUT_MINUTES", float)),
            lockout_address_attempts=int(number("OCTO_LOCKOUT_ADDRESS_ATTEMPTS", int)),
            sync_every=float(number("OCTO_SYNC_EVERY", float)),
            smtp_host=get("OCTO_SMTP_HOST"),
            smtp_port=int(number("OCTO_SMTP_PORT", int)),
            smtp_user=get("OCTO_SMTP_USER"),
            smtp_password=env.get("OCTO_SMTP_PASSWORD", ""),
            smtp_from=get("OCTO_SMTP_FROM"),
            smtp_starttls=_truthy(get("OCTO_SMTP_STARTTLS")),
            retention_days=float(number("OCTO_RETENTION_DAYS", float)),
            settled_hours=float(number("OCTO_SETTLED_HOURS", float)),
            # conversions (issue 13)
            conversion_window_days=float(number("OCTO_CONVERSION_WINDOW_DAYS", float)),
            customers_source=_choice(get("OCTO_CUSTOMERS_SOURCE") or "import", "OCTO_CUSTOMERS_SOURCE", ("import", "existing")),
            customers_db=get("OCTO_CUSTOMERS_DB"),
            customers_collection=get("OCTO_CUSTOMERS_COLLECTION") or "customers",
            projects_collection=get("OCTO_PROJECTS_COLLECTION") or "energy_analyses",
            link_strip_plus=_truthy(get("OCTO_LINK_STRIP_PLUS")),
            link_field=get("OCTO_LINK_FIELD"),
            segment_min_group=int(number("OCTO_SEGMENT_MIN_GROUP", int)),
            automation_instant_s=float(number("OCTO_AUTOMATION_INSTANT_S", float)),
            automation_send_window_s=float(number("OCTO_AUTOMATION_SEND_WINDOW_S", float)),
            automation_burst_s=float(number("OCTO_AUTOMATION_BURST_S", float)),
            automation_open_burst=int(number("OCTO_AUTOMATION_OPEN_BURST", int)),
            automation_click_burst=int(number("OCTO_AUTOMATION_CLICK_BURST", int)),
            automation_same_second=int(number("OCTO_AUTOMATION_SAME_SECOND", int)),
            automation_click_before_open_s=float(number("OCTO_AUTOMATION_CLICK_BEFORE_OPEN_S", float)),
            flag_bounce_rate=float(number("OCTO_FLAG_BOUNCE_RATE", float)),
            flag_complaint_rate=float(number("OCTO_FLAG_COMPLAINT_RATE", float)),
            flag_open_drop_sigma=float(number("OCTO_FLAG_OPEN_DROP_SIGMA", float)),
            flag_min_recipients=int(number("OCTO_FLAG_MIN_RECIPIENTS", int)),
            flags_shown=int(number("OCTO_FLAGS_SHOWN", int)),
            flag_half_life_days=float(number("OCTO_FLAG_HALF_LIFE_DAYS", float)),
            sync_nice=_nice(get("OCTO_SYNC_NICE")),
        )
        settings.validate_timezone()
        return settings

    def validate_timezone(self) -> None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"OCTO_TIMEZONE={self.timezone!r} is not an IANA timezone (e.g. Europe/London)") from None

    def require_api_key(self) -> str:
        """The key, or a one-line error naming the variable (outside demo mode)."""
        if not self.api_key:
            raise ConfigError(
                "OCTO_API_KEY is not set: create a v2 API key in EmailOctopus (Settings > API) "
                "and export OCTO_API_KEY, or run with OCTO_DEMO=1 for the built-in demo account"
            )
        return self.api_key

    @property
    def workspace_root(self) -> Path:
        """The analysts' workspace (octolib.workspace): OCTO_WORKSPACE_DIR, else under the data dir.

        Derived rather than stored, so a test or a command that changes ``data_dir`` moves
        the workspace with it unless one was set explicitly.
        """
        return Path(self.workspace_dir or Path(self.data_dir) / "workspace").expanduser()

    def replace(self, **changes: Any) -> "Settings":
        return dataclasses.replace(self, **changes)
