"""The one config loader: `contentpulse.yml` parsed and validated with pydantic.

Relative paths in the file are resolved against the file's own folder, so a config
works from any working directory (the CLI, Airflow workers, tests).
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from contentpulse.errors import ConfigError

CONFIG_ENV = "CONTENTPULSE_CONFIG"
DEFAULT_CONFIG = "contentpulse.yml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Account(_Strict):
    """One channel, property or social account."""

    id: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")]
    name: str = ""
    timezone: str = "UTC"
    conn_id: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_]+$")]

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


class YouTubeSource(_Strict):
    """YouTube Data API v3 + YouTube Analytics API v2."""

    # None means Google's real endpoints; the demo and tests point it at the sandbox.
    base_url: str | None = None
    token_uri: str | None = None
    lookback_days: Annotated[int, Field(ge=1, le=60)] = 3
    timeout_s: Annotated[float, Field(gt=0, le=600)] = 30.0
    max_attempts: Annotated[int, Field(ge=1, le=20)] = 6
    # parallel API workers for this source, and a cap on calls per second across them
    concurrency: Annotated[int, Field(ge=1, le=32)] = 4
    max_calls_per_second: Annotated[float, Field(gt=0)] | None = 20.0
    # per-run budgets (None = unlimited): a run stops cleanly before spending past them and
    # the next run resumes; the Data API's default project quota is 10,000 units a day
    budget_data_api_units: Annotated[int, Field(ge=1)] | None = None
    budget_analytics_queries: Annotated[int, Field(ge=1)] | None = None
    accounts: list[Account] = Field(default_factory=list)

    @field_validator("base_url", "token_uri")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"must start with http:// or https:// (got {value!r})")
        return value.rstrip("/") if value else value


class Sources(_Strict):
    youtube: YouTubeSource | None = None


class Paths(_Strict):
    landing: Path = Path("data/landing")
    warehouse: Path = Path("data/warehouse.duckdb")
    analytics: Path = Path("data/analytics.duckdb")
    reports: Path = Path("data/reports")


class Config(_Strict):
    paths: Paths = Field(default_factory=Paths)
    registry: Path | None = None
    history_start: date | None = None
    sources: Sources = Field(default_factory=Sources)
    # Where the config was read from; set by load_config, never by the file itself.
    source_file: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _unique_accounts(self) -> Config:
        for platform, source in self.iter_sources():
            seen: set[str] = set()
            for account in source.accounts:
                if account.id in seen:
                    raise ValueError(f"sources.{platform}: account {account.id!r} is listed twice")
                seen.add(account.id)
        return self

    def iter_sources(self) -> list[tuple[str, YouTubeSource]]:
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
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{file}: invalid YAML{where}: {problem}") from None
    if raw is None:
        raw = {}
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
        raise ConfigError(f"{file}: {_field_path(err['loc'])}: {msg}{more}") from None
    base = file.resolve().parent
    paths = Paths(**{name: _resolve(base, value) for name, value in cfg.paths})
    registry = _resolve(base, cfg.registry) if cfg.registry else None
    return cfg.model_copy(update={"paths": paths, "registry": registry, "source_file": file})
