"""What every connector returns: the stream tables of one (account, window) extraction."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta

import pyarrow as pa

from contentpulse.errors import SourceError

# the `links` column: URLs in a title, description or caption, with or without a scheme
from contentpulse.links import find_links as find_links

_HASHTAG = re.compile(r"#(\w+)")


def find_hashtags(text: str) -> list[str]:
    """The hashtags in a caption, without the `#`, in order (the social `tags` column)."""
    return _HASHTAG.findall(text or "")


def one_line(text: object, limit: int = 200) -> str:
    """An API's text (an error code, a reason, a message) squeezed into one line of at most
    `limit` characters, for an error line."""
    return " ".join(str(text or "").split())[:limit]


@contextmanager
def parsing(what: str) -> Iterator[None]:
    """Parse a piece of a response: one of an unexpected shape (a field missing, a value of
    the wrong kind) is one SourceError line naming `what`, not a KeyError or TypeError."""
    try:
        yield
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        if isinstance(exc, KeyError):
            reason = f"no {exc.args[0]!r} field"
        else:
            reason = one_line(exc)
        raise SourceError(f"{what}: malformed response ({reason})") from None


def text_id(value: object) -> str:
    """An object's id as text (Graph and YouTube send strings, TikTok numbers); a missing,
    empty or structured id is a ValueError."""
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise ValueError(f"id {value!r} is not an identifier")
    return str(value)


@dataclass(frozen=True)
class Window:
    """Inclusive range of reporting dates, in the account's time zone."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"window end {self.end} is before its start {self.start}")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def chunks(self, max_days: int) -> list[Window]:
        out, day = [], self.start
        while day <= self.end:
            last = min(self.end, day + timedelta(days=max_days - 1))
            out.append(Window(day, last))
            day = last + timedelta(days=1)
        return out

    def __str__(self) -> str:
        return f"{self.start.isoformat()}_{self.end.isoformat()}"


@dataclass
class CallLog:
    """API calls made and quota units spent by one extraction."""

    calls: int = 0
    units: int = 0
    retries: int = 0
    by_endpoint: dict[str, int] = field(default_factory=dict)

    def record(self, endpoint: str, units: int) -> None:
        self.calls += 1
        self.units += units
        self.by_endpoint[endpoint] = self.by_endpoint.get(endpoint, 0) + 1


@dataclass
class ExtractResult:
    platform: str
    account_id: str
    window: Window
    tables: dict[str, pa.Table]
    calls: CallLog
    last_date_returned: date | None = None

    @property
    def rows(self) -> int:
        return sum(t.num_rows for name, t in self.tables.items() if name != "extract_log")
