"""An attached workspace in the real server over stdio: it indexes only what differs from
the shared base (moto S3 on loopback), searches both, and audits reading the store."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clusterkit import S3, git_init, need, s3_server, write_tree
from pytest_lsp import LanguageClient

need("moto")
need("boto3")

from index.cluster.attach import attach  # noqa: E402
from index.cluster.publish import publish  # noqa: E402
from server import protocol  # noqa: E402
from server.egress.audit import AuditLog  # noqa: E402
from server.paths import dirs  # noqa: E402
from server.settings import IndexSettings  # noqa: E402
from tests.conftest import StartClient  # noqa: E402

pytestmark = pytest.mark.slow

URI = "s3://team/lsp"
NONE = IndexSettings(embedder="none")
FILES = {
    "src/net/http_client.py": "class HttpClient:\n    def fetch_page(self, url):\n"
                              "        return url\n",
    "src/util.py": "def parse_duration(text):\n    return int(text)\n",
}


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3]:
    with s3_server(monkeypatch) as server:
        yield server


async def _call(client: LanguageClient, method: str, params: dict[str, Any]) -> Any:
    return protocol._plain(await client.protocol.send_request_async(method, params))


async def test_attached_workspace_in_the_server(
        s3: S3, start_client: StartClient, workspace: Path, tmp_path: Path) -> None:
    repo = write_tree(tmp_path / "repo", FILES)
    git_init(repo)
    publish(repo, URI, NONE, tmp_path / "models")
    shutil.rmtree(workspace)
    shutil.copytree(repo, workspace)
    (workspace / "src/util.py").write_text("def parse_interval(text):\n    return text\n")
    attach(workspace, dirs().data, NONE, URI)

    client = await start_client(init_options={"index": {"embedder": "none"}}, env=s3.env)
    st: dict[str, Any] = {}
    for _ in range(300):
        st = await _call(client, protocol.INDEX_STATUS, {})
        if st.get("state") == "ready" and st.get("overlay", {}).get("files") == 1:
            break
        await asyncio.sleep(0.1)
    assert st["overlay"]["files"] == 1, st  # only the edited file is indexed here
    assert st["base"]["uri"] == URI and not st["base"]["error"]
    assert "egress" in st["base"] and "127.0.0.1" in st["base"]["host"]
    hits = (await _call(client, protocol.SEARCH, {"query": "HttpClient fetch_page"}))["hits"]
    assert hits[0]["path"] == "src/net/http_client.py"  # from the base
    texts = [h["text"] for h in
             (await _call(client, protocol.SEARCH, {"query": "parse_duration parse_interval"}))[
                 "hits"]]
    assert any("parse_interval" in t for t in texts)  # the overlay's version...
    assert not any("parse_duration" in t for t in texts)  # ...hides the base's
    records = AuditLog(dirs().audit_log).records()
    assert any(r["url"] == URI and r["provider"] == "shared-index" for r in records)
