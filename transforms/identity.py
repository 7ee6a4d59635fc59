"""Cross-platform content identity: which items are the same story (a "content family").

A family is one story published as several items: a YouTube video, a Short on another
channel, a TikTok, an article. `content_families` assigns every item a family from three
kinds of evidence, strongest first, and lists the pairs it considered for analysts.

The rules (each one a choice; tests pin them):

1. Registry. An item the registry names is in that family, whatever links or titles say.
   Registry families are anchors: automatic evidence may attach unregistered items to a
   registry family, but never merges two registry families and never moves a registered
   item. Evidence that would is kept as a 'review' pair, noted, for an analyst. A registry
   row with an empty account_id names the item on any account of that platform.
2. Links. Two items whose text links (or own url) normalise to the same canonical URL
   (`normalise_url`: utm and every other query parameter, fragments, www/m/amp hosts,
   /amp and trailing slashes dropped) are the same story (confidence 0.95). Links are
   read with or without a scheme (`contentpulse.links.find_links`); a caption's
   scheme-less mention of a host that any item links with a scheme (or is the url of)
   counts whatever its top-level domain. A site's home page is no evidence, and neither
   is a URL found on more than `max_link_items` items: that is a hub (a channel page, a
   "subscribe" link), not a story.
3. Campaign codes. Two items on different accounts that carry the same campaign code (a
   `#spring24` hashtag, a `utm_campaign=spring-24` link parameter: one normalised form,
   any script transliterated; letters and digits both, so topics are no code) are the
   same story (confidence 0.85). A code one account carries on more than
   `max_code_per_account` items is that account's tracking code, and one on more than
   `max_link_items` items a campaign of many stories: neither is evidence.
4. Titles. Titles, without the links in them, are transliterated to ASCII
   (`normalise_title`), so "Правда о ночном поезде" and "Pravda o nochnom poezde" compare
   equal, and the letters romanisation schemes disagree on are folded (y/j -> i, kh -> h).
   Similarity is the IDF-weighted Jaccard of character trigrams (weight ln(1 + titles /
   titles with the trigram)), so the distinctive words count most. Only items on different accounts or platforms published
   within `window_days` of each other are compared: an account rarely posts the same story
   twice, and when it does its own links say so. Candidates come from an inverted index on
   each title's rarest trigrams (a prefix filter, exact for the review threshold), so the
   cost follows the matches, not n². Trigrams in more than `common_gram_items` titles (or
   0.5 % of them, if more) are the generic part ("weekly news update"): they still weigh in
   the similarity, but are not indexed, so titles that share only those are never compared.
   A pair at or above `title_threshold` links; between `review_threshold` and it, the pair
   is only listed for review, as are linked title pairs under `title_certain`.
   Japanese kanji transliterate with Chinese readings: a Japanese title and its romaji
   version do not match.
5. Generic titles do not glue families. An item whose title matches more than
   `max_title_matches` others is generic and gets no title evidence at all, and title
   evidence never grows a family past `max_title_family` items (links and the registry may).

Families are formed with union-find, evidence applied in order: registry, links, campaign
codes, then titles from the most similar down. A member's confidence is the weakest link on its path
(in the evidence tree) to the family's anchor: the registry members, or else the earliest
published member (which itself gets its strongest link); `family_method` is the method of
that weakest link. family_id is the registry's id, or 'f_' + the first 12 hex digits of
md5('platform|account_id|item_id') of the earliest-published member (ties by key): the same
whatever the row order, and it changes only if an earlier item joins the family.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import math
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
from anyascii import anyascii

from contentpulse.errors import ConfigError, ContentpulseError
from contentpulse.links import campaign_codes, find_links, link_host, normalise_url

__all__ = [
    "FAMILY_COLUMNS",
    "LINK_COLUMNS",
    "REGISTRY_COLUMNS",
    "content_families",
    "load_registry",
    "normalise_title",
    "normalise_url",
]

log = logging.getLogger(__name__)

REGISTRY_COLUMNS = ("family_id", "platform", "account_id", "item_id")
ITEM_COLUMNS = ("platform", "account_id", "item_id", "title", "links", "url", "published_at")
FAMILY_COLUMNS = [
    "platform",
    "account_id",
    "item_id",
    "family_id",
    "family_method",
    "family_confidence",
]
LINK_COLUMNS = [
    "platform_a",
    "account_id_a",
    "item_id_a",
    "platform_b",
    "account_id_b",
    "item_id_b",
    "method",
    "confidence",
    "status",
    "to_review",
    "note",
]
LINK_CONFIDENCE = 0.95
CAMPAIGN_CONFIDENCE = 0.85
# weaker evidence first, for ties
_METHOD_RANK = {"title": 0, "campaign": 1, "link": 2, "registry": 3}
_AUTO_ID = re.compile(r"^f_[0-9a-f]{12}$")
_SCHEMED_HOST = re.compile(r"^https?://(?:[^@/?#]*@)?([^/:?#]+)", re.IGNORECASE)

# -- normalisation ----------------------------------------------------------------------
_HASHTAG = re.compile(r"#\w+")
_APOSTROPHES = re.compile(r"['`]")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def normalise_title(title: str) -> str:
    """A title for comparison: any script transliterated to ASCII (anyascii), casefolded,
    hashtags ("#shorts") and punctuation dropped, spaces collapsed.

    Cyrillic, Greek, Arabic, Devanagari... transliterate as people write them in Latin
    letters. Japanese kanji transliterate with their Chinese readings, so a Japanese title
    does not match its romaji version.
    """
    if not isinstance(title, str):
        return ""
    if not title.isascii():
        title = title.translate(_TRANSLITERATION)
    text = _HASHTAG.sub(" ", title.casefold())
    return _NOT_ALNUM.sub(" ", _APOSTROPHES.sub("", text)).strip()


def _without_links(title: object) -> object:
    """A title without the links in it ("northwind.example/x 👈 full story"): a link is
    link evidence, and two stories' links would make their titles look alike."""
    if not isinstance(title, str) or "." not in title:
        return title
    for link in find_links(title):
        title = title.replace(link, " ")
    return title


class _Transliteration(dict):
    """anyascii one character at a time, remembered: anyascii maps each code point on its
    own, so this gives its result at str.translate's speed."""

    def __missing__(self, codepoint: int) -> str:
        self[codepoint] = value = anyascii(chr(codepoint))
        return value


_TRANSLITERATION = _Transliteration()


_FOLD = str.maketrans({"y": "i", "j": "i"})


def _romanisation_fold(title: str) -> str:
    """Fold the letters romanisation schemes disagree on (й, ы, ю, я as y/i/j; х as kh/h),
    so that two people's transliterations of one title compare as equal."""
    return title.translate(_FOLD).replace("kh", "h")


# -- the registry -----------------------------------------------------------------------
def load_registry(path: Path) -> pd.DataFrame:
    """The explicit registry (CSV: family_id,platform,account_id,item_id), validated.

    An empty account_id means the item on any account of that platform. Blank lines and
    lines starting with "#" are skipped. Returns the registry's columns plus `line` (the
    line number in the file). Any problem is one ConfigError line naming the file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: registry file not found")
    rows: list[dict] = []
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, strict=True)
            header: list[str] | None = None
            for record in reader:
                line = reader.line_num
                if not record or not "".join(record).strip() or record[0].lstrip()[:1] == "#":
                    continue
                fields = [v.strip() for v in record]
                if header is None:
                    header = _registry_header(path, line, fields)
                    continue
                if len(fields) != len(header):
                    raise ConfigError(
                        f"{path}: line {line}: expected {len(header)} fields "
                        f"({','.join(header)}), found {len(fields)}"
                    )
                row = dict(zip(header, fields, strict=True))
                for column in ("family_id", "platform", "item_id"):
                    if not row[column]:
                        raise ConfigError(f"{path}: line {line}: empty {column}")
                if _AUTO_ID.match(row["family_id"]):
                    raise ConfigError(
                        f"{path}: line {line}: family_id {row['family_id']!r} looks like an "
                        "automatic id (f_ + 12 hex digits); choose another name"
                    )
                rows.append({**row, "line": line})
    except csv.Error as exc:
        raise ConfigError(f"{path}: line {reader.line_num}: malformed CSV ({exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    if header is None:
        raise ConfigError(f"{path}: empty; the first line must be {','.join(REGISTRY_COLUMNS)}")
    conflict = _registry_conflict(rows)
    if conflict:
        raise ConfigError(f"{path}: {conflict}")
    frame = pd.DataFrame(rows, columns=[*REGISTRY_COLUMNS, "line"])
    return frame.drop_duplicates(subset=list(REGISTRY_COLUMNS), keep="first").reset_index(drop=True)


def _registry_header(path: Path, line: int, fields: list[str]) -> list[str]:
    names = [f.lower() for f in fields]
    missing = [c for c in REGISTRY_COLUMNS if c not in names]
    unknown = [f for f in names if f not in REGISTRY_COLUMNS]
    repeated = sorted({f for f in names if names.count(f) > 1})
    if missing or unknown or repeated:
        problems = [
            f"{label} {', '.join(values)}"
            for label, values in (
                ("missing", missing),
                ("unknown", unknown),
                ("repeated", repeated),
            )
            if values
        ]
        raise ConfigError(
            f"{path}: line {line}: the header must name {','.join(REGISTRY_COLUMNS)} "
            f"({'; '.join(problems)})"
        )
    return names


def _registry_conflict(rows: Iterable[dict]) -> str | None:
    """The first item named by two families (on the same or an unspecified account)."""
    seen: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in rows:
        for other in seen[(row["platform"], row["item_id"])]:
            same_item = (
                not other["account_id"]
                or not row["account_id"]
                or other["account_id"] == row["account_id"]
            )
            if same_item and other["family_id"] != row["family_id"]:
                account = row["account_id"] or other["account_id"]
                item = "/".join(p for p in (row["platform"], account, row["item_id"]) if p)
                return (
                    f"item {item} is in family {other['family_id']!r}{_at_line(other)} "
                    f"and in family {row['family_id']!r}{_at_line(row)}"
                )
        seen[(row["platform"], row["item_id"])].append(row)
    return None


def _at_line(row: dict) -> str:
    line = row.get("line")
    return f" (line {int(line)})" if line is not None and not pd.isna(line) else ""


# -- families ---------------------------------------------------------------------------
class _Families:
    """Union-find over item indices; each set remembers its registry family and size."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))
        self.size = [1] * n
        self.registry: list[str | None] = [None] * n

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]
        self.registry[ra] = self.registry[ra] or self.registry[rb]


def content_families(
    items: pd.DataFrame,
    registry: pd.DataFrame | None = None,
    *,
    title_threshold: float = 0.75,
    review_threshold: float = 0.5,
    window_days: int = 30,
    title_certain: float = 0.9,
    max_title_matches: int = 8,
    max_title_family: int = 10,
    max_link_items: int = 20,
    max_code_per_account: int = 2,
    common_gram_items: int = 25,
    locales: Sequence[str] = (),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every item's content family, and the evidence pairs considered (see the module doc).

    `items` has platform, account_id, item_id, title, links (list of URLs, may be empty or
    None), url and published_at (UTC), and may have description (links and campaign codes
    are read from title and description too); `registry` is what `load_registry` returns.
    Returns (families: one row per item, in the input order, FAMILY_COLUMNS;
    links: one row per evidence pair and method, LINK_COLUMNS). In `links`, status is
    'linked' when the pair joined (or agreed with) one family and 'review' when it did not;
    `to_review` marks the analysts' list: the 'review' pairs plus title-only links under
    `title_certain`; `note` says why.
    """
    started = time.perf_counter()
    if not 0 <= review_threshold <= title_threshold <= 1:
        raise ValueError("thresholds must satisfy 0 <= review_threshold <= title_threshold <= 1")
    missing = [c for c in ITEM_COLUMNS if c not in items.columns]
    if missing:
        raise ValueError(f"content_families: items lack columns {', '.join(missing)}")
    order, keys = _canonical_order(items)
    seconds, has_time = _published_seconds(items, order)

    uf = _Families(len(keys))
    registered = _apply_registry(uf, keys, registry)
    judge = _Evidence(uf, title_certain, max_title_family)

    texts = _texts(items, order)
    item_links = _item_links(items, order, texts)
    link_pairs, hubs = _link_pairs(item_links, max_link_items, locales)
    for a, b, url in link_pairs:
        judge.consider(a, b, "link", LINK_CONFIDENCE, True, f"both link {url}")

    code_pairs = _code_pairs(texts, item_links, keys, max_link_items, max_code_per_account)
    for a, b, code in code_pairs:
        judge.consider(
            a, b, "campaign", CAMPAIGN_CONFIDENCE, True, f"both carry campaign code {code}"
        )

    ta, tb, sim, generic = _title_pairs(
        _comparable_titles(items, order),
        seconds,
        has_time,
        _account_numbers(keys),
        review_threshold=review_threshold,
        window_s=window_days * 86400,
        max_matches=max_title_matches,
        common_gram_items=common_gram_items,
    )
    for i in np.lexsort((tb, ta, -sim)):
        a, b, s = int(ta[i]), int(tb[i]), round(float(sim[i]), 4)
        linked = s >= title_threshold
        note = "" if linked else f"similar title under {title_threshold}"
        judge.consider(a, b, "title", s, linked, note)

    resolved = _resolve(uf, keys, seconds, has_time, registered, judge.tree)
    families = _families_frame(keys, order, *resolved)
    links = _links_frame(judge.evidence, keys)
    log.info(
        "identity: %d items -> %d families (%s); %d link pairs (%d hub URLs ignored), "
        "%d campaign-code pairs, %d title pairs (%d generic titles ignored), %d to review; "
        "%.2f s",
        len(keys),
        families["family_id"].nunique(),
        ", ".join(f"{m} {c}" for m, c in families["family_method"].value_counts().items()),
        len(link_pairs),
        hubs,
        len(code_pairs),
        len(ta),
        generic,
        int(links["to_review"].sum()),
        time.perf_counter() - started,
    )
    return families, links


def _canonical_order(items: pd.DataFrame) -> tuple[list[int], list[tuple[str, str, str]]]:
    """The items' row positions sorted by key, and the keys in that order: a canonical order
    makes everything after it independent of the input row order. A repeated key is an error."""
    keys_in = list(
        zip(
            *(
                items[c].fillna("").astype(str).tolist()
                for c in ("platform", "account_id", "item_id")
            ),
            strict=True,
        )
    )
    order = sorted(range(len(keys_in)), key=keys_in.__getitem__)
    keys = [keys_in[i] for i in order]
    duplicate = next((k for k, nxt in pairwise(keys) if k == nxt), None)
    if duplicate:
        raise ValueError(f"content_families: item {'/'.join(duplicate)} appears twice")
    return order, keys


def _published_seconds(items: pd.DataFrame, order: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Each item's publish time in seconds since the epoch (0 when unknown), and whether it
    is known (canonical order)."""
    published = pd.to_datetime(items["published_at"], utc=True).iloc[order]
    has_time = published.notna().to_numpy()
    utc = published.dt.tz_localize(None).to_numpy().astype("datetime64[s]").astype(np.int64)
    return np.where(has_time, utc, 0), has_time


def _comparable_titles(items: pd.DataFrame, order: list[int]) -> list[str]:
    """Each item's title as titles are compared (canonical order): without its links,
    transliterated to ASCII, with the letters romanisations disagree on folded."""
    return [
        _romanisation_fold(normalise_title(_without_links(t)))
        for t in items["title"].iloc[order].tolist()
    ]


def _account_numbers(keys: list[tuple[str, str, str]]) -> np.ndarray:
    """A number per (platform, account_id), for each item: whose items may be compared."""
    numbers: dict[tuple[str, str], int] = {}
    return np.array([numbers.setdefault(k[:2], len(numbers)) for k in keys])


class _Evidence:
    """Each pair of items considered, with its verdict, in the order evidence is applied; a
    linking pair joins its two families unless the registry or the title rule forbids it."""

    def __init__(self, uf: _Families, title_certain: float, max_title_family: int) -> None:
        self.uf = uf
        self.title_certain = title_certain
        self.max_title_family = max_title_family
        self.evidence: list[dict] = []  # every pair considered, with its verdict
        self.tree: list[tuple[int, int, float, str]] = []  # the pairs that joined two sets

    def consider(
        self, a: int, b: int, method: str, confidence: float, link: bool, note: str
    ) -> None:
        uf = self.uf
        verdict = {"a": a, "b": b, "method": method, "confidence": confidence, "note": note}
        ra, rb = uf.find(a), uf.find(b)
        if ra == rb:
            verdict.update(status="linked", to_review=False, note="already in one family")
        elif not link:
            verdict.update(status="review", to_review=True)
        elif uf.registry[ra] and uf.registry[rb] and uf.registry[ra] != uf.registry[rb]:
            verdict.update(
                status="review",
                to_review=True,
                note=f"registry keeps {uf.registry[ra]!r} and {uf.registry[rb]!r} apart",
            )
        elif method == "title" and uf.size[ra] + uf.size[rb] > self.max_title_family:
            verdict.update(
                status="review",
                to_review=True,
                note=f"title evidence may not grow a family past {self.max_title_family} items",
            )
        else:
            uf.union(a, b)
            self.tree.append((a, b, confidence, method))
            uncertain = method == "title" and confidence < self.title_certain
            verdict.update(
                status="linked",
                to_review=uncertain,
                note=f"title similarity under {self.title_certain}" if uncertain else note,
            )
        self.evidence.append(verdict)


def _families_frame(
    keys: list[tuple[str, str, str]],
    order: list[int],
    family_id: list[str],
    method: list[str],
    confidence: list[float],
) -> pd.DataFrame:
    """FAMILY_COLUMNS, one row per item, back in the caller's row order."""
    families = pd.DataFrame(
        {
            "platform": [k[0] for k in keys],
            "account_id": [k[1] for k in keys],
            "item_id": [k[2] for k in keys],
            "family_id": family_id,
            "family_method": method,
            "family_confidence": confidence,
        }
    )
    families.index = order
    return families.sort_index().reset_index(drop=True)


def _apply_registry(
    uf: _Families, keys: list[tuple[str, str, str]], registry: pd.DataFrame | None
) -> dict[int, str]:
    """Put registered items in their families; returns item index -> registry family."""
    if registry is None or registry.empty:
        return {}
    missing = [c for c in REGISTRY_COLUMNS if c not in registry.columns]
    if missing:
        raise ValueError(f"content_families: registry lacks columns {', '.join(missing)}")
    rows = [
        {c: "" if pd.isna(r[c]) else str(r[c]).strip() for c in REGISTRY_COLUMNS}
        | {"line": r.get("line")}
        for r in registry.to_dict("records")
    ]
    conflict = _registry_conflict(rows)
    if conflict:
        raise ContentpulseError(f"registry: {conflict}")
    exact = {(r["platform"], r["account_id"], r["item_id"]): r["family_id"] for r in rows}
    any_account = {
        (r["platform"], r["item_id"]): r["family_id"] for r in rows if not r["account_id"]
    }
    registered: dict[int, str] = {}
    first_member: dict[str, int] = {}
    for i, (platform, account, item) in enumerate(keys):
        fid = exact.get((platform, account, item)) or any_account.get((platform, item))
        if fid is None:
            continue
        registered[i] = fid
        uf.registry[uf.find(i)] = fid
        if fid in first_member:
            uf.union(first_member[fid], i)
        else:
            first_member[fid] = i
    return registered


def _texts(items: pd.DataFrame, order: list[int]) -> list[str]:
    """Each item's title and description (canonical order), where links and codes are read."""
    titles = items["title"].iloc[order].tolist()
    if "description" not in items.columns:
        return [t if isinstance(t, str) else "" for t in titles]
    descriptions = items["description"].iloc[order].tolist()
    return [
        "\n".join(t for t in (title, text) if isinstance(t, str))
        for title, text in zip(titles, descriptions, strict=True)
    ]


def _item_links(items: pd.DataFrame, order: list[int], texts: list[str]) -> list[list[str]]:
    """Each item's URLs (canonical order): its own url, its links column, and the links in
    its title and description, where a scheme-less mention of any host that the items link
    with a scheme (or are at) counts whatever its top-level domain."""
    given: list[list[str]] = []
    for links, own in zip(
        items["links"].iloc[order].tolist(), items["url"].iloc[order].tolist(), strict=True
    ):
        urls = [own] if isinstance(own, str) else []
        if isinstance(links, str):
            urls.append(links)
        elif isinstance(links, list | tuple | np.ndarray):
            urls.extend(u for u in links if isinstance(u, str))
        given.append(urls)
    hosts = {
        link_host(found.group(1))
        for urls in given
        for url in urls
        if (found := _SCHEMED_HOST.match(url))
    }
    return [
        list(dict.fromkeys([*urls, *find_links(text, hosts)]))
        for urls, text in zip(given, texts, strict=True)
    ]


def _link_pairs(
    item_links: list[list[str]], max_link_items: int, locales: Sequence[str]
) -> tuple[list[tuple[int, int, str]], int]:
    """Pairs of items (canonical indices) that share a canonical story URL, and hub count."""
    by_url: dict[str, set[int]] = defaultdict(set)
    for i, urls in enumerate(item_links):
        for url in urls:
            canonical = normalise_url(url, locales=locales)
            if canonical and "/" in canonical:  # a site's home page is not a story
                by_url[canonical].add(i)
    pairs: dict[tuple[int, int], str] = {}
    hubs = 0
    for url in sorted(by_url):
        members = sorted(by_url[url])
        if len(members) > max_link_items:
            hubs += 1
            continue
        for x, a in enumerate(members):
            for b in members[x + 1 :]:
                pairs.setdefault((a, b), url)
    return [(a, b, url) for (a, b), url in sorted(pairs.items())], hubs


def _code_pairs(
    texts: list[str],
    item_links: list[list[str]],
    keys: list[tuple[str, str, str]],
    max_items: int,
    max_per_account: int,
) -> list[tuple[int, int, str]]:
    """Pairs of items (canonical indices) on different accounts that carry the same
    campaign code; codes an account uses on many items, or many items carry, are left out."""
    by_code: dict[str, list[int]] = defaultdict(list)
    for i, (text, urls) in enumerate(zip(texts, item_links, strict=True)):
        for code in campaign_codes(text, urls):
            by_code[code].append(i)
    pairs: dict[tuple[int, int], str] = {}
    for code in sorted(by_code):
        members = by_code[code]
        per_account: dict[tuple[str, str], int] = defaultdict(int)
        for i in members:
            per_account[keys[i][:2]] += 1
        if len(members) > max_items or max(per_account.values()) > max_per_account:
            continue
        for x, a in enumerate(members):
            for b in members[x + 1 :]:
                if keys[a][:2] != keys[b][:2]:
                    pairs.setdefault((a, b), code)
    return [(a, b, code) for (a, b), code in sorted(pairs.items())]


# Titles are ASCII after normalisation: 37 symbols, so a trigram is an int below 37**3.
_SYMBOLS = 37
_GRAMS = _SYMBOLS**3
_CODE = np.zeros(256, dtype=np.int64)
_CODE[ord("a") : ord("z") + 1] = np.arange(1, 27)
_CODE[ord("0") : ord("9") + 1] = np.arange(27, 37)


def _title_pairs(
    titles: list[str],
    seconds: np.ndarray,
    has_time: np.ndarray,
    accounts: np.ndarray,
    *,
    review_threshold: float,
    window_s: int,
    max_matches: int,
    common_gram_items: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Title pairs (a < b) with weighted trigram Jaccard >= review_threshold, and the number
    of generic titles left out. Only pairs on different accounts within the window."""
    empty = np.zeros(0, dtype=np.int64)
    n = len(titles)
    postings = _title_postings(titles, has_time)
    if postings is None:
        return empty, empty, np.zeros(0), 0
    item, gram = postings

    # IDF weights. Trigrams in more than `common` titles are the generic part: they still
    # weigh (a little) in the similarity, but are not indexed, so they never make a pair.
    df = np.bincount(gram, minlength=_GRAMS)
    titled = int(np.count_nonzero(np.bincount(item, minlength=n)))
    common = max(common_gram_items, math.ceil(0.005 * titled))
    weight = np.log1p(titled / np.maximum(df, 1))
    w = weight[gram]
    total = np.bincount(item, weights=w, minlength=n)

    p_item, p_gram = _prefixes(item, gram, w, df, total, review_threshold, common)
    a, b = _pairs_in_window(p_item, p_gram, seconds, has_time, accounts, window_s)
    # Size filter: Jaccard >= t needs the lighter title to weigh >= t times the heavier.
    fits = np.minimum(total[a], total[b]) >= review_threshold * np.maximum(total[a], total[b])
    a, b = a[fits], b[fits]
    if len(a) == 0:
        return empty, empty, np.zeros(0), 0
    sim = _weighted_jaccard(a, b, item, gram, w, df, total)
    keep = sim >= review_threshold - 1e-12
    a, b, sim = a[keep], b[keep], np.minimum(sim[keep], 1.0)

    # A title that matches many others is generic ("Weekly news update"): no title evidence.
    degree = np.bincount(a, minlength=n) + np.bincount(b, minlength=n)
    generic = degree > max_matches
    keep = ~(generic[a] | generic[b])
    return a[keep], b[keep], sim[keep], int(generic.sum())


def _title_postings(
    titles: list[str], has_time: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """Each dated title's distinct trigrams as (item, trigram) arrays, sorted by item then
    trigram; None when there is not one trigram."""
    n = len(titles)
    lengths = np.fromiter((len(t) for t in titles), dtype=np.int64, count=n)
    lengths[~has_time] = 0  # undated items cannot be placed in the window
    text = "".join(t for t, ok in zip(titles, has_time, strict=True) if ok)
    if n == 0 or len(text) < 3:
        return None
    symbols = _CODE[np.frombuffer(text.encode("ascii"), dtype=np.uint8)]
    owner = np.repeat(np.arange(n), lengths)
    same = owner[:-2] == owner[2:]
    grams = (symbols[:-2] * _SYMBOLS + symbols[1:-1]) * _SYMBOLS + symbols[2:]
    posting = _sorted_unique(owner[:-2][same] * _GRAMS + grams[same])  # by item, then gram
    return posting // _GRAMS, posting % _GRAMS


def _prefixes(
    item: np.ndarray,
    gram: np.ndarray,
    w: np.ndarray,
    df: np.ndarray,
    total: np.ndarray,
    review_threshold: float,
    common: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The postings to index (the prefix filter): order each title's trigrams rarest first;
    a pair with weighted Jaccard >= t shares a trigram within both titles' prefixes (the
    part whose remaining weight is still >= t * total), so only prefixes are indexed, and
    of them only the trigrams in two titles or more but not in more than `common`."""
    rank = np.empty(_GRAMS, dtype=np.int64)
    rank[np.lexsort((np.arange(_GRAMS), df))] = np.arange(_GRAMS)
    by_rank = np.lexsort((rank[gram], item))
    p_item, p_gram, p_w = item[by_rank], gram[by_rank], w[by_rank]
    before = np.cumsum(p_w) - p_w
    first = np.searchsorted(p_item, p_item, side="left")
    remaining = total[p_item] - (before - before[first])
    in_prefix = (
        (remaining >= review_threshold * total[p_item] * (1 - 1e-9))
        & (df[p_gram] > 1)
        & (df[p_gram] <= common)
    )
    return p_item[in_prefix], p_gram[in_prefix]


def _pairs_in_window(
    p_item: np.ndarray,
    p_gram: np.ndarray,
    seconds: np.ndarray,
    has_time: np.ndarray,
    accounts: np.ndarray,
    window_s: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct pairs (a < b) on different accounts sharing an indexed trigram and published
    within window_s of each other: postings sorted by (trigram, time), each paired with the
    later ones up to window_s ahead."""
    n = len(seconds)
    t0 = seconds[has_time].min()
    when = seconds[p_item] - t0
    span = np.int64(2) ** 36  # > 2,000 years of seconds: trigram groups never overlap
    sort_key = p_gram * span + when
    by_key = np.argsort(sort_key, kind="stable")
    sort_key, p_item = sort_key[by_key], p_item[by_key]
    end = np.searchsorted(sort_key, sort_key + window_s, side="right")
    count = end - np.arange(len(sort_key)) - 1
    left = np.repeat(np.arange(len(sort_key)), count)
    step = np.arange(len(left)) - np.repeat(np.cumsum(count) - count, count) + 1
    a, b = p_item[left], p_item[left + step]
    a, b = np.minimum(a, b), np.maximum(a, b)
    keep = (a != b) & (accounts[a] != accounts[b])
    pair = _sorted_unique(a[keep] * n + b[keep])
    return pair // n, pair % n


def _weighted_jaccard(
    a: np.ndarray,
    b: np.ndarray,
    item: np.ndarray,
    gram: np.ndarray,
    w: np.ndarray,
    df: np.ndarray,
    total: np.ndarray,
) -> np.ndarray:
    """Each pair's IDF-weighted Jaccard: each shared-able trigram (in two titles or more) of
    the title with fewer of them looked up in the other's postings."""
    n = len(total)
    postings = item * _GRAMS + gram  # sorted
    shared = df[gram] > 1
    s_item, s_gram, s_w = item[shared], gram[shared], w[shared]
    offsets = np.searchsorted(s_item, np.arange(n + 1))
    size = np.diff(offsets)
    swap = size[a] > size[b]
    short, other = np.where(swap, b, a), np.where(swap, a, b)
    reps = size[short]
    starts = np.cumsum(reps) - reps
    pos = np.repeat(offsets[short] - starts, reps) + np.arange(reps.sum())
    wanted = np.repeat(other * _GRAMS, reps) + s_gram[pos]
    found = np.searchsorted(postings, wanted)
    hit = postings[np.minimum(found, len(postings) - 1)] == wanted
    overlap = np.add.reduceat(np.where(hit, s_w[pos], 0.0), starts)
    return overlap / (total[a] + total[b] - overlap)


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    values = np.sort(values)
    return values[np.concatenate(([True], values[1:] != values[:-1]))] if len(values) else values


def _resolve(
    uf: _Families,
    keys: list[tuple[str, str, str]],
    seconds: np.ndarray,
    has_time: np.ndarray,
    registered: dict[int, str],
    tree: list[tuple[int, int, float, str]],
) -> tuple[list[str], list[str], list[float]]:
    """family_id, family_method and family_confidence of every item (canonical order)."""
    n = len(keys)
    adjacency: list[list[tuple[int, float, str]]] = [[] for _ in range(n)]
    for a, b, conf, method in tree:
        adjacency[a].append((b, conf, method))
        adjacency[b].append((a, conf, method))
    members: dict[int, list[int]] = defaultdict(list)
    for i in range(n):
        members[uf.find(i)].append(i)

    family_id = [""] * n
    method = ["single"] * n
    confidence = [1.0] * n
    latest = np.iinfo(np.int64).max
    for group in members.values():
        if len(group) == 1 and group[0] not in registered:  # most items: a family of one
            family_id[group[0]] = _family_id(keys[group[0]])
            continue
        anchors = [i for i in group if i in registered]
        if anchors:
            fid = registered[anchors[0]]
            for i in anchors:
                method[i] = "registry"
        else:
            anchor = min(group, key=lambda i: (seconds[i] if has_time[i] else latest, keys[i]))
            fid = _family_id(keys[anchor])
            anchors = [anchor]
            # the first member: its strongest link
            _, c, m = max(adjacency[anchor], key=lambda e: (e[1], _METHOD_RANK[e[2]]))
            confidence[anchor], method[anchor] = c, m
        for i in group:
            family_id[i] = fid
        # The weakest link on each member's path to the anchors (the tree is a forest).
        path: dict[int, tuple[float, int]] = {i: (math.inf, len(_METHOD_RANK)) for i in anchors}
        stack = list(anchors)
        while stack:
            node = stack.pop()
            for nxt, conf, how in adjacency[node]:
                if nxt in path:
                    continue
                path[nxt] = min(path[node], (conf, _METHOD_RANK[how]))
                confidence[nxt] = path[nxt][0]
                method[nxt] = next(m for m, r in _METHOD_RANK.items() if r == path[nxt][1])
                stack.append(nxt)
    return family_id, method, [round(float(c), 4) for c in confidence]


def _family_id(key: tuple[str, str, str]) -> str:
    """'f_' + 12 hex digits of md5('platform|account_id|item_id'), as the SQL fallback has it."""
    return "f_" + hashlib.md5("|".join(key).encode()).hexdigest()[:12]


def _links_frame(evidence: list[dict], keys: list[tuple[str, str, str]]) -> pd.DataFrame:
    if not evidence:
        # typed: DuckDB reads an empty object column as an integer one
        return pd.DataFrame({c: pd.Series(dtype="str") for c in LINK_COLUMNS}).astype(
            {"confidence": float, "to_review": bool}
        )
    rows = [
        {
            "platform_a": keys[e["a"]][0],
            "account_id_a": keys[e["a"]][1],
            "item_id_a": keys[e["a"]][2],
            "platform_b": keys[e["b"]][0],
            "account_id_b": keys[e["b"]][1],
            "item_id_b": keys[e["b"]][2],
            "method": e["method"],
            "confidence": float(e["confidence"]),
            "status": e["status"],
            "to_review": bool(e["to_review"]),
            "note": e["note"],
        }
        for e in evidence
    ]
    frame = pd.DataFrame(rows, columns=LINK_COLUMNS)
    return frame.sort_values(LINK_COLUMNS[:7], ignore_index=True)


# -- in the warehouse ------------------------------------------------------------------------
def check_registry(cfg) -> None:
    """The config's registry file (if any) is valid and names only configured accounts."""
    if cfg.registry:
        _check_registry_accounts(cfg, load_registry(cfg.registry))


def _check_registry_accounts(cfg, registry: pd.DataFrame) -> None:
    """Every registry row names a platform, and an account (if any), that the config has."""
    known: dict[str, set[str]] = {}
    for name, source in cfg.iter_sources():
        for account in source.accounts:
            if name == "csv_export":  # an export account's items are on its exports' platforms
                for export in account.exports:
                    known.setdefault(source.exports[export].platform, set()).add(account.id)
            else:
                known.setdefault(name, set()).add(account.id)
    for row in registry.itertuples():
        where = f"{cfg.registry}: line {row.line}"
        if row.platform not in known:
            raise ConfigError(
                f"{where}: unknown platform {row.platform!r} "
                f"(the config has {', '.join(sorted(known)) or 'no accounts'})"
            )
        if row.account_id and row.account_id not in known[row.platform]:
            raise ConfigError(
                f"{where}: no {row.platform} account {row.account_id!r} in the config"
            )


def warehouse_families(con, context) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Families and evidence over intermediate.int_items, with the config's registry file;
    computed once per build (the runner's context cache) for the two models that need it."""
    if "content_families" not in context.cache:
        items = con.sql(
            "select platform, account_id, item_id, title, description, links, url, published_at "
            "from intermediate.int_items"
        ).df()
        cfg = context.config
        registry = load_registry(cfg.registry) if cfg is not None and cfg.registry else None
        if registry is not None:
            _check_registry_accounts(cfg, registry)
        context.cache["content_families"] = content_families(items, registry)
    return context.cache["content_families"]
