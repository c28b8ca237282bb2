"""The short written summary at the top of a partner report, built from the numbers.

Why generated: an analyst used to write "Open rate rose from 31% to 38% against the
previous quarter" by hand, and such sentences drifted from the tables. Here every number
in a sentence is formatted by the same formatter as the tables, from the same values, and
a comparison on too few recipients says so instead of claiming a trend.

Pure functions: values in, sentences out. Formatting is passed in (``fmt_rate``), so the
narrative prints exactly the text the KPI table prints.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["RateChange", "rate_sentence", "volume_sentence", "best_sentence", "flag_sentences", "fmt_count",
           "plural"]

SMALL_MINIMUM = 50


def fmt_count(n: int | float) -> str:
    """A count with thousands separators (``12,345``); ``—`` when undefined.

    >>> fmt_count(12345), fmt_count(float("nan"))
    ('12,345', '—')
    """
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return "—"
    return f"{int(n):,}"


def plural(n: int, one: str, many: str | None = None) -> str:
    """``1 campaign``, ``3 campaigns``.

    >>> plural(1, "campaign"), plural(3, "campaign")
    ('1 campaign', '3 campaigns')
    """
    return f"{fmt_count(n)} {one if n == 1 else (many or one + 's')}"


@dataclass(frozen=True)
class RateChange:
    """One rate in this period and the comparison period, with its denominators.

    ``label`` is the rate's name as a sentence subject ("Open rate"); rates are ratios in
    [0, 1] or NaN when undefined; ``*_n`` are the denominators (delivered emails).
    """

    label: str
    current: float
    previous: float
    current_n: int
    previous_n: int
    median: float = float("nan")


def _defined(x: float) -> bool:
    return x is not None and not math.isnan(x)


def rate_sentence(change: RateChange, comparison: str, fmt_rate: Callable[[float], str],
                  minimum: int = SMALL_MINIMUM) -> str:
    """One sentence on how a rate moved against ``comparison`` ("the previous quarter").

    >>> pct = lambda x: f"{100 * x:.1f}%"
    >>> rate_sentence(RateChange("Open rate", 0.382, 0.31, 900, 800), "the previous quarter", pct)
    'Open rate rose from 31.0% to 38.2% against the previous quarter.'
    >>> rate_sentence(RateChange("Click rate", 0.05, 0.05, 900, 800), "the previous month", pct)
    'Click rate held steady at 5.0% against the previous month.'
    >>> rate_sentence(RateChange("Open rate", 0.25, 0.5, 16, 800), "the previous month", pct)
    'Open rate was 25.0% on only 16 delivered emails, too few to compare reliably.'
    """
    label, cur, prev = change.label, change.current, change.previous
    median = f" (account median {fmt_rate(change.median)})" if _defined(change.median) else ""
    if not _defined(cur) or change.current_n <= 0:
        return f"{label} cannot be computed: nothing was delivered in this period."
    if change.current_n < minimum:
        return (f"{label} was {fmt_rate(cur)} on only {plural(change.current_n, 'delivered email')}, "
                "too few to compare reliably.")
    if not _defined(prev) or change.previous_n <= 0:
        return f"{label} was {fmt_rate(cur)}{median}; {comparison} has no delivered campaign to compare with."
    if change.previous_n < minimum:
        return (f"{label} was {fmt_rate(cur)}{median}; {comparison} had only "
                f"{plural(change.previous_n, 'delivered email')}, too few to compare.")
    now_txt, then_txt = fmt_rate(cur), fmt_rate(prev)
    if now_txt == then_txt:
        return f"{label} held steady at {now_txt} against {comparison}{median}."
    verb = "rose" if cur > prev else "fell"
    return f"{label} {verb} from {then_txt} to {now_txt} against {comparison}{median}."


def volume_sentence(partner: str, period_label: str, comparison: str, campaigns: int, delivered: int,
                    previous_campaigns: int, previous_delivered: int) -> str:
    """How much was sent, against the comparison period.

    >>> volume_sentence("Acme", "Q3 2026", "the previous quarter", 4, 12345, 3, 10002)
    'Acme sent 4 campaigns in Q3 2026, delivered to 12,345 recipients (3 campaigns and 10,002 in the previous quarter).'
    """
    before = (f"{plural(previous_campaigns, 'campaign')} and {fmt_count(previous_delivered)} in {comparison}"
              if previous_campaigns else f"none in {comparison}")
    return (f"{partner} sent {plural(campaigns, 'campaign')} in {period_label}, delivered to "
            f"{plural(delivered, 'recipient')} ({before}).")


def best_sentence(name: str, rate_label: str, rate_text: str, delivered: int) -> str:
    """Name the best campaign.

    >>> best_sentence("Spring sale", "open rate", "45.0%", 1200)
    'The best campaign was “Spring sale”, with a 45.0% open rate on 1,200 delivered emails.'
    """
    return f"The best campaign was “{name}”, with a {rate_text} {rate_label} on {plural(delivered, 'delivered email')}."


def flag_sentences(flags: Sequence[tuple[str, Sequence[str]]]) -> list[str]:
    """One sentence per raised flag: ``(what, campaign names)``.

    >>> flag_sentences([("a bounce rate above 2%", ["A", "B"]), ("a complaint rate above 0.1%", [])])
    ['2 campaigns had a bounce rate above 2%: “A”, “B”.']
    """
    out = []
    for what, names in flags:
        if not names:
            continue
        shown = ", ".join(f"“{n}”" for n in list(names)[:5]) + (" and others" if len(names) > 5 else "")
        out.append(f"{plural(len(names), 'campaign')} had {what}: {shown}.")
    return out
