"""The default embedder: the static model shipped in the package, run by model2vec.

Nothing is downloaded or distilled: the model files are part of stead's own package.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from index import embed
from index.api import open_index
from server.settings import IndexSettings

FILES = {
    "net/http.py": "class HttpClient:\n    def download_page(self, url):\n"
                   "        return self.session.get(url, timeout=30).text\n",
    "math/stats.py": "def average(values):\n    return sum(values) / len(values)\n",
    "text/words.py": "def count_words(sentence):\n    return len(sentence.split())\n",
}
QUERIES = ["download a web page", "mean of a list of numbers", "number of words in text"]


def test_the_default_is_the_shipped_model_and_gives_unit_vectors() -> None:
    assert embed.canonical_name("default") == "static-code"
    e = embed.load_embedder("default", Path("/nonexistent"))  # needs no models dir
    assert e is not None and e.dim == embed.dim_for("static-code") == 256
    v = e.embed(["parse an http date header", "parseHttpDate", "sum of the values", ""])
    assert v.shape == (4, 256) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v[:3], axis=1), 1.0, atol=1e-4)
    assert not v[3].any()  # nothing to embed: a zero vector, not NaN
    # identifiers are read as their words
    assert float(v[0] @ v[1]) > float(v[0] @ v[2])
    assert e.embed([]).shape == (0, 256)


def test_index_with_the_default_embedder_finds_by_meaning(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    for rel, text in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    ix = open_index(root, tmp_path / "data", IndexSettings())
    stats = ix.refresh()
    assert stats.chunks_embedded == 3 and ix.status()["embedder"] == "static-code"
    assert not (tmp_path / "data" / "models").exists()  # nothing prepared on first index
    for query, path in zip(QUERIES, FILES, strict=True):
        assert ix.search(query, k=3, mode="vector")[0].path == path, query
        hyb = ix.search(query, k=3)
        assert hyb[0].source == "hybrid" and hyb[0].path == path, query
