"""The README's first command as a user runs it: `octo demo` ends with the dashboards behind
the login at a printed URL, with a printed demo password that works; SIGTERM stops it all."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_octo_demo_serves_the_dashboards_behind_the_login_and_stops_on_sigterm(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCTO_")}
    env["OCTO_DATA_DIR"] = str(tmp_path)
    log = tmp_path / "demo.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "octolib.cli", "demo", "--size", "tiny", "--port", str(port)],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                r = requests.get(url, allow_redirects=False, timeout=2)
                break
            except requests.ConnectionError:
                assert proc.poll() is None, log.read_text()
                time.sleep(0.5)
        else:
            pytest.fail("the dashboards never answered:\n" + log.read_text())
        text = log.read_text()
        assert url in text  # the printed local URL
        assert r.status_code == 302 and "/login" in r.headers["Location"]  # nothing open without a session
        password = re.search(r"sign in as\s+demo\s+with password\s+(\S+)", text).group(1)
        assert "octo user create" not in text  # the demo's own account is the way in, said once
        assert f"export OCTO_DATA_DIR={tmp_path / 'demo'}" in text  # how later commands reach this data
        assert "WARNING" not in text.split(url)[0]  # a calm start-up: no log-level lines before the URL

        s = requests.Session()
        login = s.get(url + "login")
        xsrf = s.cookies.get("_xsrf")
        assert xsrf and login.status_code == 200
        ok = s.post(url + "login", data={"username": "demo", "password": password, "_xsrf": xsrf},
                    allow_redirects=False)
        assert ok.status_code == 302, ok.text[:300]
        page = s.get(url + "voila/render/overview.ipynb", timeout=120)
        assert page.status_code == 200 and "Overview" in page.text
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    # The server child went with it: the port is closed.
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/", timeout=2)
