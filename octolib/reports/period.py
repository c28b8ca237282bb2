"""Report periods: a closed range of calendar days in the account's timezone.

Why a module of its own: a partner's default range ("last_quarter"), an explicit
``--from/--to`` and the comparison with "the partner's own previous period" must agree on
one rule, and the PDF must name the period and the comparison the same way the numbers
were computed.

Rules:

- A period is ``start..end`` inclusive, as dates in the settings timezone; campaigns belong
  to it by their ``sent_at`` converted to that timezone.
- Named ranges are resolved against a reference day (the day the data is "as of", so the
  same data gives the same report), never the wall clock inside the library.
- The previous period has the same shape: the previous calendar month/quarter/year for a
  whole month/quarter/year, otherwise the same number of days immediately before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from octolib.errors import ConfigError

__all__ = ["Period", "NAMED_RANGES", "resolve_range", "parse_day"]

NAMED_RANGES: dict[str, str] = {
    "last_7_days": "the 7 days before the reference day",
    "last_30_days": "the 30 days before the reference day",
    "last_90_days": "the 90 days before the reference day",
    "last_365_days": "the 365 days before the reference day",
    "last_month": "the previous calendar month",
    "last_quarter": "the previous calendar quarter",
    "last_year": "the previous calendar year",
    "month_to_date": "from the first of the reference month to the reference day",
    "quarter_to_date": "from the first day of the reference quarter to the reference day",
    "year_to_date": "from 1 January to the reference day",
}

_DAYS = re.compile(r"^last_(\d{1,4})_days$")


def parse_day(value: Any, what: str = "date") -> date:
    """A ``date`` from a ``date``/``datetime``/``"YYYY-MM-DD"``; ConfigError naming ``what``."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ConfigError(f"{what}: {value!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-07-01")


def _quarter_start(d: date) -> date:
    return date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)


def _add_months(d: date, months: int) -> date:
    m = d.year * 12 + (d.month - 1) + months
    return date(m // 12, m % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """Inclusive calendar days ``start..end`` in timezone ``tz``."""

    start: date
    end: date
    tz: str = "UTC"

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ConfigError(
                f"period: the end {self.end.isoformat()} is before the start {self.start.isoformat()}; "
                "swap --from and --to"
            )

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def kind(self) -> str:
        """``month``, ``quarter``, ``year`` when the period is exactly one, else ``days``."""
        s, e = self.start, self.end
        if s.day == 1 and e == _add_months(s, 1) - timedelta(days=1):
            return "month"
        if s.day == 1 and s.month % 3 == 1 and e == _add_months(s, 3) - timedelta(days=1):
            return "quarter"
        if s.month == 1 and s.day == 1 and e == date(s.year, 12, 31):
            return "year"
        return "days"

    def previous(self) -> "Period":
        """The comparison period: previous month/quarter/year, or as many days just before."""
        kind = self.kind
        if kind in ("month", "quarter", "year"):
            n = {"month": 1, "quarter": 3, "year": 12}[kind]
            start = _add_months(self.start, -n)
            return Period(start, self.start - timedelta(days=1), self.tz)
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1), self.tz)

    def bounds_utc(self) -> tuple[datetime, datetime]:
        """``[start, end)`` as tz-aware UTC datetimes: local midnight to the next local midnight."""
        zone = ZoneInfo(self.tz)
        lo = datetime.combine(self.start, time(0), zone).astimezone(timezone.utc)
        hi = datetime.combine(self.end + timedelta(days=1), time(0), zone).astimezone(timezone.utc)
        return lo, hi

    def label(self) -> str:
        """Human name: ``Q3 2026``, ``July 2026``, ``2026`` or ``1 Jul 2026 – 30 Sep 2026``."""
        s = self.start
        kind = self.kind
        if kind == "month":
            return s.strftime("%B %Y")
        if kind == "quarter":
            return f"Q{(s.month - 1) // 3 + 1} {s.year}"
        if kind == "year":
            return str(s.year)
        return f"{_day(self.start)} – {_day(self.end)}"

    def comparison_name(self) -> str:
        """How the narrative names :meth:`previous`: ``the previous quarter``, ``the previous 30 days``."""
        kind = self.kind
        if kind != "days":
            return f"the previous {kind}"
        return f"the previous {self.days} days"

    def as_dict(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "tz": self.tz}


def _day(d: date) -> str:
    return f"{d.day} {d.strftime('%b %Y')}"


def resolve_range(spec: Any, reference: date, tz: str = "UTC") -> Period:
    """The :class:`Period` for a partner's ``default_range`` ``spec`` seen from ``reference``.

    ``spec`` is a name from :data:`NAMED_RANGES`, ``last_N_days``, or a mapping
    ``{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}``.

    >>> resolve_range("last_quarter", date(2026, 11, 27)).label()
    'Q3 2026'
    >>> resolve_range({"from": "2026-01-01", "to": "2026-01-31"}, date(2026, 11, 27)).label()
    'January 2026'
    >>> resolve_range("last_30_days", date(2026, 11, 27)).as_dict()["from"]
    '2026-10-28'
    """
    if isinstance(spec, dict):
        unknown = set(spec) - {"from", "to"}
        if unknown or "from" not in spec or "to" not in spec:
            raise ConfigError(
                "default_range: a fixed range needs exactly 'from' and 'to', e.g. {from: 2026-07-01, to: 2026-09-30}"
            )
        return Period(parse_day(spec["from"], "default_range.from"), parse_day(spec["to"], "default_range.to"), tz)
    if not isinstance(spec, str):
        raise ConfigError(f"default_range: {spec!r} is neither a range name nor {{from, to}}; use e.g. last_quarter")
    name = spec.strip()
    ref = reference
    if name == "last_month":
        start = _add_months(date(ref.year, ref.month, 1), -1)
        return Period(start, date(ref.year, ref.month, 1) - timedelta(days=1), tz)
    if name == "last_quarter":
        q = _quarter_start(ref)
        return Period(_add_months(q, -3), q - timedelta(days=1), tz)
    if name == "last_year":
        return Period(date(ref.year - 1, 1, 1), date(ref.year - 1, 12, 31), tz)
    if name == "month_to_date":
        return Period(date(ref.year, ref.month, 1), ref, tz)
    if name == "quarter_to_date":
        return Period(_quarter_start(ref), ref, tz)
    if name == "year_to_date":
        return Period(date(ref.year, 1, 1), ref, tz)
    m = _DAYS.match(name)
    if m and int(m.group(1)) > 0:
        n = int(m.group(1))
        return Period(ref - timedelta(days=n), ref - timedelta(days=1), tz)
    names = ", ".join(NAMED_RANGES)
    raise ConfigError(f"default_range: unknown range {spec!r}; use one of {names}, last_N_days, or {{from, to}}")
