"""Which texts `manage.py bench_pipeline --texts` sends through the pipeline."""

import pytest
from django.core.management import CommandError

from trends.detection.features import clean_for_embedding
from trends.management.commands.bench_pipeline import _bench_texts

GENERATED = ["Goal! #derby", "Goal! #derby", "RT @a: Goal! #derby", "Quake hits the coast"]


def test_generated_texts_are_sent_as_they_are():
    assert _bench_texts("generated", GENERATED) == GENERATED


def test_distinct_texts_leave_nothing_to_encode_twice():
    texts = _bench_texts("distinct", GENERATED)
    assert len({clean_for_embedding(t) for t in texts}) == len(GENERATED)
    assert all(t.startswith(g) for t, g in zip(texts, GENERATED, strict=True))


def test_csv_texts_are_its_first_rows_in_file_order(tmp_path):
    path = tmp_path / "tweets.csv"
    path.write_text('event,text\nquake,"first, with a comma"\nquake,second\nmatch,third\nmatch,fourth\nmatch,fifth\n')
    assert _bench_texts(str(path), GENERATED) == ["first, with a comma", "second", "third", "fourth"]


def test_csv_problems_are_one_readable_error(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        _bench_texts(str(tmp_path / "missing.csv"), GENERATED)
    no_text = tmp_path / "no_text.csv"
    no_text.write_text("event,body\nquake,x\n")
    with pytest.raises(CommandError, match="no 'text' column"):
        _bench_texts(str(no_text), GENERATED)
    short = tmp_path / "short.csv"
    short.write_text("text\none\ntwo\n")
    with pytest.raises(CommandError, match="only 2 texts, 4 asked for"):
        _bench_texts(str(short), GENERATED)
