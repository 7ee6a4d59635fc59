"""Delivery of a built weekly report: the static site, the mail, the chat message.

- **Site**: the reports folder (index.html, every weekly-*.html, the quality pages) plus a
  stable `latest.html` (the newest week), copied to a local folder or to an
  `s3://bucket/prefix` on any S3-compatible store (the landing's store code). A file whose
  bytes are already there is not written again, so a re-delivery rewrites nothing else.
- **Mail**: to `delivery.email_to` through the SMTP connection, by the SMTP provider's hook.
  The HTML body has inline styles and no script: the headline, the supporting findings,
  the decisions and the KPIs read in any mail client. The report is attached, or linked
  when `delivery.site_url` says where the site is.
- **Chat**: `{"text": headline + link}` to the webhook connection (Slack-compatible).

Each channel is tried whatever the others did; a failure is one line naming the channel.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contentpulse.config import Delivery
from contentpulse.errors import ContentpulseError
from reports.weekly import WeekSummary, environment

LATEST = "latest.html"


@dataclass
class DeliveryResult:
    reached: list[str] = field(default_factory=list)  # "site (12 files)", "mail to 2", "chat"
    errors: list[str] = field(default_factory=list)


def report_link(delivery: Delivery, report: Path) -> str | None:
    """The week's address on the site, when the site's public URL is known."""
    return f"{delivery.site_url}/{report.name}" if delivery.site_url else None


def site_files(reports: Path, report: Path) -> dict[str, Path]:
    """Every file the site holds (relative name -> local file): index, weeks, quality pages,
    and latest.html, the week just built."""
    files = {
        str(p.relative_to(reports)): p
        for p in sorted(reports.rglob("*"))
        if p.is_file() and not p.name.startswith(".") and p.name != LATEST
    }
    files[LATEST] = report
    return files


def publish_site(store: Any, reports: Path, report: Path) -> int:
    """Copy the reports folder to the site (`store`: a local folder or an object-store
    prefix, opened and checked by the caller); the number of files written (unchanged ones
    are skipped)."""
    written = 0
    for rel, source in site_files(reports, report).items():
        data = source.read_bytes()
        if store.local:
            target = Path(store.root) / rel
            if target.exists() and target.read_bytes() == data:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, target)  # a reader sees the old page or the new, never half
        else:
            key = f"{store.root}/{rel}"
            with store.errors(f"write {rel}"):
                if store.fs.exists(key):
                    etag = str(store.fs.info(key).get("ETag", "")).strip('"')
                    if etag == hashlib.md5(data).hexdigest():  # S3 ETag: MD5
                        continue
                kind = mimetypes.guess_type(rel)[0] or "application/octet-stream"
                store.fs.pipe_file(key, data, ContentType=kind)
        written += 1
    return written


def email_html(summary: WeekSummary, link: str | None, attachment: str | None = None) -> str:
    return (
        environment()
        .get_template("email.html.j2")
        .render(s=summary, link=link, attachment=attachment)
    )


def subject(summary: WeekSummary) -> str:
    headline = summary.headline or "no finding passes the rules this week"
    text = f"Week {summary.week}: {headline}"
    return text if len(text) <= 160 else text[:159].rstrip() + "…"


def send_mail(delivery: Delivery, summary: WeekSummary, report: Path) -> None:
    """The mail through the SMTP connection (Airflow's smtp type: host, port, login,
    password; extras disable_ssl, disable_tls, timeout)."""
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    link = report_link(delivery, report)
    body = email_html(summary, link, None if link else report.name)
    assert delivery.smtp_conn_id
    with SmtpHook(smtp_conn_id=delivery.smtp_conn_id) as hook:
        hook.send_email_smtp(
            to=delivery.email_to,
            from_email=delivery.email_from,
            subject=subject(summary),
            html_content=body,
            files=None if link else [str(report)],
        )


def chat_text(summary: WeekSummary, link: str | None) -> str:
    headline = summary.headline or "No finding passes the rules this week."
    where = f" {link}" if link else ""
    return f"contentpulse week {summary.week}: {headline}{where}"


def deliver(
    delivery: Delivery,
    summary: WeekSummary,
    reports: Path,
    report: Path,
    open_site: Callable[[], Any] | None = None,
) -> DeliveryResult:
    """Every configured channel, the site first (the mail and the chat message link to it).
    `open_site` opens the site's store (the application passes the landing's store code)."""
    from contentpulse.webhook import post_json

    out = DeliveryResult()
    if delivery.site is not None and open_site is not None:
        try:
            written = publish_site(open_site(), reports, report)
            out.reached.append(f"site {delivery.site} ({written} files written)")
        except (ContentpulseError, OSError) as exc:
            out.errors.append(f"deliver: site: {_line(exc)}")
    if delivery.email_to:
        try:
            send_mail(delivery, summary, report)
            out.reached.append(f"mail to {len(delivery.email_to)}")
        except Exception as exc:  # the provider's, smtplib's and socket errors alike
            out.errors.append(f"deliver: mail via {delivery.smtp_conn_id!r}: {_line(exc)}")
    if delivery.webhook_conn_id:
        try:
            post_json(
                delivery.webhook_conn_id,
                {"text": chat_text(summary, report_link(delivery, report))},
            )
            out.reached.append("chat")
        except ContentpulseError as exc:
            out.errors.append(f"deliver: chat: {_line(exc)}")
    return out


def _line(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [""])[0]
    return text if isinstance(exc, ContentpulseError) else f"{type(exc).__name__}: {text}"
