from trends.detection.features import (
    clean_for_embedding,
    extract,
    extract_domains,
    extract_entities,
    extract_hashtags,
    guess_language,
    simhash64,
    split_hashtag,
    tokenise,
)
from trends.detection.scoring import hamming64


def test_hashtags_are_lowercased_deduplicated_and_skip_numbers():
    assert extract_hashtags("#PrayForBoston #prayforboston #2013 #Boston") == ["prayforboston", "boston"]


def test_domains_skip_url_shorteners():
    text = "see http://t.co/abc and https://www.bbc.co.uk/news/x and http://bit.ly/y"
    assert extract_domains(text) == ["bbc.co.uk"]


def test_entities_are_capitalised_phrases_not_sentence_starts_or_stopwords():
    ents = extract_entities("Explosion at a plant in West Texas near Waco. The fire spread")
    assert "west texas" in ents and "waco" in ents
    assert "explosion" not in ents and "the" not in ents and "fire" not in ents


def test_tokenise_drops_urls_handles_hashtags_and_stopwords():
    assert tokenise("RT @cnn: The flood is rising in the river http://t.co/x #flood") == ["flood", "rising", "river"]


def test_clean_for_embedding_strips_noise_and_splits_camel_case_hashtags():
    assert clean_for_embedding("RT @user: Explosions at the #BostonMarathon http://t.co/abc") == (
        "Explosions at the Boston Marathon"
    )
    assert split_hashtag("PrayForWest") == "Pray For West"


def test_language_hint_from_function_words():
    assert guess_language("el terremoto de la costa y los daños".split()) == "es"
    assert guess_language("the flood is in the city and the river".split()) == "en"
    assert guess_language(["terremoto"]) == ""


def test_extract_collects_everything_including_retweet_source():
    f = extract("RT @Reuters: Earthquake hits Costa Rica #temblorcr http://www.nacion.com/a")
    assert f.rt_source == "reuters"
    assert f.hashtags == ["temblorcr"]
    assert "costa rica" in f.entities
    assert f.domains == ["nacion.com"]
    assert "#temblorcr" in f.key_terms() and "earthquake" in f.lexical_terms()


def test_simhash_near_duplicates_are_close_and_different_texts_far():
    a = simhash64("Claim your FREE airdrop now, limited spots, click the link")
    b = simhash64("Claim your FREE airdrop now, limited spots, click the link!!")
    c = simhash64("The council approved the new budget for public libraries today")
    assert hamming64(a, b) <= 3
    assert hamming64(a, c) > 10
    assert -(2**63) <= a < 2**63


def test_title_case_sentences_are_not_taken_for_names():
    ents = extract_entities("so sad: Rip To Our Fort Riley Soldiers Who Passed Away near Kabul")
    assert all(len(e.split()) <= 4 for e in ents)
    assert "kabul" in ents


def test_extract_with_a_given_language_and_without_embedding_text_keeps_every_other_feature():
    from trends.detection.features import extract

    for text in [
        "RT @news: Huge Fire in West Texas. Firefighters in Waco respond #WestExplosion http://bit.ly/x www.kwtx.com/a",
        "&amp;lt;b&amp;gt; Boston Marathon. \u00a0 Texas Fire &amp; rescue",
        "Terremoto en Lima: el centro de la ciudad evacuado #TerremotoLima",
    ]:
        full, lean = extract(text), extract(text, lang="xx", embedding_text=False)
        assert (lean.tokens, lean.hashtags, lean.entities, lean.domains, lean.rt_source) == (
            full.tokens, full.hashtags, full.entities, full.domains, full.rt_source
        )
        assert lean.lang == "xx" and lean.clean_text == "" and full.clean_text
