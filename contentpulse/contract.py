"""The connector contract: what a connector declares, and the hooks the pipeline calls.

Every `connectors/<platform>/` package has the same four files: `settings.py` (its config
model, its landing streams' Arrow schemas, and `CONNECTOR`, this module's `Connector`),
`__init__.py` (the hooks, as `HOOKS`), `client.py` (the API or file client) and README.md.
A connector is registered by an entry point of the group `contentpulse.connectors` in
pyproject.toml (`youtube = "connectors.youtube.settings:CONNECTOR"`): the kernel finds it
there (contentpulse/registry.py) and imports nothing of the connectors by name.

A connector never reads or writes the landing. The pipeline gives it its state (what
earlier runs landed, read from the streams its `LandedState` names) and lands what it
returns. The hooks are checked against the signatures below when first resolved, so a
connector that drifts from the contract fails with one line naming the hook.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from contentpulse.errors import ContentpulseError

# each hook's parameters, by name and in order (further ones must have defaults)
SIGNATURES: dict[str, tuple[str, ...]] = {  # "*": any name (the connector's own unit)
    "plan_chunks": ("window",),
    "budget": ("source",),
    "metric_units": ("chunk", "*"),
    "extract_items": ("account", "window", "source", "conn", "run_id", "throttle", "state"),
    "extract_metrics": ("account", "chunk", "*", "source", "conn", "run_id", "throttle"),
}


def one_unit_per_chunk(chunk: Any, items: Any) -> list[Any]:
    """The default `metric_units`: each chunk is one unit, with what extract_items returned."""
    return [items]


@dataclass(frozen=True)
class LandedState:
    """What a connector resumes from: these columns of these landed streams of one account
    (the pipeline reads them, None for a stream nothing landed of), turned into the
    connector's own state by `read`."""

    columns: Mapping[str, tuple[str, ...]]
    read: Callable[[Mapping[str, Any]], Any]


@dataclass(frozen=True)
class Hooks:
    """The functions the pipeline calls, per unit of work:

    - `extract_items(account, window, source, conn, run_id, throttle, state)` -> (an
      ExtractResult of the account's metadata, what the metric units need);
    - `metric_units(chunk, items)` -> the units one window chunk splits into;
    - `extract_metrics(account, chunk, unit, source, conn, run_id, throttle)` -> an
      ExtractResult;
    - `plan_chunks(window)` -> the chunks of a window (month-long, or the window whole);
    - `budget(source)` -> the per-run quota budget.

    `resume_by_window`: a resumed backfill skips the chunks already landed (False when the
    landed state itself says what is left, as for lifetime counters).
    """

    plan_chunks: Callable[..., Any]
    extract_items: Callable[..., Any]
    extract_metrics: Callable[..., Any]
    budget: Callable[..., Any]
    metric_units: Callable[..., Any] = one_unit_per_chunk
    landed_state: LandedState | None = None
    resume_by_window: bool = True

    def extract(
        self,
        account: Any,
        window: Any,
        source: Any,
        conn: Any,
        run_id: str,
        throttle: Any = None,
        state: Any = None,
    ) -> Iterator[Any]:
        """Every unit for `window` in order, one after another: the items, then each chunk's
        units. The pipeline runs the same units in parallel and resumes; this is the
        one-shot form."""
        result, items = self.extract_items(account, window, source, conn, run_id, throttle, state)
        yield result
        for chunk in self.plan_chunks(window):
            for unit in self.metric_units(chunk, items):
                yield self.extract_metrics(account, chunk, unit, source, conn, run_id, throttle)

    def check(self, platform: str) -> Hooks:
        for name, expected in SIGNATURES.items():
            hook = getattr(self, name)
            if not callable(hook):
                raise ContentpulseError(f"connector {platform}: hook {name} is not a function")
            params = list(inspect.signature(hook).parameters.values())
            got = tuple(p.name for p in params[: len(expected)])
            extra = [p.name for p in params[len(expected) :] if p.default is p.empty]
            if (
                len(got) < len(expected)
                or extra
                or any(e not in ("*", g) for e, g in zip(expected, got, strict=True))
            ):
                raise ContentpulseError(
                    f"connector {platform}: hook {name}{tuple(p.name for p in params)} "
                    f"does not match the contract {name}{expected}"
                )
        return self


@dataclass(frozen=True)
class Connector:
    """A platform's connector as the kernel knows it, from its settings module alone (no
    client library is imported until a hook is needed)."""

    platform: str  # the config's `sources.<platform>`, the landing's `source=`
    rank: int  # where it comes among the platforms (config, DAG, listings): lowest first
    name: str  # as a reader names it: "YouTube"
    settings: type  # the pydantic model of `sources.<platform>`
    schemas: Mapping[str, Any]  # landed stream -> its Arrow schema
    hooks_at: str  # "<module>:<attribute>" of its Hooks
    concurrent_requests: int = 4  # what the API takes at once from one app: sizes its pool
    # the extra fields its connection must hold: any one of these sets; () = no credentials
    connection_fields: tuple[tuple[str, ...], ...] = ()
    needs_credentials: bool = True
    # a window in the past can be read (False: lifetime counters, read only as they are now)
    reads_history: bool = True
    # the platforms its rows carry, as readers name them (a CSV export's LinkedIn, X)
    names: Mapping[str, str] = field(default_factory=dict)

    def display(self, platform: str | None = None) -> str:
        """How a reader names `platform` (one of this connector's rows' platforms)."""
        platform = platform or self.platform
        return self.names.get(platform, self.name if platform == self.platform else platform)

    @cached_property
    def hooks(self) -> Hooks:
        module, _, attribute = self.hooks_at.partition(":")
        hooks = getattr(importlib.import_module(module), attribute, None)
        if not isinstance(hooks, Hooks):
            raise ContentpulseError(f"connector {self.platform}: {self.hooks_at} is not Hooks")
        return hooks.check(self.platform)
