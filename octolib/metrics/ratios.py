"""Safe ratios: the one place where a zero denominator becomes NaN, on purpose.

Every ``*_rate`` in :mod:`octolib.metrics` is built here, so the rules hold everywhere:

- a denominator that is 0, negative or missing (NaN) gives ``NaN``: "not defined", which
  aggregates skip and :func:`~octolib.metrics.display.format_rate` prints as "—";
- a missing or negative numerator gives ``NaN``: a negative count is not a count;
- the ratio is **never clipped**: a rate above 1 means its inputs disagree, and hiding it
  would hide a data problem. The rate table (:mod:`~octolib.metrics.rate_specs`) chooses
  denominators that make such values impossible for consistent inputs, and the sync
  reports any that remain;
- no ``RuntimeWarning`` escapes (``np.errstate``): the NaN is the answer, not an accident.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["safe_ratio", "is_small", "SMALL_DENOMINATOR"]

#: Below this many recipients a rate is shown with a "small numbers" caution.
SMALL_DENOMINATOR = 50


def safe_ratio(numerator: ArrayLike, denominator: ArrayLike) -> np.ndarray:
    """``numerator / denominator`` as float64, NaN where it is not defined; never clipped.

    >>> safe_ratio([1, 3, 5, 3, -1], [4, 0, 5, 2, 4]).tolist()
    [0.25, nan, 1.0, 1.5, nan]
    >>> safe_ratio([], []).shape
    (0,)
    """
    num = np.asarray(numerator, dtype=np.float64)
    den = np.asarray(denominator, dtype=np.float64)
    num, den = np.broadcast_arrays(num, den)
    out = np.full(num.shape, np.nan)
    ok = (den > 0) & (num >= 0)  # comparisons with NaN are False: missing stays NaN
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(num, den, out=out, where=ok)
    return out


def is_small(denominator: ArrayLike, minimum: int = SMALL_DENOMINATOR) -> np.ndarray | bool:
    """True where a rate rests on fewer than ``minimum`` units (recipients, opens, ...).

    Small denominators make rates jump: one bounce out of 20 sends is a 5 % bounce rate.
    Charts and PDFs mark such rates instead of hiding them; flags skip them. A missing
    denominator counts as small. Scalars in, bool out; arrays in, bool array out.

    >>> is_small([10, 50, 1000]).tolist()
    [True, False, False]
    >>> is_small(49.0)
    True
    """
    den = np.asarray(denominator, dtype=np.float64)
    small = ~(den >= minimum)  # NaN >= x is False, so NaN is small
    return bool(small) if small.ndim == 0 else small
