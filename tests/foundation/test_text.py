from hypothesis import given
from hypothesis import strategies as st

from trends import text


def test_hashtags_are_unicode_lowercased_and_deduplicated():
    assert text.extract_hashtags("#Terremoto forte! #terremoto #Incêndio #2024 a#b") == ["terremoto", "incêndio"]


def test_hashtags_are_capped():
    many = " ".join(f"#tag{i}" for i in range(5000))
    assert len(text.extract_hashtags(many)) == text.MAX_HASHTAGS


def test_mentions_urls_and_domains():
    body = "RT @Alice: see https://www.Example.com/a?b=1, and http://t.co/xyz. cc @bob_2"
    assert text.extract_mentions(body) == ["alice", "bob_2"]
    urls = text.extract_urls(body)
    assert urls == ["https://www.Example.com/a?b=1", "http://t.co/xyz"]
    assert text.extract_domains(urls) == ["example.com", "t.co"]
    assert text.retweeted_handle(body) == "alice"


def test_simhash_near_duplicates_are_close_and_different_texts_are_far():
    a = text.simhash64("Claim your FREE crypto airdrop now limited spots https://x.example/1")
    b = text.simhash64("claim your free crypto airdrop NOW limited spots https://x.example/2 @someone")
    c = text.simhash64("Strong earthquake felt in Lisbon, buildings shaking")
    assert text.hamming64(a, b) <= 3
    assert text.hamming64(a, c) > 12


@given(st.text())
def test_extractors_never_crash(value):
    text.extract_hashtags(value)
    text.extract_mentions(value)
    text.extract_domains(text.extract_urls(value))
    assert -(2**63) <= text.simhash64(value) < 2**63


def test_guess_language():
    assert text.guess_language("Chuva forte causa enchentes em São Paulo e os moradores") == "pt"
    assert text.guess_language("El Real Madrid gana el Clásico en el Bernabéu") == "es"
    assert text.guess_language("The Fed cuts interest rates by a quarter point") == "en"
    assert text.guess_language("#xyz 123") == ""


def test_fingerprint_drops_accents_and_keeps_other_scripts():
    assert text.normalise_for_fingerprint("Café NAÏVE https://x.example/a @bob") == "cafe naive"
    assert text.normalise_for_fingerprint("Café naïve") == text.normalise_for_fingerprint("Cafe naive")
    assert text.normalise_for_fingerprint("Землетрясение в Лиссабоне") == "землетрясение в лиссабоне"


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_fingerprint_of_ascii_equals_the_full_unicode_path(value):
    import unicodedata

    stripped = text.MENTION_RE.sub(" ", text.RETWEET_PREFIX_RE.sub("", text.URL_RE.sub(" ", value)))
    full = "".join(ch for ch in unicodedata.normalize("NFKD", stripped) if not unicodedata.combining(ch))
    assert text.normalise_for_fingerprint(value) == " ".join(text._WORD_RE.findall(full.lower()))
