"""The `contentpulse` command: every pipeline step, the whole night, backfills, the demo."""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import signal
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from contentpulse.errors import ContentpulseError

log = logging.getLogger("contentpulse")


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def _yesterday() -> date:
    return datetime.now(UTC).date() - timedelta(days=1)


def setup_logging(verbose: bool = False) -> None:
    """By default a run prints one line per step (and warnings); `-v` adds what each step
    logs as it goes: the per-table check lines, per-account extraction figures, the
    identity and findings summaries."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    for name in ("contentpulse", "connectors", "transforms", "models", "reports"):
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.WARNING)


_last_progress = [""]


def _progress(message: str) -> None:
    """On a terminal, one line rewritten in place; elsewhere (a log file, CI), a line when
    a new step starts, not one per unit of work."""
    _Run.where = message
    if sys.stderr.isatty():
        print(f"\r\033[K… {message}", end="", file=sys.stderr, flush=True)
        return
    step = message.split(":", 1)[0]
    if step != _last_progress[0]:
        _last_progress[0] = step
        print(f"… {message}", file=sys.stderr, flush=True)


def _finish(steps, started: float) -> int:
    if sys.stderr.isatty():
        print("\r\033[K", end="", file=sys.stderr)
    for step in steps:
        print(step.line())
    errors = [e for s in steps for e in s.errors]
    for err in errors:
        print(f"error: {err}", file=sys.stderr)
    print(
        f"done in {time.perf_counter() - started:.1f} s"
        + (f", {len(errors)} failed" if errors else "")
    )
    if not errors:
        return 0
    return max([1] + [s.exit_code for s in steps])  # 2: a credentials error among them


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, like every other error (the usage is in --help)."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("contentpulse")
    except PackageNotFoundError:  # a source tree that was never installed
        return "unknown"


EPILOG = """exit codes: 0 all is well; 1 some accounts failed (the others are loaded and
published; the next run retries); 2 a usage, config, credentials or check error (fix it:
a rerun alone will not)"""


_Commands = argparse._SubParsersAction  # what add_subparsers returns


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="contentpulse",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--config", help="config file (default: $CONTENTPULSE_CONFIG or ./contentpulse.yml)"
    )
    p.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also log what each step does as it goes (per-table checks, per-account figures)",
    )
    p.add_argument("--version", action="version", version=f"contentpulse {_version()}")
    sub = p.add_subparsers(dest="command", required=True, metavar="command")
    _add_sandbox_command(sub)
    _add_step_commands(sub)
    _add_tool_commands(sub)
    return p


def _add_sandbox_command(sub: _Commands) -> None:
    """`sandbox serve`: the local fake APIs."""
    sb = sub.add_parser("sandbox", help="the local fake APIs").add_subparsers(
        dest="sandbox_command", required=True
    )
    serve = sb.add_parser("serve", help="serve the sandbox APIs on 127.0.0.1 until interrupted")
    serve.add_argument(
        "--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765; 0: any free one)"
    )
    serve.add_argument("--today", type=_date, help="the sandbox's clock (default: today, UTC)")
    serve.add_argument(
        "--write-config", type=Path, help="write a contentpulse.yml for this sandbox here"
    )
    serve.add_argument(
        "--data-dir",
        type=Path,
        default=Path("demo/airflow-data"),
        help="data folder named in the written config",
    )


def _add_step_commands(sub: _Commands) -> None:
    """The night's steps, each on its own, and the whole night or a backfill."""
    ex = sub.add_parser("extract", help="extract every account into landing files")
    ex.add_argument(
        "--date", type=_date, help="night to extract (with lookback); default yesterday"
    )
    ex.add_argument("--start", type=_date, help="first date of a range (with --end; no lookback)")
    ex.add_argument("--end", type=_date, help="last date of a range (with --start)")
    sub.add_parser("load", help="load new landing files into the warehouse")
    bd = sub.add_parser("build", help="build the models (incremental unless --full)")
    bd.add_argument(
        "--full",
        action="store_true",
        help="rebuild every model from all raw data (a night builds only new and restated days)",
    )
    ck = sub.add_parser("check", help="run the quality checks on the latest build")
    ck.add_argument("--date", type=_date, help="the run date checked against (default yesterday)")
    sub.add_parser("publish", help="publish the checked build as analytics.duckdb")
    rp = sub.add_parser("report", help="build the weekly report from the published snapshot")
    rp.add_argument("--week", help="ISO week like 2026-W47 (default: the last complete week)")
    rp.add_argument(
        "--send",
        action="store_true",
        help="then deliver it: the site, the email and the chat message of `delivery:` in the config",
    )
    run = sub.add_parser(
        "run", help="the whole night: extract -> load -> build -> check -> publish -> report"
    )
    run.add_argument("--date", type=_date, help="reporting date of the night (default yesterday)")
    bf = sub.add_parser("backfill", help="extract a date range, then load -> ... -> report")
    bf.add_argument("--start", type=_date, help="first date (default: history_start in the config)")
    bf.add_argument("--end", type=_date, required=True, help="last date (required)")
    bf.add_argument(
        "--no-resume",
        action="store_true",
        help="re-read chunks an earlier backfill already landed (default: skip them)",
    )


def _add_tool_commands(sub: _Commands) -> None:
    """The landing files' repair, the Airflow pools, the demo and each account's status."""
    landing = sub.add_parser(
        "landing", help="landing files: name those that no longer parse, re-extract them"
    ).add_subparsers(dest="landing_command", required=True)
    landing.add_parser("check", help="read every landing file whole; name those that do not parse")
    redo = landing.add_parser(
        "redo", help="set unreadable landing files aside and extract their windows again"
    )
    redo.add_argument("files", nargs="+", help="landing files: a path, or as a warning names it")
    pools = sub.add_parser("pools", help="the Airflow pools this config needs (sizes per source)")
    pools.add_argument("--json", type=Path, help="write them for `airflow pools import FILE`")
    demo = sub.add_parser("demo", help="the whole night against the sandbox, no credentials needed")
    demo.add_argument(
        "--dir", type=Path, default=Path("demo"), help="working folder (default ./demo)"
    )
    st = sub.add_parser(
        "status",
        help="each account's state: newest day landed, last run and failure, quota, next reads",
    )
    st.add_argument("--json", action="store_true", help="one JSON object per account, as a list")


class _Run:
    """Where the command is (its name, then each progress message), and the signal that
    stopped it, if one did."""

    where = ""
    signal: signal.Signals | None = None


def _stop(signum: int, frame: object) -> None:
    """SIGTERM (Airflow's timeout or clear, a service manager) and SIGINT stop the command
    as an exception: every step's cleanup runs (temporary files removed, the warehouse's
    transaction rolled back, extract units not started are cancelled)."""
    _Run.signal = _Run.signal or signal.Signals(signum)
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    setup_logging(args.verbose)
    _Run.where, _Run.signal = args.command, None
    handled = (signal.SIGTERM, signal.SIGINT)
    main_thread = threading.current_thread() is threading.main_thread()
    before = {s: signal.signal(s, _stop) for s in handled} if main_thread else {}
    try:
        return _dispatch(args)
    except BaseException as exc:  # each kind becomes one line, or re-raises
        return _one_line(args.command, exc)
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)


def _one_line(command: str, exc: BaseException) -> int:
    """An error as one `error:` line on stderr, and the exit code; a bug re-raises."""
    if _Run.signal is not None and command != "sandbox":
        # whatever the interrupt became on its way out (DuckDB turns it into "Query
        # interrupted"), the run was stopped
        print(
            f"error: {command}: stopped by {_Run.signal.name} during {_Run.where}; what had "
            "finished is kept (landed files, the published snapshot and reports), and the "
            "next run resumes from there",
            file=sys.stderr,
        )
        return 128 + _Run.signal
    if isinstance(exc, ContentpulseError):
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if isinstance(exc, OSError):  # a full disk, a folder that is a file, a permission
        where = f"{exc.filename}: " if exc.filename else ""
        what = exc.strerror if exc.filename and exc.strerror else str(exc).splitlines()[0]
        print(f"error: {command}: {where}{what}", file=sys.stderr)
        return 2
    if isinstance(exc, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
        return 130
    if type(exc).__module__.split(".")[0] in ("duckdb", "_duckdb"):
        import duckdb

        if isinstance(exc, duckdb.IOException):  # a file DuckDB cannot read or write
            print(f"error: {command}: {str(exc).splitlines()[0]}", file=sys.stderr)
            return 2
    raise exc


def _dispatch(args: argparse.Namespace) -> int:
    from contentpulse import pipeline
    from contentpulse.config import load_config

    started = time.perf_counter()
    if args.command == "demo":
        return _demo(args.dir, started)
    if args.command == "sandbox":
        return _serve(args)
    _not_in_future(args)
    cfg = load_config(args.config)
    if args.command == "backfill" and args.start is None:
        if cfg.history_start is None:
            raise ContentpulseError("backfill: give --start, or set history_start in the config")
        args.start = cfg.history_start
    if args.command == "pools":
        return _pools(cfg, args.json)
    if args.command == "status":
        return _status(cfg, args.json)
    if args.command == "extract":
        if args.start or args.end:
            if not (args.start and args.end):
                raise ContentpulseError("extract: give both --start and --end, or --date")
            if args.end < args.start:
                raise ContentpulseError(f"extract: --end {args.end} is before --start {args.start}")
            from contentpulse.streams import Window

            windows = {p: Window(args.start, args.end) for p, _ in cfg.iter_sources()}
        else:
            run_date = args.date or _yesterday()
            windows = {p: pipeline.night_window(cfg, p, run_date) for p, _ in cfg.iter_sources()}
        return _finish([pipeline.extract(cfg, windows, pipeline.new_run_id(), _progress)], started)
    steps = {
        "load": lambda: [pipeline.load(cfg)],
        "build": lambda: [pipeline.build(cfg, full=args.full)],
        "check": lambda: [pipeline.check(cfg, args.date or _yesterday())],
        "publish": lambda: [pipeline.publish(cfg)],
        "landing": lambda: [
            pipeline.landing_check(cfg)
            if args.landing_command == "check"
            else pipeline.landing_redo(cfg, args.files, _progress)
        ],
        "report": lambda: pipeline.report_and_send(cfg, args.week, args.send),
        "run": lambda: pipeline.run_night(cfg, args.date or _yesterday(), progress=_progress),
        "backfill": lambda: pipeline.backfill(
            cfg, args.start, args.end, progress=_progress, resume=not args.no_resume
        ),
    }[args.command]()
    return _finish(steps, started)


def _not_in_future(args: argparse.Namespace) -> None:
    """Reporting dates end today in the time zone furthest ahead: UTC's today + 1 at most."""
    from contentpulse.config import latest_reporting_date

    latest = latest_reporting_date()
    for flag in ("date", "end"):
        day = getattr(args, flag, None)
        if isinstance(day, date) and day > latest:
            raise ContentpulseError(
                f"{args.command}: --{flag} {day} is in the future (today is {latest - timedelta(days=1)} UTC)"
            )


def _status(cfg, as_json: bool) -> int:
    """`contentpulse status`: one row per account (dlt's `pipeline info`, for every account)."""
    import json

    from contentpulse.pipeline import status

    rows = status(cfg)
    if as_json:
        print(json.dumps([r.as_json() for r in rows], indent=2, ensure_ascii=False))
        return 0

    def when(value) -> str:
        return value.strftime("%Y-%m-%d %H:%M") if value else "never"

    header = (
        "account",
        "newest day",
        "last ok run",
        "last failure",
        "calls",
        "quota",
        "estimated",
        "next night re-reads",
    )
    table = [header]
    for r in rows:
        table.append(
            (
                f"{r.platform} {r.name}",
                str(r.newest_complete_day or "none"),
                when(r.last_success_at),
                when(r.last_failure_at) if r.last_failure else "none",
                "" if r.last_run_calls is None else f"{r.last_run_calls:,}",
                "" if r.last_run_quota is None else f"{r.last_run_quota:,}",
                "" if r.estimated_share_7d is None else f"{r.estimated_share_7d:.0%}",
                r.next_reads,
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    failed = [r for r in rows if r.last_failure]
    if failed:
        print()
    for r in failed:
        print(f"last failure of {r.platform} {r.account_id}: {r.last_failure}")
    print(
        "\nnewest day: the newest complete day landed; calls and quota: the last run's; "
        "estimated: the estimated share of the last 7 published days' views"
    )
    return 0


def _pools(cfg, out: Path | None) -> int:
    import json

    from contentpulse.pools import pools_json

    pools = pools_json(cfg)
    for name, pool in pools.items():
        print(f"{name:<28} {pool['slots']:>3} slots  {pool['description']}")
    if out is not None:
        out.write_text(json.dumps(pools, indent=2) + "\n", encoding="utf-8")
        print(f"written to {out} (airflow pools import {out})")
    return 0


def _demo(workdir: Path, started: float) -> int:
    from contentpulse.demo import EXAMPLE_QUERY, run_demo

    cfg, steps = run_demo(workdir, progress=_progress)
    code = _finish(steps, started)
    report = next((s.outputs["path"] for s in steps if s.step == "report"), None)

    def rel(p: Path | str) -> str:
        return os.path.relpath(p) if not os.path.relpath(p).startswith("..") else str(p)

    duckdb_cli = Path(sys.executable).parent / "duckdb"
    cli = rel(duckdb_cli) if duckdb_cli.exists() else "duckdb"
    print()
    print(f"Report:        {rel(report) if report else '(not built)'}")
    print(f"All reports:   {rel(cfg.paths.reports / 'index.html')}")
    print(f"Analytics DB:  {rel(cfg.paths.analytics)}")
    print("Try a query:")
    print(f"  {cli} -readonly {shlex.quote(rel(cfg.paths.analytics))} {shlex.quote(EXAMPLE_QUERY)}")
    return code


def _serve(args: argparse.Namespace) -> int:
    from contentpulse.demo import use_sandbox_connections, write_sandbox_config
    from sandbox import Portfolio, Sandbox
    from sandbox.csv_exports import ExportPortfolio
    from sandbox.ga4_portfolio import Ga4Portfolio
    from sandbox.social_portfolio import SocialPortfolio

    today = args.today or datetime.now(UTC).date()
    night = today - timedelta(days=1)
    portfolio = Portfolio.demo(end=night)
    sandbox = Sandbox(
        portfolio,
        clock=today,
        port=args.port,
        ga4=Ga4Portfolio.demo(portfolio),
        social=SocialPortfolio.demo(portfolio),
    )
    if args.write_config:
        use_sandbox_connections()
        data_dir = args.data_dir.resolve()
        exports = ExportPortfolio.demo(night)
        for account_id in exports.specs:  # the CSV exports a team would drop in the inbox
            exports.write(data_dir / "inbox" / account_id, account_id, night)
        write_sandbox_config(args.write_config, sandbox, data_dir, exports=exports)
        print(f"config for this sandbox: {args.write_config}")
    print(
        f"sandbox serving YouTube Data v3 + Analytics v2, the GA4 Data API, the Graph API "
        f"(Instagram, Facebook) and TikTok's APIs on {sandbox.base_url} (Ctrl-C stops)",
        flush=True,
    )
    try:
        sandbox.serve_forever()
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
