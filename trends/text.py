"""Entity extraction and text fingerprints for posts (pure functions)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import urlsplit

# \w is Unicode-aware, so #terremoto, #incêndio and #東京 are all hashtags.
HASHTAG_RE = re.compile(r"(?<![\w&])#(\w{1,100})", re.UNICODE)
MENTION_RE = re.compile(r"(?<![\w@])@([A-Za-z0-9_]{1,30})")
URL_RE = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
RETWEET_PREFIX_RE = re.compile(r"^RT @([A-Za-z0-9_]{1,30}):?\s*")
_TRAILING_PUNCT = ".,;:!?)]}'\"…"
_WORD_RE = re.compile(r"\w+", re.UNICODE)

MAX_HASHTAGS = 30
MAX_MENTIONS = 30
MAX_URLS = 10


def extract_hashtags(text: str) -> list[str]:
    """Lower-cased, de-duplicated in order of appearance, capped (thousands of tags cannot bloat a row)."""
    seen: dict[str, None] = {}
    for match in HASHTAG_RE.finditer(text):
        tag = match.group(1).lower()
        if tag.isdigit():
            continue
        seen.setdefault(tag, None)
        if len(seen) >= MAX_HASHTAGS:
            break
    return list(seen)


def extract_mentions(text: str) -> list[str]:
    seen: dict[str, None] = {}
    for match in MENTION_RE.finditer(text):
        seen.setdefault(match.group(1).lower(), None)
        if len(seen) >= MAX_MENTIONS:
            break
    return list(seen)


def extract_urls(text: str) -> list[str]:
    urls: list[str] = []
    for match in URL_RE.finditer(text):
        url = match.group(0).rstrip(_TRAILING_PUNCT)
        if url not in urls:
            urls.append(url)
        if len(urls) >= MAX_URLS:
            break
    return urls


def url_domain(url: str) -> str:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.lower().removeprefix("www.")


def extract_domains(urls: list[str]) -> list[str]:
    domains: list[str] = []
    for url in urls:
        domain = url_domain(url)
        if domain and domain not in domains:
            domains.append(domain)
    return domains


def retweeted_handle(text: str) -> str | None:
    match = RETWEET_PREFIX_RE.match(text)
    return match.group(1).lower() if match else None


def normalise_for_fingerprint(text: str) -> str:
    """Case-, accent-, URL- and mention-insensitive form: near-duplicate spam differs in exactly those."""
    text = URL_RE.sub(" ", text)
    text = RETWEET_PREFIX_RE.sub("", text)
    text = MENTION_RE.sub(" ", text)
    if not text.isascii():  # ASCII has nothing to decompose and no combining marks: most posts skip this
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(_WORD_RE.findall(text.lower()))


_MASK64 = (1 << 64) - 1


def simhash64(text: str) -> int:
    """64-bit SimHash over word 2-shingles, as a signed integer so it fits a BIGINT column.

    Per-bit vote counts are kept bit-sliced (one Python int per binary digit of the count, 64 lanes
    each), so a shingle costs a handful of integer operations instead of a 64-step loop.
    """
    tokens = normalise_for_fingerprint(text).split()
    shingles = [" ".join(tokens[i : i + 2]) for i in range(max(1, len(tokens) - 1))] if tokens else []
    if not shingles:
        return 0
    planes: list[int] = []
    for shingle in shingles:
        carry = int.from_bytes(hashlib.blake2b(shingle.encode(), digest_size=8).digest(), "big")
        for level, plane in enumerate(planes):
            planes[level] = plane ^ carry
            carry &= plane
            if not carry:
                break
        if carry:
            planes.append(carry)
    # Lanes whose count of 1-votes exceeds half the shingles: a bit-sliced "count > threshold".
    threshold = len(shingles) // 2
    greater, equal = 0, _MASK64
    for level in range(len(planes) - 1, -1, -1):
        plane = planes[level]
        if (threshold >> level) & 1:
            equal &= plane
        else:
            greater |= equal & plane
            equal &= ~plane & _MASK64
    for level in range(len(planes), threshold.bit_length()):
        if (threshold >> level) & 1:
            equal = 0
    value = greater
    return value - (1 << 64) if value >= (1 << 63) else value


def hamming64(a: int, b: int) -> int:
    return ((a ^ b) & ((1 << 64) - 1)).bit_count()


# Small stopword profiles: enough to tell the languages the demo and CrisisLex carry apart when a
# source gives no language. Not a general identifier; posts with an explicit `lang` keep it.
_STOPWORDS = {
    "en": "the and is in to of for on with this that are at be it was from by not have you we our".split(),
    "es": "el la los las de del que en y un una por para con es no se al lo su más está muy".split(),
    "pt": "o a os as de do da dos das que em e um uma para com não se no na por mais está são".split(),
    "it": "il lo la gli le di del della che e un una per con non è sono nel nella si al più".split(),
    "fr": "le la les de des du que et un une pour avec est pas sur dans au aux ce qui".split(),
    "de": "der die das und ist nicht mit für auf den dem ein eine zu im von es sich".split(),
    "tl": "ang ng mga sa na at ay si ni kay para hindi ito ako tayo kami sila po".split(),
}
_STOP_INDEX: dict[str, list[str]] = {}
for _lang, _words in _STOPWORDS.items():
    for _word in _words:
        _STOP_INDEX.setdefault(_word, []).append(_lang)


def guess_language(text: str) -> str:
    """ISO 639-1 guess from stopwords, or "" when there is too little evidence."""
    scores: dict[str, float] = {}
    for word in _WORD_RE.findall(URL_RE.sub(" ", text.lower())):
        langs = _STOP_INDEX.get(word)
        if langs:
            for lang in langs:
                scores[lang] = scores.get(lang, 0.0) + 1.0 / len(langs)
    if not scores:
        return ""
    best = max(scores, key=scores.get)
    return best if scores[best] >= 1.0 else ""
