"""Delivery against a real SMTP server on 127.0.0.1 (aiosmtpd): each recipient gets the exact
PDF, every attempt is recorded, nothing is sent twice unless asked, nothing at all without
SMTP settings, and the password never leaks into an error."""

from __future__ import annotations

import email
import email.policy
import hashlib
import shutil
import socket
import ssl
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from octolib.config import Settings
from octolib.ops.delivery import (
    DELIVERIES,
    DeliveryError,
    SmtpConfig,
    deliver_report,
    deliver_reports,
    delivery_enabled,
    delivery_history,
)
from octolib.store import connect

NOW = datetime(2026, 11, 2, 7, 0, tzinfo=timezone.utc)
PDF = b"%PDF-1.4\n% octopus test report\n" + bytes(range(256)) * 4 + b"\n%%EOF\n"


class Inbox:
    """aiosmtpd handler keeping every message; refuses recipients listed in ``refuse``."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's name
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _authenticator(server, session, envelope, mechanism, auth_data):
    # handled=False: aiosmtpd then answers "535" itself on a wrong password.
    return AuthResult(success=(auth_data.login, auth_data.password) == (b"robot", b"s3cret-pass"), handled=False)


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port(), server_hostname="localhost",
                            authenticator=_authenticator, auth_require_tls=False)
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


@pytest.fixture
def store(tmp_path):
    s = connect(Settings(data_dir=tmp_path / "data"))
    s.ensure_indexes()
    yield s
    s.close()


def add_report(store, root: Path, report_id="b1/acme/monthly", partner="acme", status="succeeded",
               recipients=("ops@acme.example", "ceo@acme.example"), delivery=True):
    pdf = root / report_id / "report.pdf"
    pdf.parent.mkdir(parents=True, exist_ok=True)
    pdf.write_bytes(PDF)
    store.partners.update_one({"slug": partner}, {"$set": {"slug": partner, "name": "Acme Outdoor",
                                                           "recipients": list(recipients), "delivery": delivery}},
                              upsert=True)
    store.reports.insert_one({"report_id": report_id, "batch_id": report_id.split("/")[0], "partner": partner,
                              "template": "monthly", "template_version": "3", "status": status,
                              "period": {"from": "2026-10-01", "to": "2026-10-31", "tz": "UTC"},
                              "files": {"pdf": f"{report_id}/report.pdf"}, "files_root": str(root)})
    return pdf


def config(server, **kw) -> SmtpConfig:
    return SmtpConfig(**{"host": "127.0.0.1", "port": server.port, "sender": "reports@octopus.example",
                         "starttls": False, "timeout_s": 5, **kw})


def test_each_recipient_gets_the_exact_pdf_and_each_is_recorded(store, smtp_server, tmp_path):
    add_report(store, tmp_path / "reports")
    result = deliver_report(store, "b1/acme/monthly", config(smtp_server, user="robot", password="s3cret-pass"),
                            clock=lambda: NOW)
    assert result.ok and sorted(result.sent) == ["ceo@acme.example", "ops@acme.example"]

    assert sorted(rcpts[0] for rcpts, _ in smtp_server.messages) == ["ceo@acme.example", "ops@acme.example"]
    for rcpts, msg in smtp_server.messages:
        assert len(rcpts) == 1 and msg["To"] == rcpts[0], "one email per recipient; nobody sees the others"
        (attachment,) = list(msg.iter_attachments())
        assert attachment.get_content_type() == "application/pdf"
        assert attachment.get_content() == PDF
        assert attachment.get_filename() == "acme-monthly-2026-10-31.pdf"
        assert msg["X-Octopus-PDF-SHA256"].strip() == hashlib.sha256(PDF).hexdigest()
        assert "Acme Outdoor" in msg["Subject"]

    records = delivery_history(store, partner="acme")
    assert {(r["recipient"], r["status"], r["pdf_sha256"], r["template_version"]) for r in records} == {
        (a, "sent", hashlib.sha256(PDF).hexdigest(), "3") for a in ("ops@acme.example", "ceo@acme.example")}
    assert all(r["sent_at"].replace(tzinfo=timezone.utc) == NOW for r in records)


def test_nothing_is_sent_twice_unless_resent(store, smtp_server, tmp_path):
    add_report(store, tmp_path / "reports")
    cfg = config(smtp_server)
    deliver_report(store, "b1/acme/monthly", cfg)
    again = deliver_report(store, "b1/acme/monthly", cfg)
    assert [d.status for d in again.deliveries] == ["skipped", "skipped"]
    assert len(smtp_server.messages) == 2

    resent = deliver_report(store, "b1/acme/monthly", cfg, recipients=["ops@acme.example"], resend=True)
    assert resent.sent == ["ops@acme.example"] and len(smtp_server.messages) == 3
    assert store.db[DELIVERIES].count_documents({"resend": True, "recipient": "ops@acme.example"}) == 1


def test_a_refused_recipient_is_recorded_and_the_others_still_get_theirs(store, smtp_server, tmp_path):
    add_report(store, tmp_path / "reports")
    smtp_server.refuse.add("ceo@acme.example")
    result = deliver_report(store, "b1/acme/monthly", config(smtp_server))
    assert not result.ok
    statuses = {d.recipient: (d.status, d.error) for d in result.deliveries}
    assert statuses["ops@acme.example"][0] == "sent"
    assert statuses["ceo@acme.example"][0] == "failed" and "550" in statuses["ceo@acme.example"][1]
    assert [r for r, _ in smtp_server.messages] == [["ops@acme.example"]]
    # Retrying later sends only to the one who did not get it.
    smtp_server.refuse.clear()
    retry = deliver_report(store, "b1/acme/monthly", config(smtp_server))
    assert retry.sent == ["ceo@acme.example"]


def test_without_smtp_settings_nothing_is_sent(store, smtp_server, tmp_path):
    add_report(store, tmp_path / "reports")
    assert SmtpConfig.from_settings(Settings()) is None
    with pytest.raises(DeliveryError, match="OCTO_SMTP_HOST"):
        deliver_report(store, "b1/acme/monthly", SmtpConfig.from_settings(Settings()))
    assert deliver_reports(store, ["b1/acme/monthly"], None) == []
    assert smtp_server.messages == [] and store.db[DELIVERIES].count_documents({}) == 0
    # Configured from settings, the same batch goes out.
    cfg = SmtpConfig.from_settings(Settings(smtp_host="127.0.0.1", smtp_port=smtp_server.port,
                                            smtp_from="reports@octopus.example", smtp_starttls=False))
    assert cfg is not None and [r.ok for r in deliver_reports(store, ["b1/acme/monthly"], cfg)] == [True]
    assert len(smtp_server.messages) == 2


def test_batch_delivery_mails_only_partners_who_asked(store, smtp_server, tmp_path):
    add_report(store, tmp_path / "reports", "b2/acme/monthly", "acme", delivery=True)
    add_report(store, tmp_path / "reports", "b2/globex/monthly", "globex", recipients=["x@globex.example"],
               delivery=False)
    add_report(store, tmp_path / "reports", "b2/initech/monthly", "initech", recipients=["y@initech.example"],
               status="failed")
    results = deliver_reports(store, ["b2/acme/monthly", "b2/globex/monthly", "b2/initech/monthly"],
                              config(smtp_server))
    assert [r.partner for r in results] == ["acme"]
    assert {r[0] for r, _ in smtp_server.messages} == {"ops@acme.example", "ceo@acme.example"}
    assert delivery_enabled({"delivery": "yes"}) and not delivery_enabled({}) and not delivery_enabled({"delivery": 0})


def test_wrong_password_is_refused_without_leaking_it(store, smtp_server, tmp_path):
    add_report(store, tmp_path / "reports")
    with pytest.raises(DeliveryError, match="OCTO_SMTP_PASSWORD") as err:
        deliver_report(store, "b1/acme/monthly", config(smtp_server, user="robot", password="wrong-Pa55word"))
    assert "wrong-Pa55word" not in str(err.value)
    assert smtp_server.messages == []
    assert "wrong-Pa55word" not in repr(config(smtp_server, password="wrong-Pa55word"))


def test_starttls_required_but_not_offered_sends_nothing(store, smtp_server, tmp_path):
    add_report(store, tmp_path / "reports")
    with pytest.raises(DeliveryError, match="does not offer STARTTLS"):
        deliver_report(store, "b1/acme/monthly", config(smtp_server, starttls=True, user="robot",
                                                        password="s3cret-pass"))
    assert smtp_server.messages == [] and store.db[DELIVERIES].count_documents({}) == 0


def test_unreachable_server_and_unfinished_report_are_clear_errors(store, tmp_path):
    add_report(store, tmp_path / "reports")
    add_report(store, tmp_path / "reports", "b1/acme/broken", status="failed")
    cfg = SmtpConfig(host="127.0.0.1", port=_free_port(), sender="r@x.example", starttls=False, timeout_s=2)
    with pytest.raises(DeliveryError, match="cannot reach the SMTP server"):
        deliver_report(store, "b1/acme/monthly", cfg)
    with pytest.raises(DeliveryError, match="only a finished report"):
        deliver_report(store, "b1/acme/broken", cfg)
    with pytest.raises(DeliveryError, match="no report"):
        deliver_report(store, "nope", cfg)
    assert store.db[DELIVERIES].count_documents({}) == 0


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a test certificate")
def test_starttls_upgrade_then_login(store, tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port(), server_hostname="localhost",
                            tls_context=server_ctx, require_starttls=True, authenticator=_authenticator)
    controller.start()
    try:
        add_report(store, tmp_path / "reports")
        client_ctx = ssl.create_default_context(cafile=str(cert))
        result = deliver_report(store, "b1/acme/monthly", SmtpConfig(
            host="127.0.0.1", port=controller.port, user="robot", password="s3cret-pass",
            sender="reports@octopus.example", starttls=True, timeout_s=5, ssl_context=client_ctx))
        assert result.ok and len(inbox.messages) == 2
    finally:
        controller.stop()
