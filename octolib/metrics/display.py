"""Display formatting: the only way numbers reach a chart title, a table cell or a PDF.

Why a module: a NaN rate (zero recipients, nothing selected) must read as "—", never as
"nan%" in a partner's PDF. Every formatter takes a float (or None) and returns a string.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["MISSING", "format_rate", "format_count", "format_delta", "format_duration", "plural",
           "format_rates_apart"]

#: What a missing or undefined value prints as.
MISSING = "—"


def _number(x: Any) -> float | None:
    """A finite float, or None for None/NaN/inf/non-numbers."""
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def format_rate(x: Any, digits: int = 1) -> str:
    """A ratio as a percentage: ``0.382 -> "38.2%"``; NaN/None -> "—".

    >>> format_rate(0.38245), format_rate(1), format_rate(float("nan")), format_rate(None)
    ('38.2%', '100.0%', '—', '—')
    >>> format_rate(0.0004, digits=2)
    '0.04%'
    """
    value = _number(x)
    if value is None:
        return MISSING
    return f"{value * 100:.{digits}f}%"


def format_count(x: Any) -> str:
    """An integer count with thousands separators: ``12345 -> "12,345"``; NaN -> "—".

    >>> format_count(12345), format_count(0), format_count(float("nan"))
    ('12,345', '0', '—')
    """
    value = _number(x)
    if value is None:
        return MISSING
    return f"{round(value):,}"


def format_delta(x: Any, digits: int = 1) -> str:
    """A difference of two rates in percentage points, signed: ``0.012 -> "+1.2 pp"``.

    >>> format_delta(0.012), format_delta(-0.005), format_delta(0.0), format_delta(None)
    ('+1.2 pp', '-0.5 pp', '±0.0 pp', '—')
    """
    value = _number(x)
    if value is None:
        return MISSING
    points = round(value * 100, digits)
    if points == 0:
        return f"±{0:.{digits}f} pp"
    return f"{points:+.{digits}f} pp"


def format_duration(seconds: Any) -> str:
    """A duration for people: "45 s", "12 min", "3 h 5 min", "2 d 4 h"; NaN -> "—".

    >>> [format_duration(s) for s in (45, 720, 11100, 187200, float("nan"))]
    ['45 s', '12 min', '3 h 5 min', '2 d 4 h', '—']
    """
    value = _number(seconds)
    if value is None or value < 0:
        return MISSING
    total = int(round(value))
    if total < 60:
        return f"{total} s"
    minutes = total // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def format_rates_apart(value: Any, threshold: Any, digits: int = 1, max_digits: int = 4) -> tuple[str, str]:
    """``value`` and ``threshold`` as percentages with the same number of decimals, enough
    for two different numbers to print differently.

    Why: a flag compares the exact values, so "bounce rate 2.0% is above 2.0%" was true
    and unreadable; printing both with one more decimal ("2.04% is above 2.00%") keeps the
    message honest without rounding away the difference.

    >>> format_rates_apart(0.0204, 0.02), format_rates_apart(0.03, 0.02)
    (('2.04%', '2.00%'), ('3.0%', '2.0%'))
    >>> format_rates_apart(float("nan"), 0.02)
    ('—', '2.0%')
    """
    for d in range(digits, max_digits + 1):
        a, b = format_rate(value, d), format_rate(threshold, d)
        if a != b or a == MISSING:
            return a, b
    return a, b


def plural(n: Any, singular: str, plural_form: str | None = None) -> str:
    """A count and its noun, agreeing: "1 event", "3 events", "1,200 rows", "2 categories".

    The one pluralising helper of every surface (so no "1 events" or "report(s)"). The
    plural is ``singular + "s"`` unless given, or ``"ies"`` for a consonant + y.

    >>> plural(1, "event"), plural(3, "campaign"), plural(0, "row"), plural(1200, "row")
    ('1 event', '3 campaigns', '0 rows', '1,200 rows')
    >>> plural(2, "category"), plural(1, "person", "people"), plural(2, "person", "people")
    ('2 categories', '1 person', '2 people')
    """
    count = _number(n)
    if count is None:
        return f"{MISSING} {plural_form or _plural(singular)}"
    word = singular if count == 1 else (plural_form or _plural(singular))
    return f"{format_count(count)} {word}"


def _plural(word: str) -> str:
    if len(word) > 1 and word.endswith("y") and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    return word + "s"
