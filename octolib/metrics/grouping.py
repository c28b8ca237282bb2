"""Group-by without pandas: factorize keys once, then ``np.bincount`` per column.

Why: every "per list", "per campaign", "per URL" metric is a sum over groups. Factorizing
(sorted unique keys + an inverse index) then ``bincount`` is linear after one sort, and
keeps the library free of pandas (STYLE.md §8).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["factorize", "index_of", "group_sum", "group_count"]


def _keys(keys: ArrayLike) -> np.ndarray:
    arr = np.asarray(keys)
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    return arr


def _factorize_objects(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hash, then sort only the distinct keys: ``np.unique`` on Python strings compares
    them n log n times, a dict sees each once (ids repeat a lot: lists, campaigns, URLs)."""
    values = arr.tolist()
    try:
        keys = list(dict.fromkeys(values))
    except TypeError:  # unhashable values: compare their text
        return _factorize_objects(arr.astype(str).astype(object))
    try:
        keys.sort()
    except TypeError:  # mixed types (None among strings): order by text
        keys.sort(key=str)
    position = {k: i for i, k in enumerate(keys)}
    codes = np.fromiter(map(position.__getitem__, values), dtype=np.intp, count=len(values))
    uniques = np.empty(len(keys), dtype=object)
    uniques[:] = keys
    return uniques, codes


def factorize(keys: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique keys and, for each input, the position of its key among them.

    Object arrays that mix ``None`` with strings are ordered by their text, so a stray
    missing id cannot make the sort fail.

    >>> u, inv = factorize(["b", "a", "b"])
    >>> u.tolist(), inv.tolist()
    (['a', 'b'], [1, 0, 1])
    >>> u, inv = factorize(np.array(["b", None, "a"], dtype=object))
    >>> u.tolist(), inv.tolist()
    ([None, 'a', 'b'], [2, 0, 1])
    >>> [x.tolist() for x in factorize([])]
    [[], []]
    """
    arr = _keys(keys)
    if arr.size == 0:
        return arr[:0], np.zeros(0, dtype=np.intp)
    if arr.dtype == object:
        return _factorize_objects(arr)
    uniques, inverse = np.unique(arr, return_inverse=True)
    return uniques, inverse.reshape(-1)


def index_of(values: ArrayLike, universe: ArrayLike) -> np.ndarray:
    """Position of each value in ``universe`` (its first occurrence), -1 when absent.

    Use it to turn event campaign ids into indices of the campaign arrays.

    >>> index_of(["c", "x", "a"], ["a", "b", "c"]).tolist()
    [2, -1, 0]
    """
    vals = _keys(values)
    uni = _keys(universe)
    if vals.size == 0 or uni.size == 0:
        return np.full(vals.size, -1, dtype=np.intp)
    if uni.dtype == object or vals.dtype == object:
        uni, vals = uni.astype(str), vals.astype(str)
    order = np.argsort(uni, kind="stable")
    sorted_uni = uni[order]
    pos = np.searchsorted(sorted_uni, vals, side="left")
    pos_c = np.minimum(pos, len(sorted_uni) - 1)
    found = sorted_uni[pos_c] == vals
    return np.where(found, order[pos_c], -1).astype(np.intp)


def group_sum(inverse: ArrayLike, values: ArrayLike, n_groups: int) -> np.ndarray:
    """Sum of ``values`` per group; NaN values are skipped; integer input stays integer.

    >>> group_sum([0, 1, 0], [1, 2, 3], 3).tolist()
    [4, 2, 0]
    >>> group_sum([0, 0], [1.5, float("nan")], 1).tolist()
    [1.5]
    """
    inv = np.asarray(inverse, dtype=np.intp)
    vals = np.asarray(values)
    if vals.dtype.kind in "iub":
        return np.bincount(inv, weights=vals.astype(np.float64), minlength=n_groups).round().astype(np.int64)
    vals = vals.astype(np.float64)
    return np.bincount(inv, weights=np.where(np.isnan(vals), 0.0, vals), minlength=n_groups)


def group_count(inverse: ArrayLike, n_groups: int) -> np.ndarray:
    """Rows per group.

    >>> group_count([2, 2, 0], 4).tolist()
    [1, 0, 2, 0]
    """
    return np.bincount(np.asarray(inverse, dtype=np.intp), minlength=n_groups).astype(np.int64)
