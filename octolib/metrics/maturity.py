"""Maturity: is a campaign's result final enough to be judged at time ``as_of``?

Opens and clicks keep arriving for days after a send, and a campaign still ``sending`` has
reached only part of its list. Judging such a campaign against finished ones tells a
partner that it "collapsed" when it has merely not finished (a 15-hour-old send at 4.8%
against a median of 42%). So every surface asks this one question, answered here once:

- **settled**: status ``sent``, a send time, and at least ``settled_hours`` between the
  send and ``as_of``. Only settled campaigns enter medians, rankings (best/worst), flags,
  trend lines and period comparisons.
- **in progress**: sent or sending (it has a send time or the status ``sending``) but not
  settled. Shown apart and marked "in progress"; curves of it stop at ``as_of``.
- anything else (drafts, scheduled) is neither.

``as_of`` is the data's notion of now (the last sync's finish, or a clock the caller was
given), never ``datetime.now()`` read here: the same data must give the same answer.
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
from numpy.typing import ArrayLike

from octolib.metrics.timezones import utc_seconds

__all__ = ["DEFAULT_SETTLED_HOURS", "IN_PROGRESS", "settled", "in_progress", "hours_since"]

#: Hours after sending before a campaign's numbers are judged (``OCTO_SETTLED_HOURS``).
DEFAULT_SETTLED_HOURS = 72.0

#: The mark every surface prints next to an in-progress campaign.
IN_PROGRESS = "in progress"


def _as_of_seconds(as_of: ArrayLike | datetime) -> int:
    if isinstance(as_of, datetime):  # aware datetimes are converted, naive ones are UTC
        as_of = as_of.astimezone(timezone.utc).replace(tzinfo=None) if as_of.tzinfo else as_of
    secs, ok = utc_seconds(np.asarray([as_of], dtype="datetime64[s]"))
    if not ok[0]:
        raise ValueError("as_of must be a time, not NaT")
    return int(secs[0])


def hours_since(sent_at: ArrayLike, as_of: ArrayLike | datetime) -> np.ndarray:
    """Hours from each send to ``as_of`` (NaN when not sent; negative if sent after ``as_of``).

    >>> t = np.array(["2026-01-01T00:00", "NaT"], dtype="datetime64[s]")
    >>> hours_since(t, np.datetime64("2026-01-02T06:00", "s")).tolist()
    [30.0, nan]
    """
    secs, ok = utc_seconds(sent_at)
    now = _as_of_seconds(as_of)
    return np.where(ok, (now - secs.astype(np.float64)) / 3600.0, np.nan)


def settled(status: ArrayLike, sent_at: ArrayLike, as_of: ArrayLike | datetime,
            settled_hours: float = DEFAULT_SETTLED_HOURS) -> np.ndarray:
    """True where the campaign is finished sending and ``settled_hours`` old at ``as_of``.

    >>> t = np.array(["2026-01-01", "2026-01-04", "2026-01-01", "NaT"], dtype="datetime64[s]")
    >>> settled(["sent", "sent", "sending", "draft"], t, np.datetime64("2026-01-05", "s"), 72).tolist()
    [True, False, False, False]
    """
    if settled_hours < 0:
        raise ValueError("settled_hours must be 0 or more")
    age = hours_since(sent_at, as_of)
    st = np.asarray(status, dtype=object).reshape(-1)
    done = np.array([str(s) == "sent" for s in st], dtype=bool)
    return done & ~np.isnan(age) & (np.nan_to_num(age, nan=-1.0) >= settled_hours)


def in_progress(status: ArrayLike, sent_at: ArrayLike, as_of: ArrayLike | datetime,
                settled_hours: float = DEFAULT_SETTLED_HOURS) -> np.ndarray:
    """True where the campaign has started (``sending``, or ``sent`` with a send time) but
    is not :func:`settled` at ``as_of``.

    >>> t = np.array(["2026-01-01", "2026-01-04", "2026-01-01", "NaT"], dtype="datetime64[s]")
    >>> in_progress(["sent", "sent", "sending", "draft"], t, np.datetime64("2026-01-05", "s"), 72).tolist()
    [False, True, True, False]
    """
    st = np.asarray(status, dtype=object).reshape(-1)
    secs, ok = utc_seconds(sent_at)
    started = np.array([str(s) == "sending" for s in st], dtype=bool) | (
        ok & np.array([str(s) == "sent" for s in st], dtype=bool))
    return started & ~settled(status, sent_at, as_of, settled_hours)
