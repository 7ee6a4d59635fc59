"""Security: canary secrets never leave the credentials (CLI output at DEBUG, landing,
warehouse, snapshot, report, Airflow task logs); hostile titles are stored verbatim and
rendered inert in a real browser; every server binds 127.0.0.1; nothing written is
world-writable and no written config carries a secret."""

from __future__ import annotations

import base64
import configparser
import json
import os
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import quote

import pytest
import yaml

import sandbox.server as sandbox_server
from contentpulse import pipeline
from contentpulse.config import load_config
from contentpulse.credentials import env_var, export_lines
from contentpulse.demo import CONNECTIONS_FILE, write_sandbox_config
from contentpulse.warehouse import connect
from sandbox import ChannelSpec, Portfolio, Sandbox
from sandbox.graph_api import GraphApi
from sandbox.social_portfolio import SocialAccountSpec, SocialPortfolio
from sandbox.tiktok_api import TikTokApi
from tests.browser import launch
from tests.conftest import CLOCK, END, REPO

BIN = Path(sys.executable).parent
# the sandbox's own fake credentials (the canary fixture swaps them while it lives)
SANDBOX_OAUTH = (sandbox_server.CLIENT_SECRET, sandbox_server.REFRESH_TOKEN)
CANARY = "cnry" + uuid.uuid4().hex[:20]  # unique to this run: any hit is a leak of ours
START = END - timedelta(days=13)
NIGHT = CLOCK - timedelta(days=1)  # the social accounts report through the sandbox's yesterday


def forms(secret: str) -> list[bytes]:
    """The secret as it could show: raw, URL-encoded, and base64 (standard and URL-safe) at
    each of the three byte alignments (the part of the encoding that depends on it alone)."""
    raw = secret.encode()
    out = {raw, quote(secret, safe="").encode()}
    for pad in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            enc = encode(b"\0" * pad + raw)
            start = -(-pad * 4 // 3) + 1
            out.add(enc[start : len(enc) - 4])
    return sorted(out)


def hits(blob: bytes, secrets: list[str]) -> list[str]:
    return [s for s in secrets if any(f in blob for f in forms(s))]


def canary_connections(hook_url: str) -> tuple[dict[str, dict], list[str]]:
    """connections.json with a canary in every secret field; the canaries."""
    conns = json.loads(CONNECTIONS_FILE.read_text(encoding="utf-8"))
    secrets = {
        "yt_secret": f"{CANARY}-yt-client-secret",
        "yt_refresh": f"{CANARY}-yt-refresh",
        "ga4_key_id": f"{CANARY}-ga4-key-id",
        "ig": f"{CANARY}-ig-token",
        "fb": f"{CANARY}-fb-token",
        "tt_secret": f"{CANARY}-tt-client-secret",
        "tt_refresh": f"{CANARY}-tt-refresh",
        "refused": f"{CANARY}-refused-refresh",
        "hook": f"{CANARY}-webhook",
    }
    yt = conns["youtube_sandbox"]["extra"]
    yt.update(client_secret=secrets["yt_secret"], refresh_token=secrets["yt_refresh"])
    key = json.loads(conns["ga4_sandbox"]["extra"]["keyfile_dict"])
    key["private_key_id"] = secrets["ga4_key_id"]
    conns["ga4_sandbox"]["extra"]["keyfile_dict"] = json.dumps(key)
    conns["instagram_sandbox"]["extra"]["access_token"] = secrets["ig"]
    conns["facebook_sandbox"]["extra"]["access_token"] = secrets["fb"]
    tt = conns["tiktok_sandbox"]["extra"]
    tt.update(client_secret=secrets["tt_secret"], refresh_token=secrets["tt_refresh"])
    conns["youtube_refused"] = {
        "conn_type": "google_cloud_platform",
        "extra": {**yt, "refresh_token": secrets["refused"]},
    }
    conns["alerts_hook"] = {"conn_type": "http", "extra": {"webhook_url": hook_url}}
    # the GA4 key's private key itself is a secret too: a line of its body as a canary
    pem_line = key["private_key"].splitlines()[5]
    return conns, [*secrets.values(), pem_line]


def accept_canaries(sandbox: Sandbox, conns: dict, mp: pytest.MonkeyPatch) -> None:
    """The sandbox accepts the canary credentials (and only those)."""
    yt = conns["youtube_sandbox"]["extra"]
    mp.setattr(sandbox_server, "CLIENT_SECRET", yt["client_secret"])
    mp.setattr(sandbox_server, "REFRESH_TOKEN", yt["refresh_token"])
    for api in sandbox.apis:
        if isinstance(api, GraphApi):
            api.tokens = {
                p: conns[f"{p}_sandbox"]["extra"]["access_token"] for p in ("instagram", "facebook")
            }
        if isinstance(api, TikTokApi):
            tt = conns["tiktok_sandbox"]["extra"]
            api.credentials = {k: tt[k] for k in ("client_key", "client_secret", "refresh_token")}
            api.refresh_tokens = {tt["refresh_token"]}


def small_sandbox() -> Sandbox:
    from tests.connectors.test_ga4 import ga4_portfolios

    youtube, ga4 = ga4_portfolios(days=(END - START).days + 1)
    social = SocialPortfolio(
        [
            SocialAccountSpec("instagram", "alpha.news", 8, "America/New_York"),
            SocialAccountSpec("facebook", "Alpha News", 6, "Europe/Berlin", 0.8),
            SocialAccountSpec("tiktok", "alphanews", 6, "Asia/Tokyo", 1.2, business=True),
        ],
        youtube.start,
        youtube.end,
        youtube=youtube,
    )
    return Sandbox(youtube, clock=CLOCK, ga4=ga4, social=social)


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        _Hook.received.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def canary_world(tmp_path_factory) -> Iterator[dict]:
    """A sandbox accepting only canary credentials, its config (with one refused account and
    a webhook), the environment holding the canaries, and a webhook receiver."""
    root = tmp_path_factory.mktemp("canary")
    hook = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    conns, secrets = canary_connections(
        f"http://127.0.0.1:{hook.server_port}/hooks/{CANARY}-webhook"
    )
    with pytest.MonkeyPatch.context() as mp, small_sandbox() as sandbox:
        accept_canaries(sandbox, conns, mp)
        config = write_sandbox_config(root / "contentpulse.yml", sandbox, root / "data")
        raw = yaml.safe_load(config.read_text(encoding="utf-8"))
        accounts = raw["sources"]["youtube"]["accounts"]
        accounts.append(
            {**accounts[0], "id": accounts[0]["id"][:-1] + "Z", "conn_id": "youtube_refused"}
        )
        accounts[-1]["name"] = "Refused"
        raw["alerts"] = {"webhook_conn_id": "alerts_hook"}
        config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
        env.update({env_var(cid): json.dumps(c) for cid, c in conns.items()})
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
        # the credentials file an operator would keep: the positive control of the grep
        creds = root / "secrets" / "credentials.env"
        creds.parent.mkdir()
        creds.write_text(
            "\n".join(export_lines(str(_write_json(root / "secrets" / "c.json", conns))))
        )
        yield {
            "root": root,
            "config": config,
            "env": env,
            "secrets": secrets,
            "creds": creds,
            "sandbox": sandbox,
        }
    hook.shutdown()


def _write_json(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def canary_night(canary_world) -> dict:
    """The whole backfill through the CLI at DEBUG, one account refused on the way."""
    w = canary_world
    run = subprocess.run(
        [str(BIN / "contentpulse"), "-v", "--config", str(w["config"]), "backfill",
         "--start", str(START), "--end", str(NIGHT)],
        env=w["env"], capture_output=True, timeout=900, cwd=w["root"],
    )  # fmt: skip
    return {**w, "run": run}


def test_the_grep_finds_a_canary_where_one_is(canary_night):
    creds = canary_night["creds"].read_bytes()
    secrets = canary_night["secrets"]
    assert hits(creds, secrets) == secrets  # every canary is found in the file holding it
    # and its encoded forms: a canary in a base64'd header or a URL is caught
    for secret in secrets[:3]:
        for pad in (b"", b"a", b"ab"):
            assert hits(base64.b64encode(pad + b"user:" + secret.encode()), [secret])
        assert hits(quote(f"x={secret}&y").encode(), [secret])


def test_no_canary_in_cli_output_or_anything_the_night_wrote(canary_night):
    run, secrets = canary_night["run"], canary_night["secrets"]
    out = run.stdout + run.stderr
    assert run.returncode == 2, out[-3000:].decode(errors="replace")  # the refused account
    text = out.decode(errors="replace")
    assert "invalid_grant" in text, text[-3000:]
    assert "report: " in text, text[-3000:]  # the night still reported
    assert hits(out, secrets) == []
    data = canary_night["root"] / "data"
    files = [f for f in data.rglob("*") if f.is_file()]
    kinds = {f.suffix for f in files}
    assert {".parquet", ".duckdb", ".html"} <= kinds, kinds
    leaks = {str(f.relative_to(data)): hits(f.read_bytes(), secrets) for f in files}
    assert {f: h for f, h in leaks.items() if h} == {}


def test_written_files_are_not_world_writable_and_configs_hold_no_secret(canary_night):
    data = canary_night["root"] / "data"
    for path in [data, *data.rglob("*")]:
        assert not path.stat().st_mode & 0o002, path
    config = canary_night["config"].read_bytes()
    assert hits(config, canary_night["secrets"]) == []
    assert b"conn_id" in config


@pytest.mark.airflow
def test_no_canary_in_airflow_task_logs(canary_world, tmp_path):
    """One real `airflow dags test` of the night, a task failing on the refused account and
    alerting the webhook (whose URL is a canary): no canary in its output or task logs."""
    w = canary_world
    home = tmp_path / "airflow_home"
    home.mkdir()
    raw = yaml.safe_load(w["config"].read_text(encoding="utf-8"))
    raw["paths"] = {k: str(tmp_path / "data" / Path(v).name) for k, v in raw["paths"].items()}
    config = tmp_path / "contentpulse.yml"
    config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    env = {
        **w["env"],
        "AIRFLOW_HOME": str(home),
        "AIRFLOW_CONFIG": str(REPO / "airflow.cfg"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__DEFAULT_TASK_RETRIES": "0",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "DEBUG",
        "CONTENTPULSE_CONFIG": str(config),
    }
    outputs = b""
    for command in (
        [str(BIN / "airflow"), "db", "migrate"],
        [str(BIN / "contentpulse"), "pools", "--json", str(home / "pools.json")],
        [str(BIN / "airflow"), "pools", "import", str(home / "pools.json")],
        [str(BIN / "airflow"), "dags", "test", "contentpulse_nightly", "2026-11-21T03:00:00+00:00"],
    ):
        done = subprocess.run(command, env=env, capture_output=True, timeout=600)
        outputs += done.stdout + done.stderr
    text = outputs.decode(errors="replace")
    assert "state=failed" in text, text[-3000:]  # the refused account's task failed ...
    assert any(CANARY in p for p in _Hook.received), _Hook.received  # ... and alerted
    # `dags test` runs the tasks in its own process: their logs are its output (task log
    # files, where Airflow writes any, are grepped too)
    assert "extract_youtube" in text and "invalid_grant" in text, text[-3000:]
    assert hits(outputs, w["secrets"]) == []
    logs = [f for f in home.rglob("*") if f.is_file() and f.suffix != ".db"]
    leaks = {str(f): hits(f.read_bytes(), w["secrets"]) for f in logs}
    assert {f: h for f, h in leaks.items() if h} == {}
    data = tmp_path / "data"
    leaks = {str(f): hits(f.read_bytes(), w["secrets"]) for f in data.rglob("*") if f.is_file()}
    assert {f: h for f, h in leaks.items() if h} == {}


# -- hostile text -----------------------------------------------------------------------
HOSTILE = [
    '<script>window.__pwned = "script"; alert(1)</script>',
    "<img src=x onerror=\"window.__pwned = 'img'; alert(2)\">",
    '"><svg onload="window.__pwned = \'svg\'; alert(3)">',
    "'; drop table marts.videos; --",
    "{{7*7}} ${7*7} <%= 7*7 %>",
    "\u202eevil\u202c right-to-left 🔥🎬",
    '<b id="injected">bold</b></title></script><!--',
]


@pytest.fixture(scope="module")
def hostile_night(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("hostile")
    portfolio = Portfolio(
        [ChannelSpec("Alpha <b>News</b>", 7, "UTC"), ChannelSpec("Beta ';--", 7, "Asia/Tokyo")],
        start=END - timedelta(days=40),
        end=END,
    )
    expected = {}
    for channel in portfolio.channels:
        for i, video in enumerate(channel.videos):
            video.title = HOSTILE[i % len(HOSTILE)]
            video.description = HOSTILE[(i + 1) % len(HOSTILE)]
            video.tags = [HOSTILE[(i + 2) % len(HOSTILE)], "<i>tag</i>"]
            expected[video.video_id] = (video.title, video.description)
    with pytest.MonkeyPatch.context() as mp, Sandbox(portfolio, clock=CLOCK) as sandbox:
        mp.setattr(sandbox_server, "CLIENT_SECRET", SANDBOX_OAUTH[0])
        mp.setattr(sandbox_server, "REFRESH_TOKEN", SANDBOX_OAUTH[1])
        cfg = load_config(write_sandbox_config(root / "contentpulse.yml", sandbox, root / "data"))
        steps = pipeline.backfill(cfg, portfolio.start, END, with_report=False)
    assert not any(s.errors for s in steps), [s.errors for s in steps]
    report = pipeline.report(cfg)
    return {"cfg": cfg, "expected": expected, "report": Path(report.outputs["path"])}


def test_hostile_text_is_stored_verbatim(hostile_night):
    cfg, expected = hostile_night["cfg"], hostile_night["expected"]
    with connect(cfg.paths.analytics, read_only=True) as con:
        titles = dict(con.sql("select item_id, title from marts.posts").fetchall())
        tables = {r[0] for r in con.sql("select table_name from duckdb_tables()").fetchall()}
    assert {k: v[0] for k, v in expected.items()} == titles
    assert "posts" in tables  # the injected "drop table" dropped nothing
    with connect(cfg.paths.warehouse, read_only=True) as con:
        described = dict(
            con.sql("select item_id, description from staging.stg_youtube__videos").fetchall()
        )
    assert {k: v[1] for k, v in expected.items()} == described


@pytest.mark.browser
def test_hostile_text_renders_inert_in_chromium(hostile_night):
    from playwright.sync_api import sync_playwright

    dialogs: list[str] = []
    with sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(hostile_night["report"].as_uri(), wait_until="load")
        page.wait_for_timeout(500)
        pwned = page.evaluate("window.__pwned === undefined ? null : window.__pwned")
        injected = page.evaluate(
            "document.querySelectorAll('#injected, img[src=x], svg[onload], [onerror]').length"
        )
        text = page.inner_text("body")
        browser.close()
    assert dialogs == [] and pwned is None and injected == 0
    shown = [t for t in HOSTILE if t in text]
    assert len(shown) >= 3, text[:2000]  # titles are visible as the text they are
    assert "{{7*7}}" in text or not any("{{7*7}}" in t for t in shown)


# -- binds ----------------------------------------------------------------------------------
def _listeners(port: int) -> set[str]:
    """Local addresses listening on `port` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # LISTEN
                found.add(address)
    return found


def test_the_sandbox_binds_loopback_only():
    with Sandbox(Portfolio([ChannelSpec("A", 1)], END - timedelta(days=3), END), clock=CLOCK) as sb:
        assert sb._server.server_address[0] == "127.0.0.1"
        assert _listeners(sb.port) == {"0100007F"}  # 127.0.0.1, no 0.0.0.0 or ::


def test_sandbox_serve_binds_loopback_and_its_config_holds_no_secret(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp_path / "airflow.yml"
    proc = subprocess.Popen(
        [str(BIN / "contentpulse"), "sandbox", "serve", "--port", str(port), "--today",
         str(CLOCK), "--write-config", str(config), "--data-dir", str(tmp_path / "data")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
    )  # fmt: skip
    try:
        for line in proc.stdout:
            if "sandbox serving" in line:
                break
        assert f"127.0.0.1:{port}" in line
        assert _listeners(port) == {"0100007F"}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    text = config.read_text(encoding="utf-8")
    assert "127.0.0.1" in text and "0.0.0.0" not in text
    sandbox_secrets = [
        v for c in json.loads(CONNECTIONS_FILE.read_text()).values() for v in c["extra"].values()
    ]
    assert not [s for s in sandbox_secrets if s in text]
    assert not config.stat().st_mode & 0o022


def test_make_airflow_serves_on_loopback_only():
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "airflow.cfg")
    assert cfg["api"]["host"] == "127.0.0.1"
    assert "127.0.0.1" in cfg["core"]["execution_api_server_url"]
    makefile = (REPO / "Makefile").read_text()
    assert "export AIRFLOW_CONFIG := $(CURDIR)/airflow.cfg" in makefile
    dry = subprocess.run(
        ["make", "-n", "airflow", f"PY={sys.executable}"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    recipe = dry.stdout
    assert "airflow standalone" in recipe and "sandbox serve" in recipe, dry.stderr
    assert not re.search(r"0\.0\.0\.0|--host(?!\s+127\.0\.0\.1)|AIRFLOW__API__HOST=(?!127)", recipe)
    # Airflow itself, reading the repo's config, serves on 127.0.0.1
    env = {**os.environ, "AIRFLOW_CONFIG": str(REPO / "airflow.cfg")}
    env.pop("AIRFLOW__API__HOST", None)
    got = subprocess.run(
        [str(BIN / "airflow"), "config", "get-value", "api", "host"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert got.stdout.strip() == "127.0.0.1", got.stderr[-2000:]


@pytest.mark.airflow
def test_make_airflow_keeps_connections_encrypted_in_owner_only_files(tmp_path):
    """A password added to `make airflow`'s Airflow is not in plain text in its metadata DB
    (a Fernet key, kept in the home, owner-only), nothing in the home is readable by others,
    and the connection still reads back after a restart (the key is reused)."""
    recipe = subprocess.run(
        ["make", "-n", "airflow", f"PY={sys.executable}"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    assert re.search(r"umask 077; \S*contentpulse sandbox serve", recipe), recipe
    assert "python -m contentpulse.credentials --airflow-env" in recipe, recipe
    home, secret = tmp_path / "airflow_home", f"{CANARY}-ui-password"
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW_CONFIG": str(REPO / "airflow.cfg")}
    prelude = (
        f'umask 077; eval "$({sys.executable} -m contentpulse.credentials --airflow-env {home})"; '
    )
    added = subprocess.run(
        ["bash", "-c", prelude + f"{BIN}/airflow db migrate >/dev/null && {BIN}/airflow "
         f"connections add ui_conn --conn-type http --conn-password {secret}"],
        env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr[-2000:]
    files = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.name == "airflow.db" for p in files) and (home / "fernet.key").exists()
    assert [str(p) for p in files if hits(p.read_bytes(), [secret])] == [], "in plain text"
    exposed = [str(p) for p in [home, *home.rglob("*")] if p.stat().st_mode & 0o077]
    assert exposed == []
    again = subprocess.run(
        ["bash", "-c", prelude + f"{BIN}/airflow connections get ui_conn -o json"],
        env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert json.loads(again.stdout)[0]["password"] == secret, again.stderr[-2000:]


def test_credentials_export_writes_no_file_and_prints_only_to_stdout(tmp_path):
    before = set(tmp_path.iterdir())
    done = subprocess.run(
        [sys.executable, "-m", "contentpulse.credentials", "--export", str(CONNECTIONS_FILE)],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.count("export AIRFLOW_CONN_") == len(
        json.loads(CONNECTIONS_FILE.read_text())
    )
    assert set(tmp_path.iterdir()) == before
