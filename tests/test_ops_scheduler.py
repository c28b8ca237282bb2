"""The scheduler on a simulated clock: which job fires when (hourly sync, first-Monday report
batches in the account's timezone, across a DST change), a failing job never stops the loop,
missed runs are coalesced, and the sync shares the dashboard's lock."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from octolib.config import Settings
from octolib.errors import ConfigError
from octolib.fake import DEMO_API_KEY
from octolib.ops.scheduler import (
    JobFailed,
    ReportSchedule,
    Scheduler,
    build_scheduler,
    describe_plan,
    hold_scheduler_lock,
    report_job,
    schedules_from_partners,
    sync_job,
)
from octolib.schedules import parse_schedule
from octolib.store import connect
from octolib.store.locks import acquire_lock, new_owner, release_lock

LONDON = ZoneInfo("Europe/London")


def local(t: datetime) -> datetime:
    return t.astimezone(LONDON)


def days_with(start: datetime, end: datetime, hour: int, minute: int) -> int:
    """How many London days in [start, end) contain hour:minute, counted day by day."""
    day, n = local(start).date(), 0
    while True:
        at = datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)
        if at >= end:
            return n
        n += at >= start
        day += timedelta(days=1)


def make(clock, partners, *, sync=None, settings: Settings | None = None, **kw):
    fired: list[tuple[str, datetime]] = []

    def sync_fn():
        fired.append(("sync", clock()))
        return sync() if sync else None

    def report_factory(schedule: ReportSchedule):
        def run():
            fired.append((schedule.job_name + " " + ",".join(schedule.partners), clock()))
        return run

    settings = settings or Settings(timezone="Europe/London", sync_every=60)
    sched = build_scheduler(settings, clock=clock, sleep=clock.sleep, partners=lambda: partners, sync=sync_fn,
                            reports=report_factory, retention=lambda: fired.append(("retention", clock())), **kw)
    return sched, fired


def test_which_job_fires_when_over_five_weeks_with_a_dst_change(clock_at):
    # 2027-03-20 to 2027-04-24: British Summer Time starts on Sunday 28 March.
    start = datetime(2027, 3, 20, 9, 17, tzinfo=timezone.utc)
    clock = clock_at(start)
    partners = [{"slug": "acme", "schedule": "first monday monthly at 07:00"},
                {"slug": "globex", "schedule": "First Monday of the month at 07:00"},
                {"slug": "initech", "schedule": {"when": "daily at 06:00", "templates": ["weekly"]}},
                {"slug": "hooli"}]
    # Long sleeps and a daily partner refresh keep five simulated weeks fast; the default
    # one-minute wake-up is checked in the next test.
    sched, fired = make(clock, partners, max_sleep_s=3600, refresh_minutes=1440)
    end = datetime(2027, 4, 24, tzinfo=timezone.utc)
    sched.run(until=end)

    syncs = [t for name, t in fired if name == "sync"]
    assert syncs[0] == start, "the first sync runs at start"
    assert all(b - a == timedelta(hours=1) for a, b in zip(syncs, syncs[1:])), "then exactly hourly"
    assert len(syncs) == int((end - start) / timedelta(hours=1)) + 1

    monthly = [t for name, t in fired if name.startswith("reports: first monday monthly at 07:00")]
    assert [local(t).strftime("%a %Y-%m-%d %H:%M") for t in monthly] == ["Mon 2027-04-05 07:00"]
    assert [name for name, _ in fired if name.startswith("reports: first")] == [
        "reports: first monday monthly at 07:00 acme,globex"], "partners sharing a schedule share one batch"

    daily = [t for name, t in fired if name.startswith("reports: daily")]
    assert {local(t).strftime("%H:%M") for t in daily} == {"06:00"}, "06:00 London time before and after DST"
    assert {t.strftime("%H:%M") for t in daily} == {"06:00", "05:00"}
    assert len(daily) == days_with(start, end, 6, 0) and all(b - a in (timedelta(hours=24), timedelta(hours=23)) for a, b in zip(daily, daily[1:]))
    assert "[weekly]" in next(name for name, _ in fired if name.startswith("reports: daily"))

    nightly = [t for name, t in fired if name == "retention"]
    assert {local(t).strftime("%H:%M") for t in nightly} == {"03:30"} and len(nightly) == days_with(start, end, 3, 30)
    assert max(clock.sleeps) <= 3600


def test_a_failing_job_is_logged_and_runs_again_next_time(caplog, clock_at):
    clock = clock_at(datetime(2026, 11, 2, 0, 0, tzinfo=timezone.utc))
    calls = Counter()

    def flaky():
        calls["n"] += 1
        if calls["n"] % 2:
            raise RuntimeError("EmailOctopus is down")

    sched, fired = make(clock, [{"slug": "acme", "schedule": "daily at 01:30"}], sync=flaky)
    sched.run(until=clock() + timedelta(hours=6))
    job = sched.jobs["sync"]
    assert job.runs == 7 and job.failures == 4 and job.last_status == "failed"
    assert [s for _, s in job.history] == ["failed", "succeeded"] * 3 + ["failed"]
    assert any(name.startswith("reports: daily") for name, _ in fired), "other jobs still ran"
    assert "EmailOctopus is down" in caplog.text
    assert max(clock.sleeps) <= 60, "by default the loop wakes every minute (partner edits, signals)"


def test_missed_runs_are_coalesced_into_one(clock_at):
    clock = clock_at(datetime(2026, 11, 2, 0, 0, tzinfo=timezone.utc))
    runs: list[datetime] = []
    sched = Scheduler(clock=clock, sleep=clock.sleep)
    from apscheduler.triggers.interval import IntervalTrigger

    from octolib.ops.scheduler import Job

    def slow():
        runs.append(clock())
        if len(runs) == 1:
            clock.now += timedelta(hours=3, minutes=10)  # a long full sync

    sched.add(Job("sync", IntervalTrigger(hours=1, start_date=clock(), timezone=timezone.utc), slow))
    sched.run(until=clock() + timedelta(hours=5))
    assert [r.strftime("%H:%M") for r in runs] == ["00:00", "04:00", "05:00"]


def test_edited_partner_schedules_take_effect_without_a_restart(caplog, clock_at):
    clock = clock_at(datetime(2026, 11, 2, 0, 0, tzinfo=timezone.utc))
    partners = [{"slug": "acme", "schedule": "daily at 02:00"}]
    sched, fired = make(clock, partners)
    assert "reports: daily at 02:00" in sched.jobs
    partners[0]["schedule"] = "daily at 05:00"
    partners.append({"slug": "globex", "schedule": "every second tuesday"})  # a typo: logged, others go on
    sched.run(until=clock() + timedelta(hours=6))
    reports = [(name, local(t).strftime("%H:%M")) for name, t in fired if name.startswith("reports")]
    assert reports == [("reports: daily at 05:00 acme", "05:00")]
    assert "reports: daily at 02:00" not in sched.jobs
    assert "globex" in caplog.text and "not understood" in caplog.text
    assert sched.jobs["schedules"].last_status == "failed"


@pytest.mark.parametrize("text,expected", [
    ("first monday monthly", "Mon 2026-12-07 07:00"),
    ("last friday of the month at 16:45", "Fri 2026-11-27 16:45"),
    ("second tuesday each month at 9", "Tue 2026-12-08 09:00"),
    ("daily at 06:00", "Sat 2026-11-28 06:00"),
    ("weekly on monday at 08:30", "Mon 2026-11-30 08:30"),
    ("every wednesday", "Wed 2026-12-02 07:00"),
    ("monthly on day 2", "Wed 2026-12-02 07:00"),
    ("monthly", "Tue 2026-12-01 07:00"),
    ("0 7 1-7 * mon", "Mon 2026-12-07 07:00"),
    ("30 6 * * *", "Sat 2026-11-28 06:30"),
])
def test_schedule_phrases(text, expected):
    now = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)  # a Friday
    trigger = parse_schedule(text, "Europe/London")
    assert local(trigger.get_next_fire_time(None, now)).strftime("%a %Y-%m-%d %H:%M") == expected


@pytest.mark.parametrize("text", ["", "sometimes", "first monday", "daily at 25:00", "monthly on day 31",
                                  "61 * * * *", "every second tuesday"])
def test_bad_schedules_say_how_to_write_one(text):
    with pytest.raises(ConfigError) as err:
        parse_schedule(text)
    assert "first monday monthly" in str(err.value) or "not valid cron" in str(err.value) \
        or "time of day" in str(err.value) or "1 to 28" in str(err.value)


def test_schedules_group_partners_and_report_problems():
    found, problems = schedules_from_partners([
        {"slug": "b", "schedule": "first monday monthly"},
        {"slug": "a", "schedule": "First  Monday monthly"},
        {"slug": "c", "schedule": {"when": "first monday monthly", "templates": "monthly"}},
        {"slug": "d", "schedule": "whenever"},
        {"slug": "e", "schedule": None},
    ])
    assert [(s.partners, s.templates) for s in found] == [(("a", "b"), None), (("c",), ("monthly",))]
    assert len(problems) == 1 and "'d'" in problems[0]


@dataclass
class FakeRequest:
    partner: str
    template: str


@dataclass
class FakeResult:
    report_id: str
    ok: bool
    request: FakeRequest
    error: str = ""


@dataclass
class FakeBatch:
    results: list


def test_report_job_delivers_only_finished_reports_and_fails_loudly():
    delivered: list[list[str]] = []
    batches: list[tuple] = []

    def batch_fn(settings, partners, templates):
        batches.append((partners, templates))
        return FakeBatch([FakeResult(f"b/{p}/monthly", p != "globex", FakeRequest(p, "monthly"),
                                     "" if p != "globex" else "cell 4 failed") for p in partners])

    job = report_job(Settings(), ReportSchedule("first monday monthly", ("acme", "globex"), ("monthly",)),
                     batch_fn=batch_fn, deliver_fn=lambda s, ids: delivered.append(list(ids)))
    with pytest.raises(JobFailed, match="1 of 2 reports failed: globex/monthly: cell 4 failed"):
        job()
    assert batches == [(("acme", "globex"), ("monthly",))]
    assert delivered == [["b/acme/monthly"]]


def test_without_smtp_the_scheduled_delivery_sends_nothing(tmp_path):
    from octolib.ops.scheduler import _deliver

    assert _deliver(Settings(data_dir=tmp_path), ["b/acme/monthly"]) == []


def test_sync_job_shares_the_sync_lock_and_records_its_runs(fake_server, tmp_path):
    settings = Settings(data_dir=tmp_path, api_base=fake_server.base_url, api_key=DEMO_API_KEY, rate_per_s=1000,
                        rate_burst=1000)
    job = sync_job(settings)
    with connect(settings) as store:
        owner = new_owner(label="dashboard button")
        acquire_lock(store.locks, "sync", owner, 600)
        try:
            assert job() == "skipped"
            assert store.sync_runs.count_documents({}) == 0
        finally:
            release_lock(store.locks, "sync", owner)
        assert job() == "succeeded"
        run = store.sync_runs.find_one({})
        assert run["trigger"] == "scheduler" and run["status"] == "succeeded"


def test_failed_sync_is_a_failed_job(tmp_path):
    from octolib.fake import FakeAccount, FakeServer

    with FakeServer(FakeAccount.generate(seed=7, size="tiny"), api_key="another-key-entirely") as server:
        settings = Settings(data_dir=tmp_path, api_base=server.base_url, api_key=DEMO_API_KEY, max_attempts=1)
        with pytest.raises(JobFailed, match="sync failed"):
            sync_job(settings)()


def test_only_one_scheduler_per_database(tmp_path):
    with connect(Settings(data_dir=tmp_path)) as store:
        _, refresh = hold_scheduler_lock(store)
        refresh()
        with pytest.raises(ConfigError, match="another octo scheduler is running"):
            hold_scheduler_lock(store)


def test_plan_lists_every_job_with_its_next_times(clock_at):
    clock = clock_at(datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc))
    sched, _ = make(clock, [{"slug": "acme", "schedule": "first monday monthly"}])
    text = describe_plan(sched, 2, "Europe/London")
    assert "reports: first monday monthly" in text and "Mon 2026-12-07 07:00, Mon 2027-01-04 07:00" in text
    assert "sync" in text and "Fri 2026-11-27 12:00, Fri 2026-11-27 13:00" in text


def test_first_sync_runs_at_start_even_when_the_clock_moves_while_building(clock_at):
    start = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)
    clock = clock_at(start, tick=timedelta(milliseconds=1))  # real clocks move between calls
    sched, fired = make(clock, [])
    assert sched.jobs["sync"].next_run - start < timedelta(seconds=1)
    sched.run(until=start + timedelta(minutes=1))
    assert [name for name, _ in fired] == ["sync"]


@pytest.mark.slow
def test_scheduled_batch_end_to_end_runs_the_report_and_emails_the_pdf(fake_server, tmp_path, clock_at):
    """Sync the local account, store a partner with a schedule and delivery: the scheduled
    job runs the real report runner, and the PDF it wrote arrives by SMTP, byte for byte."""
    import email
    import email.policy
    import socket

    from aiosmtpd.controller import Controller

    from octolib.api import EmailOctopusClient
    from octolib.reports.partners import save_partner
    from octolib.sync import run_sync

    received = []

    class Inbox:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
            received.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Inbox(), hostname="127.0.0.1", port=port, server_hostname="localhost")
    controller.start()
    try:
        settings = Settings(data_dir=tmp_path, api_base=fake_server.base_url, api_key=DEMO_API_KEY,
                            rate_per_s=1000, rate_burst=1000, smtp_host="127.0.0.1", smtp_port=port,
                            smtp_from="reports@octopus.example", smtp_starttls=False)
        with connect(settings) as store, EmailOctopusClient.from_settings(settings) as client:
            assert run_sync(store, client, progress=False).ok
            save_partner(store, {"slug": "acme", "name": "Acme", "campaigns": {"name_pattern": "."},
                                 "recipients": ["ops@acme.example"], "delivery": True, "default_range": "last_year"})
            store.partners.update_one({"slug": "acme"}, {"$set": {"schedule": {"when": "first monday monthly",
                                                                               "templates": ["campaign_summary"]}}})
        clock = clock_at(datetime(2026, 12, 7, 6, 59, 30, tzinfo=timezone.utc))
        sched = build_scheduler(settings, clock=clock, sleep=clock.sleep, sync=lambda: None, with_retention=False)
        sched.run(until=datetime(2026, 12, 7, 7, 1, tzinfo=timezone.utc))
        job = sched.jobs["reports: first monday monthly [campaign_summary]"]
        assert (job.runs, job.last_status) == (1, "succeeded"), job.last_error
        with connect(settings) as store:
            report = store.reports.find_one({"partner": "acme", "status": "succeeded"})
            pdf = (Path(report["files_root"]) / report["files"]["pdf"]).read_bytes()
            delivery = store.db["deliveries"].find_one({"report_id": report["report_id"]})
        (msg,) = received
        (attachment,) = list(msg.iter_attachments())
        assert attachment.get_content() == pdf and msg["To"] == "ops@acme.example"
        assert delivery["status"] == "sent" and delivery["recipient"] == "ops@acme.example"
    finally:
        controller.stop()
