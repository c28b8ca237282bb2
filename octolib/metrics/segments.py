"""Campaign results by customer segment: bands, per-segment rates with intervals, and a test.

Pure numpy (scipy for the chi-square p-value): arrays in, a :class:`SegmentTable` out. The
rates are the rows of the rate table (:data:`~octolib.metrics.rate_specs.RATES`) applied to
per-segment sums of per-contact counts, so a segment's open rate is defined exactly as a
campaign's.

Privacy rule (``OCTO_SEGMENT_MIN_GROUP``, default 10): a segment with fewer contacts than the
minimum is never shown on its own. Small segments are **merged into "Other"**; when "Other"
itself stays below the minimum it is **suppressed** (left out, and counted in
``suppressed_contacts`` so the totals still explain themselves). The test runs on what is
shown, so a suppressed group cannot be recovered from it.

Why chi-square: the question an analyst asks is "do these segments differ more than chance
would make them?", i.e. a test of independence of segment and outcome on the table of
(successes, failures) per segment. ``scipy.stats.chi2_contingency`` computes it (no
hand-written special functions); with an expected count below 5 in a cell the answer is
flagged as rough.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as _field

import numpy as np
from numpy.typing import ArrayLike

from octolib.metrics.rate_specs import RATES

__all__ = [
    "SEGMENT_RATES", "OTHER", "UNKNOWN", "SegmentTest", "SegmentTable", "quantile_edges", "band_codes",
    "category_codes", "wilson_interval", "chi_square", "p_value_words", "merge_small_groups", "segment_table",
]

#: The rates shown per segment (rows of the rate table).
SEGMENT_RATES: tuple[str, ...] = ("open_rate", "click_rate", "click_to_open_rate", "unsubscribe_rate")
OTHER = "Other"
UNKNOWN = "Unknown"
SIGNIFICANT = 0.05


def quantile_edges(values: ArrayLike, quantiles: int = 4) -> np.ndarray:
    """Band edges that cut the known (finite) values into ``quantiles`` groups of about equal size.

    Returns the inner edges only (``quantiles - 1`` of them, fewer when values repeat).

    >>> quantile_edges([1, 2, 3, 4, 5, 6, 7, 8], 4).tolist()
    [2.75, 4.5, 6.25]
    >>> quantile_edges([np.nan, np.nan], 4).tolist()
    []
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return np.array([], dtype=np.float64)
    inner = np.quantile(v, np.linspace(0, 1, quantiles + 1)[1:-1])
    return np.unique(inner)


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 or float(x).is_integer() else f"{x:,.2f}"


def band_codes(values: ArrayLike, edges: ArrayLike) -> tuple[np.ndarray, list[str]]:
    """Codes (index into the labels; -1 for a missing value) and labels of numeric bands.

    A band holds ``edge[i-1] <= value < edge[i]``.

    >>> codes, labels = band_codes([100, 2600, np.nan, 9000], [2500, 5000])
    >>> codes.tolist(), labels
    ([0, 1, -1, 2], ['under 2,500', '2,500 to under 5,000', '5,000 and over'])
    """
    v = np.asarray(values, dtype=np.float64)
    e = np.asarray(edges, dtype=np.float64)
    codes = np.searchsorted(e, v, side="right").astype(np.int64)
    codes[~np.isfinite(v)] = -1
    if e.size == 0:
        return np.where(np.isfinite(v), 0, -1).astype(np.int64), ["all"]
    labels = [f"under {_fmt(e[0])}"]
    labels += [f"{_fmt(a)} to under {_fmt(b)}" for a, b in zip(e[:-1], e[1:])]
    labels.append(f"{_fmt(e[-1])} and over")
    return codes, labels


def category_codes(values: Sequence[object]) -> tuple[np.ndarray, list[str]]:
    """Codes and sorted labels of categories as they are (``None``/empty = -1, unknown).

    >>> category_codes(["flat", None, "detached", "flat"])
    (array([ 1, -1,  0,  1]), ['detached', 'flat'])
    """
    text = ["" if v is None else str(v).strip() for v in values]
    labels = sorted({t for t in text if t})
    index = {label: i for i, label in enumerate(labels)}
    return np.array([index.get(t, -1) for t in text], dtype=np.int64), labels


def wilson_interval(successes: ArrayLike, trials: ArrayLike, z: float = 1.96) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval (95 % by default) of a proportion; NaN where ``trials`` is 0.

    Why Wilson: unlike the normal approximation it stays inside [0, 1] and behaves for small
    groups and rates near 0, which is what click rates are.

    >>> lo, hi = wilson_interval([5], [100])
    >>> round(float(lo[0]), 4), round(float(hi[0]), 4)
    (0.0215, 0.1118)
    >>> wilson_interval([0], [24])[0].tolist(), wilson_interval([24], [24])[1].tolist()
    ([0.0], [1.0])
    """
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    bad = ~(n > 0) | (k < 0) | (k > n)  # an inconsistent count gets no interval, not a clipped one
    # At k = 0 (k = n) the bound is exactly 0 (1); say so rather than print float noise (-0.0%).
    lo = np.where(bad, np.nan, np.where(k == 0, 0.0, centre - half))
    hi = np.where(bad, np.nan, np.where(k == n, 1.0, centre + half))
    return lo, hi


@dataclass(frozen=True)
class SegmentTest:
    """Chi-square test of independence between segment and one outcome."""

    rate: str
    statistic: float
    dof: int
    p_value: float
    rough: bool  # an expected count below 5: the p-value is approximate

    @property
    def significant(self) -> bool:
        return bool(self.p_value < SIGNIFICANT)

    @property
    def words(self) -> str:
        return p_value_words(self.p_value, rough=self.rough)


def chi_square(successes: ArrayLike, trials: ArrayLike, rate: str = "") -> SegmentTest | None:
    """The chi-square test on per-segment (successes, trials - successes); None when it cannot run
    (fewer than two segments with trials, or nobody / everybody succeeded).

    >>> t = chi_square([10, 40], [100, 100])
    >>> t.significant, t.p_value < 1e-5
    (True, True)
    >>> chi_square([5, 5], [100, 100]).significant
    False
    """
    from scipy.stats import chi2_contingency

    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    keep = n > 0
    k, n = k[keep], n[keep]
    if k.size < 2 or np.any(k > n) or k.sum() == 0 or k.sum() == n.sum():
        return None
    table = np.stack([k, n - k], axis=1)
    res = chi2_contingency(table, correction=False)
    return SegmentTest(rate=rate, statistic=float(res.statistic), dof=int(res.dof), p_value=float(res.pvalue),
                       rough=bool(np.any(res.expected_freq < 5)))


def p_value_words(p: float, *, rough: bool = False) -> str:
    """A p-value in words an analyst can act on.

    >>> p_value_words(0.0004)
    'very likely a real difference (p = 0.0004)'
    >>> p_value_words(0.03)
    'probably a real difference (p = 0.03)'
    >>> p_value_words(0.4)
    'could be chance (p = 0.40)'
    """
    shown = f"{p:.4f}" if p < 0.01 else f"{p:.2f}"
    if p < 0.001:
        text = f"very likely a real difference (p < 0.001)" if p < 0.0001 else f"very likely a real difference (p = {shown})"
    elif p < 0.01:
        text = f"very likely a real difference (p = {shown})"
    elif p < SIGNIFICANT:
        text = f"probably a real difference (p = {shown})"
    elif p < 0.1:
        text = f"weak hint, could well be chance (p = {shown})"
    else:
        text = f"could be chance (p = {shown})"
    return text + ("; rough: some groups are small" if rough else "")


def merge_small_groups(sizes: ArrayLike, labels: Sequence[str], min_group: int) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Map each segment to a shown group: itself, "Other" (small ones merged) or -1 (suppressed).

    Returns (new code per old code, new labels, sizes of the new groups).

    >>> m, labels, sizes = merge_small_groups([50, 4, 3, 30], ["a", "b", "c", "d"], 10)
    >>> m.tolist(), labels, sizes.tolist()
    ([0, -1, -1, 1], ['a', 'd'], [50, 30])
    >>> merge_small_groups([50, 6, 7], ["a", "b", "c"], 10)[1]
    ['a', 'Other']
    """
    s = np.asarray(sizes, dtype=np.int64)
    small = s < min_group
    mapping = np.full(s.shape, -1, dtype=np.int64)
    kept = np.flatnonzero(~small)
    mapping[kept] = np.arange(kept.size)
    new_labels = [labels[i] for i in kept]
    new_sizes = list(s[kept])
    other = int(s[small].sum())
    if small.any() and other >= min_group:
        mapping[small] = kept.size
        new_labels.append(OTHER)
        new_sizes.append(other)
    return mapping, new_labels, np.asarray(new_sizes, dtype=np.int64)


@dataclass
class SegmentTable:
    """Per-segment results of one field: only groups of at least ``min_group`` contacts."""

    field: str
    labels: list[str]
    contacts: np.ndarray  # delivered contacts per segment (the group size)
    counts: dict[str, np.ndarray]  # count column -> per-segment sum
    rates: dict[str, np.ndarray]
    low: dict[str, np.ndarray]
    high: dict[str, np.ndarray]
    tests: dict[str, SegmentTest | None]
    min_group: int
    suppressed_contacts: int = 0  # in groups too small even after merging
    unknown_contacts: int = 0  # delivered contacts without a value for the field
    notes: list[str] = _field(default_factory=list)

    def rows(self) -> list[dict[str, object]]:
        """One plain dict per shown segment (for tables, CSV and PDFs)."""
        out: list[dict[str, object]] = []
        for i, label in enumerate(self.labels):
            row: dict[str, object] = {"segment": label, "contacts": int(self.contacts[i])}
            for name in self.rates:
                row[name] = float(self.rates[name][i])
                row[f"{name}_low"] = float(self.low[name][i])
                row[f"{name}_high"] = float(self.high[name][i])
            out.append(row)
        return out


def segment_table(
    field_name: str, codes: ArrayLike, labels: Sequence[str], counts: Mapping[str, ArrayLike], *, min_group: int = 10,
) -> SegmentTable:
    """Sum per-contact counts by segment code and apply the rate table, the intervals and the test.

    ``codes`` has one entry per (contact, campaign) row, -1 where the field is unknown;
    ``counts`` maps count columns (``delivered``, ``opened``, ``clicked``,
    ``clicked_without_open``, ``unsubscribed``) to per-row numbers (0/1). A row counts towards
    its segment's size when it was delivered.

    >>> t = segment_table("kwh", [0, 0, 1, 1, -1], ["low", "high"],
    ...                   {"delivered": [1, 1, 1, 1, 1], "opened": [1, 0, 1, 1, 0], "clicked": [0, 0, 1, 1, 0],
    ...                    "clicked_without_open": [0] * 5, "unsubscribed": [0] * 5}, min_group=2)
    >>> t.labels, t.contacts.tolist(), t.rates["click_rate"].tolist(), t.unknown_contacts
    (['low', 'high'], [2, 2], [0.0, 1.0], 1)
    """
    code = np.asarray(codes, dtype=np.int64)
    delivered = np.asarray(counts["delivered"], dtype=np.float64)
    k = len(labels)
    known = code >= 0
    sizes = np.bincount(code[known], weights=delivered[known], minlength=k).astype(np.int64)
    mapping, shown, shown_sizes = merge_small_groups(sizes, labels, min_group)
    new_code = np.where(known, mapping[np.where(known, code, 0)], -1)
    suppressed = int(sizes[mapping < 0].sum())
    sums: dict[str, np.ndarray] = {}
    for name, values in counts.items():
        v = np.asarray(values, dtype=np.float64)
        sel = new_code >= 0
        sums[name] = np.bincount(new_code[sel], weights=v[sel], minlength=len(shown))
    rates: dict[str, np.ndarray] = {}
    low: dict[str, np.ndarray] = {}
    high: dict[str, np.ndarray] = {}
    tests: dict[str, SegmentTest | None] = {}
    for name in SEGMENT_RATES:
        num, den = RATES[name].parts(sums)
        rates[name] = RATES[name].values(sums)
        low[name], high[name] = wilson_interval(num, den)
        tests[name] = chi_square(num, den, rate=name)
    return SegmentTable(field=field_name, labels=shown, contacts=shown_sizes, counts=sums, rates=rates, low=low,
                        high=high, tests=tests, min_group=min_group, suppressed_contacts=suppressed,
                        unknown_contacts=int(delivered[~known].sum()))
