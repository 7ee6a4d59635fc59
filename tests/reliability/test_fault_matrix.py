"""The fault matrix: every source against every fault, then the next run, then the truth.

Each cell injects one fault into a night's run against its source's sandbox (a 429 with
Retry-After, a 500, a 503, a response slower than the timeout, a malformed body, a
truncated body, an expired token, a quota spent mid-run, the platform's throttling answer)
or SIGKILLs the run's process mid-extract or mid-load. The faulted run must either succeed
after retries or stop cleanly with one error line naming the source's account and no
secret; the next run, without the fault, must leave the warehouse equal to the sandbox's
ground truth: no key lost, none duplicated, every value equal. The outcomes are printed as
a source x fault table at the end of the session (tests/reliability/conftest.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from contentpulse import pipeline
from contentpulse.errors import ContentpulseError
from contentpulse.warehouse import connect, open_warehouse
from sandbox import Fault, Sandbox
from tests.processes import kill_load_mid_transaction, kill_when
from tests.reliability.matrix import (
    FAULTS,
    RETRY_AFTER_S,
    SOURCES,
    FaultRow,
    SourceRow,
    assert_nothing_loaded_twice,
    contentpulse,
    extract,
    landed,
    night,
    secrets,
    source_config,
    window_args,
)


@pytest.fixture(scope="module")
def source_sandbox() -> Iterator[Callable[[SourceRow], Sandbox]]:
    """One running sandbox per source, started when its first cell needs it."""
    running: dict[str, Sandbox] = {}
    with ExitStack() as stack:

        def get(row: SourceRow) -> Sandbox:
            if row.name not in running:
                running[row.name] = stack.enter_context(row.sandbox())
            sandbox = running[row.name]
            sandbox.faults.clear()
            return sandbox

        yield get


@pytest.fixture(scope="module")
def pycache(tmp_path_factory) -> Path:
    """The bytecode cache the killed runs share."""
    return tmp_path_factory.mktemp("pycache")


@pytest.fixture
def waits(monkeypatch) -> list[float]:
    """The retry waits the connectors asked for, recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr("connectors.retry.sleep", recorded.append)
    monkeypatch.setattr("connectors.ga4.client.sleep", lambda s: None)  # quota pacing
    monkeypatch.setattr("connectors.graph.sleep", lambda s: None)  # usage pacing
    return recorded


def assert_one_clean_line(error: str, platform: str, cfg) -> None:
    """One line that names the source and one of its accounts, and no secret."""
    accounts = [a.id for a in dict(cfg.iter_sources())[platform].accounts]
    assert "\n" not in error, error
    assert platform in error and any(a in error for a in accounts), (
        f"the error names neither the source nor its account: {error}"
    )
    leaked = [s for s in secrets() if s in error]
    assert not leaked, f"a secret in the error line: {error}"


def _first_run(row, fault, sandbox, cfg, cfg_path, waits, caplog, pycache) -> str:
    """The run with the fault: what it did, in a few words."""
    if fault.kill == "extract":
        # a slow answer holds one request open (until the kill); other units land meanwhile
        prefix, after = row.hold
        hold = Fault(prefix, "slow", times=1, after=after, delay_s=30.0)
        sandbox.faults.add(hold)
        kill_when(
            contentpulse(cfg_path, "extract", *window_args()),
            lambda: hold.times == 0,
            pycache,
        )
        return f"killed mid-extract ({len(landed(cfg))} files landed)"
    if fault.kill == "load":
        assert not extract(cfg, "before-kill").errors
        inserted, pending = kill_load_mid_transaction(cfg_path, pycache)
        assert inserted >= 1, f"only {pending} landing files: nothing inserted before the kill"
        with connect(cfg.paths.warehouse, read_only=True) as con:
            committed = con.execute("select count(*) from meta.loaded_files").fetchall()[0][0]
        assert committed == 0, "the killed load committed nothing"
        return f"killed mid-load ({inserted} of {pending} files inserted)"
    expect = "stop" if fault.name in row.stops_on else fault.expect
    injected = fault.faults(row)
    planned = [f.times for f in injected]
    for f in injected:
        sandbox.faults.add(f)
    calls_before = sandbox.calls.copy()
    with _google_auth_log(caplog):
        first = extract(cfg, "faulted")
    if first.errors:
        pipeline.load(cfg)  # a stopped night still loads what it landed (the next run the rest)
    for f, times in zip(injected, planned, strict=True):
        # a cell whose fault never struck would prove nothing; a transient fault strikes
        # every time it was planned to, the run retrying through it
        assert f.times < times, f"the {f.kind} fault never struck"
        assert expect == "stop" or f.times == 0, f"the {f.kind} fault struck only partly"
    if fault.name == "429" and expect != "stop":
        assert sum(w >= RETRY_AFTER_S for w in waits) >= 2, f"Retry-After not honoured: {waits}"
    leaked = [s for s in secrets() if s in caplog.text]
    assert not leaked, "a secret in the logs"
    if expect == "stop":
        assert len(first.errors) == 1, first.errors
        assert_one_clean_line(first.errors[0], row.name, cfg)
        return f"stopped cleanly ({_gist(first.errors[0])})"
    assert not first.errors, first.errors
    if fault.name == "expired-token":
        assert row.refreshed is not None
        assert row.refreshed(sandbox.calls - calls_before, caplog.text), "no token refresh"
        return "token refreshed, ok"
    # every strike was a failed attempt that the run retried (none slipped through unseen)
    assert len(waits) >= sum(planned), f"{sum(planned)} strikes, {len(waits)} retries"
    return f"retried {len(waits)}, ok"


@contextmanager
def _google_auth_log(caplog) -> Iterator[None]:
    """google-auth's refresh lines (INFO) in caplog: google-auth stops its loggers from
    propagating to the root logger unless configured, so caplog's handler goes on them."""
    # the Google connectors quiet these loggers when imported: import them first
    import connectors.ga4.client
    import connectors.youtube.client  # noqa: F401

    loggers = [logging.getLogger(n) for n in ("google.auth.transport", "google_auth_httplib2")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(caplog.handler)
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(caplog.handler)
            logger.setLevel(level)


def _gist(error: str) -> str:
    for marker, gist in (
        ("quota", "quota"),
        ("budget", "quota"),
        ("throttled", "throttled"),
        ("rate limit", "rate limit"),
        ("access token", "token"),
        ("credentials", "token"),
    ):
        if marker in error.lower():
            return gist
    return error[:40]


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.name)
@pytest.mark.parametrize("row", SOURCES, ids=lambda r: r.name)
def test_fault_then_next_run_equals_the_truth(
    row: SourceRow,
    fault: FaultRow,
    source_sandbox,
    pycache,
    tmp_path,
    waits,
    caplog,
    record_property,
):
    record_property("fault_matrix", (row.name, fault.name))
    sandbox = source_sandbox(row)
    cfg_path = tmp_path / "contentpulse.yml"
    cfg = source_config(row, sandbox, tmp_path, **(fault.config or {}))
    outcome = _first_run(row, fault, sandbox, cfg, cfg_path, waits, caplog, pycache)
    sandbox.faults.clear()
    record_property("fault_matrix_outcome", f"{outcome} -> ?")

    second = night(cfg, "next")
    assert not second.errors, second.errors
    with connect(cfg.paths.warehouse, read_only=True) as con:
        truth = row.truth_check(con, sandbox)
        assert_nothing_loaded_twice(con, row.name)
    verdict = "resumed, equal" if "stopped" in outcome or "killed" in outcome else "equal"
    record_property("fault_matrix_outcome", f"{outcome} -> {verdict}")
    print(f"{row.name}-{fault.name}: {outcome} -> {verdict} ({truth})")


def test_a_warehouse_whose_creation_was_killed_is_created_anew(tmp_path):
    """A kill between DuckDB creating the warehouse file and writing its header leaves an
    empty file (a kill-load cell met one): the next run starts it over instead of failing
    on it forever; a damaged file with content is never thrown away."""
    unborn = tmp_path / "unborn.duckdb"
    unborn.touch()
    with open_warehouse(unborn) as con:
        assert con.sql("select count(*) from meta.loaded_files").fetchall() == [(0,)]
    damaged = tmp_path / "damaged.duckdb"
    damaged.write_bytes(b"not a database" * 2000)
    with pytest.raises(ContentpulseError, match="not a valid DuckDB database file"):
        with open_warehouse(damaged):
            pass
    assert damaged.stat().st_size == len(b"not a database") * 2000
    short = tmp_path / "short.duckdb"  # shorter than a header, but not ours to delete
    short.write_text("notes, not a database\n")
    with pytest.raises(ContentpulseError, match=r"short\.duckdb"):
        with open_warehouse(short):
            pass
    assert short.read_text() == "notes, not a database\n"
