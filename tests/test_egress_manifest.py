"""build_manifest and trim: what a payload contains, and what it never contains."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from server.egress.manifest import (
    PRIVATE_MARK,
    Item,
    ManifestError,
    build_manifest,
    digest,
    trim,
)
from server.settings import load

AWS = "AKIAIOSFODNN7EXAMPLQ"


def settings(**provider: Any) -> Any:
    p = {"kind": "openai", "url": "https://api.example.com/v1", "model": "gpt-x",
         "api_key_env": "K", **provider}
    return load({"remote": {"enabled": True, "allowed_workspaces": ["*"],
                            "providers": {"p": p}, "never_send": ["private/**"]},
                 "chat": {"max_tokens": 100}}).settings


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "a.py").write_text(f"x = 1\nkey = '{AWS}'\ny = 2\n")
    (root / "b.py").write_text(f"# same key again: {AWS}\nmail = 'alice.smith@acme-corp.io'\n")
    (root / ".env").write_text("TOKEN=abc\n")
    (root / "bin.dat").write_bytes(b"\xff\xfe\x00\x01")
    (root / "fence.md").write_text("```\ncode\n```\n")
    (tmp_path / "outside.py").write_text("print('outside')\n")
    (root / "escape.py").symlink_to(tmp_path / "outside.py")
    (root / "innocent.txt").symlink_to(root / ".env")
    return root


def build(ws: Path, items: list[Item], question: str = "Why?", **kw: Any) -> Any:
    return build_manifest(question, items, settings(), provider="p", roots=[ws], **kw)


def test_manifest_lists_items_redactions_and_the_exact_body(ws: Path) -> None:
    prepared = build(ws, [Item("a.py", 2, 3), Item("b.py")])
    m = prepared.manifest
    assert [(i.index, i.path, i.start_line, i.end_line) for i in m.items] == [
        (0, "a.py", 2, 3), (1, "b.py", 1, 2)]
    kinds = {(r.where, r.kind.lower()) for r in m.redactions}
    assert any(where == "a.py:2" and "aws" in kind for where, kind in kinds), kinds
    assert any(where == "b.py:2" and "email" in kind for where, kind in kinds), kinds
    # one secret, one placeholder, in every item
    aws_placeholders = {r.placeholder for r in m.redactions if "aws" in r.kind.lower()}
    assert len(aws_placeholders) == 1
    assert AWS not in m.payload and "alice.smith@acme-corp.io" not in m.payload
    body = json.loads(m.payload)
    assert body["model"] == "gpt-x" and body["max_tokens"] == 100 and body["stream"] is True
    user = body["messages"][1]["content"]
    assert user.startswith("Why?\n\na.py (lines 2-3):\n```\n")
    assert m.tokens > 0 and all(i.tokens > 0 for i in m.items)
    assert m.sha256 == digest(m) and len(m.payload_sha256) == 64
    assert m.estimated_cost_usd is None
    assert prepared.placeholders.restore(next(iter(aws_placeholders))) == AWS


@pytest.mark.parametrize(
    ("item", "excluded_reason"),
    [
        (Item(".env"), "never-send rule '.env*'"),
        (Item("innocent.txt"), "never-send rule '.env*'"),  # a link to a never-send file
        (Item("private/notes.md"), "never-send rule 'private/**'"),
        (Item("bin.dat"), "not UTF-8 text"),
    ],
)
def test_excluded_items_are_listed_and_absent(ws: Path, item: Item, excluded_reason: str) -> None:
    (ws / "private").mkdir(exist_ok=True)
    (ws / "private" / "notes.md").write_text("plans\n")
    m = build(ws, [item]).manifest
    assert m.items == ()
    assert [e.reason for e in m.excluded] == [excluded_reason]
    assert "TOKEN=abc" not in m.payload and "plans" not in m.payload


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("../outside.py", "outside the workspace roots"),
        ("escape.py", "resolves outside the workspace roots"),
        ("/etc/passwd", "outside the workspace roots"),
        ("missing.py", "no such file"),
        (".", "is a directory"),
    ],
)
def test_refused_paths(ws: Path, path: str, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        build(ws, [Item(path)])


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [(0, 2, "bad line range"), (3, 2, "bad line range"), (10, 0, "starts at line 10")],
)
def test_bad_ranges(ws: Path, start: int, end: int, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        build(ws, [Item("a.py", start, end)])


def test_private_history_is_cut_out(ws: Path) -> None:
    (ws / "c.py").write_text("def f():\n    return compute_quarterly_numbers()\n")
    m = build(ws, [Item("c.py")], question="About compute_quarterly_numbers()?",
              private_texts=[]).manifest
    assert "compute_quarterly_numbers" in m.payload
    private = ["return compute_quarterly_numbers()", "x"]
    m = build(ws, [Item("c.py")], private_texts=private).manifest
    assert "compute_quarterly_numbers" not in m.payload
    assert PRIVATE_MARK in m.items[0].text
    assert [(r.kind, r.where) for r in m.redactions] == [("private-history", "c.py")]


def test_buffer_text_wins_over_disk(ws: Path) -> None:
    m = build(ws, [Item("a.py", 1, 1, text="unsaved = True\nmore\n")]).manifest
    assert m.items[0].text == "unsaved = True\n"


def test_fences_inside_code_are_escaped(ws: Path) -> None:
    m = build(ws, [Item("fence.md")]).manifest
    user = json.loads(m.payload)["messages"][1]["content"]
    assert "\n````\n```\ncode\n```\n````" in user


def test_trim_rebuilds_body_and_hash(ws: Path) -> None:
    prepared = build(ws, [Item("a.py"), Item("b.py")])
    trimmed = trim(prepared, [1]).manifest
    assert [i.path for i in trimmed.items] == ["a.py"]
    assert "same key again" not in trimmed.payload
    assert all(r.item in (None, 0) for r in trimmed.redactions)
    assert trimmed.sha256 != prepared.manifest.sha256 and trimmed.id == prepared.manifest.id
    assert ("b.py", "dropped by the user (lines 1-2)") in [(e.path, e.reason) for e in trimmed.excluded]
    assert trim(prepared, []).manifest == prepared.manifest
    with pytest.raises(ManifestError, match="no such item"):
        trim(prepared, [5])


def test_cost_estimate_and_anthropic_body(ws: Path) -> None:
    s = settings(kind="anthropic", url="", input_cost_per_mtok=3.0, output_cost_per_mtok=15.0)
    m = build_manifest("Q", [Item("a.py")], s, provider="p", roots=[ws]).manifest
    assert m.url == "https://api.anthropic.com/v1/messages"
    assert m.estimated_cost_usd == pytest.approx((m.tokens * 3.0 + 100 * 15.0) / 1e6, abs=1e-6)
    body = json.loads(m.payload)
    assert set(body) == {"model", "max_tokens", "system", "messages", "stream"}


def test_empty_question_and_unknown_provider(ws: Path) -> None:
    with pytest.raises(ManifestError, match="empty"):
        build(ws, [], question="  ")
    with pytest.raises(ManifestError, match="unknown provider"):
        build_manifest("Q", [], settings(), provider="zz", roots=[ws])
