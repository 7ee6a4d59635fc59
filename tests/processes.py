"""Killing a run at a chosen moment: the SIGKILL tests (a worker under `airflow dags test`,
the fault matrix's kill cells, the CSV exports' killed runs) share this one helper."""

from __future__ import annotations

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
        deadline = time.monotonic() + timeout_s
        try:
            while not ready():
                if proc.poll() is not None:
                    stderr.seek(0)
                    tail = stderr.read()[-2000:].decode(errors="replace")
                    raise AssertionError(f"the run ended before the moment to kill it: {tail!r}")
                assert time.monotonic() < deadline, "the moment to kill the run never came"
                time.sleep(0.01)
            alive = proc.poll() is None
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert alive, "the run had already ended when it was killed"


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
            marker.write_text(f"{i} of {len(files)}")
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
