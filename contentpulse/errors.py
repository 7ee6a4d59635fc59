"""The one exception type a user sees: a single line naming what is wrong."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


class ContentpulseError(Exception):
    """An error whose message is a complete, one-line explanation for the user.

    Raise it where the cause is known (the file, field, account or call), never with
    a secret in the text. The CLI prints it as `error: <message>` and exits 2.
    """


class ConfigError(ContentpulseError):
    """The configuration file is missing, malformed or invalid."""


class CredentialsError(ContentpulseError):
    """Credentials for an account are missing or rejected."""


class SourceError(ContentpulseError):
    """A platform API answered in a way the connector cannot use."""


class CheckFailed(ContentpulseError):
    """A critical data-quality expectation failed; publication is blocked."""


@contextmanager
def naming(path: object) -> Iterator[None]:
    """An OSError raised inside names `path` if it names no file of its own (a write that
    fails on a full disk says only `[Errno 27] File too large`), so that the CLI's one line
    says which file. Errors that name their file are left as they are."""
    try:
        yield
    except OSError as exc:
        if exc.filename is not None:
            raise
        what = os.strerror(exc.errno) if exc.errno else str(exc).splitlines()[0]
        raise OSError(exc.errno, what, str(path)) from None
