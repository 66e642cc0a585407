"""Publishing on a real Ray cluster (a head and two worker nodes, separate processes on
loopback) to a real S3 server (moto, loopback), with a worker node killed mid-build."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from clusterkit import (
    RAY_LOOPBACK,
    S3,
    RayCluster,
    git_init,
    need,
    port_open,
    s3_server,
    wait_for,
    write_tree,
)

need("ray")
need("moto")

from index.api import open_index  # noqa: E402
from index.cluster import publish as publish_mod  # noqa: E402
from index.cluster.attach import attach  # noqa: E402
from index.cluster.publish import publish  # noqa: E402
from server.settings import IndexSettings  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

URI = "s3://team/ray"
NONE = IndexSettings(embedder="none")
N = 40


def _corpus(root: Path) -> Path:
    files = {f"pkg/mod{i:02d}.py": f"def handler_{i:02d}(request):\n"
             f"    \"\"\"Serve route {i} of the tenant_{i:02d} API.\"\"\"\n"
             f"    return render(request, 'page{i}.html')\n" for i in range(N)}
    write_tree(root, files)
    git_init(root)
    return root


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3]:
    with s3_server(monkeypatch) as server:
        yield server


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> Iterator[RayCluster]:
    # this driver on loopback (the nodes keep to it through tests/ray_node.py)
    for k, v in RAY_LOOPBACK.items():
        monkeypatch.setenv(k, v)
    c = RayCluster(Path(tempfile.mkdtemp(prefix="sr", dir="/tmp")))
    c.start(workers=2)
    import ray

    try:
        wait_for(lambda: port_open(c.port), timeout=120)
        ray.init(address=c.address, log_to_driver=False, configure_logging=False)
        assert ray.nodes()[0]["NodeManagerAddress"] == "127.0.0.1"
        try:
            wait_for(lambda: ray.cluster_resources().get("CPU", 0) >= 2, timeout=120)
        except AssertionError:
            raise AssertionError(f"worker nodes did not join: {ray.nodes()}\n{c.logs()}"
                                 ) from None
        yield c
    finally:
        ray.shutdown()
        c.stop()


def test_publish_on_ray_survives_a_killed_worker_node(
        s3: S3, cluster: RayCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ray

    repo = _corpus(tmp_path / "repo")
    monkeypatch.setattr(publish_mod, "BATCH_FILES", 2)  # 20 tasks over two nodes
    killed: list[int] = []

    def kill_one_node(done: int, total: int, message: str) -> None:
        if message.startswith("published") and not killed:
            cluster.kill_worker(0)  # mid-build: most batches are still to come
            killed.append(done)

    r = publish(repo, URI, NONE, tmp_path / "models", engine="ray",
                address=cluster.address, progress=kill_one_node)
    assert killed and killed[0] < N
    assert (r.files, r.changed, r.engine, r.manifest.engine) == (N, N, "ray", "ray")
    assert r.manifest.files == N and r.manifest.chunks >= N
    wait_for(lambda: sum(1 for n in ray.nodes() if not n["Alive"]) == 1, timeout=60)
    # every file made it: a fresh client finds each handler, and an in-process re-publish
    # of the same tree finds nothing to redo (Ray wrote exactly what local would have)
    data = tmp_path / "client"
    (tmp_path / "elsewhere").mkdir()
    attach(tmp_path / "elsewhere", data, NONE, URI)
    ix = open_index(tmp_path / "elsewhere", data, NONE)
    for i in (0, 17, N - 1):
        hits = ix.search(f"handler_{i:02d}", 1, mode="fts")
        assert hits and hits[0].path == f"pkg/mod{i:02d}.py"
    again = publish(repo, URI, NONE, tmp_path / "models", engine="local")
    assert (again.changed, again.unchanged) == (0, N)
