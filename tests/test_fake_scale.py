"""Scaled local accounts (``--size 10x``): every collection grows with the factor, not its square."""

from __future__ import annotations

import pytest

from octolib.cli import main
from octolib.fake import SIZES, FakeAccount
from octolib.fake.account import REPORT_STATUSES, resolve_size, scaled


def _events(account: FakeAccount) -> int:
    return sum(len(account.report_rows(c["id"], status)) for c in account.campaigns
               if c["status"] in ("sent", "sending") for status in REPORT_STATUSES if status != "sent")


def test_a_scaled_account_multiplies_lists_contacts_campaigns_and_events_by_the_factor():
    base, triple = SIZES["small"], scaled(SIZES["small"], 3)
    a, b = FakeAccount.generate(seed=3, size=base), FakeAccount.generate(seed=3, size=triple)
    assert (len(b.lists), len(b.campaigns)) == (3 * len(a.lists), 3 * len(a.campaigns))
    assert sum(len(v) for v in b.contacts.values()) == 3 * sum(len(v) for v in a.contacts.values())
    ratio = _events(b) / _events(a)
    assert 2.0 < ratio < 4.5, ratio  # about 3: one campaign reaches as many people as at 1x (9 if it were squared)


def test_named_sizes_keep_their_data_and_nx_means_n_times_demo():
    assert repr(SIZES["demo"]) == ("SizeSpec(lists=3, campaigns=30, contacts=6000, drafts=3, sending=1, "
                                   "zero_open_campaigns=1, months=18.0, links_per_campaign=(2, 5))")
    assert resolve_size("10x") == SIZES["10x"] == scaled(SIZES["demo"], 10)
    assert resolve_size("7x").contacts == 7 * SIZES["demo"].contacts
    for bad in ("0x", "x", "big", "-2x", "1.5x"):
        with pytest.raises(ValueError, match="unknown size"):
            resolve_size(bad)


def test_fake_api_refuses_an_unknown_size_in_one_line_before_starting(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["fake-api", "--size", "huge", "--port", "0"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "unknown size 'huge'" in err[-1] and "<N>x" in err[-1]
