"""The one retry policy every connector uses: backoff that honours Retry-After.

Google's clients either retry without reading Retry-After (google-api-python-client) or
not at all (google-analytics-data), so connectors call through `with_retries` and tell it,
per error, whether to retry and after how long.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
sleep = time.sleep  # a module-level name, so tests can stop the waiting without stopping time


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_delay_s: float = 0.5
    max_delay_s: float = 60.0


class Retry(Exception):
    """Raised by a classifier: this attempt failed transiently; try again."""

    def __init__(self, reason: str, after_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.after_s = after_s


class GaveUp(Exception):
    """Every attempt failed transiently; `reason` is the last failure."""

    def __init__(self, reason: str, attempts: int) -> None:
        super().__init__(f"{reason} (gave up after {attempts} attempts)")
        self.reason = reason
        self.attempts = attempts


def backoff_s(attempt: int, policy: RetryPolicy, retry_after: float | None) -> float:
    """Delay before attempt `attempt + 1`: Retry-After if the server sent it, else jittered exponential."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), policy.max_delay_s)
    return min(
        policy.base_delay_s * 2 ** (attempt - 1) * (0.5 + random.random() / 2), policy.max_delay_s
    )


def with_retries(
    attempt_once: Callable[[], T],
    what: str,
    policy: RetryPolicy,
    on_retry: Callable[[], None] | None = None,
) -> T:
    """Run `attempt_once` until it returns, raises a non-Retry error, or attempts run out."""
    for attempt in range(1, policy.max_attempts + 1):
        try:
            return attempt_once()
        except Retry as retry:
            if attempt == policy.max_attempts:
                raise GaveUp(f"{what}: {retry.reason}", attempt) from None
            delay = backoff_s(attempt, policy, retry.after_s)
            log.warning(
                "%s: %s; retry %d/%d in %.1f s",
                what,
                retry.reason,
                attempt,
                policy.max_attempts - 1,
                delay,
            )
            if on_retry:
                on_retry()
            sleep(delay)
    raise AssertionError("unreachable")
