"""Credentials for an account, looked up by its Airflow connection id.

Inside Airflow the connection comes from Airflow (its metadata DB or secrets backend).
Outside Airflow it comes from the environment in Airflow's own formats,
`AIRFLOW_CONN_<CONN_ID>` holding the connection as JSON or as a URI
(`smtp://user:pass@host:587?from_email=a%40b.c`, extras as query parameters or a JSON
`__extra__`), so one definition serves both.
Secrets are wrapped so that they never print: not in logs, reprs or exception text.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from contentpulse.errors import CredentialsError


class Secret:
    """A string that refuses to show itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class Connection:
    conn_id: str
    conn_type: str = ""
    login: str = ""
    password: Secret = field(default_factory=lambda: Secret(""))
    extra: dict[str, Any] = field(default_factory=dict, repr=False)
    host: str = field(default="", repr=False)  # a webhook's host is its secret URL
    port: int | None = None
    schema: str = ""  # a database connection's database (Airflow calls it schema)

    @property
    def named(self) -> str:
        """How an error line names this connection: its id and, when known, its type."""
        kind = f" (a {self.conn_type} connection)" if self.conn_type else ""
        return f"connection {self.conn_id!r}{kind}"

    def secret(self, key: str) -> Secret:
        value = self.extra.get(key)
        if not value:
            raise CredentialsError(f"{self.named}: extra field {key!r} is missing")
        return Secret(str(value))

    def value(self, key: str, default: str | None = None) -> str | None:
        value = self.extra.get(key, default)
        return None if value is None else str(value)

    def require(self, platform: str, alternatives: tuple[tuple[str, ...], ...]) -> None:
        """Stop in one line unless the extra holds one of these sets of fields, naming what
        is missing and what the platform's connection needs."""
        if not alternatives or any(
            all(self.extra.get(k) for k in fields) for fields in alternatives
        ):
            return

        def distance(fields: tuple[str, ...]) -> tuple[int, int]:  # most given, then fewest missing
            given = sum(bool(self.extra.get(k)) for k in fields)
            return -given, len(fields) - given

        closest = min(alternatives, key=distance)
        missing = [k for k in closest if not self.extra.get(k)]
        needs = ", or ".join(", ".join(fields) for fields in alternatives)
        raise CredentialsError(
            f"{self.named}: extra field{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(k) for k in missing)} {'are' if len(missing) > 1 else 'is'} "
            f"missing (a {platform} connection needs "
            f"extra {needs}; see docs/configuration.md)"
        )


def env_var(conn_id: str) -> str:
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def _from_json(conn_id: str, text: str) -> Connection:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise CredentialsError(
            f"connection {conn_id!r}: {env_var(conn_id)} is not valid JSON"
        ) from None
    if not isinstance(data, dict):
        raise CredentialsError(f"connection {conn_id!r}: {env_var(conn_id)} must be a JSON object")
    extra = data.get("extra") or {}
    if isinstance(extra, str):
        try:
            extra = json.loads(extra)
        except json.JSONDecodeError:
            raise CredentialsError(f"connection {conn_id!r}: 'extra' is not valid JSON") from None
    if not isinstance(extra, dict):
        raise CredentialsError(f"connection {conn_id!r}: 'extra' must be a JSON object")
    try:
        port = int(data["port"]) if data.get("port") not in (None, "") else None
    except (TypeError, ValueError):
        raise CredentialsError(f"connection {conn_id!r}: 'port' is not a number") from None
    return Connection(
        conn_id=conn_id,
        conn_type=str(data.get("conn_type", "")),
        login=str(data.get("login") or ""),
        password=Secret(str(data.get("password") or "")),
        extra=dict(extra),
        host=str(data.get("host") or ""),
        port=port,
        schema=str(data.get("schema") or ""),
    )


def _from_uri(conn_id: str, text: str) -> Connection:
    """Airflow's URI form: `type://login:password@host:port/schema?key=value` (a host that
    is itself a URL nests its scheme: `http://https%3A%2F%2Fhooks.example%2Fx` or
    `http://https://hooks.example/x`), extras as query parameters or a JSON `__extra__`."""
    conn_type, rest = text.split("://", 1)
    protocol = None
    if "://" in rest:  # a host with its own scheme, as Airflow writes it
        protocol, rest = rest.split("://", 1)
    try:
        parts = urlsplit(f"//{rest}")
        port = parts.port
    except ValueError:
        raise CredentialsError(
            f"connection {conn_id!r}: {env_var(conn_id)} is neither JSON nor a valid URI"
        ) from None
    extra: dict[str, Any] = {}
    if parts.query:
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if "__extra__" in query:
            try:
                extra = json.loads(query["__extra__"])
            except json.JSONDecodeError:
                raise CredentialsError(
                    f"connection {conn_id!r}: __extra__ is not valid JSON"
                ) from None
        else:
            extra = query
    host = parts.netloc.rsplit("@", 1)[-1]  # the netloc keeps the host's case (a URL's path)
    if parts.port is not None:
        host = host.rsplit(":", 1)[0]
    host = unquote(host)
    schema = ""
    if protocol and host:
        host = f"{protocol}://{host}{parts.path if parts.path not in ('', '/') else ''}"
    else:  # postgres://user:pw@host:5432/database: the path is the schema
        schema = unquote(parts.path.removeprefix("/"))
    return _from_json(
        conn_id,
        json.dumps(
            {
                "conn_type": conn_type.replace("-", "_"),
                "login": unquote(parts.username or ""),
                "password": unquote(parts.password or ""),
                "host": host,
                "port": port,
                "schema": schema,
                "extra": extra,
            }
        ),
    )


def parse_connection(conn_id: str, text: str) -> Connection:
    """An `AIRFLOW_CONN_*` value: JSON (starts with `{`) or Airflow's URI form."""
    stripped = text.strip()
    if not stripped.startswith("{") and "://" in stripped.split("?", 1)[0]:
        return _from_uri(conn_id, stripped)
    return _from_json(conn_id, stripped)


def get_connection(conn_id: str) -> Connection:
    """The named connection, from the environment or (inside Airflow) from Airflow."""
    text = os.environ.get(env_var(conn_id))
    if text:
        return parse_connection(conn_id, text)
    if "airflow.sdk" in sys.modules:  # running inside an Airflow task
        from airflow.sdk import Connection as AirflowConnection

        try:
            conn = AirflowConnection.get(conn_id)
        except Exception:
            conn = None
        if conn is not None:
            return Connection(
                conn_id=conn_id,
                conn_type=conn.conn_type or "",
                login=conn.login or "",
                password=Secret(conn.password or ""),
                extra=dict(conn.extra_dejson),
                host=conn.host or "",
                port=conn.port,
                schema=conn.schema or "",
            )
    raise CredentialsError(
        f"connection {conn_id!r} not found: define it in Airflow or set {env_var(conn_id)}"
    )


def export_lines(connections_file: str) -> list[str]:
    """`export AIRFLOW_CONN_X=...` lines for a JSON file of {conn_id: connection}."""
    import shlex
    from pathlib import Path

    data = json.loads(Path(connections_file).read_text(encoding="utf-8"))
    return [f"export {env_var(cid)}={shlex.quote(json.dumps(conn))}" for cid, conn in data.items()]


def fernet_key(airflow_home: str) -> str:
    """The Fernet key Airflow encrypts connection passwords with in its metadata DB: made
    once in `<home>/fernet.key` (owner-only), then reused, so stored connections stay
    readable. Without one, Airflow stores them in plain text."""
    from pathlib import Path

    from cryptography.fernet import Fernet

    path = Path(airflow_home) / "fernet.key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    key = Fernet.generate_key().decode("ascii")
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
    return key


def airflow_env_lines(airflow_home: str) -> list[str]:
    """`export` lines for a local Airflow (`make airflow`): the home's Fernet key, so that
    connections added in the UI are stored encrypted, and a new API JWT secret."""
    import secrets
    import shlex

    return [
        f"export AIRFLOW__CORE__FERNET_KEY={shlex.quote(fernet_key(airflow_home))}",
        f"export AIRFLOW__API_AUTH__JWT_SECRET={secrets.token_urlsafe(32)}",
    ]


if __name__ == "__main__":  # used by `make airflow`
    if len(sys.argv) == 3 and sys.argv[1] == "--export":
        print("\n".join(export_lines(sys.argv[2])))
    elif len(sys.argv) == 3 and sys.argv[1] == "--airflow-env":
        print("\n".join(airflow_env_lines(sys.argv[2])))
    else:
        sys.exit(
            "usage: python -m contentpulse.credentials "
            "(--export CONNECTIONS_JSON | --airflow-env AIRFLOW_HOME)"
        )
