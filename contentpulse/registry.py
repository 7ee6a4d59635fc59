"""The one platform registry: the connectors installed as `contentpulse.connectors` entry
points (pyproject.toml), each ranked by its Connector.

The config's `sources`, the Airflow pools, the DAG's mapped extracts, the loader's raw
tables, the report's platform names and the demo are all built from it. `platforms()` reads
the entry points' names only (the DAG files call it at parse time); `connectors()` loads each
connector's settings module and checks it against the contract.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

from contentpulse.contract import Connector
from contentpulse.errors import ContentpulseError

GROUP = "contentpulse.connectors"


@cache
def platforms() -> tuple[str, ...]:
    """The registered platforms' names, without importing them (not ranked: the DAG files
    call this at parse time; `connectors()` gives the rank)."""
    names = tuple(dict.fromkeys(ep.name for ep in entry_points(group=GROUP)))
    if not names:
        raise ContentpulseError(
            f"no connector is registered (entry points {GROUP!r}): install the project "
            "(uv sync) so that its entry points exist"
        )
    return names


@cache
def connectors() -> dict[str, Connector]:
    """Every registered connector, checked (its entry point names a Connector of its name),
    by rank."""
    found: dict[str, Connector] = {}
    points = {ep.name: ep for ep in entry_points(group=GROUP)}
    for name in platforms():
        connector = points[name].load()
        if not isinstance(connector, Connector) or connector.platform != name:
            raise ContentpulseError(
                f"connector {name}: {points[name].value} is not the Connector of {name!r}"
            )
        found[name] = connector
    return dict(sorted(found.items(), key=lambda kv: (kv[1].rank, kv[0])))


def connector(platform: str) -> Connector:
    try:
        return connectors()[platform]
    except KeyError:
        raise ContentpulseError(f"no connector for platform {platform!r}") from None


def display_name(platform: str) -> str:
    """How a reader names a platform of the rows (a connector's own, or one its rows carry)."""
    for c in connectors().values():
        if platform == c.platform or platform in c.names:
            return c.display(platform)
    return platform
