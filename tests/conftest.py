"""Shared test harness: the real stead server over stdio, with isolated XDG dirs per test."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.harness import TEST_CONFIG

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point every platformdirs location at a fresh temp dir, here and in child processes."""
    env = {}
    for name in ("CONFIG", "DATA", "CACHE", "STATE"):
        path = tmp_path / "xdg" / name.lower()
        path.mkdir(parents=True)
        env[f"XDG_{name}_HOME"] = str(path)
        monkeypatch.setenv(f"XDG_{name}_HOME", str(path))
    env["LANCEDB_LOG"] = "error"
    monkeypatch.setenv("LANCEDB_LOG", "error")
    (tmp_path / "xdg" / "config" / "stead").mkdir()
    (tmp_path / "xdg" / "config" / "stead" / "config.toml").write_text(TEST_CONFIG)
    return env


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    return ws


def server_env(xdg: dict[str, str], **extra: str) -> dict[str, str]:
    """pytest-lsp replaces the child's environment: start from ours and add the temp dirs."""
    env = dict(os.environ)
    env.update(xdg)
    env.update(extra)
    return env


StartClient = Callable[..., Awaitable[LanguageClient]]


@pytest_asyncio.fixture
async def start_client(
    xdg: dict[str, str], workspace: Path
) -> AsyncIterator[StartClient]:
    """Start the real server and initialize it; every started server is shut down after."""
    clients: list[LanguageClient] = []

    async def start(
        init_options: Any = None,
        root: Path | None = None,
        env: dict[str, str] | None = None,
        capabilities: types.ClientCapabilities | None = None,
        args: tuple[str, ...] = (),
        folders: Sequence[Path] = (),
    ) -> LanguageClient:
        config = ClientServerConfig(
            server_command=[sys.executable, "-m", "server", *args, "serve"],
            server_env=server_env(xdg, **(env or {})),
        )
        client = await config.start()
        clients.append(client)
        root = root or workspace
        result = await client.initialize_session(
            types.InitializeParams(
                capabilities=capabilities or types.ClientCapabilities(
                    window=types.WindowClientCapabilities(work_done_progress=True)
                ),
                root_uri=root.as_uri(),
                workspace_folders=[types.WorkspaceFolder(uri=f.as_uri(), name=f.name)
                                   for f in (folders or [root])],
                initialization_options=init_options,
            )
        )
        client.initialize_result = result  # type: ignore[attr-defined]
        return client

    yield start
    for client in clients:
        with contextlib.suppress(Exception):
            await client.shutdown_session()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny llama GGUF (tests/tinymodel.py) built once per session; greedy output for a
    prompt ending outside its chain is `tinymodel.DEFAULT_OUTPUT` ("return a + b").
    Point the server at it with init_options={"model": {"path": str(tiny_model)}}."""
    try:
        from tinymodel import build_tiny_gguf  # tests/ is on sys.path under pytest
    except ImportError:
        from tests.tinymodel import build_tiny_gguf

    return build_tiny_gguf(tmp_path_factory.mktemp("tiny-model") / "stead-tiny.gguf")
