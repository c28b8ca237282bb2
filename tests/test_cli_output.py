"""What a new user reads from ``octo``: one calm line per fact, no log timestamps, no repeats.

Run as a real process (as a user would), because pytest installs its own logging handlers
and would hide what the command's own logging set-up prints.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _octo(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCTO_")}
    env.update(OCTO_DATA_DIR=str(tmp_path / "data"), PATH="/usr/bin:/bin")  # no mongod: the embedded store
    return subprocess.run([sys.executable, "-m", "octolib.cli", *argv], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_embedded_store_is_named_once_without_a_timestamped_warning(tmp_path):
    proc = _octo(tmp_path, "init-db")
    assert proc.returncode == 0, proc.stderr
    both = proc.stdout + proc.stderr
    assert both.count(str(tmp_path / "data" / "embedded")) == 1, both
    assert "WARNING" not in both
    assert not re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", both), both


def test_a_warning_at_the_default_level_reads_as_one_plain_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c",
         "import logging, sys; from octolib import cli; cli._configure_logging('WARNING'); "
         "logging.getLogger('octolib.x').warning('the disk is %d%% full', 91)"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.stderr == "octo: warning: the disk is 91% full\n"
