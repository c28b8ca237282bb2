"""A template is its sections (issue 11): one function per printed section, one list of them.

Each builder's ``SECTIONS`` is the list the template registry reads and a custom report
picks from. Built here against the tiny account synced over HTTP (``conftest.synced_template``):
the full report prints the registered sections in the registered order, a chosen subset
prints exactly those in the chosen order with the same cells, and a name the template does
not have is refused with a message that names it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator

import pytest

from octolib.config import Settings
from octolib.errors import ConfigError
from octolib.reports.document import Chart, Paragraph, ReportDocument, Table
from octolib.reports.kit import ReportContext, build, make_context
from octolib.reports.partners import save_partner
from octolib.reports.templates import TEMPLATES
from octolib.store import Store

PERIOD = ("2026-01-01", "2026-10-31")


@pytest.fixture(scope="module")
def store(synced_copy: Callable[[str], tuple[Settings, Store]]) -> Iterator[tuple[Settings, Store]]:
    """The synced tiny account with two partners: ``everyone`` (both lists) and ``rules``
    (campaigns by name only, so no list of its own)."""
    settings, st = synced_copy("sections")
    list_ids = [d["emailoctopus_id"] for d in st.lists.find({}, {"emailoctopus_id": 1})]
    assert len(list_ids) == 2
    # goal links: the campaign summary's Conversions section prints only for a partner that has some
    save_partner(st, {"slug": "everyone", "name": "Everyone", "campaigns": {"list_ids": list_ids},
                      "goal_links": ["*example.org/partners*"]})
    save_partner(st, {"slug": "rules", "name": "Rule Partner", "campaigns": {"name_pattern": "."}})
    yield settings, st
    st.close()


def _ctx(store: tuple[Settings, Store], template: str, partner: str = "everyone") -> ReportContext:
    settings, st = store
    return make_context(settings, st, template, partner, *PERIOD)


def _cells(doc: ReportDocument) -> dict[str, list[object]]:
    """Each section's blocks as comparable values (charts by key and title: their PNGs are
    rendered by Chromium and not the point here)."""
    out: dict[str, list[object]] = {}
    for s in doc.sections:
        out[s.title] = [(b.key, b.title, b.columns, b.rows, b.notes) if isinstance(b, Table) else
                        (b.key, b.title) if isinstance(b, Chart) else (b.text,) for b in s.blocks]
    return out


#: Templates that print sections on this store: the segment analysis needs linked customers,
#: which this tiny store has none of (it prints why; tests/test_customers_link.py builds it).
WITH_DATA = sorted(t for t in TEMPLATES if t != "segment_analysis")


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_the_registry_sections_are_the_builders_one_list(name):
    info = TEMPLATES[name]
    specs = importlib.import_module(info.builder_module).SECTIONS
    assert info.sections == tuple(s.name for s in specs)
    assert len(set(info.sections)) == len(specs) and len({s.title for s in specs}) == len(specs)
    assert all(s.name.isidentifier() and s.name.islower() for s in specs)


@pytest.mark.parametrize("name", WITH_DATA)
def test_a_full_report_prints_the_registered_sections_in_order(store, name):
    doc = build(_ctx(store, name))
    assert not doc.is_empty and doc.kpis is not None and doc.narrative
    # sections with default=False are printed only when named
    titles = {s.name: s.title for s in TEMPLATES[name].section_specs if s.default}
    printed = [s.title for s in doc.sections]
    assert printed == [titles[n] for n in TEMPLATES[name].sections if n in titles and titles[n] in printed]
    assert all(s.blocks for s in doc.sections)
    # a partner with lists gets every default section but the "no lists" notice (and the
    # best campaigns when none has enough delivered emails to be ranked, as in the tiny account)
    defaults = [s.name for s in TEMPLATES[name].section_specs if s.default]
    missing = {"engagement_analysis": 1, "campaign_summary": 1}.get(name, 0)
    assert len(printed) == len(defaults) - missing


@pytest.mark.parametrize("name", WITH_DATA)
def test_chosen_sections_print_in_the_chosen_order_with_the_same_cells(store, name):
    ctx = _ctx(store, name)
    full = build(ctx)
    names = [s.name for s in TEMPLATES[name].section_specs if s.default and s.name not in ("partner_lists", "best")]
    chosen = list(reversed(names))[:2]
    doc = build(ctx, chosen)
    titles = {s.name: s.title for s in TEMPLATES[name].section_specs}
    assert [s.title for s in doc.sections] == [titles[n] for n in chosen]
    whole = _cells(full)
    assert _cells(doc) == {t: whole[t] for t in (titles[n] for n in chosen)}
    # only what is chosen prints: without "summary" and "kpis" the head is empty; with them it
    # is the full report's, wherever they stand in the list
    assert doc.kpis is None and doc.narrative == [] and not doc.provenance.definitions
    framed = build(ctx, ["definitions", *chosen, "kpis", "summary"])
    assert framed.kpis == full.kpis and framed.narrative == full.narrative
    assert framed.provenance.definitions == full.provenance.definitions
    assert [s.title for s in framed.sections] == [s.title for s in doc.sections]
    assert build(ctx, []).sections == [] and build(ctx, []).kpis is None


def test_a_partner_without_lists_gets_the_notice_instead_of_list_sections(store):
    doc = build(_ctx(store, "engagement_analysis", "rules"))
    assert [s.title for s in doc.sections] == ["When people open", "How soon people open", "The partner's lists"]
    notice = doc.sections[-1].blocks[0]
    assert isinstance(notice, Paragraph) and "No list belongs to Rule Partner" in notice.text
    assert build(_ctx(store, "list_performance", "rules")).is_empty


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_an_unknown_or_repeated_section_is_refused_naming_it(store, name):
    info = TEMPLATES[name]
    first = info.sections[0]
    with pytest.raises(ConfigError) as err:
        info.check_sections([first, "weather"])
    assert str(err.value) == (f"template {name} has no section 'weather'; its sections are: "
                              + ", ".join(info.sections))
    with pytest.raises(ConfigError, match=f"section '{first}' of template {name} is named twice"):
        info.check_sections([first, first])
    with pytest.raises(ConfigError, match="no section 'weather'"):
        build(_ctx(store, name), ["weather"])
    assert info.check_sections(None) == tuple(s.name for s in info.section_specs if s.default)
    assert info.check_sections(list(info.sections)) == info.sections
    assert info.check_sections(["kpis", first, "definitions"]) == ("kpis", first, "definitions")
    assert info.check_sections(first) == (first,)  # one name given bare is that one section
