"""The database-backed pipeline: the same detection code, state loaded from and written to the DB."""

import datetime as dt
import json

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from tests.factories import TweetFactory
from trends import pipeline
from trends.models import (
    BlockRule,
    Event,
    EventBucket,
    EventMembership,
    EventSnapshot,
    PipelineState,
    Tweet,
)
from trends.text import extract_hashtags
from users.models import User

pytestmark = pytest.mark.django_db

QUAKE = "Strong earthquake shakes Lima buildings damaged rescue teams #limaquake"
MATCH = "Madrid wins the derby match late goal stadium fans celebrate #elclasico"


def _user(*, new=False):
    # No password hashing: factories hash one per user, which dominates these tests' time.
    n = User.objects.count()
    joined = timezone.now() - dt.timedelta(days=0 if new else 400)
    return User.objects.create(username=f"detect{n}", date_joined=joined, trust_score=0.0 if new else 0.5)


def _post(text, at, author=None, i=0):
    words = text.split()
    # Vary one word per post so texts are not identical.
    body = " ".join(words[:-1] + [f"w{i}", words[-1]])
    return TweetFactory(text=body, created_at=at, author=author or _user(), hashtags=extract_hashtags(body))


@pytest.fixture
def stream(fake_embedder):
    start = timezone.now() - dt.timedelta(minutes=30)
    quake = [_post(QUAKE, start + dt.timedelta(seconds=20 * i), i=i) for i in range(12)]
    match = [_post(MATCH, start + dt.timedelta(seconds=20 * i + 7), i=i) for i in range(12)]
    noise = [
        _post(f"random musing number {i} about breakfast and weather", start + dt.timedelta(seconds=33 * i), i=i)
        for i in range(3)
    ]
    return quake, match, noise


def _run_all(tweets, limit=None):
    assert pipeline.tweets_embed(tweet_ids=[t.pk for t in tweets], top_up=False) == len(tweets)
    total = 0
    while n := pipeline.shard_cluster(shard=0, limit=limit):
        total += n
    return total


def test_stream_becomes_two_events_with_noise_left_out_and_is_idempotent(stream):
    quake, match, noise = stream
    assert _run_all(quake + match + noise) == 27
    assert pipeline.shard_cluster(shard=0) == 0  # nothing left: a re-run is a no-op
    assert pipeline.tweets_embed(tweet_ids=[t.pk for t in quake], top_up=False) == 0
    events = {m.event_id for m in EventMembership.objects.filter(tweet__in=quake)}
    assert len(events) == 1
    quake_event = Event.objects.get(pk=events.pop())
    match_event = Event.objects.get(pk=EventMembership.objects.get(tweet=match[0]).event_id)
    assert quake_event.pk != match_event.pk
    assert quake_event.tweet_count == 12 and quake_event.author_count == 12
    assert "limaquake" in quake_event.hashtags
    assert set(Tweet.objects.filter(pk__in=[t.pk for t in quake + match]).values_list("pipeline_state", flat=True)) == {
        PipelineState.ASSIGNED
    }
    for t in noise:
        t.refresh_from_db()
        assert t.pipeline_state == PipelineState.UNASSIGNED
        assert not EventMembership.objects.filter(tweet=t, event__author_count__gte=5).exists()
    assert sum(EventBucket.objects.filter(event=quake_event).values_list("tweets", flat=True)) == 12
    assert sum(EventBucket.objects.filter(event=quake_event).values_list("new_authors", flat=True)) == 12
    assert EventSnapshot.objects.filter(event=quake_event, note="detected").exists()


def test_state_is_reloaded_between_batches_and_ids_stay_stable(stream):
    quake, match, noise = stream
    _run_all(quake + match + noise, limit=5)
    assert len({m.event_id for m in EventMembership.objects.filter(tweet__in=quake)}) == 1
    assert len({m.event_id for m in EventMembership.objects.filter(tweet__in=match)}) == 1


def test_score_lifecycle_and_describe(stream):
    quake, match, noise = stream
    _run_all(quake + match + noise)
    now = timezone.now()
    assert pipeline.events_score(now=now) == 2
    event = Event.objects.get(pk=EventMembership.objects.get(tweet=quake[0]).event_id)
    assert event.trend_score > 0 and event.surprise > 0 and event.velocity > 0
    assert pipeline.events_update_lifecycle(now=now) == 2
    event.refresh_from_db()
    assert event.state == "trending" and event.trending_since is not None
    # Idempotent: a second run changes nothing.
    assert pipeline.events_update_lifecycle(now=now) == 0
    Event.objects.filter(pk=event.pk).update(title="Curated title", title_locked=True)
    assert pipeline.events_describe() == 2
    Event.objects.filter(pk=event.pk).update(hidden=True)
    assert pipeline.events_describe() == 1  # a hidden event is left to its curator
    Event.objects.filter(pk=event.pk).update(hidden=False)
    event.refresh_from_db()
    assert event.title == "Curated title"
    other = Event.objects.get(pk=EventMembership.objects.get(tweet=match[0]).event_id)
    assert other.title and other.summary.startswith("Trending in")
    assert other.category in {"sports", "news", "entertainment", "technology", "politics", "science", "business",
                              "other"}
    reps = other.representative_tweet_ids
    assert reps and set(reps) <= {t.pk for t in match}
    authors = Tweet.objects.filter(pk__in=reps).values_list("author_id", flat=True)
    assert len(set(authors)) == len(reps)
    # Long silence archives it.
    later = now + dt.timedelta(days=10)
    pipeline.events_score(now=later)
    pipeline.events_update_lifecycle(now=later)
    other.refresh_from_db()
    assert other.state == "archived"


def test_blocked_content_never_enters_events(stream, fake_embedder):
    quake, match, noise = stream
    BlockRule.objects.create(kind=BlockRule.Kind.HASHTAG, value="elclasico", action=BlockRule.Action.BLOCK)
    from trends.curation.services import blockrules_invalidate

    blockrules_invalidate()
    _run_all(quake + match + noise)
    for t in match:
        t.refresh_from_db()
        assert t.pipeline_state == PipelineState.EXCLUDED
    assert not EventMembership.objects.filter(tweet__in=match).exists()
    assert EventMembership.objects.filter(tweet__in=quake).count() == 12


def test_evaluate_events_command_on_a_generated_csv(tmp_path, fake_embedder, capsys):
    start = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    lines = ["event,tweet_id,timestamp_utc,text,informativeness"]
    n = 0
    for name, text in (("quake", QUAKE), ("match", MATCH)):
        for i in range(15):
            n += 1
            ts = (start + dt.timedelta(seconds=30 * i + (7 if name == "match" else 0))).strftime("%Y-%m-%dT%H:%M:%SZ")
            body = text.replace("#", f"w{i} #")
            lines.append(f'{name},{n},{ts},"{body}",Related and informative')
    for i in range(4):
        n += 1
        lines.append(f'quake,{n},2030-01-01T00:0{i}:10Z,"lunch plans {i} and some weather chat",Not related')
    path = tmp_path / "tiny.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.json"
    call_command("evaluate_events", str(path), "--json", str(out), "--cache-dir", str(tmp_path / "cache"))
    printed = json.loads(capsys.readouterr().out.strip())
    saved = json.loads(out.read_text())
    assert printed == saved
    for key in ("bcubed_precision", "bcubed_recall", "bcubed_f1", "nmi", "ari", "events_gold", "events_detected",
                "median_detection_delay_tweets", "noise_in_events_share", "embed_tweets_per_second",
                "cluster_tweets_per_second"):
        assert key in printed
    assert printed["events_gold"] == 2 and printed["events_detected"] == 2
    assert printed["bcubed_f1"] > 0.9
    assert printed["median_detection_delay_tweets"] <= 10
    # Second run: every embedding comes from the cache.
    call_command("evaluate_events", str(path), "--cache-dir", str(tmp_path / "cache"))
    assert json.loads(capsys.readouterr().out.strip())["embeddings_computed"] == 0


def test_evaluate_events_rejects_a_csv_without_the_required_columns(tmp_path, fake_embedder):
    from django.core.management.base import CommandError

    path = tmp_path / "bad.csv"
    path.write_text("id,text\n1,hello\n", encoding="utf-8")
    with pytest.raises(CommandError, match="missing column"):
        call_command("evaluate_events", str(path))


def test_worker_keeps_shard_state_between_batches_until_someone_else_writes(stream, django_capture_on_commit_callbacks):
    from django.db.models import F

    quake, match, noise = stream
    pipeline._STATE_CACHE.clear()
    pipeline.tweets_embed(tweet_ids=[t.pk for t in quake + match + noise])
    with django_capture_on_commit_callbacks(execute=True):
        assert pipeline.shard_cluster(shard=0, limit=10)
    assert len(pipeline._STATE_CACHE) == 1
    kept = next(iter(pipeline._STATE_CACHE.values()))[1]
    # Temporary ids were replaced by the database ids of the rows written.
    assert all(cid > 0 for cid in kept.clusters)
    assert set(kept.clusters) <= set(Event.objects.values_list("pk", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        assert pipeline.shard_cluster(shard=0, limit=10)
    assert next(iter(pipeline._STATE_CACHE.values()))[1] is kept
    # A curator's edit (any version bump) makes the next batch reload from the database.
    Event.objects.filter(pk=min(kept.clusters)).update(version=F("version") + 1)
    with django_capture_on_commit_callbacks(execute=True):
        while pipeline.shard_cluster(shard=0, limit=10):
            pass
    assert next(iter(pipeline._STATE_CACHE.values()))[1] is not kept
    assert len({m.event_id for m in EventMembership.objects.filter(tweet__in=quake)}) == 1
    assert len({m.event_id for m in EventMembership.objects.filter(tweet__in=match)}) == 1
    pipeline._STATE_CACHE.clear()


def test_coordinated_near_duplicate_burst_from_new_accounts_does_not_trend(stream):
    quake, match, noise = stream
    start = timezone.now() - dt.timedelta(minutes=20)
    spam_text = "Claim your FREE crypto airdrop now limited spots hurry up and click the link #airdrop"
    spam = [
        TweetFactory(text=spam_text, created_at=start + dt.timedelta(seconds=15 * i), author=_user(new=True),
                     hashtags=["airdrop"])
        for i in range(10)
    ]
    for t in spam:
        from trends.text import simhash64

        Tweet.objects.filter(pk=t.pk).update(simhash=simhash64(t.text))
    for t in quake:
        from trends.text import simhash64

        Tweet.objects.filter(pk=t.pk).update(simhash=simhash64(t.text))
    _run_all(quake + spam)
    spam_event = Event.objects.get(pk=EventMembership.objects.get(tweet=spam[0]).event_id)
    quake_event = Event.objects.get(pk=EventMembership.objects.get(tweet=quake[0]).event_id)
    assert spam_event.author_count == 10  # ten accounts: enough for an event...
    now = timezone.now()
    pipeline.events_score(now=now)
    pipeline.events_update_lifecycle(now=now)
    spam_event.refresh_from_db()
    quake_event.refresh_from_db()
    # ...but they are coordinated near-duplicates from brand-new accounts: no trend, low health.
    assert spam_event.state != "trending" and spam_event.health < 0.5 and spam_event.trend_score == 0
    assert quake_event.state == "trending" and quake_event.health == 1.0
    assert set(Tweet.objects.filter(pk__in=[t.pk for t in spam]).values_list("health", flat=True)) == {
        pipeline.COORDINATED_HEALTH
    }


def test_events_that_converge_are_merged_in_the_database_with_a_link(fake_embedder):
    from trends.embedding import pack
    from trends.models import EventLink, EventState

    now = timezone.now()
    texts_a = [f"Storm floods Lisbon harbour boats sink #lisbonstorm a{i}" for i in range(8)]
    texts_b = [f"Storm floods Lisbon harbour streets closed #lisbonstorm b{i}" for i in range(8)]
    events = []
    for k, texts in enumerate((texts_a, texts_b)):
        vec = fake_embedder.encode([" ".join(texts)])[0]
        # Seeded so the second batch's posts fit either; the first is older and must survive.
        event = Event.objects.create(
            shard=0, first_seen_at=now - dt.timedelta(minutes=40 - k), last_seen_at=now - dt.timedelta(minutes=5),
            centroid=pack(vec), tweet_count=8, author_count=8, state=EventState.EMERGING,
            hashtags={"lisbonstorm": 8}, entities={"names": {"lisbon": 8}, "words": {"storm": 8, "harbour": 8}},
        )
        for i, text in enumerate(texts):
            t = _post(text, now - dt.timedelta(minutes=30 - i))
            Tweet.objects.filter(pk=t.pk).update(pipeline_state=PipelineState.ASSIGNED)
            EventMembership.objects.create(tweet=t, event=event, tweet_created_at=t.created_at, author_id=t.author_id)
        EventBucket.objects.create(event=event, start=now - dt.timedelta(minutes=30), tweets=8, new_authors=8)
        events.append(event)
    fresh = [_post(f"Storm floods Lisbon harbour again #lisbonstorm c{i}", now - dt.timedelta(minutes=4 - i / 10), i=i)
             for i in range(6)]
    pipeline.tweets_embed(tweet_ids=[t.pk for t in fresh])
    # Every maintenance pass runs at the end of a batch: the two events converge and merge.
    pipeline.shard_cluster(shard=0)
    older, newer = events
    newer.refresh_from_db()
    older.refresh_from_db()
    assert newer.state == EventState.MERGED and newer.merged_into_id == older.pk
    assert EventLink.objects.filter(source=newer, target=older, kind=EventLink.Kind.MERGE).exists()
    assert EventMembership.objects.filter(event=older).count() == 16 + 6
    assert not EventMembership.objects.filter(event=newer).exists()
    assert not EventBucket.objects.filter(event=newer).exists()
    assert older.tweet_count == 22


def test_an_archived_event_is_revived_under_the_same_id(fake_embedder):
    from trends.embedding import pack
    from trends.models import EventState

    now = timezone.now()
    text = "Volcano erupts near Catania ash cloud flights cancelled #etna"
    event = Event.objects.create(
        shard=0, first_seen_at=now - dt.timedelta(days=3), last_seen_at=now - dt.timedelta(days=2),
        centroid=pack(fake_embedder.encode([text])[0]), tweet_count=30, author_count=30, state=EventState.ARCHIVED,
        hashtags={"etna": 30}, entities={"names": {"catania": 25}, "words": {"volcano": 30, "erupts": 20, "ash": 20}},
    )
    fresh = [_post(text, now - dt.timedelta(minutes=5 - i), i=i) for i in range(3)]
    pipeline.tweets_embed(tweet_ids=[t.pk for t in fresh])
    pipeline.shard_cluster(shard=0)
    event.refresh_from_db()
    assert event.state == EventState.EMERGING
    assert set(EventMembership.objects.filter(tweet__in=fresh).values_list("event_id", flat=True)) == {event.pk}
    assert event.tweet_count == 3  # counted from its rows (the seeded 30 had none)


def test_every_post_leaves_the_embedded_state_even_in_a_long_historical_batch(fake_embedder):
    # Lone posts days apart: their candidates go quiet and are forgotten inside one batch.
    start = timezone.now() - dt.timedelta(days=20)
    lone = [_post(f"unique musing {i} zebra{i} quartz{i}", start + dt.timedelta(days=2 * i), i=i) for i in range(6)]
    pipeline.tweets_embed(tweet_ids=[t.pk for t in lone])
    assert pipeline.shard_cluster(shard=0) == 6
    assert pipeline.shard_cluster(shard=0) == 0
    states = set(Tweet.objects.filter(pk__in=[t.pk for t in lone]).values_list("pipeline_state", flat=True))
    assert states == {PipelineState.UNASSIGNED}


def test_a_small_embedding_batch_is_topped_up_with_other_waiting_posts(stream):
    quake, match, noise = stream
    waiting = quake + match + noise
    done = pipeline.tweets_embed(tweet_ids=[quake[0].pk])
    assert done == min(len(waiting), settings.EMBEDDING_BATCH_SIZE)
    assert Tweet.objects.filter(pk__in=[t.pk for t in waiting], pipeline_state=PipelineState.EMBEDDED).count() == done
    # A redelivered task finds nothing left to do.
    assert pipeline.tweets_embed(tweet_ids=[quake[0].pk]) == 0


def test_write_back_stores_memberships_buckets_and_counts_that_agree(stream):
    """The batched write path (COPY on PostgreSQL) stores what a row-by-row one would: one
    membership per post with its cosine to the event's centroid, buckets that add up to the
    event's posts and new authors, and buckets that grow (not reset) when later batches add posts."""
    import numpy as np

    from trends.embedding import unpack

    quake, match, noise = stream
    everything = quake + match + noise
    pipeline._STATE_CACHE.clear()
    pipeline.tweets_embed(tweet_ids=[t.pk for t in everything], top_up=False)
    # Small batches: later posts land in buckets that earlier batches created.
    while pipeline.shard_cluster(shard=0, limit=5):
        pass
    pipeline._STATE_CACHE.clear()
    for event in Event.objects.filter(tweet_count__gt=0):
        members = list(EventMembership.objects.filter(event=event).select_related("tweet"))
        assert len(members) == event.tweet_count
        assert len({m.author_id for m in members}) == event.author_count
        buckets = EventBucket.objects.filter(event=event)
        assert sum(b.tweets for b in buckets) == event.tweet_count
        assert sum(b.new_authors for b in buckets) == event.author_count
        for m in members:
            assert m.tweet_created_at == m.tweet.created_at and m.author_id == m.tweet.author_id
            assert -1.0 <= m.similarity <= 1.0
    # The last batch's posts were compared with the centroid the batch stored (float16 rounding aside).
    last = Tweet.objects.filter(pk__in=[t.pk for t in everything]).order_by("-created_at", "-id").first()
    m = EventMembership.objects.get(tweet=last)
    centroid = unpack(Event.objects.get(pk=m.event_id).centroid)
    vector = unpack(Tweet.objects.get(pk=last.pk).embedding)
    assert abs(m.similarity - float(centroid @ vector / np.linalg.norm(centroid))) < 0.01
    states = set(Tweet.objects.filter(pk__in=[t.pk for t in everything]).values_list("pipeline_state", flat=True))
    assert states <= {PipelineState.ASSIGNED, PipelineState.UNASSIGNED}
    assert Tweet.objects.filter(pk__in=[t.pk for t in everything], clustered_at__isnull=True).count() == 0


def test_counts_carried_between_batches_count_a_returning_author_once(fake_embedder):
    """Event counts are carried forward batch to batch (not recounted): an author who posts again
    in a later batch adds a post but not an author, exactly as a recount would give."""
    start = timezone.now() - dt.timedelta(minutes=30)
    authors = [_user() for _ in range(6)]
    first = [_post(QUAKE, start + dt.timedelta(seconds=10 * i), author=authors[i], i=i) for i in range(6)]
    again = [_post(QUAKE, start + dt.timedelta(seconds=100 + 10 * i), author=authors[i % 2], i=10 + i) for i in range(4)]
    pipeline._STATE_CACHE.clear()
    pipeline.tweets_embed(tweet_ids=[t.pk for t in first + again], top_up=False)
    assert pipeline.shard_cluster(shard=0, limit=6) == 6
    assert pipeline.shard_cluster(shard=0, limit=6) == 4
    pipeline._STATE_CACHE.clear()
    event = Event.objects.get(pk=EventMembership.objects.get(tweet=first[0]).event_id)
    assert EventMembership.objects.filter(event=event).count() == event.tweet_count == 10
    assert event.author_count == 6
    assert sum(EventBucket.objects.filter(event=event).values_list("new_authors", flat=True)) == 6


def test_copies_of_a_post_are_encoded_once_and_get_the_same_vector(fake_embedder, monkeypatch):
    from trends.embedding import unpack

    seen: list[str] = []
    real_encode = fake_embedder.encode
    monkeypatch.setattr(fake_embedder, "encode", lambda texts: seen.extend(texts) or real_encode(texts))
    start = timezone.now() - dt.timedelta(minutes=5)
    original = TweetFactory(text="Bridge closed after the storm, traffic diverted #stormwatch", created_at=start)
    copies = [
        TweetFactory(text=f"RT @{name}: Bridge closed after the storm, traffic diverted #stormwatch https://t.co/{name}",
                     created_at=start + dt.timedelta(seconds=i + 1))
        for i, name in enumerate(("ana", "bo", "cy"))
    ]
    other = TweetFactory(text="Concert tonight in the park", created_at=start)
    assert pipeline.tweets_embed(tweet_ids=[t.pk for t in [original, *copies, other]], top_up=False) == 5
    assert len(seen) == 2 and "Concert tonight in the park" in seen  # one text per distinct post
    vectors = {t.pk: unpack(Tweet.objects.get(pk=t.pk).embedding) for t in [original, *copies, other]}
    assert all((vectors[c.pk] == vectors[original.pk]).all() for c in copies)
    assert not (vectors[other.pk] == vectors[original.pk]).all()
    # A later batch reuses the vector this process already computed.
    later = TweetFactory(text="RT @dee: Bridge closed after the storm, traffic diverted #stormwatch", created_at=start)
    seen.clear()
    assert pipeline.tweets_embed(tweet_ids=[later.pk], top_up=False) == 1
    assert seen == []
    assert (unpack(Tweet.objects.get(pk=later.pk).embedding) == vectors[original.pk]).all()


def test_vector_memo_keeps_only_the_most_recent_texts(fake_embedder):
    from trends.embedding import encode_distinct, pack

    calls: list[list[str]] = []

    class Counting:
        name, dim = "counting", fake_embedder.dim

        def encode(self, texts):
            calls.append(list(texts))
            return fake_embedder.encode(texts)

    embedder = Counting()
    first = encode_distinct(embedder, ["a b", "c d", "a b"], memo_size=2)
    assert calls == [["a b", "c d"]] and (first[0] == first[2]).all()
    assert pack(first[0]) == pack(fake_embedder.encode(["a b"])[0])  # stored exactly as before
    encode_distinct(embedder, ["e f"], memo_size=2)  # evicts "a b", the least recently used
    encode_distinct(embedder, ["c d", "a b"], memo_size=2)
    assert calls[-1] == ["a b"]
    encode_distinct(embedder, ["x y"], memo_size=0)
    encode_distinct(embedder, ["x y"], memo_size=0)
    assert calls[-2:] == [["x y"], ["x y"]]  # no memo: every call encodes
