"""The whole flow of issue 13 in headless Chromium against the real ``octo serve``: sign in,
create a partner on the Partners page, pick its campaigns and sections in the report builder,
write a note, make the PDF, download it, and read it back (pypdf).

The PDF must name the partner, carry the note and the chosen sections in the chosen order,
and hold neither the sections left out, nor the campaign unticked, nor anything of the other
partner planted beforehand (its list's name). The pages are pre-started kernels, as in
production, so the report builder must offer a partner created after it was rendered.
(The tiny account keeps it quick; ``benchmarks/bench_workspace_flow.py`` times the same
flow on the demo account.)
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from octolib.server.testing import running_server
from tests.test_dashboard_browser import ARGS, _chromium
from tests.workspace_flow import DROPPED, KEPT, NOTE, PARTNER_NAME, RIVAL_LIST, prepare_account, run_flow

pytestmark = pytest.mark.slow
pypdf = pytest.importorskip("pypdf")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.timeout(900)
def test_sign_in_to_a_partners_pdf_in_the_browser(tmp_path_factory, tmp_path):
    chromium = _chromium()
    if chromium is None:
        pytest.skip("chromium not found (Debian: apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    data_dir = tmp_path_factory.mktemp("flow") / "data"
    list_id = prepare_account(data_dir)
    # Pre-started pages as in production; not waited for (on a loaded machine they may still be
    # rendering when the browser asks, and then the page waits for its kernel).
    with running_server(NOTEBOOKS, data_dir, pool_size=1, pool_notebooks=("partners.ipynb", "report_builder.ipynb"),
                        ) as srv, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS, headless=True)
        try:
            result = run_flow(browser, srv.url, list_id, tmp_path)
        finally:
            browser.close()
    text = _squash("".join(page.extract_text() for page in pypdf.PdfReader(str(result.pdf)).pages))
    assert _squash(PARTNER_NAME) in text and _squash(NOTE) in text
    at = [text.find(_squash(h)) for h in KEPT]
    assert all(i >= 0 for i in at) and at == sorted(at), (KEPT, at)
    for heading in DROPPED:
        assert _squash(heading) not in text, heading
    assert _squash(result.unticked_campaign) not in text
    assert _squash(RIVAL_LIST) not in text and "Rival" not in text
    print(f"flow: {result.seconds:.1f} s {result.steps}; screenshots in {tmp_path}")
