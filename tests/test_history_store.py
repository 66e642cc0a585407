"""The history store on a real SQLite file: redaction on the way in, search, private,
deletion that leaves nothing behind, export/import, damage, full disks, many writers."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from server.history import (
    Entry,
    FileRange,
    HistoryError,
    HistoryStore,
    open_store,
    record,
    set_outcome,
    should_record,
)
from server.history.store import fts_query
from server.settings import HistorySettings

ROOT = Path(__file__).resolve().parents[1]
AWS = "AKIA" + "QWERTYUIOPASDFGH"


def _raw(db: Path) -> bytes:
    data = b""
    for suffix in ("", "-wal"):
        p = Path(f"{db}{suffix}")
        if p.exists():
            data += p.read_bytes()
    return data


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "history.sqlite3"


def test_record_redacts_and_keeps_metadata(db: Path) -> None:
    entry = Entry(
        kind="chat",
        prompt=f"why does boto3 reject {AWS}? mail ops@corp.io",
        response=f"The key {AWS} is inactive.",
        model="smollm2-135m",
        route="remote:openai",
        workspace="/home/u/proj",
        files=[FileRange("src/app.py", 10, 42), FileRange("README.md")],
        prompt_tokens=120,
        completion_tokens=30,
        latency_ms=812.5,
        conversation_id="c1",
    )
    entry_id = record(entry, db)
    assert isinstance(entry_id, int)
    got = open_store(db).get(entry_id)
    assert got is not None
    assert AWS not in got.prompt and AWS not in got.response
    assert "<SECRET_AWS_KEY_1>" in got.prompt and "<SECRET_AWS_KEY_1>" in got.response
    assert got.redactions == {"AWS_KEY": 2, "EMAIL": 1}
    assert got.files == [FileRange("src/app.py", 10, 42), FileRange("README.md", 0, 0)]
    assert (got.model, got.route, got.workspace) == ("smollm2-135m", "remote:openai", "/home/u/proj")
    assert (got.prompt_tokens, got.completion_tokens, got.latency_ms) == (120, 30, 812.5)
    assert got.conversation_id == "c1" and got.outcome == "answered"
    open_store(db)._checkpoint()
    assert AWS.encode() not in _raw(db)
    assert b"ops@corp.io" not in _raw(db)


def test_database_is_private_to_the_user(db: Path) -> None:
    record(Entry(kind="chat", prompt="hi"), db)
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_outcome_updates(db: Path) -> None:
    entry_id = record(Entry(kind="completion", prompt="def f(", outcome="shown"), db)
    assert set_outcome(db, entry_id, "accepted") is True
    assert open_store(db).get(entry_id).outcome == "accepted"  # type: ignore[union-attr]
    assert set_outcome(db, entry_id, "bogus") is False
    assert set_outcome(db, 999_999, "rejected") is False
    assert set_outcome(db, None, "rejected") is False


@pytest.mark.parametrize(
    ("settings", "kind", "expected"),
    [
        (HistorySettings(), "completion", True),
        (HistorySettings(enabled=False), "chat", False),
        (HistorySettings(completions=False), "completion", False),
        (HistorySettings(completions=False), "escalation", True),
    ],
)
def test_should_record(settings: HistorySettings, kind: str, expected: bool) -> None:
    assert should_record(settings, kind) is expected


def test_list_filters_and_search(db: Path) -> None:
    store = HistoryStore(db)
    store.add(Entry(kind="chat", prompt="how to parse TOML configuration", workspace="/w/a"),
              ts=100)
    store.add(Entry(kind="completion", prompt="def parse_config(path):", workspace="/w/a/sub"),
              ts=200)
    store.add(Entry(kind="chat", prompt="rename the HttpClient class", workspace="/w/b"), ts=300)
    assert [e.ts for e in store.list()] == [300, 200, 100]
    assert [e.ts for e in store.list(kind="chat")] == [300, 100]
    assert [e.ts for e in store.list(workspace="/w/a")] == [200, 100]
    assert [e.ts for e in store.list(limit=1, offset=1)] == [200]
    assert [e.ts for e in store.list(since=150)] == [300, 200]
    assert [e.prompt for e in store.search("toml")] == ["how to parse TOML configuration"]
    assert {e.ts for e in store.search("pars")} == {100, 200}  # prefix match
    assert store.search("") == []
    # FTS syntax in the user's words is not an error
    assert store.search('"unbalanced AND (') == []
    assert store.search("NEAR(") == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [("toml", '"toml"*'), ("a b", '"a"* "b"*'), ('x" OR y', '"x"* "OR"* "y"*'), ("()", "")],
)
def test_fts_query_table(query: str, expected: str) -> None:
    assert fts_query(query) == expected


def test_private_entries_are_never_exported(db: Path) -> None:
    store = HistoryStore(db)
    a = store.add(Entry(kind="chat", prompt="public question"))
    b = store.add(Entry(kind="chat", prompt="our pricing formula is margin*3", response="ok"))
    assert store.set_private([b]) == 1
    assert store.private_texts() == ["our pricing formula is margin*3", "ok"]
    out = io.StringIO()
    assert store.export(out) == 1
    lines = out.getvalue().splitlines()
    assert json.loads(lines[0])["format"] == "stead-history"
    assert "pricing" not in out.getvalue()
    assert json.loads(lines[1])["prompt"] == "public question"
    assert store.set_private([b], private=False) == 1
    assert store.private_texts() == []
    assert a != b


def test_delete_leaves_nothing_in_the_file(db: Path) -> None:
    store = HistoryStore(db)
    keep = store.add(Entry(kind="chat", prompt="keepme ordinary words"))
    gone = store.add(Entry(kind="chat", prompt="zqxjkvbw marker phrase", response="wvbkjxqz"))
    for i in range(30):  # enough rows that the index has several segments
        store.add(Entry(kind="completion", prompt=f"filler {i} text"))
    store._checkpoint()
    assert b"zqxjkvbw" in _raw(db)
    assert store.delete([gone]) == 1
    assert store.get(gone) is None
    assert store.search("zqxjkvbw") == []
    raw = _raw(db)
    assert b"zqxjkvbw" not in raw and b"wvbkjxqz" not in raw
    assert store.get(keep) is not None


def test_delete_by_filter_and_all_then_vacuum(db: Path) -> None:
    store = HistoryStore(db)
    store.add(Entry(kind="completion", prompt="one"), ts=10)
    store.add(Entry(kind="chat", prompt="two"), ts=20)
    store.add(Entry(kind="chat", prompt="three"), ts=30)
    with pytest.raises(HistoryError):
        store.delete()  # nothing said: nothing deleted
    assert store.delete(kind="completion") == 1
    assert store.delete(before=25) == 1
    assert store.delete(query="three") == 1
    store.add(Entry(kind="chat", prompt="four"))
    assert store.delete(everything=True, vacuum=True) == 1
    assert store.count() == 0


def test_retention_prunes_old_entries(db: Path) -> None:
    store = HistoryStore(db)
    store.add(Entry(kind="chat", prompt="old"), ts=time.time() - 40 * 86400)
    store.add(Entry(kind="chat", prompt="new"))
    assert store.prune(0) == 0
    assert store.prune(30) == 1
    assert [e.prompt for e in store.list()] == ["new"]


def test_export_import_round_trip_with_bad_lines(tmp_path: Path, db: Path) -> None:
    src = HistoryStore(db)
    src.add(Entry(kind="chat", prompt="alpha", files=[FileRange("a.py", 1, 2)]), ts=1)
    src.add(Entry(kind="escalation", prompt="beta", route="remote:anthropic"), ts=2)
    out = io.StringIO()
    assert src.export(out) == 2
    text = out.getvalue()
    hand = json.dumps({"kind": "chat", "prompt": f"pasted {AWS}", "ts": 3})
    text += "not json\n" + json.dumps({"kind": "nope", "prompt": "x"}) + "\n" + hand + "\n"
    dst = HistoryStore(tmp_path / "other.sqlite3")
    result = dst.import_(text.splitlines())
    assert (result.added, result.skipped) == (3, 0)
    assert len(result.errors) == 2
    assert result.errors[0].startswith("line 4:") and "kind" in result.errors[1]
    got = {e.prompt: e for e in dst.list()}
    assert got["alpha"].files == [FileRange("a.py", 1, 2)]
    assert got["beta"].route == "remote:anthropic"
    assert "pasted <SECRET_AWS_KEY_1>" in got  # an imported secret is redacted too
    again = dst.import_(text.splitlines())
    assert (again.added, again.skipped) == (0, 3)


def test_text_in_any_encoding(db: Path) -> None:
    store = HistoryStore(db)
    weird = "naïve ☃ 中文 \udcff lone surrogate \x00 nul 🎉"
    a = store.add(Entry(kind="chat", prompt=weird))
    b = store.add(Entry(kind="chat", prompt=b"caf\xe9 latin-1 bytes"))  # type: ignore[arg-type]
    got_a, got_b = store.get(a), store.get(b)
    assert got_a is not None and got_b is not None
    assert "naïve ☃ 中文" in got_a.prompt and "\ufffd" in got_a.prompt and "🎉" in got_a.prompt
    assert got_b.prompt == "café latin-1 bytes"
    assert [e.id for e in store.search("naive")] == [a]  # diacritics folded


def test_multi_megabyte_prompt(db: Path) -> None:
    big = "x = compute(y)\n" * 300_000 + f"key = '{AWS}'\n"  # ~4.5 MB, secret past the cut
    entry_id = record(Entry(kind="chat", prompt=f"token {AWS}\n" + big), db)
    assert entry_id is not None
    got = open_store(db).get(entry_id)
    assert got is not None and got.truncated
    assert len(got.prompt) < 1_100_000 and "characters not kept" in got.prompt
    assert got.redactions["AWS_KEY"] == 2
    open_store(db)._checkpoint()
    assert AWS.encode() not in _raw(db)


def test_full_disk_keeps_old_entries_and_never_raises_from_record(db: Path) -> None:
    store = HistoryStore(db, max_bytes=400_000)
    first = store.add(Entry(kind="chat", prompt="the first one"))
    with pytest.raises(HistoryError, match="full"):
        for i in range(200):
            store.add(Entry(kind="chat", prompt=f"{i} " + "lorem ipsum dolor " * 2000))
    assert store.get(first) is not None
    assert store.search("first")[0].id == first
    # record() on an unwritable location: None, logged, no exception
    blocker = db.parent / "blocker"
    blocker.write_text("a file where a directory should be")
    assert record(Entry(kind="chat", prompt="x"), blocker / "h.sqlite3") is None


def test_damaged_header_is_moved_aside_and_reported(db: Path) -> None:
    db.parent.mkdir(parents=True)
    db.write_bytes(b"this is not an sqlite database at all" * 100)
    store = HistoryStore(db)
    assert store.recovered is not None and "kept at" in store.recovered
    backups = list(db.parent.glob("history.sqlite3.corrupt-*"))
    assert len(backups) == 1
    assert backups[0].read_bytes().startswith(b"this is not an sqlite")
    assert store.add(Entry(kind="chat", prompt="life goes on")) > 0


def test_damaged_pages_recover_what_is_readable(db: Path) -> None:
    store = HistoryStore(db)
    for i in range(60):
        store.add(Entry(kind="chat", prompt=f"entry {i} " + "some words here " * 200))
    store.close()
    size = db.stat().st_size
    page = 4096
    with open(db, "r+b") as f:  # smash a few pages in the middle of the entries table
        for n in (size // page // 2, size // page // 2 + 1):
            f.seek(n * page)
            f.write(os.urandom(page))
    store = HistoryStore(db)
    entries = store.list(limit=1000)  # touching the damage triggers recovery
    assert store.recovered is not None, "damage must be reported"
    assert 0 < len(entries) <= 60
    assert "recovered" in store.recovered
    assert list(db.parent.glob("history.sqlite3.corrupt-*"))


def test_newer_schema_is_left_untouched(db: Path) -> None:
    db.parent.mkdir(parents=True)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    before = db.read_bytes()
    with pytest.raises(HistoryError, match="newer"):
        HistoryStore(db)
    assert db.read_bytes() == before
    assert record(Entry(kind="chat", prompt="x"), db) is None


_WRITER = """
import sys
from pathlib import Path
from server.history import Entry, record
db, tag = Path(sys.argv[1]), sys.argv[2]
ok = sum(record(Entry(kind="completion", prompt=f"{tag} {i}"), db) is not None for i in range(40))
print(ok)
"""


def test_concurrent_writers_from_several_processes(db: Path) -> None:
    HistoryStore(db).close()
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(db), f"w{n}"], cwd=ROOT,
                         stdout=subprocess.PIPE, text=True)
        for n in range(4)
    ]
    counts = [int(p.communicate(timeout=120)[0].strip() or 0) for p in procs]
    assert counts == [40, 40, 40, 40]
    store = HistoryStore(db)
    assert store.count() == 160
    assert len({e.id for e in store.list(limit=500)}) == 160


@pytest.mark.parametrize(
    ("kind", "given", "kept"),
    [
        ("completion", "stop", "shown"),
        ("completion", "cache", "shown"),
        ("chat", "length", "answered"),
        ("chat", "cancelled", "failed"),
        ("escalation", "refused", "refused"),
        ("chat", "accepted", "accepted"),
    ],
)
def test_stop_reasons_become_outcomes(db: Path, kind: str, given: str, kept: str) -> None:
    entry_id = record(Entry(kind=kind, prompt="p", outcome=given), db)
    assert entry_id is not None
    assert open_store(db).get(entry_id).outcome == kept  # type: ignore[union-attr]
