import json

import pytest
from django.core.management import CommandError, call_command

from trends.models import Tweet
from users.models import User

pytestmark = pytest.mark.django_db


def write(tmp_path, name, content: bytes):
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def run(path, capsys):
    try:
        call_command("import_tweets", path)
        code = 0
    except CommandError:
        code = 1
    out, err = capsys.readouterr()
    return code, out, err


def test_csv_in_crisislex_shape_imports_and_is_idempotent(tmp_path, capsys):
    path = write(
        tmp_path,
        "t.csv",
        (
            b"event,tweet_id,timestamp_utc,ts_source,text,informativeness\n"
            b"2013_x,101,2013-04-15T18:50:00Z,official,Explosions at the marathon finish line #boston,Related and informative\n"
            b'2013_x,102,2013-04-15T18:51:00Z,official,"Quoted, with comma",Not related\n'
        ),
    )
    code, out, _ = run(path, capsys)
    assert code == 0
    assert "imported 2, already present 0, rejected 0" in out
    tweet = Tweet.objects.get(pk=101)
    assert tweet.hashtags == ["boston"] and tweet.author is None and tweet.lang == "en"
    code, out, _ = run(path, capsys)
    assert code == 0 and "imported 0, already present 2" in out
    assert Tweet.objects.count() == 2


def test_csv_bad_rows_reported_with_line_numbers_good_rows_kept(tmp_path, capsys):
    content = (
        b"event,tweet_id,timestamp_utc,text\n"
        b"e,1,2013-01-01T00:00:00Z,fine row\n"
        b"\n"
        b"e,2,2013-01-01T00:00:00Z,bad \xff\xfe bytes\n"
        b"e,3,not-a-date,text\n"
        b"e,4,2013-01-01T00:00:00Z\n"
        b"e,5,2013-01-01T00:00:00Z,   \n"
        b"e,6,2013-01-01T00:00:00Z,also fine\n"
    )
    code, out, err = run(write(tmp_path, "t.csv", content), capsys)
    assert code == 1
    assert "imported 2, already present 0, rejected 4" in out
    lines = err.splitlines()
    assert any(line.startswith("line 4: invalid UTF-8") for line in lines)
    assert any(line.startswith("line 5: created_at") for line in lines)
    assert any(line.startswith("line 6: expected 4 columns") for line in lines)
    assert any(line.startswith("line 7: text") for line in lines)
    assert sorted(Tweet.objects.values_list("pk", flat=True)) == [1, 6]


def test_csv_missing_columns_is_one_clear_error(tmp_path, capsys):
    code, _, err = run(write(tmp_path, "t.csv", b"event,text\nx,hello\n"), capsys)
    assert code == 1
    assert "missing column(s): id or tweet_id, created_at or timestamp_utc" in err
    assert Tweet.objects.count() == 0


def test_jsonl_v2_envelope_with_author_and_references(tmp_path, capsys):
    rows = [
        {
            "data": {
                "id": "5001",
                "text": "Replying about the quake #sismo",
                "created_at": "2024-05-01T10:00:00Z",
                "lang": "pt",
                "author_id": "9",
                "referenced_tweets": [{"type": "replied_to", "id": "5000"}],
                "public_metrics": {"like_count": 4, "retweet_count": 2},
                "geo": {"place_name": "Lisbon"},
            },
            "includes": {"users": [{"id": "9", "username": "rita", "name": "Rita", "location": "Lisbon"}]},
        },
        {"id": "5002", "text": "bare object, no author", "created_at": "2024-05-01T10:01:00Z"},
    ]
    content = "\n".join(json.dumps(r) for r in rows).encode() + b"\n\n"
    code, out, _ = run(write(tmp_path, "t.jsonl", content), capsys)
    assert code == 0, out
    tweet = Tweet.objects.get(pk=5001)
    assert tweet.author.username == "rita" and tweet.reply_to_id == 5000
    assert (tweet.like_count, tweet.retweet_count, tweet.location, tweet.lang) == (4, 2, "Lisbon", "pt")
    assert User.objects.filter(username="rita").count() == 1


def test_jsonl_survives_broken_json_invalid_utf8_and_deep_nesting(tmp_path, capsys):
    deep = b"[" * 100000 + b"]" * 100000
    content = b"\n".join(
        [
            b'{"id": "1", "text": "ok one", "created_at": "2024-01-01T00:00:00Z"}',
            b'{"id": "2", "text": "broken',
            b'{"id": "3", "text": "bad \xc3\x28 utf8"}',
            deep,
            b'["not", "an", "object"]',
            b'{"text": "no id"}',
            b'{"id": "7", "text": "ok two", "created_at": "2024-01-01T00:00:00Z"}',
        ]
    )
    code, out, err = run(write(tmp_path, "t.jsonl", content), capsys)
    assert code == 1
    assert "imported 2, already present 0, rejected 5" in out
    for number in (2, 3, 4, 5, 6):
        assert f"line {number}:" in err
    assert sorted(Tweet.objects.values_list("pk", flat=True)) == [1, 7]


def test_missing_file_is_one_readable_line(capsys):
    with pytest.raises(CommandError, match="cannot open"):
        call_command("import_tweets", "/nonexistent/file.jsonl")
