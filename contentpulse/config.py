"""The one config loader: `contentpulse.yml` parsed and validated with pydantic.

Relative paths in the file are resolved against the file's own folder, so a config
works from any working directory (the CLI, Airflow workers, tests).
"""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from contentpulse.errors import ConfigError
from contentpulse.registry import connector, connectors

CONFIG_ENV = "CONTENTPULSE_CONFIG"
A = TypeVar("A", bound="Account")
DEFAULT_CONFIG = "contentpulse.yml"


def latest_reporting_date() -> date:
    """The newest reporting date there can be now: today in the time zone furthest ahead
    (UTC+14), UTC's tomorrow at most. A run date or a row's date after it is in the future."""
    return datetime.now(UTC).date() + timedelta(days=1)


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"must start with http:// or https:// (got {value!r})")
    return value.rstrip("/")


# an endpoint override (None in a source means the platform's real endpoint)
EndpointUrl = Annotated[str, AfterValidator(_http_url)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def account_ids(accounts: list[A], pattern: str, what: str) -> list[A]:
    """The accounts, if every id has its platform's form (`pattern`, whole)."""
    for i, account in enumerate(accounts):
        if not re.fullmatch(pattern, account.id):
            raise ValueError(f"[{i}].id: {what} (got {account.id!r})")
    return accounts


def under(root: Path, *parts: str) -> Path:
    """`root / parts`, refused in one line if it leaves `root` (a part that is absolute or
    holds `..`): a path built from an id in the config stays under its root. Lexical, so a
    folder a person symlinked on purpose is still followed."""
    path = root.joinpath(*parts)
    inside = Path(os.path.normpath(path.absolute()))
    if not inside.is_relative_to(Path(os.path.normpath(root.absolute()))):
        raise ConfigError(f"{path}: outside {root} (an id in the config may not name a path)")
    return path


class Account(Strict):
    """One channel, property or social account. Its id also names folders (the landing's
    `account=<id>`, a CSV export account's inbox), so it may not begin with a dot: `.` and
    `..` would step out of them. Each source checks its platform's own form of id too."""

    id: str
    name: str = ""
    timezone: str = "UTC"
    # the Airflow connection holding its credentials (every source but CSV exports needs one)
    conn_id: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_]+$")] | None = None

    @field_validator("id")
    @classmethod
    def _folder_safe(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_:-][A-Za-z0-9_.:-]*", value):
            raise ValueError(
                f"{value!r} is not an account id: letters, digits, _ : - and dots, "
                "not first (ids name folders: '..' would step out of them)"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @property
    def display_name(self) -> str:
        return self.name or self.id


class Alerts(Strict):
    """Where failures and missed deadlines are told. The webhook URL is a secret (Slack's
    carry their token), so it lives in a connection: its `host` or extra `webhook_url`.
    Mail goes through the SMTP server of `smtp_conn_id` (host, port, login, password)."""

    webhook_conn_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$")] | None = None
    email_to: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]] = Field(
        default_factory=list
    )
    email_from: str = "contentpulse@localhost"
    smtp_conn_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$")] | None = None

    @model_validator(mode="after")
    def _mail_needs_a_server(self) -> Alerts:
        if self.email_to and not self.smtp_conn_id:
            raise ValueError("email_to needs smtp_conn_id (the SMTP server's connection)")
        return self


# an object-store landing root: s3://bucket/prefix (any S3-compatible store)
_LANDING_URL = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(/[^?#]*)?$")


def _landing_root(value: object) -> object:
    """A local folder (a Path), or an s3://bucket/prefix URL (kept as a str)."""
    if not isinstance(value, str):
        return value
    if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]+:", value):
        return Path(value)
    if not _LANDING_URL.match(value):
        raise ValueError(
            f"{value!r} is not an object-store URL this build reads: give s3://bucket/prefix "
            "(a bucket name of 3-63 lower-case letters, digits, dots, hyphens) or a local folder"
        )
    return value.rstrip("/")


class LandingStoreOptions(Strict):
    """How to reach an object-store landing root. Credentials are never in this file: they
    come from the connection `conn_id` (login = access key id, password = secret access key,
    extra `aws_session_token`, `region_name`, `endpoint_url`), else from the standard AWS
    chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ~/.aws, the machine's role)."""

    conn_id: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_]+$")] | None = None
    endpoint_url: EndpointUrl | None = None  # None = AWS S3 itself (MinIO, R2, Ceph: theirs)
    region: Annotated[str, Field(pattern=r"^[a-z0-9-]+$")] | None = None


class LakeOptions(Strict):
    """Where the DuckLakes that `paths.warehouse` or `paths.analytics` name (`ducklake:<name>`)
    keep their catalog and their data: the catalog in a PostgreSQL database (schema `<name>`),
    the data files under `<data_path>/<name>/` on an S3-compatible store. Secrets are never in
    this file: the catalog's host, port, database, user and password come from the
    connection `catalog_conn_id`; the store's keys from `store_conn_id` (login = access key
    id, password = secret access key), else from the standard AWS chain."""

    catalog_conn_id: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_]+$")]
    data_path: str
    store_conn_id: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_]+$")] | None = None
    endpoint_url: EndpointUrl | None = None  # None = AWS S3 itself (MinIO, R2, Ceph: theirs)
    region: Annotated[str, Field(pattern=r"^[a-z0-9-]+$")] | None = None

    @field_validator("data_path")
    @classmethod
    def _on_a_store(cls, value: str) -> str:
        if not _LANDING_URL.match(value):
            raise ValueError(
                f"{value!r} is not an object-store URL: a DuckLake's data files live on one "
                "(s3://bucket/prefix; a bucket name of 3-63 lower-case letters, digits, dots, "
                "hyphens)"
            )
        return value.rstrip("/")


class Lake(LakeOptions):
    """A DuckLake named in `paths` (`ducklake:<name>`), with what `paths.lake` says."""

    name: str

    def __str__(self) -> str:
        return f"ducklake:{self.name}"

    @property
    def data_url(self) -> str:
        """Where its data files go: `<data_path>/<name>/`."""
        return f"{self.data_path}/{self.name}/"


_LAKE = re.compile(r"^ducklake:(?P<name>[a-z][a-z0-9_]{0,62})$")
# names the warehouse opener and publish attach databases under, or DuckDB's own
RESERVED_LAKE_NAMES = ("main", "memory", "system", "temp", "snapshot", "previous_snapshot")


class Paths(Strict):
    # a local folder, or s3://bucket/prefix so that extract tasks on several machines land
    # where the loader reads (transforms.landing)
    landing: Annotated[Path | str, BeforeValidator(_landing_root)] = Path("data/landing")
    landing_store: LandingStoreOptions | None = None
    # where the DuckLakes below keep their catalog and data (validated before them)
    lake: LakeOptions | None = None
    # a DuckDB file, or a DuckLake: ducklake:<name> (contentpulse.lake)
    warehouse: Path | Lake = Path("data/warehouse.duckdb")
    analytics: Path | Lake = Path("data/analytics.duckdb")
    reports: Path = Path("data/reports")

    @field_validator("warehouse", "analytics", mode="before")
    @classmethod
    def _file_or_lake(cls, value: object, info: ValidationInfo) -> object:
        if not (isinstance(value, str) and value.startswith("ducklake:")):
            return value
        found = _LAKE.match(value)
        if not found or found["name"] in RESERVED_LAKE_NAMES:
            raise ValueError(
                f"{value!r} is not a DuckLake this build attaches: give ducklake:<name>, the "
                "name lower-case letters, digits and _ (not main, memory, system, temp, "
                "snapshot or previous_snapshot)"
            )
        options = info.data.get("lake")
        if options is None:
            if "lake" not in info.data:
                return value  # paths.lake itself is invalid: its own error says why
            raise ValueError(
                f"{value!r} names a DuckLake: paths.lake must say where its catalog and data "
                "are (catalog_conn_id, data_path)"
            )
        return Lake(name=found["name"], **options.model_dump())

    @model_validator(mode="after")
    def _store_needs_a_url(self) -> Paths:
        if self.landing_store is not None and isinstance(self.landing, Path):
            raise ValueError(
                "landing_store is for an object-store landing (landing: s3://bucket/prefix)"
            )
        lakes = [p for p in (self.warehouse, self.analytics) if isinstance(p, Lake)]
        if self.lake is not None and not lakes:
            raise ValueError(
                "lake is for a DuckLake warehouse or snapshot (warehouse: ducklake:<name>)"
            )
        if len(lakes) == 2 and lakes[0].name == lakes[1].name:
            raise ValueError(
                f"warehouse and analytics both name {lakes[0]}: the published snapshot is a "
                "DuckLake of its own (e.g. warehouse: ducklake:warehouse, analytics: "
                "ducklake:analytics)"
            )
        return self


class Delivery(Strict):
    """Where the weekly report goes once built (the weekly DAG, `contentpulse report --send`).
    Each part is optional. Secrets stay in connections: the SMTP server's (`smtp_conn_id`,
    Airflow's smtp type) and the webhook's URL (`webhook_conn_id`: its `host` or extra
    `webhook_url`); an object-store site's keys in `site_store.conn_id`, as for the landing."""

    # the static site: the reports folder (index, weeks, quality pages) plus latest.html,
    # copied to a local folder or an s3://bucket/prefix
    site: Annotated[Path | str, BeforeValidator(_landing_root)] | None = None
    site_store: LandingStoreOptions | None = None
    # the site's public address: the mail and the chat message link there (and the mail no
    # longer attaches the report)
    site_url: EndpointUrl | None = None
    email_to: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]] = Field(
        default_factory=list
    )
    email_from: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")] = "contentpulse@localhost"
    smtp_conn_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$")] | None = None
    webhook_conn_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$")] | None = None

    @model_validator(mode="after")
    def _complete(self) -> Delivery:
        if self.email_to and not self.smtp_conn_id:
            raise ValueError("email_to needs smtp_conn_id (the SMTP server's connection)")
        if self.smtp_conn_id and not self.email_to:
            raise ValueError("smtp_conn_id needs email_to (the recipients)")
        if self.site_store is not None and not isinstance(self.site, str):
            raise ValueError("site_store is for an object-store site (site: s3://bucket/prefix)")
        return self

    @property
    def configured(self) -> bool:
        return bool(self.site or self.site_url or self.email_to or self.webhook_conn_id)


@cache
def sources_model() -> type[BaseModel]:
    """`sources:` with one optional section per registered connector, in registry order."""
    fields: dict[str, Any] = {
        platform: (c.settings | None, None) for platform, c in connectors().items()
    }
    return create_model("Sources", __base__=Strict, **fields)


class Config(Strict):
    paths: Paths = Field(default_factory=Paths)
    registry: Path | None = None
    history_start: date | None = None
    # one optional field per registered connector (contentpulse.registry): `sources.youtube`
    sources: Any = Field(default=None, validate_default=True)
    alerts: Alerts = Field(default_factory=Alerts)
    delivery: Delivery = Field(default_factory=Delivery)
    # Where the config was read from; set by load_config, never by the file itself.
    source_file: Path | None = Field(default=None, exclude=True)

    @field_validator("sources", mode="before")
    @classmethod
    def _registered_sources(cls, value: object) -> BaseModel:
        return sources_model().model_validate(value or {})

    @model_validator(mode="after")
    def _unique_accounts(self) -> Config:
        for platform, source in self.iter_sources():
            seen: set[str] = set()
            for i, account in enumerate(source.accounts):
                if account.id in seen:
                    raise ValueError(f"sources.{platform}: account {account.id!r} is listed twice")
                seen.add(account.id)
                if account.conn_id is None and connector(platform).needs_credentials:
                    raise ValueError(
                        f"sources.{platform}.accounts[{i}].conn_id: required "
                        "(the Airflow connection holding the account's credentials)"
                    )
        return self

    def iter_sources(self) -> list[tuple[str, Any]]:
        return [(name, src) for name, src in self.sources if src is not None]

    def accounts(self) -> list[tuple[str, Account]]:
        """Every (platform, account) pair, in config order."""
        return [(name, acc) for name, src in self.iter_sources() for acc in src.accounts]

    def account(self, platform: str, account_id: str) -> Account:
        for name, acc in self.accounts():
            if name == platform and acc.id == account_id:
                return acc
        raise ConfigError(f"{self.source_file}: no {platform} account {account_id!r} in config")


def _field_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _resolve(base: Path, path: Path) -> Path:
    path = Path(os.path.expanduser(path))
    return path if path.is_absolute() else (base / path).resolve()


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The config file to use: the argument, else $CONTENTPULSE_CONFIG, else ./contentpulse.yml."""
    return Path(explicit or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate the config; any problem is one ConfigError line naming file and field."""
    file = config_path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{file}: config file not found (copy contentpulse.example.yml, or set {CONFIG_ENV})"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read config file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{file}: line {line}: not UTF-8 text (save the file as UTF-8)") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{file}: invalid YAML{where}: {problem}") from None
    if raw is None:
        raise ConfigError(f"{file}: empty config file (copy contentpulse.example.yml)")
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: expected a mapping at the top level, got {type(raw).__name__}")
    try:
        cfg = Config.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        where = f"{_field_path(err['loc'])}: " if err["loc"] else ""
        if where and msg.startswith("["):  # a list's validator names the item: accounts[0].id
            where = where.removesuffix(": ")
        raise ConfigError(f"{file}: {where}{msg}{more}") from None
    base = file.resolve().parent
    paths = Paths(**{n: _resolve(base, v) if isinstance(v, Path) else v for n, v in cfg.paths})
    for name in ("warehouse", "analytics"):
        if "?" in str(getattr(paths, name)):  # DuckDB reads what follows a '?' as options
            raise ConfigError(
                f"{file}: paths.{name}: DuckDB cannot open a database whose path holds '?' "
                f"({getattr(paths, name)}): rename the folder, or choose another path"
            )
    registry = _resolve(base, cfg.registry) if cfg.registry else None
    # a source's folders (a CSV export inbox) are relative to the file too
    sources = cfg.sources.model_copy(
        update={
            platform: source.model_copy(
                update={n: _resolve(base, v) for n, v in source if isinstance(v, Path)}
            )
            for platform, source in cfg.iter_sources()
        }
    )
    delivery = cfg.delivery
    if isinstance(delivery.site, Path):
        delivery = delivery.model_copy(update={"site": _resolve(base, delivery.site)})
    return cfg.model_copy(
        update={
            "paths": paths,
            "registry": registry,
            "sources": sources,
            "delivery": delivery,
            "source_file": file,
        }
    )
