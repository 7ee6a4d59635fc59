"""Bad input, through the real `contentpulse` command: each case breaks one thing (the config
file, a value, credentials, an account, dates, the registry, a CSV export, a landing file,
the warehouse, the disk, the network), runs the CLI in a subprocess against a copy of a
published data folder, and asserts that the command fails with exactly one `error:` line
(no traceback) naming what is wrong, that no secret shows, and that the published
analytics.duckdb and reports are byte-identical afterwards.
"""

from __future__ import annotations

import copy
import ctypes
import hashlib
import json
import os
import resource
import shutil
import signal
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from contentpulse import pipeline
from contentpulse.config import load_config
from contentpulse.credentials import env_var
from contentpulse.demo import SANDBOX_CONN_ID, write_sandbox_config
from sandbox import Sandbox
from sandbox.csv_exports import ExportPortfolio, export_types
from tests.conftest import CLOCK, END, small_portfolio
from tests.servers import free_port

CONTENTPULSE = str(Path(sys.executable).parent / "contentpulse")
# a secret the refused-credentials case sends; it must never show in the output
WRONG_TOKEN = "canary-wrong-refresh-token-9f3b1c"


def fingerprint(data: Path) -> dict[str, str]:
    """sha256 of the published snapshot and of every file of the published reports."""
    files = [data / "analytics.duckdb", *sorted((data / "reports").rglob("*"))]
    return {
        str(f.relative_to(data)): hashlib.sha256(f.read_bytes()).hexdigest()
        for f in files
        if f.is_file()
    }


@dataclass
class Published:
    root: Path
    config: dict
    fingerprint: dict[str, str]
    sandbox: Sandbox


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Iterator[Published]:
    """One small clean backfill, published and reported, that every case starts from."""
    root = tmp_path_factory.mktemp("published")
    with Sandbox(small_portfolio(videos=6, days=40), clock=CLOCK) as sandbox:
        path = write_sandbox_config(root / "contentpulse.yml", sandbox, root / "data")
        steps = pipeline.backfill(load_config(path), sandbox.portfolio.start, END)
        assert [s.step for s in steps][-1] == "report" and not any(s.errors for s in steps)
        prints = fingerprint(root / "data")
        assert "analytics.duckdb" in prints and any(p.endswith(".html") for p in prints)
        yield Published(root, yaml.safe_load(path.read_text(encoding="utf-8")), prints, sandbox)


@dataclass
class Ctx:
    """One case's folder: its copy of the data, its config (as a dict), its environment."""

    root: Path
    data: Path
    cfg: dict
    env: dict[str, str]
    sandbox: Sandbox
    config: Path = field(init=False)
    raw: str | bytes | None = None  # the config file's text instead of cfg
    arguments: list[str] = field(default_factory=list)  # appended to the case's command

    def __post_init__(self) -> None:
        self.config = self.root / "contentpulse.yml"

    @property
    def youtube(self) -> dict:
        return self.cfg["sources"]["youtube"]

    def one_channel(self) -> dict:
        """Keep the first channel only (so that a failure is one account's one line)."""
        self.youtube["accounts"] = self.youtube["accounts"][:1]
        return self.youtube["accounts"][0]

    def landing_file(self, stream: str = "content_daily") -> Path:
        return sorted((self.data / "landing").rglob(f"stream={stream}/*/*/*.parquet"))[0]

    def new_landing_file(self, content: bytes) -> Path:
        """A landing file of a later run, not loaded yet, beside an existing one."""
        old = self.landing_file()
        new = old.parent / "manual__20991231T000000_bad000__000000000000.parquet"
        new.write_bytes(content)
        return new

    def csv_only(self, bad: Callable[[Path], None]) -> None:
        """The config reads one X export from an inbox; `bad` breaks the good file."""
        exports = ExportPortfolio.demo(END, posts=5)
        account = "northwind-x"
        inbox = self.root / "inbox"
        good = exports.write(inbox / account, account, END)
        bad(Path(good))
        spec = exports.specs[account]
        self.cfg["sources"] = {
            "csv_export": {
                "inbox": str(inbox),
                "exports": {"x_posts": export_types()["x_posts"]},
                "accounts": [
                    {"id": account, "timezone": spec.timezone, "exports": ["x_posts"]},
                ],
            }
        }

    def registry(self, text: str | bytes) -> None:
        path = self.root / "registry.csv"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        self.cfg["registry"] = str(path)

    def first_video(self) -> tuple[str, str]:
        channel = self.sandbox.portfolio.channels[0]
        return channel.channel_id, channel.videos[0].video_id


@dataclass(frozen=True)
class Case:
    name: str
    category: str
    command: list[str]
    expect: str  # a fragment of the one error line
    setup: Callable[[Ctx], object] | None = None
    file_size_limit: int | None = None  # RLIMIT_FSIZE for the command (a full disk)
    unprivileged: bool = False  # file permissions apply (root's override dropped)


def _raw(text: str | bytes) -> Callable[[Ctx], None]:
    def setup(ctx: Ctx) -> None:
        ctx.raw = text

    return setup


def _set(path: str, value: object) -> Callable[[Ctx], None]:
    """Set a dotted key of the config (`sources.youtube.lookback_days`)."""

    def setup(ctx: Ctx) -> None:
        *parents, last = path.split(".")
        node = ctx.cfg
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return setup


def _account_field(key: str, value: object, drop: str | None = None) -> Callable[[Ctx], None]:
    def setup(ctx: Ctx) -> None:
        account = ctx.youtube["accounts"][1]
        if drop:
            account.pop(drop)
        account[key] = value

    return setup


def _duplicate_account(ctx: Ctx) -> None:
    ctx.youtube["accounts"].append(dict(ctx.youtube["accounts"][0]))


def _no_credentials(ctx: Ctx) -> None:
    ctx.one_channel()
    ctx.env.pop(env_var(SANDBOX_CONN_ID), None)


def _conn_env(value: str) -> Callable[[Ctx], None]:
    def setup(ctx: Ctx) -> None:
        ctx.one_channel()
        ctx.env[env_var(SANDBOX_CONN_ID)] = value

    return setup


def _refused_credentials(ctx: Ctx) -> None:
    ctx.one_channel()
    conn = json.loads(ctx.env[env_var(SANDBOX_CONN_ID)])
    conn["extra"]["refresh_token"] = WRONG_TOKEN
    ctx.env[env_var(SANDBOX_CONN_ID)] = json.dumps(conn)


def _other_platforms_connection(ctx: Ctx) -> None:
    """A TikTok account whose conn_id names the YouTube connection (a copy-paste slip)."""
    base = ctx.sandbox.base_url
    ctx.cfg["sources"] = {
        "tiktok": {
            "base_url": f"{base}/tiktok",
            "token_uri": f"{base}/tiktok/v2/oauth/token/",
            "accounts": [{"id": "tt_1234", "timezone": "UTC", "conn_id": SANDBOX_CONN_ID}],
        }
    }


def _unknown_channel(ctx: Ctx) -> None:
    account = ctx.one_channel()
    account["id"] = "UCnotachannel0000000000"


def _nothing_listening(ctx: Ctx) -> None:
    ctx.one_channel()
    url = f"http://127.0.0.1:{free_port()}"
    ctx.youtube.update(base_url=url, token_uri=f"{url}/token", max_attempts=2)


def _csv_wrong_columns(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(",impressions,", ",impressionz,", 1), encoding="utf-8")


def _csv_bad_number(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    cells = lines[2].split(",")
    cells[9] = "12x4"  # likes
    lines[2] = ",".join(cells)
    path.write_text("".join(lines), encoding="utf-8")


def _csv_latin1(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    cells = lines[3].split(",")
    cells[2] = "Café olé à Noël"
    lines[3] = ",".join(cells)
    path.write_bytes("".join(lines).encode("latin-1", errors="replace"))


def _csv_empty(path: Path) -> None:
    path.write_bytes(b"")


def _landing_truncated(ctx: Ctx) -> None:
    ctx.new_landing_file(ctx.landing_file().read_bytes()[:300])


def _landing_not_parquet(ctx: Ctx) -> None:
    ctx.new_landing_file(b"date,views\n2026-11-20,12\n")


def _landing_wrong_schema(ctx: Ctx) -> None:
    old = pq.read_table(ctx.landing_file())
    views = pa.array(["many"] * old.num_rows)
    table = old.set_column(old.schema.get_field_index("views"), "views", views)
    path = ctx.new_landing_file(b"")
    pq.write_table(table, path)


def _redo_a_good_file(ctx: Ctx) -> None:
    """The command names the first content_daily file, which parses."""
    ctx.arguments.append(str(ctx.landing_file()))


def _warehouse_garbage(ctx: Ctx) -> None:
    path = ctx.data / "warehouse.duckdb"
    with path.open("r+b") as f:
        f.write(os.urandom(8192))


def _warehouse_from_a_newer_duckdb(ctx: Ctx) -> None:
    """The warehouse's main header as DuckDB 2.0 writes it: storage version 999 at byte 12,
    and the block checksum (bytes 0-7) recomputed the way DuckDB computes it, so that the
    version, not a corrupt block, is what this DuckDB refuses."""
    path = ctx.data / "warehouse.duckdb"
    with path.open("r+b") as f:
        header = bytearray(f.read(4096))
        assert header[8:12] == b"DUCK"
        header[12:20] = struct.pack("<Q", 999)
        checksum = 5381
        for (word,) in struct.iter_unpack("<Q", bytes(header[8:])):
            checksum ^= (word * 0xBF58476D1CE4E5B9) % 2**64
        header[0:8] = struct.pack("<Q", checksum)
        f.seek(0)
        f.write(header)


def _warehouse_text(ctx: Ctx) -> None:
    (ctx.data / "warehouse.duckdb").write_text("this is not a database\n")


def _warehouse_folder(ctx: Ctx) -> None:
    folder = ctx.root / "elsewhere" / "warehouse.duckdb"
    folder.mkdir(parents=True)
    ctx.cfg["paths"]["warehouse"] = str(folder)


def _reports_under_a_file(ctx: Ctx) -> None:
    blocker = ctx.root / "not-a-folder"
    blocker.write_text("a file where the reports folder's parent should be\n")
    ctx.cfg["paths"]["reports"] = str(blocker / "reports")


def _landing_under_a_file(ctx: Ctx) -> None:
    ctx.one_channel()
    blocker = ctx.root / "not-a-folder"
    blocker.write_text("a file where the landing folder's parent should be\n")
    ctx.cfg["paths"]["landing"] = str(blocker / "landing")


def _question_mark_folder(ctx: Ctx) -> None:
    folder = ctx.root / "data?2026"
    ctx.cfg["paths"]["warehouse"] = str(folder / "warehouse.duckdb")


def _snapshot_folder_read_only(ctx: Ctx) -> None:
    folder = ctx.root / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    ctx.cfg["paths"]["analytics"] = str(folder / "analytics.duckdb")


def _folder_in_the_snapshots_place(ctx: Ctx) -> None:
    (ctx.root / "elsewhere" / "analytics.duckdb" / "notes").mkdir(parents=True)
    ctx.cfg["paths"]["analytics"] = str(ctx.root / "elsewhere" / "analytics.duckdb")


def _csv_account(account_id: str) -> Callable[[Ctx], None]:
    """The CSV-export-only config, its account under this id."""

    def setup(ctx: Ctx) -> None:
        ctx.csv_only(lambda path: None)
        ctx.cfg["sources"]["csv_export"]["accounts"][0]["id"] = account_id

    return setup


def _registry_duplicate(ctx: Ctx) -> None:
    channel, video = ctx.first_video()
    ctx.registry(
        "family_id,platform,account_id,item_id\n"
        f"story-a,youtube,{channel},{video}\n"
        f"story-b,youtube,{channel},{video}\n"
    )


def _registry_unknown_platform(ctx: Ctx) -> None:
    channel, video = ctx.first_video()
    ctx.registry(f"family_id,platform,account_id,item_id\nstory-a,youtub,{channel},{video}\n")


def _registry_unknown_account(ctx: Ctx) -> None:
    _, video = ctx.first_video()
    ctx.registry(f"family_id,platform,account_id,item_id\nstory-a,youtube,UCnobody,{video}\n")


FAMILY_HEADER = "family_id,platform,account_id,item_id\n"
CASES = [
    # -- the config file itself -------------------------------------------------------
    Case("missing config file", "config file", ["run", "--date", str(END)], "config file not found",
         lambda ctx: setattr(ctx, "config", ctx.root / "absent.yml")),
    Case("config is a folder", "config file", ["run", "--date", str(END)], "cannot read config file",
         lambda ctx: ctx.config.mkdir()),
    Case("empty config file", "config file", ["run", "--date", str(END)], "empty config file", _raw("")),
    Case("tab in YAML", "config file", ["run", "--date", str(END)], "invalid YAML at line 2",
         _raw("sources:\n\tyoutube: {}\n")),
    Case("unclosed quote", "config file", ["run", "--date", str(END)], "invalid YAML at line",
         _raw('history_start: "2026-01-01\nsources: {}\n')),
    Case("top level is a list", "config file", ["run", "--date", str(END)],
         "expected a mapping at the top level", _raw("- youtube\n- ga4\n")),
    Case("config not UTF-8", "config file", ["run", "--date", str(END)], "line 1: not UTF-8",
         _raw("# caf\xe9\nsources: {}\n".encode("latin-1"))),
    # -- keys and values ----------------------------------------------------------------
    Case("unknown top-level key", "config values", ["run", "--date", str(END)],
         "histroy_start: unknown key", _set("histroy_start", "2026-01-01")),
    Case("unknown source", "config values", ["run", "--date", str(END)],
         "sources.youtub: unknown key", _set("sources.youtub", {"accounts": []})),
    Case("unknown source key", "config values", ["run", "--date", str(END)],
         "sources.youtube.lookbak_days: unknown key", _set("sources.youtube.lookbak_days", 3)),
    Case("misspelt account field", "config values", ["run", "--date", str(END)],
         "sources.youtube.accounts[1].timezon: unknown key",
         _account_field("timezon", "Asia/Tokyo", drop="timezone")),
    Case("string for an int", "config values", ["run", "--date", str(END)],
         "sources.youtube.lookback_days: Input should be a valid integer",
         _set("sources.youtube.lookback_days", "three")),
    Case("negative lookback", "config values", ["run", "--date", str(END)],
         "sources.youtube.lookback_days: Input should be greater than or equal to 1",
         _set("sources.youtube.lookback_days", -2)),
    Case("bad time zone", "config values", ["run", "--date", str(END)],
         "sources.youtube.accounts[1].timezone: unknown time zone 'Asia/Tokio'",
         _account_field("timezone", "Asia/Tokio")),
    Case("bad date", "config values", ["run", "--date", str(END)], "history_start:",
         _set("history_start", "2026-13-01")),
    Case("endpoint not a URL", "config values", ["run", "--date", str(END)],
         "sources.youtube.base_url: must start with http:// or https://",
         _set("sources.youtube.base_url", "127.0.0.1:8765")),
    Case("account without connection", "config values", ["run", "--date", str(END)],
         "sources.youtube.accounts[1].conn_id: required", _account_field("conn_id", None)),
    Case("account listed twice", "config values", ["run", "--date", str(END)],
         "is listed twice", _duplicate_account),
    Case("CSV account id out of the inbox", "config values", ["extract", "--date", str(END)],
         "accounts[0].id: '..' is not an account id", _csv_account("..")),
    Case("YouTube account id not a channel id", "config values", ["run", "--date", str(END)],
         "sources.youtube.accounts[1].id: a YouTube channel id", _account_field("id", "12345")),
    Case("data folder name holds a question mark", "config values", ["run", "--date", str(END)],
         "paths.warehouse: DuckDB cannot open a database whose path holds '?'",
         _question_mark_folder),
    Case("mail without recipients", "config values", ["report", "--send"],
         "delivery: smtp_conn_id needs email_to", _set("delivery", {"smtp_conn_id": "mail"})),
    Case("report sent with no delivery", "config values", ["report", "--send"],
         "deliver: nothing to deliver to", None),
    # -- credentials ----------------------------------------------------------------------
    Case("credentials missing", "credentials", ["extract", "--date", str(END)],
         f"connection '{SANDBOX_CONN_ID}' not found", _no_credentials),
    Case("credentials not JSON", "credentials", ["extract", "--date", str(END)],
         f"{env_var(SANDBOX_CONN_ID)} is not valid JSON", _conn_env('{"extra": {"client_id": ')),
    Case("credentials lack a field", "credentials", ["extract", "--date", str(END)],
         "refresh_token", _conn_env(json.dumps({"extra": {"client_id": "x", "client_secret": "y"}}))),
    Case("credentials refused", "credentials", ["extract", "--date", str(END)],
         "invalid_grant", _refused_credentials),
    Case("connection of another platform's type", "credentials", ["extract", "--date", str(END)],
         "tiktok tt_1234: connection 'youtube_sandbox' (a google_cloud_platform connection): "
         "extra field 'client_key' is missing", _other_platforms_connection),
    # -- accounts and the network ----------------------------------------------------------
    Case("unknown channel", "accounts", ["extract", "--date", str(END)],
         "UCnotachannel0000000000: channel not found", _unknown_channel),
    Case("nothing listening on the port", "accounts", ["extract", "--date", str(END)],
         "ConnectionRefusedError", _nothing_listening),
    # -- dates ------------------------------------------------------------------------------
    Case("backfill dates reversed", "dates", ["backfill", "--start", str(END), "--end",
         str(END - timedelta(days=5))], "is before --start", None),
    Case("extract dates reversed", "dates", ["extract", "--start", str(END), "--end",
         str(END - timedelta(days=5))], "is before --start", None),
    Case("backfill ends in the future", "dates", ["backfill", "--start", str(END), "--end",
         "2999-01-01"], "2999-01-01 is in the future", None),
    Case("night in the future", "dates", ["run", "--date", "2999-01-01"],
         "2999-01-01 is in the future", None),
    Case("not a date", "dates", ["run", "--date", "2026-02-30"], "not a date", None),
    Case("week that does not exist", "dates", ["report", "--week", "2026-W60"],
         "2026-W60", None),
    Case("week before any data", "dates", ["report", "--week", "2019-W10"],
         "week 2019-W10 (2019-03-04 to 2019-03-10) has no data", None),
    Case("week after the data", "dates", ["report", "--week", "2026-W53"],
         "week 2026-W53 (2026-12-28 to 2027-01-03) has no data", None),
    # -- the content registry -------------------------------------------------------------
    Case("registry names an item twice", "registry", ["build"],
         "registry.csv: item youtube/", _registry_duplicate),
    Case("registry header wrong", "registry", ["build"],
         "registry.csv: line 1: the header must name",
         lambda ctx: ctx.registry("family,platform,account_id,item_id\n")),
    Case("registry unclosed quote", "registry", ["build"],
         "registry.csv: line", lambda ctx: ctx.registry(FAMILY_HEADER + 'a,youtube,"UC,x\n')),
    Case("registry not UTF-8", "registry", ["build"], "registry.csv: not UTF-8 text",
         lambda ctx: ctx.registry((FAMILY_HEADER + "caf\xe9,youtube,,x\n").encode("latin-1"))),
    Case("registry file missing", "registry", ["build"],
         "registry file not found", lambda ctx: ctx.cfg.update(registry=str(ctx.root / "no.csv"))),
    Case("registry unknown platform", "registry", ["build"], "line 2: unknown platform 'youtub'",
         _registry_unknown_platform),
    Case("registry unknown account", "registry", ["build"], "line 2: no youtube account 'UCnobody'",
         _registry_unknown_account),
    # -- CSV exports ------------------------------------------------------------------------
    Case("CSV export wrong columns", "CSV export", ["extract", "--date", str(END)],
         "'impressions'", lambda ctx: ctx.csv_only(_csv_wrong_columns)),
    Case("CSV export bad number", "CSV export", ["extract", "--date", str(END)],
         "'12x4'", lambda ctx: ctx.csv_only(_csv_bad_number)),
    Case("CSV export wrong encoding", "CSV export", ["extract", "--date", str(END)],
         "line 4", lambda ctx: ctx.csv_only(_csv_latin1)),
    Case("CSV export empty", "CSV export", ["extract", "--date", str(END)],
         "tweet_activity_metrics_", lambda ctx: ctx.csv_only(_csv_empty)),
    # -- landing files ----------------------------------------------------------------------
    Case("landing file truncated", "landing", ["load"],
         "manual__20991231T000000_bad000__000000000000.parquet is unreadable", _landing_truncated),
    Case("landing file not Parquet", "landing", ["load"],
         "manual__20991231T000000_bad000__000000000000.parquet is unreadable",
         _landing_not_parquet),
    Case("landing file wrong schema", "landing", ["load"],
         "manual__20991231T000000_bad000__000000000000.parquet is unreadable",
         _landing_wrong_schema),
    Case("redo of a file outside the landing", "landing", ["landing", "redo", "/etc/hostname"],
         "landing redo: /etc/hostname: not under the landing", None),
    Case("redo of a landing file that reads fine", "landing", ["landing", "redo"],
         "reads fine, nothing to redo", _redo_a_good_file),
    # -- the warehouse ------------------------------------------------------------------------
    Case("warehouse overwritten", "warehouse", ["load"], "warehouse.duckdb", _warehouse_garbage),
    Case("warehouse not a database", "warehouse", ["publish"], "warehouse.duckdb",
         _warehouse_text),
    Case("warehouse is a folder", "warehouse", ["load"], "warehouse.duckdb", _warehouse_folder),
    Case("warehouse from a newer DuckDB", "warehouse", ["load"],
         "warehouse.duckdb: written by a newer DuckDB (storage version 999)",
         _warehouse_from_a_newer_duckdb),
    # -- the disk -------------------------------------------------------------------------------
    Case("disk full writing landing", "disk", ["extract", "--date", str(END)],
         ".parquet: File too large",
         lambda ctx: ctx.one_channel(), file_size_limit=1024),
    Case("landing folder under a file", "disk", ["extract", "--date", str(END)], "not-a-folder",
         _landing_under_a_file),
    Case("reports folder under a file", "disk", ["report"], "not-a-folder",
         _reports_under_a_file),
    Case("snapshot folder read-only", "disk", ["publish"],
         "analytics.duckdb: cannot write the new snapshot (Permission denied)",
         _snapshot_folder_read_only, unprivileged=True),
    Case("folder in the snapshot's place", "disk", ["publish"],
         "elsewhere/analytics.duckdb is a folder, in the way of the snapshot",
         _folder_in_the_snapshots_place),
    Case("disk full writing the snapshot", "disk", ["publish"],
         "analytics.duckdb: cannot write the new snapshot (File too large)",
         None, file_size_limit=2 << 20),
    Case("disk full writing the report", "disk", ["report"],
         "weekly-2026-W46.html: File too large", None, file_size_limit=1 << 20),
]  # fmt: skip


# categories whose cases stop before any data is read or written: they run against the
# published folder itself (the fingerprint check still proves they changed nothing)
SHARED = ("config file", "config values", "credentials", "accounts", "dates")


CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, PR_CAPBSET_DROP = 1, 2, 24


def _limits(case: Case) -> Callable[[], None] | None:
    """What the command runs under: a file size limit (a full disk), and for root, no power
    to override file permissions (dropped from the capability bounding set before exec, so
    root's new program starts without it), so that a read-only folder is one."""
    if case.file_size_limit is None and not case.unprivileged:
        return None

    def preexec() -> None:
        if case.file_size_limit is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past it fails with EFBIG
            limit = case.file_size_limit
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        if case.unprivileged and os.geteuid() == 0:
            libc = ctypes.CDLL(None, use_errno=True)
            for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
                if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
                    raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")

    return preexec


def _paths_in(cfg: dict, data: Path) -> dict:
    cfg = copy.deepcopy(cfg)
    cfg["paths"] = {
        "landing": str(data / "landing"),
        "warehouse": str(data / "warehouse.duckdb"),
        "analytics": str(data / "analytics.duckdb"),
        "reports": str(data / "reports"),
    }
    return cfg


def test_the_cases_cover_the_issue():
    names = [c.name for c in CASES]
    assert len(names) == len(set(names)) and len(CASES) >= 30
    counts: dict[str, int] = {}
    for case in CASES:
        counts[case.category] = counts.get(case.category, 0) + 1
    print("\n" + ", ".join(f"{k}: {v}" for k, v in counts.items()), f"(total {len(CASES)})")
    assert len(counts) >= 10


@pytest.mark.parametrize("case", CASES, ids=[c.name.replace(" ", "-") for c in CASES])
def test_bad_input_stops_with_one_line_and_changes_nothing_published(
    case: Case, published: Published, tmp_path: Path
):
    if case.category in SHARED:  # fails before touching data: runs on the published folder
        data = published.root / "data"
    else:
        data = tmp_path / "data"
        shutil.copytree(published.root / "data", data)
    assert fingerprint(data) == published.fingerprint
    ctx = Ctx(
        tmp_path, data, _paths_in(published.config, data), dict(os.environ), published.sandbox
    )
    if case.setup:
        case.setup(ctx)
    if ctx.raw is None:
        if not ctx.config.is_dir() and ctx.config.name == "contentpulse.yml":
            ctx.config.write_text(yaml.safe_dump(ctx.cfg, allow_unicode=True), encoding="utf-8")
    elif isinstance(ctx.raw, bytes):
        ctx.config.write_bytes(ctx.raw)
    else:
        ctx.config.write_text(ctx.raw, encoding="utf-8")
    run = subprocess.run(
        [CONTENTPULSE, "--config", str(ctx.config), *case.command, *ctx.arguments],
        env=ctx.env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        preexec_fn=_limits(case),
    )
    stderr = run.stderr
    report = f"exit {run.returncode}\nstdout:\n{run.stdout[-3000:]}\nstderr:\n{stderr[-3000:]}"
    assert run.returncode != 0, report
    if case.category == "credentials":  # as docs/operations.md says: fix it, a rerun will not
        assert run.returncode == 2, report
    assert "Traceback" not in stderr and "Traceback" not in run.stdout, report
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, report
    # anything else on stderr is progress ("… step") or a one-line log record
    others = [
        line
        for line in stderr.splitlines()
        if line.strip() and not line.startswith(("error: ", "… ")) and line[2:3] != ":"
    ]
    assert others == [], report
    assert case.expect in errors[0], report
    assert WRONG_TOKEN not in stderr + run.stdout
    assert fingerprint(data) == published.fingerprint, "the published snapshot or report changed"
    assert not list(data.rglob("*.tmp")), "a temporary file was left behind"
