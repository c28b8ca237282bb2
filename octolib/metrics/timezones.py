"""UTC instants to local wall-clock time in an IANA zone, vectorised and DST-correct.

Why not one ``datetime`` per element: a million events would take seconds. Why not a fixed
offset: a week bucket that spans a DST change would be off by an hour for half its events.

Approach (exact): a zone's UTC offset is constant between transitions, and transitions are
rare. So the offset is computed with :mod:`zoneinfo` once per *UTC day* in the data's range
(at the day's start), looked up for every element with one gather, and only the days whose
offset differs from the next day's are refined: per hour, then per minute, then per second.
A million events over two years cost about 730 ``zoneinfo`` calls plus a few dozen for the
DST days. Assumed: a zone never changes its offset and back within one UTC day (no real
zone does).

Times are ``datetime64`` (any unit) holding UTC; ``NaT`` stays ``NaT``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from numpy.typing import ArrayLike

from octolib.errors import ConfigError

__all__ = ["zone", "utc_seconds", "utc_offsets", "to_local", "local_seconds", "quarter_hour_counts", "NAT_SECONDS"]

#: The int64 value of NaT.
NAT_SECONDS = np.iinfo(np.int64).min
_UTC_NAMES = {"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/GMT", "GMT", "Zulu", "Etc/Zulu", "Universal"}
_REFINE = (86400, 3600, 60, 1)


@lru_cache(maxsize=64)
def zone(tz: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name; ConfigError naming the fix for an unknown one.

    >>> zone("Europe/Berlin").key
    'Europe/Berlin'
    """
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ConfigError(
            f"unknown timezone {tz!r}: use an IANA name such as 'UTC' or 'Europe/London' "
            "(OCTO_TIMEZONE)"
        ) from None


def utc_seconds(times: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """``(seconds since the epoch as int64, valid mask)``; NaT is invalid. Read-only.

    >>> s, ok = utc_seconds(np.array(["1970-01-02", "NaT"], dtype="datetime64[D]"))
    >>> s[ok].tolist(), ok.tolist()
    ([86400], [True, False])
    """
    arr = np.asarray(times)
    # no copy when the input is already datetime64[s] (the store's readers give that): the
    # seconds are then a view of the caller's array, which metrics read and never write
    arr = arr.astype("datetime64[s]", copy=False).reshape(-1)
    valid = ~np.isnat(arr)
    return arr.view(np.int64), valid


@lru_cache(maxsize=1 << 16)
def _offset_at(z: ZoneInfo, second: int) -> int:
    """The zone's offset at one instant. Cached: dashboards re-bucket the same days in the
    same zone on every change of a widget (ZoneInfo objects are cached singletons per key,
    so they hash cheaply and the cache is per zone)."""
    off = datetime.fromtimestamp(second, tz=timezone.utc).astimezone(z).utcoffset()
    return int(off.total_seconds()) if off is not None else 0


def _offsets(secs: np.ndarray, z: ZoneInfo, level: int = 0) -> np.ndarray:
    """Offsets of ``secs`` (all valid), refining only the units where the offset changes."""
    unit = _REFINE[level]
    last_level = level + 1 == len(_REFINE)
    keys = secs // unit
    lo, hi = int(keys.min()), int(keys.max())
    if hi - lo + 1 <= 2 * keys.size + 1024:
        # dense table: the offset at the start of every unit from lo to hi + 1 (one zoneinfo
        # call each); a unit holds a change when its start and the next unit's start differ
        n = hi - lo + (1 if last_level else 2)
        starts = np.fromiter((_offset_at(z, (lo + i) * unit) for i in range(n)), np.int64, n)
        inverse = keys - lo
        start = starts[: hi - lo + 1]
        changes = None if last_level else starts[:-1] != starts[1:]
    else:  # sparse data over a long span: only the units that occur
        table_keys, inverse = np.unique(keys, return_inverse=True)
        start = np.fromiter((_offset_at(z, int(k) * unit) for k in table_keys), np.int64, table_keys.size)
        changes = None if last_level else start != np.fromiter(
            (_offset_at(z, (int(k) + 1) * unit) for k in table_keys), np.int64, table_keys.size)
    out = start[inverse]
    if changes is not None and changes.any():
        changing = changes[inverse]
        if changing.any():
            out[changing] = _offsets(secs[changing], z, level + 1)
    return out


def _offsets_valid(secs: np.ndarray, valid: np.ndarray, tz: str) -> np.ndarray:
    z = zone(tz)  # rejects unknown names even when there is nothing to convert
    if tz in _UTC_NAMES or not valid.any():
        return np.zeros(secs.size, dtype=np.int64)
    if valid.all():
        return _offsets(secs, z)
    out = np.zeros(secs.size, dtype=np.int64)
    out[valid] = _offsets(secs[valid], z)
    return out


def utc_offsets(times: ArrayLike, tz: str = "UTC") -> np.ndarray:
    """The zone's UTC offset in seconds at each instant (0 for NaT).

    >>> t = np.array(["2024-03-31T00:59:59", "2024-03-31T01:00:00"], dtype="datetime64[s]")
    >>> utc_offsets(t, "Europe/London").tolist()
    [0, 3600]
    """
    secs, valid = utc_seconds(times)
    return _offsets_valid(secs, valid, tz)


def local_seconds(times: ArrayLike, tz: str = "UTC") -> tuple[np.ndarray, np.ndarray]:
    """Local wall-clock seconds since 1970-01-01T00:00 (local) and the valid mask.

    NaT elements hold :data:`NAT_SECONDS`; callers use the mask, not the value.
    """
    secs, valid = utc_seconds(times)
    local = secs + _offsets_valid(secs, valid, tz)
    if valid.all():
        return local, valid
    return np.where(valid, local, NAT_SECONDS), valid


def to_local(times: ArrayLike, tz: str = "UTC") -> np.ndarray:
    """Local wall-clock times as naive ``datetime64[s]`` (NaT stays NaT).

    >>> t = np.array(["2024-07-01T12:00", "NaT"], dtype="datetime64[s]")
    >>> to_local(t, "America/New_York").astype(str).tolist()
    ['2024-07-01T08:00:00', 'NaT']
    """
    local, _ = local_seconds(times, tz)
    return local.view("datetime64[s]")


#: Seconds in a slot of :func:`quarter_hour_counts`: every zone's offset (and every DST
#: change of the last century) is a whole number of quarter hours (+5:45 Nepal, +12:45 Chatham).
QUARTER_HOUR = 900
#: Below this many times per occupied slot, counting slots is not worth it.
SLOT_MIN_FILL = 4


def quarter_hour_counts(times: ArrayLike, tz: str = "UTC") -> tuple[np.ndarray, np.ndarray] | None:
    """``(slot start times, events per slot)`` for the valid ``times``, or None.

    Why: a count by local hour, day, week or month needs each event's local time only to
    the bucket, and bucket boundaries are whole local quarter hours. When the zone's offset
    is a whole number of quarter hours and constant inside every occupied UTC quarter hour,
    every event of a slot falls in the bucket of the slot's start; so one ``bincount`` over
    the events and a local conversion of the occupied slots (thousands, not millions) give
    the same counts as converting every event. None when that does not hold or would not
    pay (few events per slot): the caller then converts every event.

    >>> t = np.array(["2024-03-31T00:59:59", "2024-03-31T00:10", "NaT"], dtype="datetime64[s]")
    >>> starts, n = quarter_hour_counts(np.repeat(t, 8), "Europe/London")
    >>> starts.astype(str).tolist(), n.tolist()
    (['2024-03-31T00:00:00', '2024-03-31T00:45:00'], [8, 8])
    """
    secs, valid = utc_seconds(times)
    if not valid.all():
        secs = secs[valid]
    if secs.size == 0:
        return None
    lo = int(secs.min()) // QUARTER_HOUR
    hi = int(secs.max()) // QUARTER_HOUR
    if (hi - lo + 1) * SLOT_MIN_FILL > secs.size:
        return None
    per_slot = np.bincount(secs // QUARTER_HOUR - lo, minlength=hi - lo + 1)
    occupied = np.flatnonzero(per_slot)
    starts = (occupied + lo) * QUARTER_HOUR
    z = zone(tz)
    if tz not in _UTC_NAMES:
        at_start = _offsets(starts, z)
        at_end = _offsets(starts + (QUARTER_HOUR - 1), z)
        if np.any(at_start != at_end) or np.any(at_start % QUARTER_HOUR):
            return None
    return starts.view("datetime64[s]"), per_slot[occupied].astype(np.int64)
