"""WorkspaceIndex on a real LanceDB: refresh, incremental updates, search, bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from index.api import WorkspaceIndex, fts_query, label, open_index
from index.store import SCHEMA_VERSION
from server.settings import IndexSettings

CLIENT = '''import json


class HttpClient:
    """Talks to a server over HTTP."""

    def get_json(self, url):
        return json.loads(self.fetch(url))

    def fetch(self, url):
        raise NotImplementedError
'''
UTIL = '''def parse_duration(text):
    """Turn '5m' into seconds."""
    units = {"s": 1, "m": 60, "h": 3600}
    return int(text[:-1]) * units[text[-1]]
'''


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "client.py").write_text(CLIENT)
    (root / "pkg" / "util.py").write_text(UTIL)
    (root / "README.md").write_text("# Demo\n\nA demo project about durations.\n")
    (root / ".gitignore").write_text("ignored/\n")
    (root / "ignored").mkdir()
    (root / "ignored" / "x.py").write_text("def hidden_function():\n    pass\n")
    return root


def _open(ws: Path, tmp_path: Path, **kw: object) -> WorkspaceIndex:
    return open_index(ws, tmp_path / "data", IndexSettings(embedder="none", **kw))  # type: ignore[arg-type]


def test_full_refresh_then_fts_and_symbol_lookup(ws: Path, tmp_path: Path) -> None:
    ix = _open(ws, tmp_path)
    events: list[tuple[int, int, str]] = []
    stats = ix.refresh(progress=lambda d, t, m: events.append((d, t, m)))
    assert (stats.added, stats.updated, stats.deleted) == (3, 0, 0)
    assert stats.chunks_written >= 3
    assert events and events[-1][0] == events[-1][1] == 3
    # camelCase/snake_case parts are searchable words
    hits = ix.search("client", k=5, mode="fts")
    assert hits and hits[0].path == "pkg/client.py" and hits[0].source == "fts"
    assert ix.search("duration", mode="hybrid")[0].path in ("pkg/util.py", "README.md")
    assert ix.search("hidden_function") == []  # gitignored
    sym = ix.lookup_symbol("get_json")
    assert [(h.path, h.source) for h in sym] == [("pkg/client.py", "symbol")]
    assert "def get_json" in sym[0].text and sym[0].start_line <= 7 <= sym[0].end_line
    assert ix.lookup_symbol("HttpClient.fetch")[0].path == "pkg/client.py"
    assert ix.lookup_symbol("nope") == [] and ix.lookup_symbol("'; drop") == []
    # filters
    assert ix.search("durations", path_glob="*.md")[0].path == "README.md"
    assert ix.search("durations", language="python")[0].path == "pkg/util.py"
    st = ix.status()
    assert st["files"] == 3 and st["chunks"] >= 3 and st["search"] == "fts"


def test_incremental_refresh_touches_only_changed_files(ws: Path, tmp_path: Path) -> None:
    ix = _open(ws, tmp_path)
    ix.refresh()
    again = ix.refresh()
    assert (again.added, again.updated, again.deleted, again.unchanged) == (0, 0, 0, 3)
    assert again.bytes_read == 0  # unchanged stat: not even read
    (ws / "pkg" / "util.py").write_text(UTIL.replace("parse_duration", "parse_interval"))
    (ws / "README.md").unlink()
    (ws / "pkg" / "new.py").write_text("def brand_new():\n    return 42\n")
    os.utime(ws / "pkg" / "client.py")  # touched, same content
    stats = ix.refresh()
    assert (stats.added, stats.updated, stats.deleted, stats.unchanged) == (1, 1, 1, 1)
    assert ix.lookup_symbol("parse_duration") == []
    assert ix.lookup_symbol("parse_interval")[0].path == "pkg/util.py"
    assert ix.lookup_symbol("brand_new")[0].path == "pkg/new.py"
    assert ix.search("demo project", path_glob="*.md") == []
    assert ix.refresh().unchanged == 3


def test_refresh_of_given_paths_only(ws: Path, tmp_path: Path) -> None:
    ix = _open(ws, tmp_path)
    ix.refresh()
    (ws / "pkg" / "util.py").write_text("def only_this():\n    pass\n")
    (ws / "pkg" / "client.py").write_text("def not_this():\n    pass\n")
    stats = ix.refresh([ws / "pkg" / "util.py", Path("/etc/passwd"), ws / "ignored" / "x.py"])
    assert (stats.updated, stats.added, stats.deleted) == (1, 0, 0)
    assert ix.lookup_symbol("only_this") and not ix.lookup_symbol("not_this")
    (ws / "pkg" / "util.py").unlink()
    assert ix.refresh([ws / "pkg" / "util.py"]).deleted == 1
    assert not ix.lookup_symbol("only_this")


def test_bad_files_are_skipped_not_fatal(ws: Path, tmp_path: Path) -> None:
    (ws / "bin.py").write_bytes(b"\x00\x01\x02" * 10)
    (ws / "latin.py").write_bytes(b"# caf\xe9\ndef latin_fn():\n    pass\n")
    (ws / "locked.py").write_text("def locked_fn():\n    pass\n")
    (ws / "locked.py").chmod(0)
    ix = _open(ws, tmp_path)
    stats = ix.refresh()
    assert ix.lookup_symbol("latin_fn")
    if os.geteuid() != 0:  # root reads anything
        assert any("locked.py" in e for e in stats.errors)
    assert stats.skipped >= 1


@pytest.mark.parametrize("damage", ["garbage_meta", "foreign_dir", "broken_table", "old_schema",
                                    "previous_schema"])
def test_corrupt_or_foreign_index_is_rebuilt_with_a_notice(ws: Path, tmp_path: Path,
                                                          damage: str) -> None:
    ix = _open(ws, tmp_path)
    ix.refresh()
    d = ix.dir
    ix.close()
    if damage == "garbage_meta":
        (d / "meta.json").write_bytes(b"\xff\x00not json")
    elif damage == "foreign_dir":
        (d / "meta.json").unlink()
        (d / "something.txt").write_text("not ours")
    elif damage == "broken_table":
        for p in (d / "lance").rglob("*.manifest"):
            p.write_bytes(b"garbage")
    elif damage == "previous_schema":  # an index written by the release before this one
        meta = json.loads((d / "meta.json").read_text())
        (d / "meta.json").write_text(json.dumps({**meta, "schema": SCHEMA_VERSION - 1}))
    else:
        (d / "meta.json").write_text('{"schema": 0}')
    ix2 = _open(ws, tmp_path)
    if damage != "broken_table":
        assert "rebuilt" in ix2.status()["notice"]
    ix2.refresh()
    assert ix2.lookup_symbol("parse_duration")


def test_fts_query_strips_syntax_and_adds_identifier_parts() -> None:
    assert fts_query('HttpClient "get" (x) OR -y') == "HttpClient get x OR y http client"
    assert fts_query("  ") == ""
    # a sentence also asks for its neighbouring words run together, as identifiers have
    # them; code does not (its neighbours are separate names)
    assert fts_query("parse the date header") == (
        "parse the date header parsedate dateheader")
    assert "xy" not in fts_query("f(x, y)").split()


GEOMETRY = """import math


def area_of_circle(r):
    return math.pi * r * r


def perimeter(r):
    return 2 * math.pi * r
"""


def test_a_chunk_of_several_definitions_is_labelled_by_the_one_the_query_names(
        tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "geometry.py").write_text(GEOMETRY)
    ix = _open(root, tmp_path)
    ix.refresh()
    hits = ix.search("perimeter of a circle", mode="fts")
    assert hits[0].path == "geometry.py" and hits[0].start_line == 1  # one whole-file chunk
    assert hits[0].symbol == "perimeter"
    assert ix.search("area of circle", mode="fts")[0].symbol == "area_of_circle"
    assert ix.search("math", mode="fts")[0].symbol == ""  # names neither: no false label
    assert [h.symbol for h in ix.lookup_symbol("perimeter")] == ["perimeter"]
    row = {"symbol": "Shape", "names": " Shape area scale "}
    assert label(row, "scale it") == "Shape.scale" and label(row, "shape") == "Shape"


def test_roles_reweigh_and_a_zero_weight_leaves_a_role_out(ws: Path, tmp_path: Path) -> None:
    (ws / "tests").mkdir()
    (ws / "tests" / "test_util.py").write_text(
        "from pkg.util import parse_duration\n\n\ndef test_parse_duration():\n"
        "    assert parse_duration('5m') == 300\n")
    ix = _open(ws, tmp_path)
    ix.refresh()
    plain = ix.search("parse_duration", mode="fts")
    assert {h.role for h in plain} >= {"code", "test"}
    only_code = ix.search("parse_duration", mode="fts", roles={"test": 0, "docs": 0})
    assert only_code and {h.role for h in only_code} == {"code"}
    tests_first = ix.search("parse_duration", mode="fts", roles={"test": 10})
    assert tests_first[0].role == "test"


def test_replaced_chunks_become_tombstones_nothing_finds_until_compaction(
        ws: Path, tmp_path: Path) -> None:
    ix = _open(ws, tmp_path)
    ix.refresh()
    client = ws / "pkg" / "client.py"
    client.write_text(CLIENT.replace("    def fetch(self, url):\n"
                                     "        raise NotImplementedError\n", ""))
    assert ix.refresh([client]).updated == 1
    store = ix.store
    gone = store.table.search().where("kind = 'gone'").select(
        ["id", "path", "text", "terms", "has_vec"]).limit(None).to_list()
    assert gone and {g["path"] for g in gone} == {"pkg/client.py"}
    assert all((g["text"], g["terms"], g["has_vec"]) == ("", "", False) for g in gone)
    # no search, lookup or count sees them
    assert ix.lookup_symbol("fetch") == []
    assert all("NotImplementedError" not in h.text for h in ix.search("NotImplementedError"))
    from index.chunking import chunk_text

    def expected() -> int:
        return sum(len(chunk_text(p, (ws / p).read_text()))
                   for p in ("pkg/client.py", "pkg/util.py", "README.md"))

    assert ix.status()["chunks"] == expected()
    assert store.pending_vectors(100) and all(
        r["id"] not in {g["id"] for g in gone} for r in store.pending_vectors(100))
    # a vector arriving late (from another process) for a replaced row: nothing sees it
    import numpy as np

    store.set_vectors([gone[0]["id"]], np.ones((1, store.dim), np.float32))
    assert store.vector(np.ones(store.dim, np.float32), 10, None, prefilter=False) == []
    ix.refresh([client])
    assert ix.status()["vectors"] == 0
    # the same chunk coming back revives its row, in one commit
    client.write_text(CLIENT)
    ix.refresh([client])
    assert ix.lookup_symbol("fetch")[0].path == "pkg/client.py"
    assert ix.status()["chunks"] == expected()
    # compaction purges what is left, and every chunk is still found
    client.write_text(CLIENT.replace("get_json", "get_yaml"))
    ix.refresh([client])
    assert store.count("kind = 'gone'") > 0
    ix.store.commits = ix.store.COMPACT_AFTER
    assert ix.maintain() and store.count("kind = 'gone'") == 0 and not ix.maintain()
    assert ix.lookup_symbol("get_yaml") and not ix.lookup_symbol("get_json")
    # deleting the file drops its rows, tombstones included
    client.unlink()
    assert ix.refresh([client]).deleted == 1
    assert store.count("path = 'pkg/client.py'") == 0


def test_superseded_versions_are_pruned_once_old_enough(
        ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from index import store as store_mod

    ix = _open(ws, tmp_path)
    ix.refresh()
    (ws / "pkg" / "util.py").write_text(UTIL + "\n\ndef more():\n    return 1\n")
    ix.refresh([ws / "pkg" / "util.py"])
    store = ix.store
    assert not ix.maintain()  # nothing due yet
    store.optimize()  # compacts; what it superseded is kept for a while
    versions = len(store.table.list_versions())
    assert versions > 1 and store.prune_due is not None and not ix.maintain()
    # a later process sees the leftovers and schedules their pruning too
    assert _open(ws, tmp_path).store.prune_due is not None
    monkeypatch.setattr(store_mod, "KEEP_VERSIONS", store_mod.timedelta(seconds=1))
    time.sleep(1.2)
    monkeypatch.setattr(time, "monotonic", lambda: float("inf"))
    assert ix.maintain()
    assert len(store.table.list_versions()) < versions
    assert store.prune_due is None and not ix.maintain()  # a pruning pass does not re-arm
    assert ix.lookup_symbol("more")[0].path == "pkg/util.py"


def test_background_priority_lowers_only_the_calling_thread() -> None:
    import threading

    from index.api import background_priority

    if not hasattr(os, "getpriority"):
        pytest.skip("no thread priorities here")
    main = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen: list[int] = []

    def work() -> None:
        background_priority()
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert seen == [min(19, main + 10)]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == main


def test_a_workspace_over_max_files_is_cut_with_a_notice(ws: Path, tmp_path: Path) -> None:
    ix = _open(ws, tmp_path, max_files=2)
    stats = ix.refresh()
    assert stats.files == 2 and ix.status()["files"] == 2
    notice = ix.status()["notice"]
    assert "more than 2 indexable files" in notice and "index.max_files" in notice
    assert ix.refresh().unchanged == 2  # the same two every time (the walk is sorted)
    roomy = _open(ws, tmp_path)
    assert roomy.refresh().added == 1 and roomy.status()["notice"] == ""
