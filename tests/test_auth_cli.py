"""``octo user`` and ``octo serve`` at the edge: prompts, --from-env, the server's argv and env.

The password prompt is injected (``prompt=``) so no terminal is needed; the environment is
passed as a mapping. What must survive bad input: a weak or mistyped password never
creates an account, and a secret never lands on the server's command line.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from octolib.server.launch import ServeOptions, resolve_notebooks_dir, server_command, server_env, server_url
from octolib.auth.users import UserError, open_user_store
from octolib.cli import build_parser
from octolib.commands import user as user_cmd
from octolib.config import Settings

ROOT = Path(__file__).resolve().parents[1]
GOOD = "Lemon-Harbour-2026"


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def octo_user(settings, argv, *, answers=(), environ=None):
    args = build_parser().parse_args(["user", *argv])
    replies = iter(answers)
    out = io.StringIO()
    code = user_cmd.run(args, environ=environ or {}, prompt=lambda _msg: next(replies), out=out, settings=settings)
    return code, out.getvalue()


def can_login(settings, name, password) -> bool:
    store = open_user_store(settings)
    try:
        return store.authenticate(name, password, "127.0.0.1").ok
    finally:
        store.close()


def test_create_prompts_twice_and_retries_weak_or_mismatched_passwords(settings):
    code, out = octo_user(settings, ["create", "alice", "--full-name", "Alice A"],
                          answers=["weak", GOOD, "typo", GOOD, GOOD])
    assert code == 0 and "alice: created" in out
    assert "12 characters" in out and "differ" in out
    assert GOOD not in out  # a typed password is never echoed
    assert can_login(settings, "alice", GOOD)


def test_three_bad_prompts_create_nothing(settings):
    with pytest.raises(UserError, match="no acceptable password"):
        octo_user(settings, ["create", "bob"], answers=["short", "alllowercaseonly", "bob"])
    code, out = octo_user(settings, ["list"])
    assert "bob" not in out and "no accounts" in out


def test_from_env_for_unattended_deploys_and_exist_ok(settings):
    env = {"OCTOPUS_USERNAME": "deploy", "OCTOPUS_PASSWORD": GOOD}
    assert octo_user(settings, ["create", "--from-env"], environ=env)[0] == 0
    assert can_login(settings, "deploy", GOOD)
    code, out = octo_user(settings, ["create", "--from-env", "--exist-ok"], environ=env)
    assert code == 0 and "left unchanged" in out
    with pytest.raises(UserError, match="already exists"):
        octo_user(settings, ["create", "--from-env"], environ=env)
    with pytest.raises(UserError, match="OCTOPUS_PASSWORD"):
        octo_user(settings, ["create", "other", "--from-env"], environ={})
    with pytest.raises(UserError, match="two kinds"):
        octo_user(settings, ["create", "weakling", "--from-env"], environ={"OCTOPUS_PASSWORD": "aaaaaaaaaaaaaaaa"})


def test_generate_prints_the_password_once_and_it_works(settings):
    code, out = octo_user(settings, ["create", "carol", "--generate"])
    assert code == 0
    (line,) = [ln for ln in out.splitlines() if ln.startswith("password: ")]
    assert can_login(settings, "carol", line.removeprefix("password: "))


def test_disable_enable_reset_and_list(settings):
    octo_user(settings, ["create", "dave", "--from-env"], environ={"OCTOPUS_PASSWORD": GOOD})
    assert octo_user(settings, ["disable", "dave"])[0] == 0
    assert not can_login(settings, "dave", GOOD)
    assert "disabled" in octo_user(settings, ["list"])[1]
    octo_user(settings, ["enable", "dave"])
    assert can_login(settings, "dave", GOOD)
    new = "Another-Harbour-77"
    code, out = octo_user(settings, ["reset-password", "dave"], answers=[new, new])
    assert code == 0 and "sessions ended" in out
    assert can_login(settings, "dave", new) and not can_login(settings, "dave", GOOD)
    listing = octo_user(settings, ["list"])[1]
    assert "dave" in listing and "active" in listing and "argon2" not in listing


def test_demo_prints_name_and_a_working_password(settings):
    code, out = octo_user(settings, ["demo"])
    lines = dict(ln.split(":", 1) for ln in out.strip().splitlines())
    assert code == 0 and lines["demo user"].strip() == "demo"
    assert can_login(settings, "demo", lines["password"].strip())


def test_create_user_script_is_a_thin_wrapper(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "OCTO_DATA_DIR": str(tmp_path), "OCTOPUS_USERNAME": "erin",
           "OCTOPUS_PASSWORD": GOOD, "HOME": str(tmp_path)}
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "create_user.py"), "--from-env"],
                       env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "erin: created" in r.stdout and GOOD not in r.stdout + r.stderr
    assert can_login(Settings(data_dir=tmp_path), "erin", GOOD)


# -- octo serve ------------------------------------------------------------------------------

def test_server_command_is_locked_down_and_carries_no_secret(tmp_path):
    settings = Settings(data_dir=tmp_path, mongodb_uri="mongodb://u:hunter2-secret@db/x", api_key="key-123456")
    argv = server_command(settings, ServeOptions(notebooks_dir=tmp_path, port=9999), python="python")
    joined = " ".join(argv)
    assert argv[:3] == ["python", "-m", "octolib.server.app"]
    assert "--ServerApp.ip=127.0.0.1" in argv and "--ServerApp.port=9999" in argv
    assert "--MappingKernelManager.cull_connected=True" in argv
    assert "--MappingKernelManager.cull_idle_timeout=600" in argv
    assert "hunter2" not in joined and "key-123456" not in joined
    assert "secure_cookie" not in joined and "allow_remote_access" not in joined


def test_secure_mode_and_public_host(tmp_path):
    settings = Settings(data_dir=tmp_path)
    secure = server_command(settings, ServeOptions(notebooks_dir=tmp_path, secure=True), python="python")
    assert "--OctoIdentityProvider.secure_cookie=True" in secure and "--ServerApp.trust_xheaders=True" in secure
    public = server_command(settings, ServeOptions(notebooks_dir=tmp_path, host="0.0.0.0"), python="python")
    assert "--ServerApp.allow_remote_access=True" in public and "--ServerApp.trust_xheaders=True" not in public
    assert server_url(ServeOptions(notebooks_dir=tmp_path, host="0.0.0.0", port=8866)) == "http://127.0.0.1:8866/"


def test_server_env_carries_every_setting_and_drops_jupyter_tokens(tmp_path):
    settings = Settings(data_dir=tmp_path, session_idle_minutes=7.5, demo=True, mongodb_uri="mongodb://h/x")
    env = server_env(settings, {"PATH": "/bin", "JUPYTER_TOKEN": "abc", "OCTO_DB_NAME": "stale"})
    assert "JUPYTER_TOKEN" not in env and env["PATH"] == "/bin"
    assert env["OCTO_SESSION_IDLE_MINUTES"] == "7.5" and env["OCTO_DEMO"] == "1"
    assert env["OCTO_DB_NAME"] == "octopus" and env["OCTO_DATA_DIR"] == str(tmp_path)
    # The child rebuilds exactly the same settings from it.
    assert Settings.from_env(env, dotenv=None) == settings


def test_notebooks_dir_defaults(tmp_path):
    assert resolve_notebooks_dir(str(tmp_path / "x"), tmp_path) == (tmp_path / "x").resolve()
    (tmp_path / "notebooks").mkdir()
    assert resolve_notebooks_dir(None, tmp_path) == (tmp_path / "notebooks").resolve()
    assert resolve_notebooks_dir(None, tmp_path / "elsewhere") == (ROOT / "notebooks").resolve()


def test_serve_parser_defaults():
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.secure) == ("127.0.0.1", 8866, False)
