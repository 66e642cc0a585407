"""Several workspace folders as one index: routing, fused search, status, root rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.api import RefreshStats
from index.multi import MultiIndex, combine, distinct_roots, open_indexes
from server.settings import IndexSettings


@pytest.mark.parametrize(("roots", "expected"), [
    (["a"], ["a"]),
    (["a", "b"], ["a", "b"]),
    (["a", "a"], ["a"]),
    (["a", "a/sub"], ["a"]),  # the outer folder covers the inner one
    (["a/sub", "a"], ["a"]),
    (["a/sub", "b", "a"], ["b", "a"]),
    (["ab", "a"], ["ab", "a"]),  # a prefix of the name is not a parent
    ([], []),
])
def test_distinct_roots(tmp_path: Path, roots: list[str], expected: list[str]) -> None:
    for r in roots:
        (tmp_path / r).mkdir(parents=True, exist_ok=True)
    got = distinct_roots([tmp_path / r for r in roots])
    assert got == [Path(str(tmp_path / e)).resolve() for e in expected]


def test_combine_adds_counts_and_keeps_cancel() -> None:
    a = RefreshStats(files=2, added=1, chunks_written=5, seconds=1.0, errors=("x",))
    b = RefreshStats(files=3, updated=2, chunks_written=1, seconds=0.5, cancelled=True)
    c = combine([a, b])
    assert (c.files, c.added, c.updated, c.chunks_written, c.seconds) == (5, 1, 2, 6, 1.5)
    assert c.cancelled and c.errors == ("x",)
    assert combine([a]) is a


def _folders(tmp_path: Path) -> tuple[Path, Path]:
    front, back = tmp_path / "front", tmp_path / "back"
    for root, body in ((front, "def render_page(x):\n    return x\n"),
                       (back, "def serve_page(x):\n    return x\n")):
        (root / "src").mkdir(parents=True)
        (root / "src" / "main.py").write_text(body)
    (back / "src" / "db.py").write_text("def connect_database(url):\n    return url\n")
    return front, back


def test_two_folders_search_refresh_and_status(tmp_path: Path) -> None:
    front, back = _folders(tmp_path)
    ix = open_indexes([front, back], tmp_path / "data", IndexSettings(embedder="none"))
    assert isinstance(ix, MultiIndex) and ix.root is None
    messages: list[str] = []
    stats = ix.refresh(progress=lambda d, t, m: messages.append(m))
    assert (stats.files, stats.added) == (3, 3)
    assert any(m.startswith("front: ") for m in messages)
    assert any(m.startswith("back: ") for m in messages)
    st = ix.status()
    assert (st["files"], len(st["roots"])) == (3, 2) and st["state"] == "ready"
    # both src/main.py files are found, named by absolute path
    hits = ix.search("page", k=5, mode="fts")
    assert {h.path for h in hits} == {str(front / "src/main.py"), str(back / "src/main.py")}
    assert ix.lookup_symbol("connect_database")[0].path == str(back / "src/db.py")
    # a saved file goes to its own folder's index; paths elsewhere are ignored
    (back / "src" / "db.py").write_text("def open_pool(url):\n    return url\n")
    r = ix.refresh([back / "src" / "db.py", tmp_path / "elsewhere.py"])
    assert (r.updated, r.added) == (1, 0)
    assert ix.lookup_symbol("open_pool")[0].path == str(back / "src/db.py")
    assert ix.refresh_text(front / "src" / "main.py", "def draft_idea():\n    pass\n").updated
    assert ix.lookup_symbol("draft_idea")[0].path == str(front / "src/main.py")
    assert ix.refresh_text(tmp_path / "elsewhere.py", "x = 1\n").skipped == 1
    # each folder has its own store: opening one alone reuses it
    alone = open_indexes([back], tmp_path / "data", IndexSettings(embedder="none"))
    assert not isinstance(alone, MultiIndex)
    assert alone.refresh().unchanged == 2
    ix.close()


def test_a_folder_that_cannot_be_opened_is_named_not_fatal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    front, back = _folders(tmp_path)
    import index.multi

    real = index.multi.open_index

    def flaky(root: Path, data: Path, settings: IndexSettings):  # type: ignore[no-untyped-def]
        if "back" in Path(root).parts:
            raise PermissionError("data dir not writable")
        return real(root, data, settings)

    monkeypatch.setattr(index.multi, "open_index", flaky)
    ix = open_indexes([front, back], tmp_path / "data", IndexSettings(embedder="none"))
    ix.refresh()
    assert ix.status()["files"] == 1
    assert "not indexed" in ix.status()["notice"] and "not writable" in ix.status()["notice"]
    with pytest.raises(RuntimeError, match="no workspace folder"):
        open_indexes([back, back / "src"], tmp_path / "data", IndexSettings(embedder="none"))
