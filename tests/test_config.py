"""Settings: every OCTO_* variable is read, validated, and documented in the README."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from octolib.config import SETTINGS, Settings
from octolib.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def _readme_table_vars() -> set[str]:
    text = (ROOT / "README.md").read_text()
    return set(re.findall(r"^\|\s*`(OCTO_[A-Z0-9_]+)`\s*\|", text, flags=re.M))


def test_every_setting_is_in_the_readme_table():
    missing = {s.env for s in SETTINGS} - _readme_table_vars()
    assert not missing, f"add these to the README settings table: {sorted(missing)}"


def test_readme_table_has_no_unknown_settings():
    unknown = _readme_table_vars() - {s.env for s in SETTINGS}
    assert not unknown, f"README documents settings that do not exist: {sorted(unknown)}"


def test_every_settings_field_has_a_variable():
    # Field foo_bar <-> OCTO_FOO_BAR, so nothing is read that the table does not list.
    fields = {f.name for f in dataclasses.fields(Settings)}
    envs = {s.env.removeprefix("OCTO_").lower() for s in SETTINGS}
    assert fields == envs


def test_library_never_reads_environ():
    offenders = [p for p in (ROOT / "octolib").rglob("*.py")
                 if p.name != "config.py" and "commands" not in p.parts
                 and re.search(r"os\.environ|os\.getenv", p.read_text())]
    # The Jupyter server launcher passes env to its child process; the kernel zygote sets a
    # forked kernel's environment (the one jupyter_client built for it).
    allowed = {"server/launch.py", "server/kernel_forks.py"}
    assert [p for p in offenders if p.relative_to(ROOT / "octolib").as_posix() not in allowed] == []


def test_from_env_reads_values_and_defaults(tmp_path):
    s = Settings.from_env({"OCTO_API_KEY": "k-123456", "OCTO_RATE_PER_S": "5", "OCTO_DATA_DIR": str(tmp_path)}, dotenv=None)
    assert s.api_key == "k-123456"
    assert s.rate_per_s == 5.0
    assert s.rate_burst == 100
    assert s.api_base == "https://api.emailoctopus.com"
    assert s.data_dir == tmp_path
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.api_key = "x"  # type: ignore[misc]


def test_dotenv_is_read_and_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("OCTO_DB_NAME=fromfile\nOCTO_TIMEZONE=Europe/London\n")
    s = Settings.from_env({"OCTO_DB_NAME": "fromenv"}, dotenv=env_file)
    assert s.db_name == "fromenv"
    assert s.timezone == "Europe/London"


def test_missing_key_is_one_clear_line_naming_the_variable():
    s = Settings.from_env({}, dotenv=None)
    with pytest.raises(ConfigError) as err:
        s.require_api_key()
    msg = str(err.value)
    assert "OCTO_API_KEY" in msg and "\n" not in msg


@pytest.mark.parametrize("name,value", [("OCTO_RATE_PER_S", "fast"), ("OCTO_RATE_BURST", "0"),
                                        ("OCTO_TIMEZONE", "Mars/Olympus")])
def test_bad_values_name_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value}, dotenv=None)


def test_repr_hides_the_key_and_uri():
    s = Settings(api_key="sekret-key-value", mongodb_uri="mongodb://u:pw@h/db")
    assert "sekret-key-value" not in repr(s)
    assert "pw@" not in repr(s)


def test_the_table_defaults_and_the_field_defaults_are_the_same_settings():
    # Two spellings of every default (the table's text, the field's value) must not drift.
    assert Settings.from_env({}, dotenv=None) == Settings()


def test_rule_thresholds_default_to_the_rules_own_definitions():
    from octolib.dashboards.base import flag_thresholds
    from octolib.metrics.automation import AutomationThresholds
    from octolib.metrics.flags import FlagThresholds
    from octolib.sync.automation import automation_thresholds

    assert automation_thresholds(Settings.from_env({}, dotenv=None)) == AutomationThresholds()
    assert flag_thresholds(Settings.from_env({}, dotenv=None)) == FlagThresholds()


def test_readme_table_shows_each_settings_default():
    text = (ROOT / "README.md").read_text()
    shown = dict(re.findall(r"^\|\s*`(OCTO_[A-Z0-9_]+)`\s*\|\s*([^|]*?)\s*\|", text, flags=re.M))
    wrong = {s.env: (shown[s.env], s.default) for s in SETTINGS
             if shown[s.env].strip("`") != (s.default or "(empty)")}
    assert not wrong, f"README default (shown, actual): {wrong}"
