"""Links and campaign codes in platform text: finding them, and their canonical forms.

Captions rarely carry a scheme: people write `northwind.example/news/x`,
`www.northwind.example/news/x` or "🔗 full story → m.northwind.example/x". `find_links`
finds those beside `https://` URLs, without taking ordinary text for a link ("e.g.",
"v2.0", `report.pdf`, `setup.py`). A scheme-less candidate counts when its host is one
the caller knows (`hosts`: a team's own sites, or any host the corpus links with a
scheme), or when its top-level domain is on a conservative list: common generic TLDs
and country codes, plus the names reserved for examples (`example`, `test`); TLDs that
are also file extensions (`.zip`, `.mov`, `.md`, `.py`, ...) are left out. Without a path
(`example.com` alone), only a generic TLD, a `www.` host or a known host counts: "like.it"
is text. E-mail addresses are not links.

`normalise_url` gives the form links are matched in (content identity, GA4 page ids).
`campaign_codes` reads a story's campaign code from `#spring24` hashtags and
`utm_campaign=spring-24` link parameters, normalised to one form (`spring24`; any script
transliterated, as titles are).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from urllib.parse import parse_qsl, unquote

from anyascii import anyascii

__all__ = ["campaign_codes", "find_links", "link_host", "normalise_code", "normalise_url"]

# generic TLDs a bare host may end in, path or not
GENERIC_TLDS = frozenset(
    "com net org edu gov mil int info biz io co news blog app dev page site online link "
    "live media press tech store shop xyz club example test".split()
)
# country codes (and a few domain hacks) that count with a path: `bit.ly/x`, `bbc.co.uk/x`
COUNTRY_TLDS = frozenset(
    "uk de fr es it nl be ch at se no dk fi ie pt gr cz pl hu ro bg ua ru kz tr il ae sa "
    "eg ng ke za ma in pk bd lk jp kr cn tw hk sg my id th vn ph au nz ca us mx br ar cl "
    "pe uy eu asia tv me ly gl fm gg gd".split()
)
_LINK_TLDS = GENERIC_TLDS | COUNTRY_TLDS
_DROPPED_HOST_LABELS = ("www", "m", "amp")  # the same site on the web, mobile and AMP

_SCHEMED = re.compile(r"https?://[^\s<>\"')\]]+", re.IGNORECASE)
# a host (ASCII labels, the last alphabetic), an optional port and path (URL characters
# only: the text around may be any script); not inside a word, an e-mail address or a
# longer host
_BARE = re.compile(
    r"(?<![\w@.\-/])"
    r"((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+([a-z]{2,24}))"
    r"(?::\d{2,5})?"
    r"(/[A-Za-z0-9\-._~%!$&*+,;=:@/?#]*)?"
    r"(?![\w@\-])",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?…»\"'"  # sentence punctuation that text keeps after a link


def link_host(host: str) -> str:
    """A host as links are matched: lower-case, without a leading `www.`, `m.` or `amp.`
    while two labels remain."""
    labels = host.lower().rstrip(".").split(".")
    while len(labels) > 2 and labels[0] in _DROPPED_HOST_LABELS:
        labels = labels[1:]
    return ".".join(labels)


def _known(host: str, hosts: frozenset[str]) -> bool:
    site = link_host(host)
    return any(site == h or site.endswith("." + h) for h in hosts)


def _bare_link(host: str, tld: str, path: str | None, hosts: frozenset[str]) -> bool:
    """Whether a scheme-less host (and path) in text is a link."""
    if _known(host, hosts):
        return True
    tld = tld.lower()
    if tld not in _LINK_TLDS:
        return False
    return bool(path and len(path) > 1) or tld in GENERIC_TLDS or host.lower().startswith("www.")


def find_links(text: str | None, hosts: Iterable[str] = ()) -> list[str]:
    """The links in a title, description or caption, in order, as written (with or without
    a scheme; trailing sentence punctuation dropped). `hosts`: sites whose scheme-less
    mentions count whatever their top-level domain."""
    if not text:
        return []
    known = frozenset(link_host(h) for h in hosts if h)
    found: list[tuple[int, str]] = []
    masked = list(text)
    for match in _SCHEMED.finditer(text):
        found.append((match.start(), match.group(0).rstrip(_TRAILING)))
        masked[match.start() : match.end()] = " " * (match.end() - match.start())
    rest = "".join(masked)
    for match in _BARE.finditer(rest):
        link = match.group(0).rstrip(_TRAILING)
        host, tld, path = match.group(1), match.group(2), match.group(3)
        if _bare_link(host, tld, path, known):
            found.append((match.start(), link))
    return [link for _, link in sorted(found)]


# -- canonical forms ----------------------------------------------------------------------
_URL_PARTS = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)([^?#]*)(?:\?([^#]*))?", re.S)
_HOST_FIRST = re.compile(r"^([a-z0-9](?:[a-z0-9.-]*[a-z0-9])?\.([a-z]{2,24}))(?=[/:?#]|$)", re.I)
_TRAILING_PUNCTUATION = ".,;:!?"  # sentence punctuation that text extractors keep on URLs
_YOUTUBE_HOSTS = frozenset({"youtube.com", "youtu.be", "youtube-nocookie.com"})
_YOUTUBE_ID_PATHS = frozenset({"shorts", "embed", "live", "v"})
_YOUTUBE_V = re.compile(r"(?:^|[&;])v=([^&;]+)")


def normalise_url(
    url: str,
    *,
    drop_prefixes: Sequence[str] = ("amp",),
    locales: Sequence[str] = (),
    hosts: Iterable[str] = (),
) -> str | None:
    """The canonical form of a URL for matching, or None when it is not an http(s) URL.

    `https://www.northwind.example/en/stories/x/amp/?utm_source=y#top` becomes
    `northwind.example/stories/x` (with locales=("en",)): host lower-cased without its
    scheme, user, port and leading "www.", "m." or `drop_prefixes` labels (while two labels
    remain); path percent-decoded, without a leading locale segment, /amp segments, a .amp
    suffix, empty segments and the trailing slash; query and fragment dropped. Path case is
    kept (ids in paths are case-sensitive). A bare path (`/stories/x/?utm_source=y`, as
    GA4's pagePath) gives the path alone (`/stories/x`). Scheme-less text is a URL when it
    starts with "www." or "//", or with a host `find_links` takes for a link
    (`northwind.example/x`; `hosts` as there). One exception to dropping the query: a
    YouTube video's id lives in it, so every form of a YouTube video URL (watch?v=,
    youtu.be/, /shorts/, /embed/) becomes `youtube.com/watch?v=<id>`.
    """
    if not isinstance(url, str):
        return None
    text = url.strip().rstrip(_TRAILING_PUNCTUATION)
    if not text:
        return None
    if text.startswith("//"):
        text = "http:" + text
    elif text.startswith("/"):
        return _canonical_path(re.split(r"[?#]", text, maxsplit=1)[0], locales) or "/"
    elif text[:4].lower() == "www.":
        text = "http://" + text
    elif "://" not in text:
        first = _HOST_FIRST.match(text)
        path = text[first.end() :] if first else ""
        known = frozenset(link_host(h) for h in hosts if h)
        if not first or not _bare_link(first.group(1), first.group(2), path, known):
            return None
        text = "http://" + text
    parts = _URL_PARTS.match(text)
    if not parts or parts.group(1).lower() not in ("http", "https"):
        return None
    host = parts.group(2).rpartition("@")[2].lower()
    host = host[: host.index("]") + 1] if host.startswith("[") and "]" in host else host
    host = host.partition(":")[0] if not host.startswith("[") else host
    labels = host.rstrip(".").split(".")
    if not labels[0]:
        return None
    droppable = _droppable_labels(tuple(drop_prefixes))
    while len(labels) > 2 and labels[0] in droppable:
        labels = labels[1:]
    host = ".".join(labels)
    path = parts.group(3)
    if host in _YOUTUBE_HOSTS:
        video_id = _youtube_video_id(host, path, parts.group(4) or "")
        if video_id:
            return f"youtube.com/watch?v={video_id}"
    return host + _canonical_path(path, locales)


@lru_cache(maxsize=16)
def _droppable_labels(drop_prefixes: tuple[str, ...]) -> frozenset[str]:
    return frozenset({"www", "m", *(p.lower().strip(".") for p in drop_prefixes)})


def _canonical_path(path: str, locales: Sequence[str]) -> str:
    segments = [unquote(s) if "%" in s else s for s in path.split("/") if s]
    if segments and locales:
        wanted = {loc.casefold().replace("_", "-") for loc in locales}
        if segments[0].casefold().replace("_", "-") in wanted:
            segments = segments[1:]
    if "amp" in path.lower():
        segments = [s for s in segments if s.casefold() != "amp"]
        if segments and segments[-1].casefold().endswith(".amp") and len(segments[-1]) > 4:
            segments[-1] = segments[-1][:-4]
    return "".join("/" + s for s in segments)


def _youtube_video_id(host: str, path: str, query: str) -> str | None:
    segments = [s for s in path.split("/") if s]
    if host == "youtu.be":
        return segments[0] if segments else None
    if segments == ["watch"]:
        found = _YOUTUBE_V.search(query)
        return unquote(found.group(1)) if found else None
    if len(segments) >= 2 and segments[0] in _YOUTUBE_ID_PATHS:
        return segments[1]
    return None


# -- campaign codes -------------------------------------------------------------------------
# a hashtag: `#` not inside a Latin word, a path or a URL fragment (after CJK text, which
# puts no space before it, it is one)
_HASHTAG = re.compile(r"(?<![A-Za-z0-9_/#&=])#(\w+)")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
_LETTER, _DIGIT = re.compile(r"[a-z]"), re.compile(r"[0-9]")
MIN_CODE_LENGTH = 4


def normalise_code(code: str) -> str:
    """A campaign code in one form: any script in Latin letters (anyascii), case folded,
    only letters and digits (`Spring-24`, `spring_24` and `#spring24` are `spring24`)."""
    return _NOT_ALNUM.sub("", anyascii(code).casefold())


def _is_code(code: str) -> bool:
    """A code names a campaign, not a topic: letters and digits both (`spring24`, `bf2026`),
    at least MIN_CODE_LENGTH of them; `#shorts`, `#news`, `#2026` or `c0` are no code."""
    return (
        len(code) >= MIN_CODE_LENGTH
        and _LETTER.search(code) is not None
        and _DIGIT.search(code) is not None
    )


def campaign_codes(text: str | None, links: Iterable[str] = ()) -> list[str]:
    """The campaign codes an item carries, normalised and in order: its hashtags (outside
    links) and the `utm_campaign` of its links."""
    found: list[str] = []
    if text:
        masked = _SCHEMED.sub(" ", text)
        found += [normalise_code(tag) for tag in _HASHTAG.findall(masked)]
    for link in links:
        query = link.partition("?")[2].partition("#")[0]
        found += [normalise_code(v) for k, v in parse_qsl(query) if k.lower() == "utm_campaign"]
    return list(dict.fromkeys(c for c in found if _is_code(c)))
