"""Signalling a run at a chosen moment: the SIGKILL tests (a worker under `airflow dags test`,
the fault matrix's kill cells, the CSV exports' killed runs) and the SIGTERM and SIGINT
tests of the operations suite share this one helper."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def kill_when(
    command: list[str],
    ready: Callable[[], bool],
    pycache: Path | None = None,
    *,
    env: dict[str, str] | None = None,
    timeout_s: float = 60,
) -> None:
    """Run `command` in its own process group and SIGKILL the group once `ready()`, which
    must come while it still runs (the kill is the point).

    `pycache`: a bytecode cache the runs share. Where PYTHONDONTWRITEBYTECODE is set and the
    environment holds no compiled modules, each run would compile every import again."""
    signal_when(command, ready, signal.SIGKILL, pycache, env=env, timeout_s=timeout_s)


def signal_when(
    command: list[str],
    ready: Callable[[], bool],
    signum: signal.Signals,
    pycache: Path | None = None,
    *,
    env: dict[str, str] | None = None,
    timeout_s: float = 60,
) -> tuple[int, str]:
    """Run `command` in its own process group, send `signum` to the group once `ready()`
    (which must come while it still runs), and wait for it to end: (exit code, stderr).
    A run that outlives `timeout_s` after the signal is killed, and fails the test."""
    env = dict(os.environ if env is None else env)
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    # stderr to a file, not a pipe: a chatty run (Airflow) would block on a full pipe
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )

        def output() -> str:
            stderr.seek(0)
            return stderr.read().decode(errors="replace")

        deadline = time.monotonic() + timeout_s
        try:
            while not ready():
                if proc.poll() is not None:
                    tail = output()[-2000:]
                    raise AssertionError(f"the run ended before the moment to signal it: {tail!r}")
                assert time.monotonic() < deadline, "the moment to signal the run never came"
                time.sleep(0.01)
            alive = proc.poll() is None
            os.killpg(proc.pid, signum)
            code = proc.wait(timeout=timeout_s)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        assert alive, "the run had already ended when it was signalled"
        return code, output()


# `contentpulse load` whose landing files come through a gate: once half of them (at least
# one) are inserted, inside the load's one transaction, it writes the marker and waits to be
# killed
_HELD_LOAD = """
import sys, time
from pathlib import Path
from transforms import load
from contentpulse.cli import main

marker, real = Path(sys.argv[1]), load.fetch_files

def gated(store, files):
    half = max(1, len(files) // 2)
    for i, item in enumerate(real(store, files), 1):
        yield item
        if i == half:  # the loader has inserted this file and asks for the next
            # written whole, then renamed: the killer waits for the marker to exist
            marker.with_suffix(".part").write_text(f"{i} of {len(files)}")
            marker.with_suffix(".part").rename(marker)
            time.sleep(3600)

load.fetch_files = gated
sys.exit(main(sys.argv[2:]))
"""


def kill_load_mid_transaction(config: Path, pycache: Path | None = None) -> tuple[int, int]:
    """Run a real `contentpulse load` that stops inside its transaction once half its
    pending files (at least one) are inserted, and SIGKILL it there: (inserted, pending)."""
    with tempfile.TemporaryDirectory() as folder:
        marker = Path(folder) / "held"
        command = [sys.executable, "-c", _HELD_LOAD, str(marker), "--config", str(config), "load"]
        kill_when(command, marker.exists, pycache)
        inserted, pending = map(int, marker.read_text().split(" of "))
    return inserted, pending


# `contentpulse ...` with one function held: once its `nth` call on the main thread has
# returned (with `before`: before it runs), the marker is written and the run waits to be
# signalled there (a step caught mid-write, its temporary files on disk)
_HELD_AT = """
import importlib, sys, threading, time
from pathlib import Path
from contentpulse.cli import main

marker, target, before, nth = Path(sys.argv[1]), sys.argv[2], sys.argv[3] == "before", int(sys.argv[4])
module_name, attribute = target.split(":")
*owners, name = attribute.split(".")
module = importlib.import_module(module_name)
for owner in owners:  # module:Class.method
    module = getattr(module, owner)
real = getattr(module, name)
calls = []

def hold():
    if threading.current_thread() is threading.main_thread() and len(calls) == nth:
        marker.write_text("held")
        time.sleep(3600)

def held(*args, **kwargs):
    if threading.current_thread() is threading.main_thread():
        calls.append(1)
    if before:
        hold()
    result = real(*args, **kwargs)
    if not before:
        hold()
    return result

setattr(module, name, held)
sys.exit(main(sys.argv[5:]))
"""


def signal_held(
    target: str,
    cli_args: list[str],
    signum: signal.Signals,
    pycache: Path | None = None,
    *,
    before: bool = False,
    nth: int = 1,
    also: Callable[[], bool] = lambda: True,
) -> tuple[int, str]:
    """Run `contentpulse <cli_args>` with `target` ("module:function" or
    "module:Class.method") held on the main thread just after its `nth` call there returns
    (`before`: just before it runs), send `signum` there once `also()` holds too, and wait
    for the end: (exit code, stderr)."""
    with tempfile.TemporaryDirectory() as folder:
        marker = Path(folder) / "held"
        command = [
            sys.executable,
            "-c",
            _HELD_AT,
            str(marker),
            target,
            "before" if before else "after",
            str(nth),
            *cli_args,
        ]
        return signal_when(command, lambda: marker.exists() and also(), signum, pycache)


def results(out: Path) -> list[dict]:
    """The JSON lines a reader process wrote so far (a line still being written is left out)."""
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text().splitlines() if line.endswith("}")]


def wait_for(predicate: Callable[[], bool], what: str, limit_s: float = 120) -> None:
    """Poll until `predicate()`; a bound against hanging, not a timing assertion."""
    deadline = time.monotonic() + limit_s
    while not predicate():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def no_errors(steps: list) -> None:
    """Pipeline steps (StepResults) that all ran without an error."""
    errors = [e for s in steps for e in s.errors]
    assert not errors, errors
