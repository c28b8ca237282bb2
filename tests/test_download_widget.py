"""The one download widget (a table's CSV, a report's PDF): what the click sends back is the
file as it is at click time, and a missing file becomes a message, never an exception."""

from __future__ import annotations

import base64

from octolib.dashboards.widgets import Column, DataTable, FileDownload


def _click(widget: FileDownload) -> list[dict[str, str]]:
    sent: list[dict[str, str]] = []
    widget.send = sent.append  # type: ignore[method-assign]  # the comm to the browser
    widget._handle(widget, {"type": "file"}, [])
    return sent


def test_a_table_csv_is_the_rows_shown_at_click_time():
    table = DataTable([Column("name", "Name"), Column("n", "Count", kind="count")], csv_name="t.csv")
    table.set_rows([{"name": "a", "n": 1}, {"name": "é,b", "n": 2}])
    assert table.csv.kind == "csv" and table.csv.mime.startswith("text/csv")
    table.search.value = "é"
    (message,) = _click(table.csv)
    assert message["filename"] == "t.csv"
    assert base64.b64decode(message["data"]).decode("utf-8").splitlines() == ["Name,Count", '"é,b",2']


def test_a_file_is_read_when_clicked_and_a_missing_one_is_said(tmp_path):
    errors: list[Exception] = []
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(b"%PDF-1.4 one")
    button = FileDownload(None, "report.pdf", mime="application/pdf", on_error=errors.append)
    button.point_at(None)
    assert button.disabled and _click(button) == [] and "no file" in str(errors.pop())
    button.point_at(pdf, "acme-r.pdf")
    assert not button.disabled
    pdf.write_bytes(b"%PDF-1.4 two")  # the bytes at click time, not when pointed at
    (message,) = _click(button)
    assert (message["filename"], message["mime"]) == ("acme-r.pdf", "application/pdf")
    assert base64.b64decode(message["data"]) == b"%PDF-1.4 two"
    pdf.unlink()
    assert _click(button) == [] and "acme-r.pdf is no longer on disk" in str(errors.pop())
