"""Delivery of a built report to real servers on 127.0.0.1: the mail to an SMTP server
(aiosmtpd), the chat message to a webhook receiver, the static site to a folder and to an
S3 bucket (moto's server). The report and its summary are made here; the demo's end-to-end
`contentpulse report --send` is in tests/e2e/test_demo.py."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from contentpulse.config import Delivery
from contentpulse.credentials import env_var
from reports.delivery import LATEST, deliver
from reports.weekly import WeekSummary
from tests.receivers import SmtpReceiver, WebhookReceiver

SMTP_PASSWORD = "smtp-canary-password-7Qz"
HOOK_SECRET = "/services/T000/B000/hook-canary-token-4Kd"
HEADLINE = "Shorts about <b>electric buses</b> beat their peers by +1.15 (3.1x typical)"


def site_of(delivery):
    """How the application opens the site's store (contentpulse.pipeline.deliver)."""
    from transforms.landing import open_store

    return lambda: open_store(delivery.site, delivery.site_store, "report site", "delivery.site")


def summary() -> WeekSummary:
    return WeekSummary(
        week="2026-W47",
        week_start=date(2026, 11, 16),
        week_end=date(2026, 11, 22),
        data_through=date(2026, 11, 22),
        headline=HEADLINE,
        supporting=["Coffee prices trailed by -0.85", "Rio Explains: views +24.0 % week over week"],
        decisions=["Make more Shorts about electric buses", "Repurpose 'Budget day' as a Reel"],
        tiles=[
            {"label": "Views", "value": "1,234,567", "estimated": 0.0, "change": 12.5, "change_withheld": False},
            {"label": "Watch hours", "value": "8,765", "estimated": 0.0, "change": -3.25, "change_withheld": False},
            {"label": "Net followers", "value": "+321", "estimated": 0.0, "change": None, "change_withheld": True},
            {"label": "Posts published", "value": "42", "estimated": 0.0, "change": None, "change_withheld": False},
        ],
        accounts=[
            {"platform": "youtube", "account_name": "Northwind News", "views": 901234, "views_estimated": 0, "change": 7.5, "change_withheld": False},
            {"platform": "tiktok", "account_name": "northwind", "views": 333333, "views_estimated": 1200, "change": None, "change_withheld": True},
        ],
    )  # fmt: skip


@pytest.fixture
def reports(tmp_path: Path) -> tuple[Path, Path]:
    """A reports folder as `contentpulse report` leaves it: two weeks, the index, quality pages."""
    folder = tmp_path / "reports"
    (folder / "quality").mkdir(parents=True)
    for week in ("2026-W46", "2026-W47"):
        (folder / f"weekly-{week}.html").write_text(f"<!doctype html><h1>Week {week}</h1>")
    (folder / "index.html").write_text("<!doctype html><a href='weekly-2026-W47.html'>W47</a>")
    (folder / "quality" / "index.html").write_text("<!doctype html><h1>Data Docs</h1>")
    return folder, folder / "weekly-2026-W47.html"


@pytest.fixture
def smtp(monkeypatch) -> Iterator[SmtpReceiver]:
    with SmtpReceiver(login=("reports", SMTP_PASSWORD)) as server:
        conn = server.connection(password=SMTP_PASSWORD, login="reports")
        monkeypatch.setenv(env_var("report_mail"), json.dumps(conn))
        yield server


@pytest.fixture
def hook(monkeypatch) -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        conn = {"conn_type": "http", "extra": {"webhook_url": server.url(HOOK_SECRET)}}
        monkeypatch.setenv(env_var("report_chat"), json.dumps(conn))
        yield server


def html_part(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def test_the_mail_carries_the_headline_decisions_and_kpis_and_attaches_the_report(smtp, reports):
    folder, report = reports
    delivery = Delivery(
        email_to=["strategy@example.org", "editor@example.org"],
        email_from="contentpulse@example.org",
        smtp_conn_id="report_mail",
    )
    out = deliver(delivery, summary(), folder, report, open_site=site_of(delivery))
    assert out.errors == [] and out.reached == ["mail to 2"]
    [message] = smtp.messages
    assert smtp.logins == ["reports"]  # it logged in with the connection's password
    assert smtp.envelopes[0][1] == ["strategy@example.org", "editor@example.org"]
    assert message["Subject"].startswith("Week 2026-W47: Shorts about <b>electric buses</b>")
    body = html_part(message)
    # readable with no script and no stylesheet: every style is inline
    assert "<script" not in body and "<style" not in body and "<link" not in body
    assert "&lt;b&gt;electric buses&lt;/b&gt;" in body and "<b>electric" not in body
    decisions = re.findall(
        r"<li[^>]*>(.*?)</li>", re.search(r'<ol class="decisions"(.*?)</ol>', body, re.S)[1]
    )
    assert decisions == [
        "Make more Shorts about electric buses",
        "Repurpose &#39;Budget day&#39; as a Reel",
    ]
    kpis = re.sub(r"<[^>]+>", " ", re.search(r'<table class="kpis"(.*?)</table>', body, re.S)[1])
    for figure in ("1,234,567", "+12.5 %", "8,765", "-3.2 %", "+321", "42"):
        assert figure in kpis, figure
    accounts = re.sub(
        r"<[^>]+>", " ", re.search(r'<table class="accounts"(.*?)</table>', body, re.S)[1]
    )
    assert "901,234" in accounts and "≈ 333,333" in accounts and "+7.5 %" in accounts
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == report.name
    content = attachment.get_content()
    assert (content if isinstance(content, bytes) else content.encode()) == report.read_bytes()


def test_with_a_site_the_mail_and_chat_link_the_week_and_the_site_has_latest(
    smtp, hook, reports, tmp_path
):
    folder, report = reports
    site = tmp_path / "www"
    delivery = Delivery(
        site=site,
        site_url="https://reports.example.org/contentpulse",
        email_to=["strategy@example.org"],
        smtp_conn_id="report_mail",
        webhook_conn_id="report_chat",
    )
    out = deliver(delivery, summary(), folder, report, open_site=site_of(delivery))
    assert out.errors == []
    link = "https://reports.example.org/contentpulse/weekly-2026-W47.html"
    [message] = smtp.messages
    assert link in html_part(message) and list(message.iter_attachments()) == []
    [(path, payload)] = hook.received
    assert path == HOOK_SECRET
    assert payload == {"text": f"contentpulse week 2026-W47: {HEADLINE} {link}"}
    published = sorted(str(p.relative_to(site)) for p in site.rglob("*") if p.is_file())
    assert published == [
        "index.html", LATEST, "quality/index.html", "weekly-2026-W46.html", "weekly-2026-W47.html",
    ]  # fmt: skip
    assert (site / LATEST).read_bytes() == report.read_bytes()
    # a second delivery of the same week writes nothing; a new week rewrites latest.html
    assert (
        deliver(delivery, summary(), folder, report, open_site=site_of(delivery))
        .reached[0]
        .endswith("(0 files written)")
    )
    newer = folder / "weekly-2026-W48.html"
    newer.write_text("<!doctype html><h1>Week 2026-W48</h1>")
    again = deliver(
        Delivery(site=site), summary(), folder, newer, open_site=site_of(Delivery(site=site))
    )
    assert again.reached == [f"site {site} (2 files written)"]
    assert (site / LATEST).read_bytes() == newer.read_bytes()


def test_a_failing_channel_is_one_line_that_shows_no_secret_and_the_others_still_go(
    hook, reports, monkeypatch
):
    folder, report = reports
    with SmtpReceiver() as closed:  # a server that was there and is gone: nothing listens
        conn = closed.connection(password=SMTP_PASSWORD, login="reports")
    monkeypatch.setenv(env_var("report_mail"), json.dumps(conn))
    delivery = Delivery(
        email_to=["strategy@example.org"], smtp_conn_id="report_mail", webhook_conn_id="report_chat"
    )
    out = deliver(delivery, summary(), folder, report, open_site=site_of(delivery))
    assert out.reached == ["chat"] and len(hook.received) == 1
    [error] = out.errors
    assert error.startswith("deliver: mail via 'report_mail': ") and "\n" not in error
    assert SMTP_PASSWORD not in error
    # the webhook unreachable: its URL (the secret) is never in the line
    hook.__exit__()
    out = deliver(
        Delivery(webhook_conn_id="report_chat"),
        summary(),
        folder,
        report,
        open_site=site_of(Delivery(webhook_conn_id="report_chat")),
    )
    [error] = out.errors
    assert error.startswith("deliver: chat: POST to the webhook of 'report_chat' failed")
    assert "hook-canary-token" not in error


# -- the site on an S3-compatible store -------------------------------------------------------
BUCKET = "contentpulse-site"
KEY_ID, SECRET = "AKIATESTSITE00000001", "site-test-secret-Pq4"


@pytest.fixture(scope="module")
def s3(tmp_path_factory) -> Iterator[str]:
    """moto's S3 on a free loopback port with an empty bucket (as tests/scale/test_object_store)."""
    import boto3
    from moto.server import ThreadedMotoServer

    home = tmp_path_factory.mktemp("aws")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        mp.setenv("AWS_CONFIG_FILE", str(home / "config"))
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "credentials"))
        conn = {"conn_type": "aws", "login": KEY_ID, "password": SECRET}
        mp.setenv(env_var("site_store"), json.dumps(conn))
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=KEY_ID,
            aws_secret_access_key=SECRET,
        ).create_bucket(Bucket=BUCKET)
        yield endpoint
        server.stop()


def site_objects(endpoint: str) -> dict[str, tuple[str, str]]:
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
    )
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="weekly/").get("Contents", [])
    return {
        o["Key"]: (o["ETag"], s3.head_object(Bucket=BUCKET, Key=o["Key"])["ContentType"])
        for o in listed
    }


def test_the_site_on_an_s3_bucket_holds_every_page_and_latest_and_a_rerun_rewrites_nothing(
    s3, reports
):
    folder, report = reports
    delivery = Delivery.model_validate(
        {
            "site": f"s3://{BUCKET}/weekly",
            "site_store": {"conn_id": "site_store", "endpoint_url": s3, "region": "us-east-1"},
        }
    )
    assert deliver(delivery, summary(), folder, report, open_site=site_of(delivery)).reached == [
        f"site s3://{BUCKET}/weekly (5 files written)"
    ]
    objects = site_objects(s3)
    assert sorted(objects) == [
        "weekly/index.html", "weekly/latest.html", "weekly/quality/index.html",
        "weekly/weekly-2026-W46.html", "weekly/weekly-2026-W47.html",
    ]  # fmt: skip
    assert {kind for _, kind in objects.values()} == {"text/html"}
    assert objects["weekly/latest.html"][0] == objects["weekly/weekly-2026-W47.html"][0]
    rerun = deliver(delivery, summary(), folder, report, open_site=site_of(delivery))
    assert rerun.reached == [f"site s3://{BUCKET}/weekly (0 files written)"]
    assert site_objects(s3) == objects
    # a missing bucket: one line naming the site and the setting, no key
    wrong = delivery.model_copy(update={"site": "s3://no-such-site-bucket/weekly"})
    [error] = deliver(wrong, summary(), folder, report, open_site=site_of(wrong)).errors
    assert (
        "report site s3://no-such-site-bucket/weekly: bucket 'no-such-site-bucket' not found"
        in error
    )
    assert "delivery.site" in error and SECRET not in error
