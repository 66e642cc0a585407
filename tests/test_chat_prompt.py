"""Chat prompt planning and assembly, and the local conversation store."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from server.chat.prompt import (
    PROMPT_SHARE,
    TEMPLATE_MARGIN,
    Turn,
    build,
    context_block,
    cut_middle,
    plan,
)
from server.chat.store import SCHEMA_VERSION, ChatStore, ConversationError
from server.context.types import Dropped, Item, Selection


def room(n_ctx: int, answer: int) -> int:
    """Prompt tokens a window leaves after the answer, the template and the headroom."""
    return int((n_ctx - answer - TEMPLATE_MARGIN) * PROMPT_SHARE)


def item(path: str, start: int, end: int, text: str = "x = 1\n", reasons: tuple[str, ...] = ("full-text",)) -> Item:
    return Item(path, start, end, text, 2, reasons)


@pytest.mark.parametrize(
    ("n_ctx", "max_tokens", "budget", "system", "question", "expected"),
    [
        # roomy window: context gets its whole budget
        (8192, 512, 1200, 100, 50, (512, 50, 1200)),
        # tight window: context shrinks to what is left
        (1536, 512, 1200, 100, 50, (512, 50, room(1536, 512) - 150)),
        # the answer never takes more than half the window
        (1024, 4096, 1200, 100, 50, (512, 50, room(1024, 512) - 150)),
        # a huge question is limited to its share and context keeps the rest
        (2048, 512, 1200, 100, 50_000, (512, int(room(2048, 512) * 0.4), room(2048, 512) - 100 - int(room(2048, 512) * 0.4))),
        # nothing left for context
        (256, 128, 1200, 100, 40, (128, int(room(256, 128) * 0.4), 0)),
    ],
)
def test_plan(n_ctx: int, max_tokens: int, budget: int, system: int, question: int, expected: tuple[int, int, int]) -> None:
    p = plan(n_ctx, max_tokens, budget, system, question)
    assert (p.answer, p.question, p.context) == expected
    assert p.answer + p.prompt + TEMPLATE_MARGIN <= n_ctx
    assert p.context + p.question + system <= max(p.prompt, system + p.question)


@pytest.mark.parametrize(
    ("text", "limit", "cut", "keeps"),
    [
        ("short question", 100, False, ["short question"]),
        ("HEAD\n" + "log line\n" * 5000 + "why does it fail?\n", 200, True, ["HEAD", "why does it fail?", "characters cut"]),
        ("x" * 100_000, 100, True, []),
    ],
)
def test_cut_middle(text: str, limit: int, cut: bool, keeps: list[str]) -> None:
    out, was_cut = cut_middle(text, limit)
    assert was_cut is cut
    assert (len(out) * 2 + 6) // 7 <= limit + 16
    for part in keeps:
        assert part in out


def test_context_block_names_files_lines_reasons_and_the_cut(tmp_path: Path) -> None:
    sel = Selection(
        (item(str(tmp_path / "pkg" / "a.py"), 3, 9, "def a():\n    pass", ("symbol match", "full-text")),),
        (Dropped(str(tmp_path / "b.py"), 1, 90, 800, "over budget"),),
        100,
    )
    block = context_block(sel, tmp_path)
    assert "--- pkg/a.py:3-9 (symbol match + full-text) ---\ndef a():\n    pass\n" in block
    assert "Not all relevant code fit" in block
    assert context_block(Selection()) == ""


def test_build_keeps_newest_turns_and_notes_what_was_left_out() -> None:
    history = [Turn("user", f"q{i} " + "word " * 40) if i % 2 == 0 else Turn("assistant", f"a{i} " + "word " * 40) for i in range(30)]
    sel = Selection((item("/w/a.py", 1, 1),), (), 100)
    p = plan(1024, 256, 200, 60, 10)
    prompt = build("what now?", history, sel, p)
    roles = [m.role for m in prompt.messages]
    assert roles[0] == "system" and roles[-1] == "user"
    assert prompt.messages[-1].content == "what now?"
    kept = prompt.messages[1:-1]
    assert kept and kept[-1].content.startswith("a29")  # the newest turn is kept
    assert len(kept) % 2 == 0 and kept[0].role == "user"  # whole pairs
    assert prompt.history_used == len(kept) < len(history)
    assert any("earlier question(s)" in n for n in prompt.notes)
    assert prompt.tokens <= p.prompt
    assert "/w/a.py:1-1" in prompt.messages[0].content


def test_build_cuts_a_huge_question_and_says_so() -> None:
    question = "why? " + "trace line\n" * 20_000
    p = plan(2048, 512, 1200, 80, 30_000)
    prompt = build(question, [], Selection(), p)
    assert any("question was cut" in n for n in prompt.notes)
    assert prompt.tokens <= p.prompt


def test_store_round_trip_and_listing(tmp_path: Path) -> None:
    store = ChatStore(tmp_path / "data" / "chat.sqlite3")
    cid = store.open(None, workspace="/w", title="first")
    assert store.open(cid) == cid  # reopening keeps it
    store.append(cid, "user", "hello", {"items": []})
    store.append(cid, "assistant", "hi")
    other = store.open("client-chosen_id.1")
    store.append(other, "user", "x")
    msgs = store.messages(cid)
    assert [(m.role, m.content) for m in msgs] == [("user", "hello"), ("assistant", "hi")]
    assert msgs[0].manifest == {"items": []}
    listed = store.list()
    assert [c.id for c in listed] == [other, cid]
    assert listed[1].turns == 1 and listed[1].title == "first"
    assert store.delete(cid) and not store.exists(cid)
    assert store.messages(cid) == []
    with sqlite3.connect(store.path) as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.parametrize("bad", ["", "../etc", "a b", "x" * 65, "ü"])
def test_store_rejects_bad_ids(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ConversationError, match="invalid conversation id"):
        ChatStore(tmp_path / "c.sqlite3").open(bad)


def test_store_refuses_a_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    with sqlite3.connect(path) as con:
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(RuntimeError, match="newer"):
        ChatStore(path).open(None)


def test_store_is_safe_from_several_writers(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    cid = ChatStore(path).open(None)

    def write(n: int) -> None:
        s = ChatStore(path)
        for i in range(20):
            s.append(cid, "user", f"{n}-{i}")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ChatStore(path).messages(cid)) == 80


@pytest.mark.parametrize(
    ("question", "history", "expected"),
    [
        ("and then?", [Turn("user", "how does load_config work?"), Turn("assistant", "...")],
         "how does load_config work?\nand then?"),
        ("why?", [], "why?"),
        ("what does parse_settings do with the environment variables it gets?",
         [Turn("user", "how does load_config work?")],
         "what does parse_settings do with the environment variables it gets?"),
        ("and b?", [Turn("user", "first"), Turn("assistant", "x"), Turn("user", "second")], "second\nand b?"),
    ],
)
def test_retrieval_query_for_follow_ups(question: str, history: list[Turn], expected: str) -> None:
    from server.chat.engine import retrieval_query

    assert retrieval_query(question, history) == expected
