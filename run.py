#!/usr/bin/env python3
"""Bootstrap for a fresh machine: make a virtual environment from the repo's files, then run.

    python3 run.py demo    # the product on its built-in demo account
    python3 run.py test    # the whole test suite

Only the standard library is used here, so it works with nothing but Python installed.
The environment lives in ``.venv`` next to this file and is reused while pyproject.toml
is unchanged.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("OCTO_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".octopus-installed"


def _digest() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def ensure_venv() -> None:
    """Create .venv and install the project with its test extras, once per pyproject change."""
    if sys.version_info < (3, 10):
        sys.exit(f"octopus needs Python 3.10 or newer; this is {sys.version.split()[0]}")
    if STAMP.exists() and STAMP.read_text() == _digest() and PY.exists():
        return
    if not PY.exists():
        print(f"creating virtual environment in {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    print("installing octopus and its dependencies (first run takes a minute) ...", flush=True)
    pip = [str(PY), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.check_call(pip + ["install", "-U", "pip"])
    subprocess.check_call(pip + ["install", "-e", f"{ROOT}[test]"])
    STAMP.write_text(_digest())


APT_PACKAGES = ["chromium", "poppler-utils", "nginx"]  # charts and browser tests, previews, the TLS rehearsal


def ensure_chromium() -> None:
    """Browser tests need Debian's chromium (and the rehearsal nginx); install them when we can (root + apt)."""
    if (shutil.which("chromium") or shutil.which("chromium-browser")) and shutil.which("pdftoppm") \
            and shutil.which("nginx"):
        return
    if os.name != "nt" and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"installing {' '.join(APT_PACKAGES)} for the browser and rehearsal tests (apt-get) ...", flush=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        ok = subprocess.call(["apt-get", "install", "-y", "-q", *APT_PACKAGES], env=env,
                             stdout=subprocess.DEVNULL) == 0
        if not ok:
            subprocess.call(["apt-get", "update", "-q"], env=env, stdout=subprocess.DEVNULL)
            subprocess.call(["apt-get", "install", "-y", "-q", *APT_PACKAGES], env=env,
                            stdout=subprocess.DEVNULL)
    if not shutil.which("chromium"):
        print("note: chromium is not installed; browser tests will be skipped", flush=True)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test"}:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    ensure_venv()
    env = dict(os.environ)
    if command == "demo":
        return subprocess.call([str(BIN / "octo"), "demo", *rest], cwd=ROOT, env=env)
    ensure_chromium()
    code = subprocess.call([str(PY), "-m", "pytest", *rest], cwd=ROOT, env=env)
    if code == 5:
        print("pytest collected no tests: that is a failure, not a pass", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
