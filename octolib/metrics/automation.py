"""Automated activity: machine opens and bot clicks, told from people by timing alone.

Why: privacy proxies and security scanners fetch a message's images as it is delivered
("machine opens"), and link scanners follow its links seconds after delivery or in a
gateway's batch ("bot clicks"). EmailOctopus counts both as opens and clicks, which
inflates the rates partners read first. The API gives no user agents and no IP addresses:
per campaign and contact it gives the time of the first open and of the first click, and
the campaign's send time. So every rule here is about timing and patterns, and the human
rates built on it are octopus's *estimate*.

The rules (each has a name; thresholds in :class:`AutomationThresholds`, set from the
``OCTO_AUTOMATION_*`` settings):

``open_at_send``
    an open within ``instant_s`` seconds of the campaign's send time (no person reads that
    fast; the fake's people open 30 s or more after their send).
``open_send_burst``
    an open in the sending period (``send_window_s`` after the send) with at least
    ``open_burst`` opens of the same campaign within ``burst_s`` seconds around it: a
    proxy fetching images as the campaign goes out, contact after contact.
``click_at_send``
    a click within ``instant_s`` seconds of the send.
``click_send_burst``
    a click in the sending period with at least ``click_burst`` clicks of the campaign
    within ``burst_s`` seconds around it.
``click_same_second``
    at least ``same_second`` contacts of one campaign clicking in the same second, at any
    time (a gateway's batch scan).
``click_before_open``
    a click ``click_before_open_s`` or more before the same contact's open (the scanner
    clicked on delivery, the person opened hours later).

A click without any recorded open is *not* a rule: image-blocking mail clients give exactly
that for real people. An event is ``"machine_open"`` when any open rule fires, ``"bot_click"``
when any click rule fires, else ``None``.

What it cannot see: a proxy that fetches later than the send, a person who opens within
seconds, or a person's own open hidden behind a proxy's earlier one (the API keeps only the
first open per contact). :data:`RULES_VERSION` changes when a rule changes; with the
thresholds it makes :meth:`AutomationThresholds.fingerprint`, which the sync stores to know
when stored labels must be recomputed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "AutomationThresholds",
    "AutomationResult",
    "RULES_VERSION",
    "OPEN_RULES",
    "CLICK_RULES",
    "MACHINE_OPEN",
    "BOT_CLICK",
    "detect_automation",
    "burst_counts",
    "same_second_counts",
]

#: Bump when a rule's logic changes (thresholds are fingerprinted separately).
RULES_VERSION = 1
MACHINE_OPEN = "machine_open"
BOT_CLICK = "bot_click"
#: The rule names, in the order they are listed everywhere.
OPEN_RULES: tuple[str, ...] = ("open_at_send", "open_send_burst")
CLICK_RULES: tuple[str, ...] = ("click_at_send", "click_send_burst", "click_same_second", "click_before_open")

# Campaign codes and seconds share one sortable float key: code * _SPAN + seconds since the
# earliest event. Exact in float64 while codes * _SPAN < 2**53 (over 10^5 campaigns of a
# century each).
_SPAN = float(2 ** 32)


@dataclass(frozen=True)
class AutomationThresholds:
    """When an open or a click counts as automated (seconds unless named otherwise)."""

    instant_s: float = 10.0
    send_window_s: float = 900.0
    burst_s: float = 10.0
    open_burst: int = 4
    click_burst: int = 3
    same_second: int = 3
    click_before_open_s: float = 3600.0

    def fingerprint(self) -> str:
        """The rules' version and these thresholds, hashed: stored labels with another
        fingerprint are stale.

        >>> AutomationThresholds().fingerprint() == AutomationThresholds().fingerprint()
        True
        >>> AutomationThresholds().fingerprint() != AutomationThresholds(same_second=4).fingerprint()
        True
        """
        text = repr((RULES_VERSION, sorted(asdict(self).items())))
        return f"v{RULES_VERSION}:" + hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class AutomationResult:
    """Per event: which rules fired (``rules[name]``, bool arrays) and the label."""

    rules: Mapping[str, np.ndarray]
    machine_open: np.ndarray
    bot_click: np.ndarray
    thresholds: AutomationThresholds = field(default_factory=AutomationThresholds)

    @property
    def labels(self) -> np.ndarray:
        """``"machine_open"``, ``"bot_click"`` or ``None`` per event (object array)."""
        out = np.full(self.machine_open.shape, None, dtype=object)
        out[self.machine_open] = MACHINE_OPEN
        out[self.bot_click] = BOT_CLICK
        return out


def _keys(campaign: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    return campaign.astype(np.float64) * _SPAN + seconds


def burst_counts(campaign: ArrayLike, t: ArrayLike, half_width: float) -> np.ndarray:
    """How many events of the same campaign lie within ``half_width`` seconds of each event
    (itself included); 0 where the time is unknown (NaN).

    >>> burst_counts([0, 0, 0, 1, 0], [0.0, 1.0, 2.0, 1.0, 100.0], 1.5).tolist()
    [2, 3, 2, 1, 1]
    """
    camp = np.asarray(campaign, dtype=np.int64)
    times = np.asarray(t, dtype=np.float64)
    out = np.zeros(times.shape, dtype=np.int64)
    ok = ~np.isnan(times)
    if not ok.any():
        return out
    base = np.nanmin(times)
    keys = _keys(camp[ok], times[ok] - base)
    ordered = np.sort(keys)
    lo = np.searchsorted(ordered, keys - half_width, side="left")
    hi = np.searchsorted(ordered, keys + half_width, side="right")
    out[ok] = hi - lo
    return out


def same_second_counts(campaign: ArrayLike, t: ArrayLike) -> np.ndarray:
    """How many events of the same campaign fall in the same whole second as each event.

    >>> same_second_counts([0, 0, 1, 0], [5.2, 5.9, 5.5, 6.0]).tolist()
    [2, 2, 1, 1]
    """
    camp = np.asarray(campaign, dtype=np.int64)
    times = np.asarray(t, dtype=np.float64)
    out = np.zeros(times.shape, dtype=np.int64)
    ok = ~np.isnan(times)
    if not ok.any():
        return out
    keys = _keys(camp[ok], np.floor(times[ok]) - np.floor(np.nanmin(times)))
    _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    out[ok] = counts[inverse]
    return out


def _open_time_of_click(campaign: np.ndarray, contact: np.ndarray, is_click: np.ndarray,
                        t: np.ndarray) -> np.ndarray:
    """For each event, the same contact's open time in the same campaign (NaN if none)."""
    out = np.full(t.shape, np.nan)
    opens = ~is_click
    if not opens.any():
        return out
    width = int(max(contact.max(initial=0), 0)) + 1
    pair = campaign.astype(np.int64) * width + contact.astype(np.int64)
    open_pairs = pair[opens]
    order = np.argsort(open_pairs, kind="stable")
    sorted_pairs = open_pairs[order]
    sorted_t = t[opens][order]
    idx = np.searchsorted(sorted_pairs, pair)
    idx_ok = idx < len(sorted_pairs)
    found = np.zeros(t.shape, dtype=bool)
    found[idx_ok] = sorted_pairs[idx[idx_ok]] == pair[idx_ok]
    out[found] = sorted_t[idx[found]]
    return out


def detect_automation(
    campaign: ArrayLike,
    contact: ArrayLike,
    is_click: ArrayLike,
    t: ArrayLike,
    sent_at: ArrayLike,
    thresholds: AutomationThresholds | None = None,
) -> AutomationResult:
    """Apply every rule to a set of opens and clicks (one element per stored event).

    ``campaign`` and ``contact`` are integer codes (any coding, e.g. from ``np.unique``),
    ``is_click`` is True for clicks and False for opens (other event types are not passed),
    ``t`` the event's first occurrence and ``sent_at`` its campaign's send time, both in
    epoch seconds (NaN: unknown, and then no timing rule fires).

    A burst of machine opens fires; a lone click without an open (images blocked) does not:

    >>> r = detect_automation(campaign=[0, 0, 0, 0, 0, 0], contact=[1, 2, 3, 4, 5, 5],
    ...                       is_click=[False, False, False, False, True, False],
    ...                       t=[20.0, 21.0, 22.0, 23.0, 7200.0, 9000.0], sent_at=[0.0] * 6)
    >>> r.labels.tolist()
    ['machine_open', 'machine_open', 'machine_open', 'machine_open', None, None]
    """
    th = thresholds or AutomationThresholds()
    camp = np.asarray(campaign, dtype=np.int64)
    who = np.asarray(contact, dtype=np.int64)
    click = np.asarray(is_click, dtype=bool)
    times = np.asarray(t, dtype=np.float64)
    sent = np.asarray(sent_at, dtype=np.float64)
    opens = ~click
    with np.errstate(invalid="ignore"):
        since_send = times - sent
        at_send = (since_send >= 0) & (since_send <= th.instant_s)
        sending = (since_send >= 0) & (since_send <= th.send_window_s)

    open_burst = np.zeros(times.shape, dtype=np.int64)
    click_burst = np.zeros(times.shape, dtype=np.int64)
    same_second = np.zeros(times.shape, dtype=np.int64)
    half = th.burst_s / 2.0
    if opens.any():
        open_burst[opens] = burst_counts(camp[opens], times[opens], half)
    if click.any():
        click_burst[click] = burst_counts(camp[click], times[click], half)
        same_second[click] = same_second_counts(camp[click], times[click])
    open_t = _open_time_of_click(camp, who, click, times)
    with np.errstate(invalid="ignore"):
        before_open = click & ((open_t - times) >= th.click_before_open_s)

    rules = {
        "open_at_send": opens & at_send,
        "open_send_burst": opens & sending & (open_burst >= th.open_burst),
        "click_at_send": click & at_send,
        "click_send_burst": click & sending & (click_burst >= th.click_burst),
        "click_same_second": click & (same_second >= th.same_second),
        "click_before_open": before_open,
    }
    machine = np.zeros(times.shape, dtype=bool)
    for name in OPEN_RULES:
        machine |= rules[name]
    bot = np.zeros(times.shape, dtype=bool)
    for name in CLICK_RULES:
        bot |= rules[name]
    return AutomationResult(rules=rules, machine_open=machine, bot_click=bot, thresholds=th)
