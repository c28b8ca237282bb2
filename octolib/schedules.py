"""The schedule grammar: when a partner's reports run, written in words or as cron.

Its own module because two layers read it: :mod:`octolib.reports.partners` checks a
partner's schedule before storing it, and :mod:`octolib.ops.scheduler` turns it into a
trigger. Kept under either, it made an import circle (ops -> reports -> ops).

Accepted (times in the account's timezone, 07:00 when no time is given)::

    "first monday monthly at 07:00"   "last friday of the month"   "daily at 06:00"
    "weekly on monday at 08:30"       "monthly on day 2"           "0 7 1-7 * mon" (5-field cron)
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from octolib.errors import ConfigError

__all__ = ["parse_schedule", "EXAMPLES", "DEFAULT_TIME"]

#: The time of day of a schedule that names none (hour, minute).
DEFAULT_TIME = (7, 0)

_DAYS = {"monday": "mon", "tuesday": "tue", "wednesday": "wed", "thursday": "thu", "friday": "fri",
         "saturday": "sat", "sunday": "sun"}
_NTH = {"first": "1st", "1st": "1st", "second": "2nd", "2nd": "2nd", "third": "3rd", "3rd": "3rd",
        "fourth": "4th", "4th": "4th", "fifth": "5th", "5th": "5th", "last": "last"}
_DAY = r"(?P<dow>monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?"
_AT = r"(?:\s+at\s+(?P<h>\d{1,2})(?::(?P<m>\d{2}))?)?"
_NTH_RE = "|".join(_NTH)
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("nth", re.compile(rf"^(?:the\s+)?(?P<nth>{_NTH_RE})\s+{_DAY}\s+(?:of\s+(?:the|every)\s+month|monthly|"
                       rf"of\s+each\s+month|each\s+month|every\s+month){_AT}$")),
    ("daily", re.compile(rf"^(?:daily|every\s+day){_AT}$")),
    ("weekly", re.compile(rf"^(?:weekly\s+on|every)\s+{_DAY}{_AT}$")),
    ("monthly", re.compile(rf"^monthly(?:\s+on\s+(?:the\s+)?(?:day\s+)?(?P<dom>\d{{1,2}})(?:st|nd|rd|th)?)?{_AT}$")),
)
EXAMPLES = ('"first monday monthly at 07:00"', '"daily at 06:00"', '"weekly on friday"', '"monthly on day 2"',
            '"0 7 1-7 * mon"')


def parse_schedule(text: str, tz: str = "UTC") -> BaseTrigger:
    """A trigger for a schedule written in words or as 5-field cron (times in ``tz``).

    >>> from datetime import datetime, timezone
    >>> t = parse_schedule("first monday monthly at 07:30", "Europe/London")
    >>> t.get_next_fire_time(None, datetime(2026, 11, 27, tzinfo=timezone.utc)).isoformat()
    '2026-12-07T07:30:00+00:00'
    """
    zone = ZoneInfo(tz)
    raw = " ".join(str(text).split())
    spec = raw.lower()
    if not spec:
        raise ConfigError(f"empty schedule; write one like {', '.join(EXAMPLES)}")
    if len(spec.split()) == 5 and re.fullmatch(r"[\d*/,\-]+", spec.split()[0]):
        try:
            return CronTrigger.from_crontab(spec, timezone=zone)
        except ValueError as exc:
            raise ConfigError(f"schedule {raw!r} is not valid cron: {exc}") from None
    for kind, pattern in _PATTERNS:
        m = pattern.match(spec)
        if not m:
            continue
        hour = int(m.group("h")) if m.group("h") else DEFAULT_TIME[0]
        minute = int(m.group("m")) if m.group("m") else DEFAULT_TIME[1]
        if hour > 23 or minute > 59:
            raise ConfigError(f"schedule {raw!r}: {hour:02d}:{minute:02d} is not a time of day")
        at = {"hour": hour, "minute": minute, "timezone": zone}
        if kind == "nth":
            return CronTrigger(day=f"{_NTH[m.group('nth')]} {_DAYS[m.group('dow')]}", **at)
        if kind == "daily":
            return CronTrigger(**at)
        if kind == "weekly":
            return CronTrigger(day_of_week=_DAYS[m.group("dow")], **at)
        dom = int(m.group("dom") or 1)
        if not 1 <= dom <= 28:
            raise ConfigError(f"schedule {raw!r}: use a day of the month from 1 to 28 (every month has it)")
        return CronTrigger(day=dom, **at)
    raise ConfigError(f"schedule {raw!r} is not understood; write one like {', '.join(EXAMPLES)}")
