"""Flags worth reading: each flag explains itself with the comparison that raised it, flags are
ranked by severity and recency and grouped per campaign or list, the overview shows the top
few with "show all", and a dismissal (who and when) is kept and outlives a new sync."""

from __future__ import annotations

from datetime import date

import numpy as np

from octolib.metrics.flags import Flag, FlagThresholds, campaign_flags, flag_items, group_flags, rank_flags
from octolib.metrics.rates import campaign_rates
from octolib.store import Store

NOW = np.datetime64("2024-06-01", "s")


def _flag(key: str, rule: str, severity: float, day: str, list_id: str = "l") -> Flag:
    cid = key.split(":")[0]
    return Flag(key, 0, cid, cid.upper(), list_id, rule, severity, np.datetime64(day, "s"), "")


def test_ranking_weighs_rule_severity_and_recency() -> None:
    fresh_bounce = _flag("a:bounces", "bounces", 1.5, "2024-05-31")
    same_but_old = _flag("b:bounces", "bounces", 1.5, "2024-02-01")
    complaint = _flag("c:complaints", "complaints", 1.2, "2024-05-30")
    drop = _flag("d:open_drop", "open_drop", 1.6, "2024-05-31")
    far_past = _flag("e:bounces", "bounces", 6.0, "2024-05-20")
    ranked = rank_flags([same_but_old, drop, fresh_bounce, complaint, far_past], NOW, half_life_days=30)
    # far past its limit first; a complaint outweighs a bounce as far past its limit; newer first
    assert [f.key for f in ranked] == ["e:bounces", "c:complaints", "a:bounces", "d:open_drop", "b:bounces"]
    by_list = group_flags([_flag("a:bounces", "bounces", 2, "2024-05-01", "l2"),
                           _flag("b:bounces", "bounces", 1, "2024-05-01", "l1"),
                           _flag("c:bounces", "bounces", 1, "2024-05-01", "l2")], by="list")
    assert [(k, [f.key for f in fs]) for k, fs in by_list] == [("l2", ["a:bounces", "c:bounces"]),
                                                               ("l1", ["b:bounces"])]


def test_each_flag_says_the_comparison_that_raised_it() -> None:
    opened = [400, 420, 410, 430, 405, 121]
    r = campaign_rates(sent=[1000] * 6, bounced_hard=[0] * 6, bounced_soft=[0] * 6, opened_unique=opened,
                       clicked_unique=[0] * 6, unsubscribed=[0] * 6, complained=[0, 0, 0, 0, 0, 3])
    t = np.array([f"2024-05-0{d}" for d in range(1, 7)], "datetime64[s]")
    f = campaign_flags(r, ["l"] * 6, t)
    items = flag_items(f, [f"c{i}" for i in range(6)], [f"N{i}" for i in range(6)], ["l"] * 6, t)
    texts = {x.rule: x.text for x in items}
    assert texts["open_drop"].startswith("Open rate 12.1% is 28.9 points below the list's median 41.0% of the "
                                         "previous 5 settled campaigns")
    assert texts["complaints"].startswith("Complaint rate 0.30% is 0.20 points above the 0.10% limit")
    assert all(x.campaign_id == "c5" and x.key.startswith("c5:") for x in items)
    # thresholds are settings: a stricter complaint limit raises the severity, a laxer one the flag
    assert not campaign_flags(r, ["l"] * 6, t, FlagThresholds(complaint_rate=0.01)).high_complaints.any()


def test_overview_top_few_show_all_groups_and_a_dismissal_outlives_a_sync(synced_store: Store) -> None:
    from octolib.dashboards import build_overview
    from octolib.dashboards.data import DashboardData

    def page_for(store: Store):
        # strict thresholds, so the tiny account raises several flags
        data = DashboardData(store, cache_dir=None, flags_shown=1,
                             flag_thresholds=FlagThresholds(bounce_rate=0.001, complaint_rate=0.0001, min_denominator=1))
        page = build_overview(data)
        page.period.start.value, page.period.end.value = date(2020, 1, 1), date(2026, 12, 31)
        return page

    page = page_for(synced_store)
    n = len(page.flag_items)
    assert n >= 2, page.flags
    shown = [c for c in page.flag_rows.children if hasattr(c, "children")]
    assert len(shown) == 1 and "Show all" in page.flag_box.value
    page.flag_show_all.value = True
    assert len([c for c in page.flag_rows.children if hasattr(c, "children")]) == n
    page.flag_group.value = "list"
    assert 'data-group="' in page.flag_rows.children[0].value
    first = page.flag_items[0]
    assert page.dismiss(first.key, actor="alice") is True
    assert first.key not in {f.key for f in page.flag_items} and page.last_message[0] == "ok"
    assert "dismissed by alice" in page.last_message[1]
    rec = synced_store.audit_log.find_one({"event": "flag_dismissed", "target": first.key})
    assert rec["username"] == "alice" and rec["at"] is not None

    # a new sync (the same account, read again: new runs, same flags) keeps it dismissed
    from octolib.api import EmailOctopusClient
    from octolib.config import Settings
    from octolib.fake import DEMO_API_KEY, FakeAccount, FakeServer
    from octolib.sync import run_sync

    with FakeServer(FakeAccount.generate(seed=7, size="tiny"), rate_per_s=1000, burst=1000) as server:
        settings = Settings(api_base=server.base_url, api_key=DEMO_API_KEY, rate_per_s=1000, rate_burst=1000)
        with EmailOctopusClient.from_settings(settings) as client:
            assert run_sync(synced_store, client, progress=False, full=True).ok
    again = page_for(synced_store)
    assert first.key not in {f.key for f in again.flag_items}
    assert first.key in {f.key for f in again.dismissed} and len(again.flag_items) == n - 1


def test_a_dismissal_can_be_restored_and_the_latest_word_holds(synced_store: Store, clock) -> None:
    from octolib.dashboards.flag_review import dismiss, dismissals, restore

    flag = _flag("a:bounces", "bounces", 2.0, "2024-05-31")
    other = _flag("b:complaints", "complaints", 1.0, "2024-05-31")
    dismiss(synced_store, flag, "alice", clock=clock)
    dismiss(synced_store, other, "alice", clock=clock)
    assert set(dismissals(synced_store)) == {flag.key, other.key}
    clock.advance(minutes=5)
    restore(synced_store, flag, "bob", clock=clock)
    assert set(dismissals(synced_store)) == {other.key}
    rec = synced_store.audit_log.find_one({"event": "flag_restored", "target": flag.key})
    assert rec["username"] == "bob" and rec["details"]["rule"] == "bounces"
    # dismissed again, restored again in the same instant: the order of the records decides
    dismiss(synced_store, flag, "carol", clock=clock)
    assert dismissals(synced_store)[flag.key].actor == "carol"
    restore(synced_store, flag, "carol", clock=clock)
    assert flag.key not in dismissals(synced_store)


def test_show_all_lists_dismissed_flags_with_who_and_when_and_restores_them(synced_store: Store) -> None:
    import ipywidgets as w

    from octolib.dashboards import build_overview
    from octolib.dashboards.data import DashboardData

    data = DashboardData(synced_store, cache_dir=None, flags_shown=1,
                         flag_thresholds=FlagThresholds(bounce_rate=0.001, complaint_rate=0.0001, min_denominator=1))
    page = build_overview(data)
    page.period.start.value, page.period.end.value = date(2020, 1, 1), date(2026, 12, 31)
    order = [f.key for f in page.flag_items]
    assert len(order) >= 2
    second = order[1]
    assert page.dismiss(second, actor="alice") is True

    def texts() -> str:
        """The HTML of the flag rows (a group heading, or a button beside its flag)."""
        parts = [c.value if isinstance(c, w.HTML) else " ".join(x.value for x in c.children if isinstance(x, w.HTML))
                 for c in page.flag_rows.children]
        return " ".join(parts)

    assert f'data-dismissed="{second}"' not in texts() and "“Show all” lists them" in page.flag_box.value
    page.flag_show_all.value = True
    assert f'data-dismissed="{second}"' in texts() and "dismissed by alice on " in texts()
    restore_button = next(b for c in page.flag_rows.children for b in getattr(c, "children", ())
                          if getattr(b, "description", "") == "Restore")
    restore_button.click()  # as the page's button does (the analyst is whoever is signed in)
    assert [f.key for f in page.flag_items] == order and not page.dismissed
    assert page.last_message[0] == "ok" and "Flag restored" in page.last_message[1]
    assert f'data-dismissed="{second}"' not in texts()
    rec = synced_store.audit_log.find_one({"event": "flag_restored", "target": second})
    assert rec is not None and rec["at"] is not None
    assert page.restore(second, actor="alice") is False and page.last_message[0] == "warn"
