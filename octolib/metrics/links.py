"""Link performance by destination, with tracking parameters stripped.

Why normalise: the same landing page appears as many URLs (``?utm_campaign=may`` and
``?utm_campaign=june``, ``HTTP://Shop.example`` and ``https://shop.example/``), and a
partner wants to know which *page* drew the clicks. :func:`normalize_url` removes tracking
parameters (``utm_*`` and the click ids listed in :data:`TRACKING_PARAMETERS`), the
fragment, default ports and the case of scheme and host, and sorts what is left of the
query; the path keeps its case and a trailing slash is dropped (except the root).

Unique clicks are unique per campaign link in the EmailOctopus report; summed over
campaigns, one person who clicked in two campaigns counts twice. Say "unique per
campaign" where that matters.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np
from numpy.typing import ArrayLike

from octolib.metrics.grouping import factorize, group_count, group_sum
from octolib.metrics.ratios import safe_ratio

__all__ = ["TRACKING_PARAMETERS", "TRACKING_PREFIXES", "normalize_url", "LinkStats", "link_performance"]

#: Query parameters that only track the click, dropped by :func:`normalize_url`.
TRACKING_PARAMETERS: frozenset[str] = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "ttclid",
    "li_fat_id", "igshid", "mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok", "oly_anon_id", "oly_enc_id",
    "vero_id", "vero_conv", "_ga", "_gl", "ref_src", "s_cid", "eo_cid", "eo_lid",
})
#: Parameter name prefixes that only track (``utm_source``, ``utm_medium``, ...).
TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "pk_", "mtm_", "hsa_")

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_tracking(name: str, extra: frozenset[str]) -> bool:
    low = name.lower()
    return low in TRACKING_PARAMETERS or low in extra or low.startswith(TRACKING_PREFIXES)


def normalize_url(url: str, strip: Iterable[str] = ()) -> str:
    """The destination a URL points to, without tracking (see module doc).

    ``strip`` names more parameters to drop (an account's own tracking ids). Text that is
    not a URL comes back trimmed, unchanged.

    >>> normalize_url("HTTPS://Shop.Example:443/Sale/?utm_source=eo&b=2&a=1&fbclid=x#top")
    'https://shop.example/Sale?a=1&b=2'
    >>> normalize_url("https://shop.example")
    'https://shop.example/'
    >>> normalize_url(" mailto:hi@example.com ")
    'mailto:hi@example.com'
    """
    text = (url or "").strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return text
    if not parts.scheme or not parts.netloc:
        return text
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literal: urlsplit dropped the brackets
        host = f"[{host}]"
    if parts.username or parts.password:
        userinfo = parts.username or ""
        host = f"{userinfo}@{host}"
    if port is not None and _DEFAULT_PORTS.get(scheme) != port:
        host = f"{host}:{port}"
    path = parts.path or "/"
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    extra = frozenset(s.lower() for s in strip)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k, extra)]
    return urlunsplit((scheme, host, path, urlencode(sorted(query)), ""))


@dataclass(frozen=True)
class LinkStats:
    """Clicks per destination, most clicked first."""

    url: np.ndarray  # normalised destination (object array of str)
    clicked_total: np.ndarray
    clicked_unique: np.ndarray  # unique per campaign link, summed
    click_share: np.ndarray  # clicked_total / all clicks
    variants: np.ndarray  # raw URLs (rows) merged into the destination

    def __len__(self) -> int:
        return len(self.url)


def link_performance(url: ArrayLike, clicked_total: ArrayLike, clicked_unique: ArrayLike,
                     strip: Iterable[str] = ()) -> LinkStats:
    """Group link rows by normalised destination and sum their clicks.

    Sorted by total clicks (descending), then URL. Each distinct raw URL is normalised once.

    >>> s = link_performance(["https://a.example/?utm_source=x", "https://a.example/", "https://b.example/p"],
    ...                      [5, 3, 2], [4, 2, 2])
    >>> s.url.tolist(), s.clicked_total.tolist(), s.clicked_unique.tolist(), s.click_share.tolist()
    (['https://a.example/', 'https://b.example/p'], [8, 2], [6, 2], [0.8, 0.2])
    """
    raw = np.asarray(url, dtype=object).reshape(-1)
    distinct, inverse = factorize(raw)
    strip = tuple(strip)
    normalised = np.empty(distinct.size, dtype=object)
    normalised[:] = [normalize_url("" if u is None else str(u), strip) for u in distinct]
    dest, dest_of_distinct = factorize(normalised)
    group = dest_of_distinct[inverse] if raw.size else np.zeros(0, dtype=np.intp)
    n = dest.size
    total = group_sum(group, np.asarray(clicked_total).reshape(-1), n)
    unique = group_sum(group, np.asarray(clicked_unique).reshape(-1), n)
    rows = group_count(group, n)
    order = np.lexsort((dest.astype(str) if n else dest, -np.asarray(total, dtype=np.float64)))
    total, unique, rows, dest = total[order], unique[order], rows[order], dest[order]
    all_clicks = np.full(n, float(np.sum(total)))
    return LinkStats(dest.astype(object), total, unique, safe_ratio(total, all_clicks), rows)
