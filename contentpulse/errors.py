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
    """An OSError raised inside names `path`, the file the user knows: a write that fails on
    a full disk names no file at all (`[Errno 27] File too large`), and one into a temporary
    file beside `path` would name that. The CLI prints it as one line."""
    try:
        yield
    except OSError as exc:
        what = os.strerror(exc.errno) if exc.errno else str(exc).splitlines()[0]
        raise OSError(exc.errno, what, str(path)) from None


class NothingToPublish(ContentpulseError):
    """The latest build was not checked, or its check blocked it: the last published
    snapshot stays."""
