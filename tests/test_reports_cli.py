"""``octo report`` and ``scripts/run_reports.py``: partner management and argument checks
(no kernel starts here; tests/test_reports.py runs real reports)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from octolib.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def env(tmp_path, monkeypatch):
    """The command reads its settings from the environment, as in production."""
    for name in ("OCTO_MONGODB_URI", "OCTO_DB_NAME", "OCTO_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OCTO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)  # no stray .env
    return tmp_path


def test_import_list_note_export_round_trip(env, capsys):
    assert main(["report", "--import-partners", str(ROOT / "partners.example.yml")]) == 0
    assert "imported 2 partners: acme, globex" in capsys.readouterr().out
    assert main(["report", "--partners"]) == 0
    listed = capsys.readouterr().out
    assert "acme" in listed and "Globex Travel" in listed
    assert main(["report", "--note", "globex", "New art direction from October."]) == 0
    capsys.readouterr()
    out = env / "exported.yml"
    assert main(["report", "--export-partners", str(out)]) == 0
    text = out.read_text()
    assert "New art direction from October." in text and "marketing@acme.example" in text


def test_a_bad_partners_file_is_refused_with_the_field_named(env, capsys):
    bad = env / "partners.yml"
    bad.write_text("partners:\n  - {slug: Acme, name: Acme, campaigns: {ids: [x]}}\n")
    assert main(["report", "--import-partners", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "partners[0] (Acme).slug" in err and "lower-case" in err


@pytest.mark.parametrize("argv, message", [
    (["report"], "--partner SLUG"),
    (["report", "--all", "--partner", "acme"], "exclude each other"),
    (["report", "--partner", "acme", "--from", "2026-01-01"], "both --from and --to"),
    (["report", "--partner", "nobody"], "partner 'nobody' does not exist"),
])
def test_bad_arguments_say_what_to_do(env, capsys, argv, message):
    main(["report", "--import-partners", str(ROOT / "partners.example.yml")])
    capsys.readouterr()
    assert main(argv) == 1
    assert message in capsys.readouterr().err


def test_an_unknown_template_is_refused_by_the_parser(env):
    with pytest.raises(SystemExit) as exc:
        main(["report", "--partner", "acme", "--template", "pie_chart"])
    assert exc.value.code == 2


def test_the_script_is_a_thin_wrapper(env, capsys):
    spec = importlib.util.spec_from_file_location("run_reports", ROOT / "scripts" / "run_reports.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main([]) == 1
    assert "--partner SLUG" in capsys.readouterr().err
    main(["report", "--import-partners", str(ROOT / "partners.example.yml")])
    assert module.main(["--history"]) == 0  # nothing yet, and no error


@pytest.mark.parametrize("argv, named", [
    (["report", "--all", "--from", "2025-13-45", "--to", "2025-12-31"], "'2025-13-45'"),
    (["report", "--all", "--from", "2025-01-01", "--to", "31/12/2025"], "'31/12/2025'"),
    (["report", "--partner", "acme", "--from", "2025-12-31", "--to", "2025-01-01"], "2025-01-01"),
])
def test_a_bad_period_is_one_line_before_any_report_starts_and_leaves_no_history(env, capsys, argv, named):
    from octolib.config import Settings
    from octolib.store import connect

    main(["report", "--import-partners", str(ROOT / "partners.example.yml")])
    capsys.readouterr()
    assert main([*argv, "--no-progress"]) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert named in lines[0] and ("YYYY-MM-DD" in lines[0] or "swap" in lines[0])
    assert "report" not in captured.out  # no batch summary: nothing ran
    with connect(Settings.from_env()) as store:
        assert store.reports.count_documents({}) == 0


@pytest.mark.parametrize("argv", [["report", "--partners"], ["report", "--history"], ["report", "--all"],
                                  ["export", "campaigns"]])
def test_a_read_only_command_on_a_missing_store_says_where_it_looked_and_creates_nothing(env, capsys, argv):
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert str(env / "data" / "embedded") in err and "octo sync" in err
    assert not (env / "data" / "embedded").exists()


def test_after_the_demo_a_read_only_command_points_at_the_demos_data(env, capsys, monkeypatch):
    assert main(["demo", "--size", "tiny", "--no-serve", "--seed", "11"]) == 0
    out = capsys.readouterr().out
    export = next(line.strip() for line in out.splitlines() if line.strip().startswith("export OCTO_DATA_DIR="))
    assert main(["report", "--partners"]) == 1  # the default data dir has no store: say where the demo's is
    assert export in capsys.readouterr().err
    monkeypatch.setenv("OCTO_DATA_DIR", export.split("=", 1)[1])  # what the printed hint tells a user to do
    assert main(["report", "--partners"]) == 0
    listed = capsys.readouterr().out
    assert "acme" in listed and "Acme (case studies)" in listed


@pytest.mark.parametrize("argv, named", [
    (["export", "events", "--since", "2026-05-01", "--until", "2026-01-01"], "swap them"),
    (["export", "events", "--since", "2026-02-30"], "'2026-02-30'"),
])
def test_export_dates_are_checked_before_any_store_is_opened(env, capsys, argv, named):
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and named in err
    assert not (env / "data").exists()  # nothing opened, nothing created
