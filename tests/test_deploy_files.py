"""The deployment guide cannot drift from the files it tells you to install.

``docs/deploy.md`` includes every file of ``deploy/`` verbatim (an ``<!-- include deploy/X -->``
line, then a fenced block holding the file): a test fails when a block differs from its file,
or a file is not included. The files themselves are checked by their own tools: ``nginx -t``
on ``deploy/nginx.conf`` (only the names, ports and certificate paths filled in, by
:func:`adapt_nginx_site`, which ``tests/test_rehearsal.py`` serves through), and
``systemd-analyze verify`` on the units. The hosted CI workflow is checked against ``.ci/run``.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from octolib.config import SETTINGS

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
GUIDE = ROOT / "docs" / "deploy.md"
INCLUDE = re.compile(r"^<!-- include (deploy/[\w.-]+) -->\n```[\w-]*\n(.*?)^```$", re.M | re.S)

#: What the shipped nginx site says, and what a test run fills in (nothing else changes).
NGINX_PLACEHOLDERS = (
    "/etc/letsencrypt/live/octopus.example.com/fullchain.pem",
    "/etc/letsencrypt/live/octopus.example.com/privkey.pem",
    "octopus.example.com",
    "listen 80;",
    "listen 443 ssl http2;",
    "http://127.0.0.1:8866",
    "/var/www/html",
)


def included_blocks() -> dict[str, str]:
    """``{path: block}`` for every include in the guide (a path may be included once only)."""
    text = GUIDE.read_text()
    found: dict[str, str] = {}
    for match in INCLUDE.finditer(text):
        assert match.group(1) not in found, f"{match.group(1)} is included twice in {GUIDE.name}"
        found[match.group(1)] = match.group(2)
    return found


def test_the_guide_includes_every_deploy_file_verbatim():
    blocks = included_blocks()
    files = {f"deploy/{p.name}" for p in DEPLOY.iterdir() if p.is_file()}
    assert files, "deploy/ is empty"
    assert set(blocks) == files, f"not included: {sorted(files - set(blocks))}; no such file: {sorted(set(blocks) - files)}"
    for rel, block in blocks.items():
        assert block == (ROOT / rel).read_text(), f"docs/deploy.md's copy of {rel} differs from the file: copy it again"


def test_the_guide_installs_what_the_rehearsal_needed():
    """The apt line of the guide has every package `.ci/run` installs for the tests."""
    ci = (ROOT / ".ci" / "run").read_text()
    ci_packages = set(re.search(r'^APT_PACKAGES="([^"]+)"', ci, re.M).group(1).split())
    apt_lines = [line for line in GUIDE.read_text().splitlines() if "apt-get install" in line]
    guide_packages = {w for line in apt_lines for w in line.split() if re.fullmatch(r"[a-z0-9][a-z0-9.+-]+", w)}
    assert ci_packages <= guide_packages, f"docs/deploy.md's apt line lacks {sorted(ci_packages - guide_packages)}"
    assert {"chromium", "poppler-utils", "nginx", "python3-venv"} <= guide_packages


def test_the_env_file_sets_only_real_settings():
    known = {s.env for s in SETTINGS}
    names = [line.split("=", 1)[0] for line in (DEPLOY / "octopus.env").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert names and set(names) <= known, f"unknown settings: {sorted(set(names) - known)}"


def test_units_run_octo_commands_that_exist():
    """Every ExecStart of a unit (and every cron line) runs an octo subcommand the CLI has."""
    import argparse

    from octolib.cli import build_parser

    table = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))  # noqa: SLF001
    commands = set(table.choices)
    used = re.findall(r"/opt/octopus/\.venv/bin/octo (\w[\w-]*)", "".join(p.read_text() for p in DEPLOY.iterdir()))
    assert used and set(used) <= commands, f"not an octo command: {sorted(set(used) - commands)}"


def adapt_nginx_site(text: str, *, server_name: str, http_port: int, https_port: int, upstream_port: int,
                     cert: Path, key: Path, webroot: Path) -> str:
    """The shipped site with the placeholders filled in; each must be there (or the file changed)."""
    for placeholder in NGINX_PLACEHOLDERS:
        assert placeholder in text, f"deploy/nginx.conf no longer has {placeholder!r}: update the tests"
    return (text.replace(NGINX_PLACEHOLDERS[0], str(cert)).replace(NGINX_PLACEHOLDERS[1], str(key))
            .replace("octopus.example.com", server_name)
            .replace("listen 80;", f"listen 127.0.0.1:{http_port};")
            .replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;")
            .replace("http://127.0.0.1:8866", f"http://127.0.0.1:{upstream_port}")
            .replace("/var/www/html", str(webroot)))


def nginx_prefix(folder: Path, site: str) -> list[str]:
    """A non-root nginx around ``site``: pid, logs and temp files in ``folder``. Returns the argv prefix."""
    folder.mkdir(parents=True, exist_ok=True)
    temp = {}
    for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / name).mkdir(exist_ok=True)
        (folder / name).chmod(0o777)  # as root, workers run as nobody
        temp[name] = folder / name
    (folder / "octopus.conf").write_text(site)
    (folder / "nginx.conf").write_text(f"""
worker_processes 1;
pid {folder / 'nginx.pid'};
error_log {folder / 'error.log'} info;
events {{ worker_connections 256; }}
http {{
    access_log {folder / 'access.log'};
    client_body_temp_path {temp['client_body']};
    proxy_temp_path {temp['proxy']};
    fastcgi_temp_path {temp['fastcgi']};
    uwsgi_temp_path {temp['uwsgi']};
    scgi_temp_path {temp['scgi']};
    include {folder / 'octopus.conf'};
}}
""")
    return [nginx_binary(), "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e", str(folder / "error.log")]


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if not found:
        pytest.skip("nginx is not installed (Debian: apt-get install nginx; .ci/run installs it)")
    return found


def self_signed(folder: Path, name: str = "localhost") -> tuple[Path, Path]:
    """A certificate for ``name`` and 127.0.0.1, made with openssl (one day)."""
    openssl = shutil.which("openssl")
    if not openssl:
        pytest.skip("openssl is not installed")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={name}",
                    "-addext", f"subjectAltName=DNS:{name},IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def test_nginx_accepts_the_shipped_site(tmp_path):
    cert, key = self_signed(tmp_path)
    site = adapt_nginx_site((DEPLOY / "nginx.conf").read_text(), server_name="localhost", http_port=8080,
                            https_port=8443, upstream_port=8866, cert=cert, key=key, webroot=tmp_path)
    proc = subprocess.run(nginx_prefix(tmp_path / "nginx", site) + ["-t"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "syntax is ok" in proc.stderr and "test is successful" in proc.stderr
    assert "[warn]" not in proc.stderr, proc.stderr


def test_systemd_accepts_the_shipped_units(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        pytest.skip("systemd-analyze is not installed (no systemd on this machine): the units are not verified")
    octo = Path(sys.executable).with_name("octo")
    units = sorted(p for p in DEPLOY.iterdir() if p.suffix in {".service", ".timer"})
    assert {"octopus-serve.service", "octopus-scheduler.service"} <= {p.name for p in units}
    for unit in units:  # only the program's path differs: verify checks that ExecStart exists
        (tmp_path / unit.name).write_text(unit.read_text().replace("/opt/octopus/.venv/bin/octo", str(octo)))
    proc = subprocess.run([analyze, "verify", *[str(tmp_path / u.name) for u in units]], capture_output=True,
                          text=True, cwd=tmp_path)
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr


def test_the_serve_unit_runs_the_workspace_with_the_guides_options():
    unit = (DEPLOY / "octopus-serve.service").read_text()
    argv = shlex.split(re.search(r"^ExecStart=(.+)$", unit, re.M).group(1))
    assert argv[1:3] == ["serve", "--secure"] and "--notebooks-dir" not in argv  # the workspace, by default
    assert "ReadWritePaths=/var/lib/octopus\n" in unit and "OCTO_DATA_DIR=/var/lib/octopus" in (
        DEPLOY / "octopus.env").read_text()


def test_hosted_ci_runs_ci_run_next_to_a_real_mongodb():
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    (job,) = workflow["jobs"].values()
    assert job["services"]["mongo"]["image"] == "mongo:7"
    assert job["env"]["OCTO_TEST_MONGODB_URI"].startswith("mongodb://mongo:27017")
    runs = [step.get("run", "") for step in job["steps"]]
    assert ".ci/run" in runs, "the hosted job must run .ci/run itself, so both stay one procedure"
    assert "bookworm" in job["container"]["image"]  # Debian 12, like the guide and .ci/run's apt line
