"""Comparing what the API sent with what the store holds, so unchanged documents are not rewritten.

BSON keeps datetimes to the millisecond and in UTC; the embedded store's aggregations hand
them back naive; tuples come back as lists. :func:`canon` maps a value to one comparable form
so that "unchanged" means unchanged whatever the store.

>>> from datetime import datetime, timezone, timedelta
>>> a = datetime(2024, 1, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)
>>> canon(a) == canon(datetime(2024, 1, 1, 14, 0, 0, 123000, tzinfo=timezone(timedelta(hours=2))))
True
>>> canon({"x": (1, 2)}) == canon({"x": [1, 2]})
True
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

__all__ = ["canon", "as_utc", "same"]


def as_utc(value: datetime) -> datetime:
    """Aware UTC; a naive datetime is taken as UTC (how the stores hand them back)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def canon(value: Any) -> Any:
    if isinstance(value, datetime):
        v = as_utc(value)
        return v.replace(microsecond=(v.microsecond // 1000) * 1000)
    if isinstance(value, Mapping):
        return {str(k): canon(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canon(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value) if isinstance(value, float) and not value.is_integer() else int(value)
    return value


def same(stored: Mapping[str, Any] | None, new: Mapping[str, Any], fields: Any = None) -> bool:
    """Whether ``stored`` already holds ``new``'s value for every field of ``new`` (or ``fields``)."""
    if stored is None:
        return False
    for key in fields if fields is not None else new.keys():
        if canon(stored.get(key)) != canon(new.get(key)):
            return False
    return True
