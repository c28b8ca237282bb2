"""Charts or a clear failure: without Chromium a report fails with a message that names the
missing piece and how to install it; it never comes out with its charts missing.

Chromium is hidden by running in a subprocess whose ``PATH`` is a folder of links to every
program on the real ``PATH`` except the browsers. kaleido's own search would still find
``/usr/bin/chromium`` by its fixed list of places (checked below), so what these tests prove
is that octopus's check is the one that decides.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from octolib.charts.export import BROWSER_NAMES, find_chromium, require_chromium
from octolib.errors import ConfigError
from octolib.ops.doctor import FAIL, OK, WARN, check_chromium, check_poppler

ROOT = Path(__file__).resolve().parents[1]
needs_chromium = pytest.mark.skipif(not find_chromium(), reason="chromium is not installed (apt-get install chromium)")


def path_without(tmp_path: Path, hidden: tuple[str, ...]) -> str:
    """A PATH with every program of this one (first one wins, as in a shell) except ``hidden``."""
    folder = tmp_path / "bin-without"
    folder.mkdir()
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not directory or not Path(directory).is_dir():
            continue
        for entry in Path(directory).iterdir():
            target = folder / entry.name
            if entry.name in hidden or target.exists() or target.is_symlink():
                continue
            if entry.is_file() and os.access(entry, os.X_OK):
                target.symlink_to(entry)
    return str(folder)


def test_the_check_finds_the_browser_on_path_only(tmp_path):
    path = path_without(tmp_path, BROWSER_NAMES)
    assert find_chromium(path) is None
    with pytest.raises(ConfigError) as info:
        require_chromium(path)
    message = str(info.value)
    assert "\n" not in message and "Chromium" in message and "apt-get install -y chromium" in message


def test_doctor_checks_chromium_and_poppler(tmp_path):
    bare = path_without(tmp_path, BROWSER_NAMES + ("pdftoppm",))
    missing = check_chromium(bare)
    assert missing.status == FAIL and "apt-get install -y chromium" in missing.fix
    no_previews = check_poppler(bare)
    assert no_previews.status == WARN and "poppler-utils" in no_previews.fix
    if find_chromium():
        assert check_chromium().status == OK
    if shutil.which("pdftoppm"):
        assert check_poppler().status == OK


# What a report does in a process without a browser on PATH: the runner's check (before
# anything runs or is recorded), a template run by hand (the renderer in its own kernel), a
# batch's shared image server, and kaleido's own search for comparison.
_PROBE = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    import plotly.graph_objects as go
    from octolib.config import Settings
    from octolib.errors import ConfigError
    from octolib.reports import images
    from octolib.reports.runner import ReportRequest, run_batch
    from octolib.store import connect

    out = {}
    from choreographer.browsers.chromium import Chromium
    out["kaleido_finds"] = Chromium.find_browser(skip_local=True)
    settings = Settings(data_dir=Path(sys.argv[1]))
    store = connect(settings)
    try:
        run_batch(settings, [ReportRequest("any", "campaign_summary")], store=store)
        out["runner"] = "ran"
    except ConfigError as exc:
        out["runner"] = str(exc)
    out["history"] = store.db["reports"].count_documents({})
    store.close()
    out["reports_dir"] = (Path(sys.argv[1]) / "reports").exists()
    fig = go.Figure(go.Bar(x=[1, 2], y=[3, 4]))
    try:
        out["by_hand"] = repr(images.render_png(fig, 200, 100))[:200]
    except ConfigError as exc:
        out["by_hand"] = "ConfigError: " + str(exc)
    with images.ImageServer() as server:
        images.set_image_server(server.url)
        try:
            out["server"] = repr(images.render_png(fig, 200, 100))[:200]
        except ConfigError as exc:
            out["server"] = "ConfigError: " + str(exc)
    print(json.dumps(out))
""")


@pytest.mark.slow
def test_without_chromium_on_path_a_report_fails_loudly(tmp_path):
    import json

    env = dict(os.environ, PATH=path_without(tmp_path, BROWSER_NAMES))
    env.pop("BROWSER_PATH", None)
    proc = subprocess.run([sys.executable, "-c", _PROBE, str(tmp_path / "data")], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if Path("/usr/bin/chromium").exists():
        # kaleido alone would have drawn the charts anyway: octopus's check is what decides.
        assert out["kaleido_finds"], out
    for where in ("runner", "by_hand", "server"):
        text = out[where]
        assert "Chromium" in text and "apt-get install -y chromium" in text, (where, text)
    assert out["runner"].startswith("report charts need Chromium")
    assert out["history"] == 0 and not out["reports_dir"], "the runner must fail before it records or writes anything"


@pytest.mark.slow
def test_octo_report_without_chromium_exits_with_the_install_line(tmp_path):
    """The command an analyst runs: one line on stderr, exit status not 0, no PDF anywhere."""
    octo = Path(sys.executable).with_name("octo")
    env = dict(os.environ, PATH=path_without(tmp_path, BROWSER_NAMES), OCTO_DATA_DIR=str(tmp_path / "data"),
               OCTO_DEMO="1")
    env.pop("BROWSER_PATH", None)
    for name in ("OCTO_MONGODB_URI", "OCTO_WORKSPACE_DIR"):
        env.pop(name, None)
    imported = subprocess.run([str(octo), "report", "--import-partners", str(ROOT / "partners.example.yml")],
                              env=env, cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert imported.returncode == 0, imported.stderr
    proc = subprocess.run([str(octo), "report", "--all"], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=240)
    assert proc.returncode != 0
    assert "report charts need Chromium" in proc.stderr and "apt-get install -y chromium" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not list((tmp_path / "data").rglob("*.pdf"))


@needs_chromium
@pytest.mark.slow
def test_with_chromium_the_renderer_uses_the_browser_octopus_found(tmp_path):
    import plotly.graph_objects as go

    from octolib.reports import images

    png, error = images.render_local(go.Figure(go.Bar(x=[1, 2], y=[3, 4])), 200, 100, 1)
    assert error == "" and png and png.startswith(b"\x89PNG")
