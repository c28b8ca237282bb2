"""A template's sections: the parts of a report an analyst can pick and order.

Why: a template's builder used to be one long ``build()`` that computed everything and
printed it in a fixed order, and the template registry typed the section titles a second
time. Now a builder is three things:

- ``prepare(ctx)``: the data every part of the report reads, computed once into a small
  typed dataclass of the template (or :class:`Nothing`, the reason there is nothing to
  report);
- the document head (``key_figures`` and ``summary``: the KPI table and the narrative);
- ``SECTIONS``: the ordered tuple of :class:`SectionSpec`, one function per printed
  section, each taking the prepared data and returning the section's blocks (``None``:
  nothing to show, the section is left out). The spec carries the section's title, so
  the title is written once, and :func:`make_sections` makes the :class:`Section`.

``SECTIONS`` is the one list: the registry's :attr:`~octolib.reports.templates.TemplateInfo.sections`
are its names, and a custom report (a chosen subset, in a chosen order) is checked against
it by :func:`choose` before any data is read.

Custom reports (issue 13) also choose the *frame* of the document, the parts every template
has: ``summary`` (the narrative), ``kpis`` (the key-figures table) and ``definitions`` (the
metric definitions at the end). Their places are fixed (the summary and the KPI table open
the report, the definitions close it), so only whether they print is chosen; the body
sections print in the order given. :func:`plan` splits a chosen list into both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from octolib.errors import ConfigError
from octolib.reports.document import Section

if TYPE_CHECKING:
    from octolib.reports.document import Block, ReportDocument
    from octolib.reports.kit import ReportContext

__all__ = ["SectionSpec", "Nothing", "Builder", "choose", "make_sections", "FRAME", "FRAME_TITLES", "Plan", "plan"]

D = TypeVar("D")

#: The parts every template's document has besides its sections, by the name a custom
#: report gives them: the first two open the report, the last closes it.
FRAME: tuple[str, ...] = ("summary", "kpis", "definitions")
FRAME_TITLES: dict[str, str] = {"summary": "Summary and analyst note", "kpis": "Key figures",
                                "definitions": "Metric definitions"}


@dataclass(frozen=True)
class SectionSpec(Generic[D]):
    """One section a template can print.

    ``name`` is the stable word a custom report names it by (titles may be reworded);
    ``title`` is the heading printed in the PDF; ``make`` builds its blocks from the
    template's prepared data, ``None`` when there is nothing to show. ``default=False``
    marks a section printed only when a custom report chooses it (the template's full
    report stays what it was).
    """

    name: str
    title: str
    make: Callable[[D], list[Block] | None]
    default: bool = True


@dataclass(frozen=True)
class Nothing:
    """Why a report has nothing to show; printed as the document's empty message."""

    message: str


class Builder(Protocol):
    """A template's ``build``: the whole report, or only the ``sections`` named, in that order."""

    def __call__(self, ctx: ReportContext, sections: Sequence[str] | None = None) -> ReportDocument: ...


def choose(specs: Sequence[SectionSpec[D]], names: Sequence[str] | None, template: str) -> list[SectionSpec[D]]:
    """The sections ``names`` of ``specs`` in the order given; every default one
    when ``names`` is None.

    An unknown or repeated name is a ConfigError naming it and the template's sections, so a
    custom report fails before any data is read. An empty list is allowed (the head only).

    >>> specs = [SectionSpec("a", "A", lambda d: None), SectionSpec("b", "B", lambda d: None)]
    >>> [s.name for s in choose(specs, ["b", "a"], "t")], len(choose(specs, None, "t"))
    (['b', 'a'], 2)
    >>> choose(specs, ["a", "c"], "t")
    Traceback (most recent call last):
    ...
    octolib.errors.ConfigError: template t has no section 'c'; its sections are: a, b
    """
    if names is None:
        return [s for s in specs if s.default]
    if isinstance(names, str):  # one name given bare would be read letter by letter
        names = [names]
    by_name = {s.name: s for s in specs}
    chosen: list[SectionSpec[D]] = []
    for name in names:
        if name not in by_name:
            raise ConfigError(f"template {template} has no section {name!r}; its sections are: {', '.join(by_name)}")
        if by_name[name] in chosen:
            raise ConfigError(f"section {name!r} of template {template} is named twice; name each section once")
        chosen.append(by_name[name])
    return chosen


def make_sections(data: D, specs: Sequence[SectionSpec[D]]) -> list[Section]:
    """The sections of ``specs`` made from ``data``, in order, leaving out those that made ``None``."""
    made = ((spec.title, spec.make(data)) for spec in specs)
    return [Section(title, blocks) for title, blocks in made if blocks is not None]


@dataclass(frozen=True)
class Plan(Generic[D]):
    """What one report prints: which frame parts (:data:`FRAME`) and which sections, in order."""

    summary: bool
    kpis: bool
    definitions: bool
    specs: list[SectionSpec[D]]


def plan(specs: Sequence[SectionSpec[D]], names: Sequence[str] | None, template: str) -> Plan[D]:
    """Split a custom report's chosen ``names`` into the frame parts and the body sections.

    None: everything (the template's full report). Frame names may stand anywhere in the list
    (their place in the document is fixed); section names are checked by :func:`choose` and
    keep their order.

    >>> specs = [SectionSpec("a", "A", lambda d: None), SectionSpec("b", "B", lambda d: None)]
    >>> p = plan(specs, ["b", "summary", "a"], "t")
    >>> p.summary, p.kpis, p.definitions, [s.name for s in p.specs]
    (True, False, False, ['b', 'a'])
    >>> plan(specs, None, "t").kpis
    True
    >>> [s.name for s in plan([*specs, SectionSpec("c", "C", lambda d: None, default=False)], None, "t").specs]
    ['a', 'b']
    """
    if names is None:
        return Plan(True, True, True, [s for s in specs if s.default])
    if isinstance(names, str):
        names = [names]
    frame = [n for n in names if n in FRAME]
    if len(set(frame)) != len(frame):
        twice = next(n for n in frame if frame.count(n) > 1)
        raise ConfigError(f"section {twice!r} of template {template} is named twice; name each section once")
    body = choose(specs, [n for n in names if n not in FRAME], template)
    return Plan("summary" in frame, "kpis" in frame, "definitions" in frame, body)
