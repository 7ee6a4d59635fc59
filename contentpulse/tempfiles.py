"""Temporary files: written beside their final path under a name that says which process
writes them, removed when that process fails or is interrupted, swept when a kill left them.

A file (a landing Parquet, the snapshot, a report page, the Data Docs folder) is written as
`.<name>.<host>-<pid>.tmp` and renamed over `<name>`; DuckDB adds `.wal` beside a database,
and a folder being swapped out is `.<name>.<host>-<pid>.old` for a moment. A writer removes
its own on any exception (a full disk, SIGINT, SIGTERM); only SIGKILL (or a power cut) can
leave one, and `sweep` removes those of this host whose process is gone at the next start.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
from pathlib import Path

log = logging.getLogger("contentpulse")
HOST = re.sub(r"[^A-Za-z0-9]+", "_", socket.gethostname())[:40] or "host"
_TEMPORARY = re.compile(r"^\..+\.(?P<host>[A-Za-z0-9_]+)-(?P<pid>\d+)\.(?:tmp|old)(?:\.wal)?$")


def temp_path(final: Path, kind: str = "tmp") -> Path:
    """Where this process writes `final` before renaming it (`kind`: tmp, or old for a
    folder on its way out)."""
    return final.with_name(f".{final.name}.{HOST}-{os.getpid()}.{kind}")


def remove(*paths: Path) -> None:
    """Remove temporary files or folders, whichever they are, if they exist."""
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def sweep(folder: Path) -> list[Path]:
    """Remove the temporary files in `folder` left by processes of this host that are gone
    (a SIGKILL mid-write); say so in one line. Those of running processes are theirs."""
    try:
        entries = list(folder.iterdir())
    except OSError:  # no folder yet, or one the step itself will name in its error
        return []
    left = []
    for path in entries:
        match = _TEMPORARY.match(path.name)
        if match and match["host"] == HOST and not _alive(int(match["pid"])):
            left.append(path)
    if left:
        remove(*left)
        names = ", ".join(sorted(p.name for p in left))
        log.warning("%s: removed what a killed run left: %s", folder, names)
    return left
