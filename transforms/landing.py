"""Landing files: one Parquet file per (source, stream, account, window, run), written once.

Layout: <root>/source=<s>/stream=<t>/account=<a>/window=<start>_<end>/<run>__<uuid>.parquet
The root is a local folder or an object-store prefix (`paths.landing: s3://bucket/prefix`,
through fsspec), so that extract tasks on several machines land where the one loader reads.
`LandingStore` is the only place that knows which: locally it is pathlib, exactly as it was;
on a store it is one fsspec filesystem. A file appears whole or not at all: locally it is
written beside, fsync'd, then renamed; on an object store it is one PUT of the whole object,
which is atomic there. Nothing is ever rewritten: a re-run writes a new file and staging
keeps the latest value per key.
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from contentpulse.errors import ContentpulseError, CredentialsError, naming
from contentpulse.streams import ExtractResult, Window
from contentpulse.tempfiles import sweep, temp_path

if TYPE_CHECKING:
    from contentpulse.config import Config, LandingStoreOptions

_SAFE = re.compile(r"[^A-Za-z0-9_.:=-]+")
FILES = "source=*/stream=*/account=*/window=*/*.parquet"
ASIDE = "unreadable"  # landing files that no longer parse, set aside by `landing redo`
log = logging.getLogger(__name__)
FETCH_BATCH = 32  # objects fetched at once (concurrently) while loading from a store


def _safe(part: str) -> str:
    return _SAFE.sub("_", part)[:120]


class LandingStore:
    """The landing root: a local folder, or a prefix on an object store (remote)."""

    def __init__(
        self,
        url: str | Path,
        fs: Any = None,
        endpoint: str | None = None,
        hidden: tuple[str, ...] = (),
        label: str = "landing store",
        setting: str = "paths.landing",
    ) -> None:
        self.url = str(url).rstrip("/")  # what messages name: the folder or s3://bucket/prefix
        self.label, self.setting = label, setting  # what the store is for, where it is set
        self.fs = fs  # None: a local folder, handled by pathlib
        self.endpoint = endpoint or "AWS S3"
        self._hidden = tuple(h for h in hidden if h)  # never shown in an error
        self.root: str | Path = Path(url) if fs is None else self.url.split("://", 1)[1]

    @property
    def local(self) -> bool:
        return self.fs is None

    def __repr__(self) -> str:
        return f"LandingStore({self.url!r})"

    def path(self, rel: str) -> Path | str:
        """A file or folder of the landing: a Path locally, the filesystem's path remotely."""
        return self.root / rel if self.local else f"{self.root}/{rel}"

    def find(self, under: str, pattern: str) -> list[tuple[str, Path | str]]:
        """(relative path, path) of the files in folder `under` whose path below it matches
        `pattern` segment by segment, sorted; temporary files never match `*.parquet`."""
        if self.local:
            folder = self.root / under
            if not folder.exists():
                return []
            return [(str(p.relative_to(self.root)), p) for p in sorted(folder.glob(pattern))]
        prefix = f"{self.root}/{under}".rstrip("/")
        parts = pattern.split("/")
        with self.errors("list"):
            names = self.fs.find(prefix)  # one paginated listing, however deep
        out = []
        for name in sorted(names):
            below = name[len(prefix) + 1 :].split("/")
            if len(below) == len(parts) and all(map(fnmatchcase, below, parts)):
                out.append((name[len(str(self.root)) + 1 :], name))
        return out

    def write_parquet(self, rel: str, table: pa.Table) -> Path | str:
        final = self.path(rel)
        if self.local:
            final.parent.mkdir(parents=True, exist_ok=True)
            tmp = temp_path(final)
            try:
                with naming(final):  # a full disk names the landing file
                    pq.write_table(table, tmp, compression="zstd")
                    with open(tmp, "rb") as fh:
                        os.fsync(fh.fileno())
                    os.replace(tmp, final)
            except BaseException:  # a full disk, SIGINT, SIGTERM: no partial file stays
                tmp.unlink(missing_ok=True)
                raise
            return final
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="zstd")
        with self.errors(f"write {rel}"):
            self.fs.pipe_file(final, sink.getvalue().to_pybytes())  # one PUT: whole or absent
        return f"{self.url}/{rel}"

    def fetch(self, paths: list[str]) -> Iterator[bytes]:
        """The bytes of each remote file, in order, fetched FETCH_BATCH at a time."""
        for i in range(0, len(paths), FETCH_BATCH):
            batch = paths[i : i + FETCH_BATCH]
            with self.errors("read"):
                data = self.fs.cat(batch)
            yield from (data[p] for p in batch)

    def read_columns(self, paths: list[Path | str], columns: list[str]) -> pa.Table | None:
        """These columns of the files, together; a file that no longer parses (disk rot, a
        bad copy) is skipped with one warning naming it (None if none could be read)."""
        import pyarrow.dataset as ds

        if self.local:
            try:
                return ds.dataset([str(p) for p in paths], format="parquet").to_table(
                    columns=columns
                )
            except (pa.ArrowException, OSError):  # one bad file fails the lot: find it
                tables = [self._parsed(p, p, columns) for p in paths]
        else:
            fetched = self.fetch([str(p) for p in paths])
            tables = [
                self._parsed(p, data, columns) for p, data in zip(paths, fetched, strict=True)
            ]
        readable = [t for t in tables if t is not None]
        return pa.concat_tables(readable, promote_options="default") if readable else None

    def _parsed(self, path: Path | str, data: Path | str | bytes, columns: list[str] | None):
        source = pa.BufferReader(data) if isinstance(data, bytes) else data
        try:
            return pq.read_table(source, columns=columns)
        except (pa.ArrowException, OSError) as exc:
            rel = self.relative(path)
            log.warning(
                "landing file %s is unreadable (%s); skipped (`contentpulse landing redo %s` "
                "re-extracts its window)",
                rel,
                _reason(exc),
                rel,
            )
            return None

    def relative(self, path: Path | str) -> str:
        """A landing file's path below the root."""
        if self.local:
            return str(Path(path).relative_to(self.root))
        return str(path)[len(str(self.root)) + 1 :]

    def unreadable(self, rels: list[str] | None = None) -> tuple[int, list[tuple[str, str]]]:
        """(files read, [(relative path, why) of those that no longer parse]): every landing
        file (or those of `rels`), read whole."""
        found = self.find("", FILES) if rels is None else [(r, self.path(r)) for r in rels]
        files = [path for _, path in found]
        sources = files if self.local else self.fetch([str(p) for p in files])
        out = []
        for path, data in zip(files, sources, strict=True):
            source = pa.BufferReader(data) if isinstance(data, bytes) else data
            try:
                pq.read_table(source)
            except (pa.ArrowException, OSError) as exc:
                out.append((self.relative(path), _reason(exc)))
        return len(files), out

    def set_aside(self, rel: str) -> str:
        """Move a landing file to `unreadable/<rel>`, outside what is read and loaded; returns
        where it went (a file that no longer parses is kept for a person to look at)."""
        if self.local:
            dest = self.root / ASIDE / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.root / rel, dest)
            return str(dest)
        dest = f"{self.root}/{ASIDE}/{rel}"
        with self.errors(f"move {rel}"):
            self.fs.mv(f"{self.root}/{rel}", dest)
        return f"{self.url}/{ASIDE}/{rel}"

    def landing_file(self, name: str) -> LandingFile:
        """A landing file named by its path (absolute, or relative to the working folder) or
        by its path below the root, as warnings name it; anything else is one error line."""
        rel = name
        if self.local:
            root = Path(os.path.normpath(Path(self.root).absolute()))
            path = Path(os.path.normpath(Path(name).absolute()))
            if not path.exists() and not Path(name).is_absolute():
                path = Path(os.path.normpath(root / name))
            if not path.is_relative_to(root):
                raise ContentpulseError(f"{name}: not under the landing {root}")
            rel = str(path.relative_to(root))
        parts, layout = rel.split("/"), FILES.split("/")
        folders = zip(parts[:-1], (segment.removesuffix("*") for segment in layout), strict=False)
        if (
            len(parts) != len(layout)
            or not all(part.startswith(key) and part != key for part, key in folders)
            or not parts[-1].endswith(".parquet")
            or parts[-1].startswith(".")
        ):
            raise ContentpulseError(
                f"{name}: not a landing file (source=*/stream=*/account=*/window=*/<run>.parquet "
                "below the landing root)"
            )
        if self.local and not (Path(self.root) / rel).is_file():
            raise ContentpulseError(f"{rel}: no such landing file")
        return LandingFile.parse(rel, self.path(rel))

    def commit_marks(self, file: LandingFile) -> list[str]:
        """The extract_log files (relative paths) of the run and window that landed `file`,
        `file` itself excepted: what says that its unit of work finished."""
        source, _, account, window, _ = file.rel.split("/")
        folder = f"{source}/stream=extract_log/{account}/{window}"
        return [r for r, _ in self.find(folder, f"{file.run}__*.parquet") if r != file.rel]

    def sweep(self) -> int:
        """Remove the temporary files killed extracts left (a store's one PUT leaves none)."""
        if not self.local:
            return 0
        folders = {p.parent for p in self.root.glob(f"{FILES.rsplit('/', 1)[0]}/.*.tmp")}
        return sum(len(sweep(folder)) for folder in sorted(folders))

    def check(self) -> None:
        """Fail now, in one line, if the bucket is missing or the credentials are refused."""
        if not self.local:
            with self.errors("open"):
                self.fs.info(str(self.root).split("/", 1)[0])

    @contextmanager
    def errors(self, action: str) -> Iterator[None]:
        """A store failure as one ContentpulseError line naming the store; secrets hidden."""
        from botocore.exceptions import BotoCoreError, NoCredentialsError

        bucket = str(self.root).split("/", 1)[0]
        try:
            yield
        except FileNotFoundError as exc:
            if action != "open":  # gone since it was listed, or the bucket since opened
                raise self._failed(action, exc) from None
            raise ContentpulseError(
                f"{self.label} {self.url}: bucket {bucket!r} not found at {self.endpoint} "
                f"(create it, or fix {self.setting})"
            ) from None
        except PermissionError:
            raise ContentpulseError(
                f"{self.label} {self.url}: {self.endpoint} refused the credentials "
                f"(check {self.setting}_store.conn_id's connection, or the AWS credential chain)"
            ) from None
        except NoCredentialsError:
            raise ContentpulseError(
                f"{self.label} {self.url}: no credentials (set {self.setting}_store.conn_id, "
                "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
            ) from None
        except (BotoCoreError, OSError) as exc:
            raise self._failed(action, exc) from None

    def _failed(self, action: str, exc: BaseException) -> ContentpulseError:
        reason = (str(exc).splitlines() or [""])[0]
        for hidden in self._hidden:
            reason = reason.replace(hidden, "***")
        return ContentpulseError(
            f"{self.label} {self.url}: cannot {action} at {self.endpoint}: "
            f"{type(exc).__name__}: {reason}"
        )


def _reason(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def _storage_options(url: str, opts: LandingStoreOptions) -> tuple[dict[str, Any], tuple]:
    """s3fs options from config and the connection (never from the YAML: no keys there)."""
    from contentpulse.credentials import get_connection

    options: dict[str, Any] = {
        "use_listings_cache": False,  # other machines land meanwhile: always list afresh
        "config_kwargs": {"connect_timeout": 10, "retries": {"max_attempts": 3}},
    }
    conn = get_connection(opts.conn_id) if opts.conn_id else None
    endpoint = opts.endpoint_url or (conn.value("endpoint_url") if conn else None)
    region = opts.region or (conn.value("region_name") if conn else None)
    if endpoint:
        options["endpoint_url"] = endpoint
    if region:
        options["client_kwargs"] = {"region_name": region}
    hidden: tuple = ()
    if conn is not None:
        key = conn.login or conn.value("aws_access_key_id")
        secret = conn.password.reveal() or conn.value("aws_secret_access_key")
        if not (key and secret):
            raise CredentialsError(
                f"connection {conn.conn_id!r}: an object store needs login (the access key id) "
                "and password (the secret access key)"
            )
        options.update(key=key, secret=secret)
        token = conn.value("aws_session_token")
        if token:
            options["token"] = token
        hidden = (secret, token or "", key)
    return options, hidden


def landing_store(cfg: Config) -> LandingStore:
    """The configured landing root, checked once: a missing bucket or refused credentials
    stop here with one line, before any extraction or load."""
    return open_store(cfg.paths.landing, cfg.paths.landing_store)


def open_store(
    root: Path | str,
    opts: LandingStoreOptions | None,
    label: str = "landing store",
    setting: str = "paths.landing",
) -> LandingStore:
    """A local folder or an object-store prefix (the landing, or the report site), checked."""
    from contentpulse.config import LandingStoreOptions

    if isinstance(root, Path):
        return LandingStore(root, label=label, setting=setting)
    import fsspec

    options, hidden = _storage_options(root, opts or LandingStoreOptions())
    fs, _ = fsspec.core.url_to_fs(root, **options)
    store = LandingStore(root, fs, options.get("endpoint_url"), hidden, label, setting)
    store.check()
    return store


def as_store(root: LandingStore | Path | str) -> LandingStore:
    """A store for callers that hold a local folder (tests, benches)."""
    return root if isinstance(root, LandingStore) else LandingStore(Path(root))


@dataclass(frozen=True)
class LandingFile:
    path: Path | str
    source: str
    stream: str
    account_id: str
    rel: str  # the path below the root: the same whichever store holds it

    @classmethod
    def parse(cls, rel: str, path: Path | str) -> LandingFile:
        parts = dict(p.split("=", 1) for p in rel.split("/")[:-1] if "=" in p)
        return cls(path, parts["source"], parts["stream"], parts["account"], rel)

    @property
    def window(self) -> Window:
        """The window of the extraction that landed it (`window=<start>_<end>`)."""
        name = self.rel.split("/")[-2].removeprefix("window=")
        try:
            start, end = (date.fromisoformat(d) for d in name.split("_"))
            return Window(start, end)
        except ValueError:
            raise ContentpulseError(f"landing file {self.rel}: {name!r} is not a window") from None

    @property
    def run(self) -> str:
        """The run that landed it (its name is `<run id>__<uuid>.parquet`)."""
        return self.rel.rsplit("/", 1)[-1].rsplit("__", 1)[0]


def write_table(
    root: LandingStore | Path,
    source: str,
    stream: str,
    account_id: str,
    window: str,
    run_id: str,
    table: pa.Table,
) -> Path | str:
    folder = f"source={source}/stream={stream}/account={_safe(account_id)}/window={window}"
    return as_store(root).write_parquet(
        f"{folder}/{_safe(run_id)}__{uuid.uuid4().hex[:12]}.parquet", table
    )


def write_result(root: LandingStore | Path, result: ExtractResult, run_id: str) -> list[Path | str]:
    """Land every stream of one extraction; the extract log goes last, as the commit mark."""
    names = sorted(result.tables, key=lambda n: n == "extract_log")
    return [
        write_table(
            root,
            result.platform,
            name,
            result.account_id,
            str(result.window),
            run_id,
            result.tables[name],
        )
        for name in names
    ]


def list_files(root: LandingStore | Path) -> list[LandingFile]:
    """Every complete landing file, oldest name first (temporary files are skipped)."""
    return [LandingFile.parse(rel, path) for rel, path in as_store(root).find("", FILES)]


def fetch_files(
    root: LandingStore | Path, files: list[LandingFile]
) -> Iterator[tuple[LandingFile, bytes | None]]:
    """Each file with its bytes when it is remote (None when local: DuckDB reads the path)."""
    store = as_store(root)
    if store.local:
        yield from ((f, None) for f in files)
        return
    yield from zip(files, store.fetch([str(f.path) for f in files]), strict=True)


def completed_windows(root: LandingStore | Path, source: str, account_id: str) -> list[Window]:
    """Windows whose metrics have landed completely (their extract_log is the commit mark)."""
    folder = f"source={source}/stream=extract_log/account={_safe(account_id)}"
    files = as_store(root).find(folder, "window=*/*.parquet")
    out = []
    for name in sorted({rel.split("/")[-2] for rel, _ in files}):
        start, end = name.removeprefix("window=").split("_")
        out.append(Window(date.fromisoformat(start), date.fromisoformat(end)))
    return out


def read_landed(
    root: LandingStore | Path, source: str, stream: str, account_id: str, columns: list[str]
) -> pa.Table | None:
    """These columns of every file of one account's stream (None when nothing landed): the
    state that connectors resume from."""
    store = as_store(root)
    folder = f"source={source}/stream={stream}/account={_safe(account_id)}"
    files = [path for _, path in store.find(folder, "window=*/*.parquet")]
    return store.read_columns(files, columns) if files else None


def account_folder(account_id: str) -> str:
    """The `account=` folder name an account's files land under."""
    return _safe(account_id)
