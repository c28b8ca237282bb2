"""Customer and project import: every row checked first, nothing half-imported, re-import by id;
an owner's existing collections are never written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from octolib.config import Settings
from octolib.customers.importer import ImportRejected, import_customers, import_projects
from octolib.customers.mapping import MappingError, load_mapping, parse_mapping
from octolib.customers.source import SourceConfig, open_source
from octolib.errors import StoreError
from octolib.store import connect

MAPPING = {"id": "ref", "email": "mail",
           "fields": {"annual_kwh": {"kind": "number", "bands": [0, 2500, 5000]}, "home": {"kind": "category"},
                      "moved_in": {"kind": "date"}}}


@pytest.fixture
def source(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = connect(Settings(data_dir=tmp_path / "data"))
    yield open_source(store)
    store.close()


def _csv(path: Path, rows: list[str]) -> Path:
    path.write_text("ref,mail,annual_kwh,home,moved_in,secret\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_import_checks_every_row_first_and_writes_nothing_when_one_is_bad(source, tmp_path):
    bad = _csv(tmp_path / "c.csv", ["c1,a@x.example,1200,flat,2020-01-02,s1",
                                    "c2,,3000,house,,s2",
                                    "c3,c@x.example,lots,house,,s3",
                                    "c1,d@x.example,1,flat,,s4"])
    with pytest.raises(ImportRejected) as err:
        import_customers(source, bad, parse_mapping(MAPPING))
    assert [n for n, _ in err.value.problems] == [3, 4, 5]
    assert "line 4: annual_kwh='lots' is not a number" in str(err.value)
    assert source.customers.count_documents({}) == 0


def test_import_keeps_only_mapped_columns_and_reimport_updates_by_id(source, tmp_path):
    mapping = parse_mapping(MAPPING)
    first = import_customers(source, _csv(tmp_path / "c.csv", ["c1,A@x.example,1200,flat,2020-01-02,s1",
                                                              "c2,b@x.example,,house,,s2"]), mapping)
    assert (first.inserted, first.updated) == (2, 0)
    doc = source.customers.find_one({"_id": "c1"})
    assert doc == {"_id": "c1", "email": "A@x.example", "annual_kwh": 1200.0, "home": "flat", "moved_in": "2020-01-02"}
    again = tmp_path / "c.jsonl"
    again.write_text(json.dumps({"ref": "c1", "mail": "A@x.example", "annual_kwh": 1300, "home": "flat"}) + "\n"
                     + json.dumps({"ref": "c3", "mail": "c@x.example", "annual_kwh": 9000, "home": "house"}) + "\n")
    second = import_customers(source, again, mapping)
    assert (second.inserted, second.updated) == (1, 1)
    assert source.customers.count_documents({}) == 3
    assert source.customers.find_one({"_id": "c1"})["annual_kwh"] == 1300.0
    assert source.mapping() == mapping


def test_bad_mapping_is_one_line_before_any_work(tmp_path):
    path = tmp_path / "m.yml"
    path.write_text("id: ref\nemail: mail\nfields:\n  kwh: {kind: number, bands: [5, 1]}\n")
    with pytest.raises(MappingError, match=r"fields.kwh.bands: edges must increase"):
        load_mapping(path)
    with pytest.raises(MappingError, match="kind='size'"):
        parse_mapping({"id": "a", "email": "b", "fields": {"x": {"kind": "size"}}})


def test_projects_import_keeps_rules_with_octopus(source, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("id,name,subject_pattern,ids\np1,Heat pumps,heat pump,c1;c2\np2,Solar,(,\n")
    with pytest.raises(ImportRejected, match="line 3: subject_pattern"):
        import_projects(source, path)
    path.write_text("id,name,subject_pattern,ids\np1,Heat pumps,heat pump,c1;c2\n")
    import_projects(source, path)
    assert source.projects.find_one({"_id": "p1"}) == {"_id": "p1", "name": "Heat pumps"}
    assert source.store.project_rules.find_one({"_id": "p1"})["rules"] == {"subject_pattern": "heat pump",
                                                                           "ids": ["c1", "c2"]}


def test_existing_collections_are_never_written(tmp_path):
    """OCTO_CUSTOMERS_SOURCE=existing: import refuses, and the wrapper counts any write tried."""
    settings = Settings(data_dir=tmp_path / "data", customers_source="existing", customers_db="owner",
                        customers_collection="people", projects_collection="analyses")
    store = connect(settings)
    try:
        store.client["owner"]["people"].insert_one({"_id": "c1", "email": "a@x.example"})
        source = open_source(store, SourceConfig.from_settings(settings))
        assert source.read_only
        with pytest.raises(StoreError, match="never writes"):
            import_customers(source, _csv(tmp_path / "c.csv", ["c9,z@x.example,1,flat,,s"]), parse_mapping(MAPPING))
        with pytest.raises(StoreError, match="read-only"):
            source.customers.update_one({"_id": "c1"}, {"$set": {"email": "b@x.example"}})
        assert source.customers.attempted_writes == 1
        assert list(store.client["owner"]["people"].find()) == [{"_id": "c1", "email": "a@x.example"}]
    finally:
        store.close()


def test_cli_lists_bad_rows_imports_good_ones_and_links(tmp_path, monkeypatch, capsys):
    """``octo customers import`` / ``octo link`` as a user types them."""
    import yaml

    from octolib.cli import main

    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.setenv("OCTO_DATA_DIR", str(tmp_path / "data"))
    mapping = tmp_path / "map.yml"
    mapping.write_text(yaml.safe_dump(MAPPING))
    bad = _csv(tmp_path / "bad.csv", ["c1,a@x.example,1,flat,,s", "c2,b@x.example,many,flat,,s"])
    assert main(["customers", "import", str(bad), "--mapping", str(mapping)]) == 1
    assert "line 3: annual_kwh='many' is not a number" in capsys.readouterr().err
    good = _csv(tmp_path / "good.csv", ["c1,a@x.example,1,flat,,s", "c2,b@x.example,2,flat,,s"])
    assert main(["customers", "import", str(good), "--mapping", str(mapping)]) == 0
    assert "2 customers read: 2 new, 0 updated" in capsys.readouterr().out
    assert main(["link"]) == 0
    out = capsys.readouterr().out
    assert "0 contacts" in out and "2 customers, 2 without a contact" in out
