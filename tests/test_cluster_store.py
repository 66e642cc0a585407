"""The shared base index on a real S3 server (moto, on loopback): publish in-process,
attach a checkout, overlay hiding, re-publish of one file, refusals, a store that fails."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from clusterkit import S3, git_init, need, s3_server, write_tree

need("moto")
need("boto3")

from index import embed  # noqa: E402
from index.api import open_index  # noqa: E402
from index.cluster import publish as publish_mod  # noqa: E402
from index.cluster.attach import AttachedIndex, attach  # noqa: E402
from index.cluster.base import BaseIndexError, connect, read_manifest  # noqa: E402
from index.cluster.location import doctor_layer  # noqa: E402
from index.cluster.publish import publish  # noqa: E402
from server.egress.audit import AuditLog  # noqa: E402
from server.settings import IndexSettings  # noqa: E402

pytestmark = pytest.mark.slow

URI = "s3://team/base"
FILES = {
    "config.py": "def parse_config(path):\n    \"\"\"Read the settings file.\"\"\"\n"
                 "    with open(path) as fh:\n        return fh.read()\n",
    "net/client.py": "class HttpClient:\n    def fetch(self, url):\n"
                     "        return download_page(url)\n",
    "net/retry.py": "def backoff_delay(attempt):\n    return min(30, 2 ** attempt)\n",
    "docs/guide.md": "# Guide\nThe scheduler rotates journals every night.\n",
}
NONE = IndexSettings(embedder="none")


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3]:
    with s3_server(monkeypatch) as server:
        yield server


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = write_tree(tmp_path / "repo", FILES)
    git_init(root)
    return root


@pytest.fixture(scope="module")
def distilled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real static model distilled for this corpus's tokens (fast), once per module."""
    m = embed.MiniLM()
    text = " ".join(FILES.values()) + " read settings file download page"
    table, weights = embed.distill(m, ids=m.tok.ids(embed._words_for_static(text)))
    path = embed.static_model_file(tmp_path_factory.mktemp("distilled"))
    embed.write_static_model(path, table, weights)
    return path


@pytest.fixture
def static_models(tmp_path: Path, distilled: Path) -> Path:
    """That model where an index under tmp_path/data looks for it."""
    models = tmp_path / "data" / "models"
    models.mkdir(parents=True)
    shutil.copyfile(distilled, models / distilled.name)
    return models


def _clone(repo: Path, tmp_path: Path) -> Path:
    clone = tmp_path / "clone"
    shutil.copytree(repo, clone)
    return clone


def test_publish_attach_overlay_hides_base(s3: S3, repo: Path, tmp_path: Path,
                                           static_models: Path) -> None:
    settings = IndexSettings(embedder="static")
    r = publish(repo, URI, settings, static_models)
    m = r.manifest
    assert (r.files, r.changed, m.embedder, m.dim) == (4, 4, "static", 256)
    assert m.commit and len(m.commit) == 40 and m.chunker >= 1
    assert m.vectors == m.chunks > 0 and "127.0.0.1" in m.egress
    # the checkout differs: one file edited, one new, one deleted, one the same
    clone = _clone(repo, tmp_path)
    (clone / "config.py").write_text("def load_settings(path):\n    return {}\n")
    (clone / "net/pool.py").write_text("def connection_pool(size):\n    return [None] * size\n")
    (clone / "docs/guide.md").unlink()
    data = tmp_path / "data"
    attach(clone, data, settings, URI)
    ix = open_index(clone, data, settings)
    assert isinstance(ix, AttachedIndex)
    stats = ix.refresh()
    assert stats.added == 2  # only the two differing files went into the overlay
    st = ix.status()
    assert st["overlay"]["files"] == 2 and st["base"]["files"] == 4
    assert st["files"] == 4  # 2 from the overlay + client.py, retry.py from the base
    paths = lambda q, mode="hybrid": [h.path for h in ix.search(q, 5, mode=mode)]  # noqa: E731
    texts = lambda q: [h.text for h in ix.search(q, 5, mode="fts")]  # noqa: E731
    # the base's config.py is hidden by the overlay's (found by its path words only)
    assert not any("parse_config" in t for t in texts("parse_config fh"))
    assert paths("load_settings", "fts") == ["config.py"]
    assert paths("journals scheduler", "fts") == []  # deleted here: hidden too
    assert "net/client.py" in paths("HttpClient fetch")  # unchanged: from the base
    assert "net/pool.py" in paths("connection_pool")
    # both rankings meet in one list
    both = paths("HttpClient connection_pool", "fts")
    assert set(both) >= {"net/client.py", "net/pool.py"}
    assert [h.path for h in ix.lookup_symbol("parse_config")] == []
    assert [h.path for h in ix.lookup_symbol("backoff_delay")] == ["net/retry.py"]
    # reverting the edit takes the file out of the overlay: the base answers again
    (clone / "config.py").write_text(FILES["config.py"])
    ix.refresh([clone / "config.py"])
    assert any("def parse_config" in t for t in texts("parse_config fh"))
    assert ix.status()["overlay"]["files"] == 1
    # reading the shared index is egress: the audit log names the location and its host
    records = AuditLog(data / "audit.jsonl").records()
    assert records and records[0]["url"] == URI and s3.endpoint.split("//")[1] in \
        records[0]["detail"]
    assert AuditLog(data / "audit.jsonl").verify().ok
    # stead doctor's layer table names the attached base and what reading it sends where
    where, egress = doctor_layer(data, True)
    assert URI in where and egress.startswith("query") and "127.0.0.1" in egress
    assert doctor_layer(data, False)[1] == "nothing"
    assert doctor_layer(tmp_path / "nodata", True)[1] == "nothing"
    # index.shared = false: the same workspace is searched from this machine only
    local = open_index(clone, data, IndexSettings(embedder="static", shared=False))
    assert not isinstance(local, AttachedIndex) and "base" not in local.status()


def test_republish_reembeds_only_the_changed_file(s3: S3, repo: Path, tmp_path: Path,
                                                  static_models: Path) -> None:
    settings = IndexSettings(embedder="static")
    first = publish(repo, URI, settings, static_models)
    again = publish(repo, URI, settings, static_models)
    assert (again.changed, again.chunks_embedded, again.unchanged) == (0, 0, 4)
    (repo / "net/retry.py").write_text("def backoff_delay(attempt):\n    return 1.5 ** attempt\n")
    (repo / "docs/guide.md").unlink()
    third = publish(repo, URI, settings, static_models, commit="c3")
    assert (third.changed, third.deleted, third.unchanged) == (1, 1, 2)
    assert third.chunks_embedded == 1  # the one chunk of the one changed file
    assert third.manifest.version > first.manifest.version
    m = read_manifest(connect(URI), URI)
    assert (m.commit, m.files) == ("c3", 3)
    # a fresh client reads the new version
    data = tmp_path / "d2"
    attach(repo, data, settings, URI)
    ix = open_index(repo, data, settings)
    ix.refresh()
    assert ix.status()["overlay"]["files"] == 0
    hits = ix.search("backoff_delay", 3, mode="fts")
    assert hits and "1.5 ** attempt" in hits[0].text


def test_interrupted_publish_leaves_the_previous_one_visible(
        s3: S3, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    publish(repo, URI, NONE, tmp_path / "models", commit="one")
    for rel in ("config.py", "net/client.py", "net/retry.py"):
        (repo / rel).write_text(f"def rewritten_{rel.replace('/', '_')[:-3]}():\n    pass\n")
    monkeypatch.setattr(publish_mod, "BATCH_FILES", 1)

    def dies(done: int, total: int, message: str) -> None:
        if done == 2 and message.startswith("published"):
            raise RuntimeError("worker lost")

    with pytest.raises(RuntimeError, match="worker lost"):
        publish(repo, URI, NONE, tmp_path / "models", commit="two", progress=dies)
    m = read_manifest(connect(URI), URI)
    assert m.commit == "one"  # the manifest still names the complete first publish
    data = tmp_path / "reader"
    (tmp_path / "empty").mkdir()
    attach(tmp_path / "empty", data, NONE, URI)  # a client whose checkout is elsewhere
    ix = open_index(tmp_path / "empty", data, NONE)
    assert [h.path for h in ix.search("parse_config", 3, mode="fts")] == ["config.py"]
    assert not any("rewritten" in h.text for h in ix.search("rewritten_config", 3, mode="fts"))
    # running it again finishes the job, re-embedding only what the dead run did not write
    done = publish(repo, URI, NONE, tmp_path / "models", commit="two")
    assert done.changed == 1 and read_manifest(connect(URI), URI).commit == "two"


def test_refusals_name_the_fix(s3: S3, repo: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    with pytest.raises(BaseIndexError, match=r"no published base index .* --publish"):
        attach(repo, data, NONE, URI)
    publish(repo, URI, NONE, tmp_path / "m", commit="x")
    with pytest.raises(BaseIndexError, match=r"embedded with 'none'.*index.embedder = \"none\""):
        attach(repo, data, IndexSettings(embedder="minilm"), URI)
    with pytest.raises(BaseIndexError, match=r"bucket 'gone' .* does not exist"):
        attach(repo, data, NONE, "s3://gone/base")
    s3.enforce_auth()
    with pytest.raises(BaseIndexError, match=r"refused the credentials .* AWS_ACCESS_KEY_ID"):
        attach(repo, data, NONE, URI)
    assert not (data / "attached").exists() or not any((data / "attached").iterdir())


def test_bucket_disappearing_mid_session_leaves_the_overlay_answering(
        s3: S3, repo: Path, tmp_path: Path) -> None:
    publish(repo, URI, NONE, tmp_path / "m")
    clone = _clone(repo, tmp_path)
    (clone / "net/pool.py").write_text("def connection_pool(size):\n    return size\n")
    data = tmp_path / "data"
    attach(clone, data, NONE, URI)
    ix = open_index(clone, data, NONE)
    ix.refresh()
    assert [h.path for h in ix.search("HttpClient", 3, mode="fts")] == ["net/client.py"]
    s3.delete_bucket()
    # a fresh process reading the vanished base: the overlay still answers, clearly flagged
    ix2 = open_index(clone, data, NONE)
    assert [h.path for h in ix2.search("connection_pool", 3, mode="fts")] == ["net/pool.py"]
    assert ix2.search("HttpClient", 3, mode="fts") == []
    assert "does not exist" in ix2.status()["base"]["error"]
    assert "unavailable" in ix2.status()["notice"]


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "server", *args], capture_output=True,
                          text=True, env=env, timeout=180)


def test_cli_publish_attach_search(s3: S3, repo: Path, tmp_path: Path) -> None:
    env = {**os.environ, **s3.env, "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
           **{f"XDG_{k}_HOME": str(tmp_path / k.lower()) for k in
              ("CONFIG", "DATA", "CACHE", "STATE")}}
    p = _cli(["index", "--publish", URI, "--no-vectors", "--json", str(repo)], env)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["files"] == 4 and out["manifest"]["embedder"] == "none"
    clone = _clone(repo, tmp_path)
    (clone / "net/pool.py").write_text("def connection_pool(size):\n    return size\n")
    p = _cli(["index", "--attach", URI, "--embedder", "none", str(clone)], env)
    assert p.returncode == 0, p.stderr
    assert "local overlay: 1 files" in p.stdout and "egress: query" in p.stdout
    (tmp_path / "config" / "stead").mkdir(parents=True)
    (tmp_path / "config" / "stead" / "config.toml").write_text('[index]\nembedder = "none"\n')
    p = _cli(["search", "--json", "--mode", "fts", "-C", str(clone), "HttpClient pool"], env)
    assert p.returncode == 0, p.stderr
    assert {h["path"] for h in json.loads(p.stdout)} == {"net/client.py", "net/pool.py"}
    p = _cli(["index", "--detach", str(clone)], env)
    assert p.returncode == 0 and "detached" in p.stdout
