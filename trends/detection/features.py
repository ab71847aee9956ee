"""Text features of one post: cheap, deterministic, no Django.

The clusterer separates look-alike events (two floods, two earthquakes) by what the embedding
blurs: hashtags, capitalised names (places, organisations), URL domains and the language.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field

URL_RE = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
RT_PREFIX_RE = re.compile(r"^(?:RT|MT)\s*@\w+\s*:?\s*", re.IGNORECASE)
MENTION_RE = re.compile(r"@\w+")
HASHTAG_RE = re.compile(r"#(\w+)", re.UNICODE)
RT_SOURCE_RE = re.compile(r"(?:^|\s)(?:RT|MT|via)\s*@(\w+)", re.IGNORECASE)
WORD_RE = re.compile(r"[^\W\d_](?:[\w'’-]*[^\W_])?", re.UNICODE)
CAMEL_RE = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])")
DOMAIN_RE = re.compile(r"https?://(?:www\.)?([^/\s?#]+)", re.IGNORECASE)
# Capitalised word runs ("Lac Megantic", "West Texas"), allowing lowercase linkers inside.
CAP_RUN_RE = re.compile(
    r"\b([A-ZÀ-Ý][\w'’-]+(?:\s+(?:(?:de|del|la|di|da|do|dos|of|the|and|y|e)\s+)?[A-ZÀ-Ý][\w'’-]+)*)",
    re.UNICODE,
)
# Shorteners carry no information about the publisher.
SHORTENER_DOMAINS = frozenset(
    {"t.co", "bit.ly", "ow.ly", "goo.gl", "tinyurl.com", "dlvr.it", "fb.me", "is.gd", "buff.ly",
     "j.mp", "tl.gd", "ht.ly", "lnkd.in", "wp.me", "youtu.be", "ift.tt", "tinyurl", "su.pr"}
)

# Function words of the languages a firehose commonly carries; used both as stop words and as a
# language hint (which set a post's words fall into).
STOPWORDS_BY_LANG: dict[str, frozenset[str]] = {
    "en": frozenset(
        ["the", "a", "an", "and", "or", "but", "of", "to", "in", "on", "at", "for", "from", "by", "with", "about", "as", "is", "are", "was", "were", "be", "been", "being", "it", "its", "this", "that", "these", "those", "i", "you", "he", "she", "we", "they", "me", "him", "her", "us", "them", "my", "your", "his", "our", "their", "not", "no", "so", "if", "then", "than", "too", "very", "can", "will", "just", "do", "does", "did", "have", "has", "had", "what", "who", "whom", "which", "when", "where", "why", "how", "all", "any", "some", "more", "most", "other", "such", "only", "own", "same", "into", "over", "after", "before", "up", "down", "out", "off", "again", "there", "here", "am", "would", "should", "could", "get", "got", "im", "dont", "via", "rt", "amp", "new", "now", "one", "like", "people",
         # Interjections that open posts and would otherwise pass for names ("Honestly World").
         "omg", "wow", "lol", "honestly", "breaking", "finally", "update", "watch", "look", "yes", "ok",
         "okay", "really"]
    ),
    "es": frozenset(
        ["el", "la", "los", "las", "un", "una", "unos", "unas", "y", "o", "de", "del", "al", "en", "con", "por", "para", "que", "es", "son", "fue", "se", "su", "sus", "lo", "le", "les", "me", "mi", "mis", "te", "tu", "tus", "nos", "este", "esta", "estos", "estas", "ese", "esa", "eso", "muy", "mas", "más", "ya", "no", "si", "sí", "hay", "como", "pero", "porque", "cuando", "donde", "todo", "todos", "toda", "ha", "han", "hoy"]
    ),
    "it": frozenset(
        ["il", "lo", "la", "i", "gli", "le", "un", "una", "uno", "e", "ed", "o", "di", "del", "della", "dei", "delle", "da", "dal", "in", "nel", "nella", "con", "per", "su", "sul", "che", "è", "sono", "non", "si", "ci", "ne", "mi", "ti", "vi", "questo", "questa", "quello", "come", "ma", "anche", "più", "tutto", "tutti", "ha", "hanno", "alle", "alla", "ai", "agli"]
    ),
    "pt": frozenset(
        ["o", "a", "os", "as", "um", "uma", "uns", "umas", "e", "ou", "de", "do", "da", "dos", "das", "em", "no", "na", "nos", "nas", "com", "por", "para", "que", "é", "são", "foi", "se", "seu", "sua", "não", "mais", "muito", "como", "mas", "também", "isso", "esta", "este", "essa", "esse", "pelo", "pela", "ao", "aos", "já", "tem"]
    ),
    "fr": frozenset(
        ["le", "la", "les", "un", "une", "des", "et", "ou", "de", "du", "en", "dans", "avec", "pour", "par", "que", "qui", "est", "sont", "été", "se", "sa", "son", "ses", "ne", "pas", "plus", "très", "comme", "mais", "aussi", "ce", "cette", "ces", "au", "aux", "sur"]
    ),
    "de": frozenset(
        ["der", "die", "das", "ein", "eine", "und", "oder", "von", "zu", "im", "in", "mit", "für", "auf", "ist", "sind", "war", "nicht", "auch", "wie", "aber", "dem", "den", "des", "sich", "es"]
    ),
    "tl": frozenset(["ang", "ng", "sa", "mga", "na", "at", "si", "ay", "ni", "kay", "para", "naman", "po", "lang", "din", "rin", "ba", "ko", "mo"]),
}
STOPWORDS = frozenset().union(*STOPWORDS_BY_LANG.values())
MAX_ENTITY_WORDS = 4
_SENTENCE_ENDS = (".", "!", "?", ":")


@dataclass(slots=True)
class PostFeatures:
    """What the clusterer and the namer need from one post's text."""

    tokens: list[str] = field(default_factory=list)  # lowercased content words, no stop words
    hashtags: list[str] = field(default_factory=list)  # lowercased, without '#'
    entities: list[str] = field(default_factory=list)  # lowercased capitalised phrases
    domains: list[str] = field(default_factory=list)
    lang: str = ""
    rt_source: str = ""  # the account a retweet/quote came from, lowercased
    clean_text: str = ""  # what the embedding model sees

    def lexical_terms(self) -> list[str]:
        """Prefixed terms for the lexical profile: hashtags and entities weigh more than words."""
        terms = [f"#{h}" for h in self.hashtags]
        terms += [f"@e:{e}" for e in self.entities]
        terms += [f"d:{d}" for d in self.domains]
        terms += self.tokens
        return terms

    def key_terms(self) -> list[str]:
        """The rare, discriminative terms used to find candidate events (inverted index keys)."""
        keys = [f"#{h}" for h in self.hashtags] + [f"@e:{e}" for e in self.entities]
        keys += [f"d:{d}" for d in self.domains]
        return keys


def normalise(text: str) -> str:
    text = html.unescape(text or "")
    return unicodedata.normalize("NFC", text)


def split_hashtag(tag: str) -> str:
    """'#BostonMarathon' -> 'Boston Marathon' so the embedding sees words it knows."""
    return CAMEL_RE.sub(" ", tag).replace("_", " ")


def clean_for_embedding(text: str) -> str:
    """Strip what carries no meaning for a sentence model (URLs, RT headers, @handles, '#')."""
    return _clean_normalised(normalise(text))


def _clean_normalised(text: str) -> str:
    text = RT_PREFIX_RE.sub("", text.strip())
    text = URL_RE.sub(" ", text)
    text = MENTION_RE.sub(" ", text)
    text = HASHTAG_RE.sub(lambda m: split_hashtag(m.group(1)), text)
    text = re.sub(r"\s+", " ", text).strip(" .:-…")
    return text or normalise(text)


def tokenise(text: str) -> list[str]:
    """Lowercased content words of a post (URLs, handles, hashtags and stop words removed)."""
    return _content_words(_words(normalise(text)))


def _words(normalised: str) -> list[str]:
    """Words of the text with URLs, handles and hashtags taken out."""
    return WORD_RE.findall(_strip_tags(URL_RE.sub(" ", normalised)))


def _strip_tags(text: str) -> str:
    """Handles, then hashtags, replaced by a space (each sub skipped when its sign is absent)."""
    if "@" in text:
        text = MENTION_RE.sub(" ", text)
    if "#" in text:
        text = HASHTAG_RE.sub(" ", text)
    return text


# word -> its content form, or None for a word that is not one; shared by the process, bounded.
_CONTENT_WORD: dict[str, str | None] = {}
_CONTENT_WORD_MAX = 200_000


def _content_words(words: list[str]) -> list[str]:
    out = []
    known = _CONTENT_WORD
    for word in words:
        # Words repeat across posts: each distinct word is lowered and checked once.
        try:
            w = known[word]
        except KeyError:
            w = word.lower().strip("'’-")
            if len(w) < 3 or w in STOPWORDS or w in {"http", "https"}:
                w = None
            if len(known) < _CONTENT_WORD_MAX:
                known[word] = w
        if w is not None:
            out.append(w)
    return out


def extract_hashtags(text: str) -> list[str]:
    return _hashtags_normalised(normalise(text))


def _hashtags_normalised(text: str) -> list[str]:
    seen: dict[str, None] = {}
    for tag in HASHTAG_RE.findall(text):
        t = tag.lower()
        if len(t) >= 2 and not t.isdigit():
            seen.setdefault(t, None)
    return list(seen)


def extract_domains(text: str) -> list[str]:
    if not text or "://" not in text:
        return []
    seen: dict[str, None] = {}
    for dom in DOMAIN_RE.findall(text or ""):
        d = dom.lower().rstrip(".,;:)…")
        if d and d not in SHORTENER_DOMAINS and "." in d:
            seen.setdefault(d, None)
    return list(seen)


def extract_entities(text: str) -> list[str]:
    """Named-entity-ish capitalised phrases, skipping sentence-initial stop words and all-caps shouting.

    No NER model: a capitalised word that is not a stop word, not at the start of a sentence
    unless part of a longer run, is a good proxy for places and organisations in news posts.
    """
    return _entities_normalised(normalise(text))


def _entities_normalised(text: str) -> list[str]:
    return _entities_in(_strip_tags(RT_PREFIX_RE.sub("", URL_RE.sub(" ", text))))


def _entities_in(text: str) -> list[str]:
    """_entities_normalised of a text whose URLs, RT header, handles and hashtags are taken out."""
    seen: dict[str, None] = {}
    for m in CAP_RUN_RE.finditer(text):
        phrase = m.group(1)
        words = phrase.split()
        # Drop leading stop words ("The", "In") so "In Boston" -> "boston".
        while words and words[0].lower() in STOPWORDS:
            words = words[1:]
        while words and words[-1].lower() in STOPWORDS:
            words = words[:-1]
        # Long capitalised runs are Title Case Sentences, not names.
        if not words or len(words) > MAX_ENTITY_WORDS:
            continue
        start = m.start()
        # The last non-space character before the phrase ends a sentence (same as the regex
        # [.!?:]\s*$ on text[:start], without a scan of the text so far per phrase).
        sentence_start = start == 0 or text[:start].rstrip()[-1:] in _SENTENCE_ENDS
        if len(words) == 1:
            w = words[0]
            if sentence_start or len(w) < 3 or (w.isupper() and len(w) > 4):
                continue
        ent = " ".join(words).lower()
        # re.sub(r"['’]s$", "", ent) without a regex call per phrase (the joined words hold no
        # newline, so "$" is the end of the string).
        if ent.endswith(("'s", "’s")):
            ent = ent[:-2]
        if ent in STOPWORDS:
            continue
        seen.setdefault(ent, None)
    return list(seen)


# function word -> the languages (of STOPWORDS_BY_LANG) it belongs to.
_LANGS_OF: dict[str, tuple[str, ...]] = {}
for _lang, _function_words in STOPWORDS_BY_LANG.items():
    for _function_word in _function_words:
        _LANGS_OF[_function_word] = (*_LANGS_OF.get(_function_word, ()), _lang)
del _lang, _function_words, _function_word


def guess_language(tokens_and_stop: list[str]) -> str:
    """The language whose function words the post uses most ('' when no clear winner)."""
    # Each language's count from one pass over the words, not one pass per language.
    counts: dict[str, int] = {}
    langs_of = _LANGS_OF
    for w in tokens_and_stop:
        langs = langs_of.get(w)
        if langs:
            for lang in langs:
                counts[lang] = counts.get(lang, 0) + 1
    best, best_n, second_n = "", 0, 0
    for lang in STOPWORDS_BY_LANG:
        n = counts.get(lang, 0)
        if n > best_n:
            best, best_n, second_n = lang, n, best_n
        elif n > second_n:
            second_n = n
    if best_n >= 2 and best_n > second_n:
        return best
    return ""


def rt_source(text: str) -> str:
    if not text or "@" not in text:
        return ""
    m = RT_SOURCE_RE.search(text)
    return m.group(1).lower() if m else ""


def extract(text: str, *, lang: str = "", embedding_text: bool = True) -> PostFeatures:
    """All features of one post in one call.

    `lang`: the client's language tag, used instead of guessing one. `embedding_text=False`
    leaves `clean_text` empty (the clusterer gets its vectors elsewhere and never reads it).
    """
    norm = normalise(text)
    # The parts below have always worked on normalise(norm); it equals norm unless an entity
    # survived the first unescape ("&amp;lt;"), so the second pass is only paid for then.
    again = norm if "&" not in norm else normalise(norm)
    without_urls = URL_RE.sub(" ", norm)
    words_text = _strip_tags(without_urls)
    words = WORD_RE.findall(words_text)
    if again is norm and not RT_PREFIX_RE.match(without_urls):
        # Without an RT header the entity pass would strip exactly what the word pass stripped.
        entities = _entities_in(words_text)
    else:
        entities = _entities_normalised(again)
    return PostFeatures(
        tokens=_content_words(words if again is norm else _words(again)),
        hashtags=_hashtags_normalised(again) if "#" in again else [],
        entities=entities,
        domains=extract_domains(norm),
        lang=lang or guess_language([w.lower() for w in words]),
        rt_source=rt_source(norm),
        clean_text=_clean_normalised(again) if embedding_text else "",
    )


def simhash64(text: str) -> int:
    """64-bit SimHash of word shingles of the normalised text (near-duplicates differ in few bits).

    Returned as a signed 64-bit integer so it fits a database BIGINT.
    """
    import hashlib

    words = [w.lower() for w in WORD_RE.findall(URL_RE.sub(" ", RT_PREFIX_RE.sub("", normalise(text))))]
    shingles = [" ".join(words[i : i + 2]) for i in range(max(1, len(words) - 1))] if words else [""]
    acc = [0] * 64
    for sh in shingles:
        h = int.from_bytes(hashlib.blake2b(sh.encode("utf-8"), digest_size=8).digest(), "little")
        for bit in range(64):
            acc[bit] += 1 if (h >> bit) & 1 else -1
    value = 0
    for bit in range(64):
        if acc[bit] > 0:
            value |= 1 << bit
    return value - (1 << 64) if value >= (1 << 63) else value
