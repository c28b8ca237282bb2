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

from octolib.metrics.grouping import group_count, group_sum
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
    return _UrlNormalizer(strip).normalize(url)


#: What :func:`urllib.parse.urlsplit` strips from the left of a URL (C0 controls and space).
_C0_OR_SPACE = "".join(map(chr, range(0x21)))


class _UrlNormalizer:
    """:func:`normalize_url` cut at the joints where URLs repeat, with a memo per joint.

    Why: the URLs of an account share few origins (``scheme://host:port``) and few query
    strings (``?utm_campaign=may``), and parsing them (``urlsplit``, ``parse_qsl``) is
    what costs; the path needs only string operations. One normaliser per
    :func:`link_performance` call parses each distinct origin and query once. The cut
    follows :func:`urllib.parse.urlsplit` exactly (the fragment at the first ``#``, the
    query at the first ``?`` before it, the netloc up to the first ``/``), so the result
    is the same as parsing the whole URL; ``tests/test_metrics_links_flags.py`` checks it
    against ``urlsplit`` on generated URLs.
    """

    def __init__(self, strip: Iterable[str] = ()) -> None:
        self.extra = frozenset(s.lower() for s in strip)
        self.origins: dict[str, tuple[str, str] | None] = {}
        self.queries: dict[str, str] = {}

    def normalize(self, url: str) -> str:
        text = (url or "").strip()
        clean = text.lstrip(_C0_OR_SPACE)  # as urlsplit does before it cuts
        if "\t" in clean or "\r" in clean or "\n" in clean:
            clean = clean.replace("\t", "").replace("\r", "").replace("\n", "")
        head = clean.partition("#")[0]
        head, _, query = head.partition("?")
        colon = head.find(":")
        if colon <= 0 or not head.startswith("//", colon + 1):
            return text  # no scheme://netloc: not a URL we can normalise
        end = head.find("/", colon + 3)
        if end < 0:
            end = len(head)
        origin = head[:end]
        if origin in self.origins:
            scheme_host = self.origins[origin]
        else:
            scheme_host = self.origins[origin] = _origin(origin)
        if scheme_host is None:
            return text
        scheme, host = scheme_host
        path = head[end:] or "/"
        if len(path) > 1 and path.endswith("/"):
            path = path.rstrip("/") or "/"
        if query in self.queries:
            kept = self.queries[query]
        else:
            kept = self.queries[query] = _query(query, self.extra)
        if host and path.startswith("/"):  # what urlunsplit makes of it, without its checks
            return f"{scheme}://{host}{path}?{kept}" if kept else f"{scheme}://{host}{path}"
        return urlunsplit((scheme, host, path, kept, ""))


def _origin(origin: str) -> tuple[str, str] | None:
    """``(scheme, host[:port])`` of ``scheme://netloc``, normalised; None when it is not a URL."""
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literal: urlsplit dropped the brackets
        host = f"[{host}]"
    if parts.username or parts.password:
        userinfo = parts.username or ""
        host = f"{userinfo}@{host}"
    if port is not None and _DEFAULT_PORTS.get(scheme) != port:
        host = f"{host}:{port}"
    return scheme, host


def _query(query: str, extra: frozenset[str]) -> str:
    """The query without tracking parameters, sorted, encoded."""
    if not query:
        return ""
    kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if not _is_tracking(k, extra)]
    return urlencode(sorted(kept))


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

    Sorted by total clicks (descending), then URL. Each distinct raw URL is normalised once,
    and each distinct origin and query string parsed once (:class:`_UrlNormalizer`).

    >>> s = link_performance(["https://a.example/?utm_source=x", "https://a.example/", "https://b.example/p"],
    ...                      [5, 3, 2], [4, 2, 2])
    >>> s.url.tolist(), s.clicked_total.tolist(), s.clicked_unique.tolist(), s.click_share.tolist()
    (['https://a.example/', 'https://b.example/p'], [8, 2], [6, 2], [0.8, 0.2])
    """
    raw = np.asarray(url, dtype=object).reshape(-1)
    dest, group = _destinations(raw, _UrlNormalizer(strip))
    n = dest.size
    total = group_sum(group, np.asarray(clicked_total).reshape(-1), n)
    unique = group_sum(group, np.asarray(clicked_unique).reshape(-1), n)
    rows = group_count(group, n)
    order = np.lexsort((dest.astype(str) if n else dest, -np.asarray(total, dtype=np.float64)))
    total, unique, rows, dest = total[order], unique[order], rows[order], dest[order]
    all_clicks = np.full(n, float(np.sum(total)))
    return LinkStats(dest.astype(object), total, unique, safe_ratio(total, all_clicks), rows)


def _destinations(raw: np.ndarray, normalizer: _UrlNormalizer) -> tuple[np.ndarray, np.ndarray]:
    """(destinations in first-seen order, destination index of each row), in one pass.

    Why not factorize the raw URLs, then their destinations: that hashes every row twice
    and sorts keys nobody needs sorted (the result is sorted by clicks at the end). Here a
    dict maps each raw URL to its destination's index; a row whose URL was seen costs one
    C-level dict lookup, and only a new URL runs Python (its normalisation).
    """
    index_of_dest: dict[str, int] = {}

    class _RowCodes(dict[object, int]):
        def __missing__(self, key: object) -> int:
            dest = normalizer.normalize("" if key is None else str(key))
            code = self[key] = index_of_dest.setdefault(dest, len(index_of_dest))
            return code

    values = raw.tolist()
    try:
        group = np.fromiter(map(_RowCodes().__getitem__, values), dtype=np.intp, count=len(values))
    except TypeError:  # unhashable values (lists, dicts): group them by their text
        values = raw.astype(str).tolist()
        index_of_dest.clear()
        group = np.fromiter(map(_RowCodes().__getitem__, values), dtype=np.intp, count=len(values))
    dest = np.empty(len(index_of_dest), dtype=object)
    dest[:] = list(index_of_dest)
    return dest, group
