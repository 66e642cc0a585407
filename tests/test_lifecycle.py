"""The server's lifecycle over real stdio: initialize, capabilities, settings, shutdown."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from lsprotocol import types

from server import __version__
from tests.conftest import StartClient, server_env


async def test_initialize_names_server_and_version(start_client: StartClient) -> None:
    client = await start_client()
    info = client.initialize_result.server_info  # type: ignore[attr-defined]
    assert info is not None
    assert info.name == "stead"
    assert info.version == __version__


async def test_capabilities_advertised(start_client: StartClient) -> None:
    client = await start_client()
    caps = client.initialize_result.capabilities  # type: ignore[attr-defined]
    assert caps.text_document_sync is not None
    # Incremental sync keeps didChange cheap on big files.
    sync = caps.text_document_sync
    kind = sync.change if isinstance(sync, types.TextDocumentSyncOptions) else sync
    assert kind == types.TextDocumentSyncKind.Incremental


async def test_defaults_without_options(start_client: StartClient) -> None:
    client = await start_client()
    result = await client.protocol.send_request_async("stead/settings", {})
    assert result.problems == []
    assert result.settings.completion.max_tokens == 64
    assert result.settings.remote.enabled is False
    assert client.messages == []


async def test_bad_option_reports_field_and_keeps_defaults(start_client: StartClient) -> None:
    client = await start_client(
        init_options={"completion": {"maxTokens": "lots", "multiline": "auto"}, "nonsense": 1}
    )
    result = await client.protocol.send_request_async("stead/settings", {})
    assert result.settings.completion.max_tokens == 64  # the default
    assert result.settings.completion.multiline == "auto"  # a good value beside it is kept
    await asyncio.sleep(0.05)
    texts = [m.message for m in client.messages if m.type == types.MessageType.Error]
    assert any("completion.max_tokens" in t and "integer" in t for t in texts), texts
    assert any("nonsense" in t and "unknown" in t for t in texts), texts


async def test_config_file_then_client_then_change(
    start_client: StartClient, xdg: dict[str, str]
) -> None:
    cfg = Path(xdg["XDG_CONFIG_HOME"]) / "stead"
    (cfg / "config.toml").write_text("[completion]\nmax_tokens = 20\nprefix_tokens = 100\n")
    client = await start_client(init_options={"stead": {"completion": {"maxTokens": 30}}})
    result = await client.protocol.send_request_async("stead/settings", {})
    assert result.settings.completion.max_tokens == 30  # client beats file
    assert result.settings.completion.prefix_tokens == 100  # file beats defaults
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"stead": {"completion": {"maxTokens": 7}}})
    )
    for _ in range(50):
        result = await client.protocol.send_request_async("stead/settings", {})
        if result.settings.completion.max_tokens == 7:
            break
        await asyncio.sleep(0.02)
    assert result.settings.completion.max_tokens == 7


async def test_malformed_config_file_reports_and_uses_defaults(
    start_client: StartClient, xdg: dict[str, str]
) -> None:
    cfg = Path(xdg["XDG_CONFIG_HOME"]) / "stead"
    (cfg / "config.toml").write_text("[completion\nmax_tokens = ")
    client = await start_client()
    result = await client.protocol.send_request_async("stead/settings", {})
    assert result.settings.completion.max_tokens == 64
    await asyncio.sleep(0.05)
    assert any("malformed TOML" in m.message for m in client.messages)


async def test_unknown_method_is_an_error_not_a_crash(start_client: StartClient) -> None:
    client = await start_client()
    try:
        await client.protocol.send_request_async("stead/noSuchThing", {})
    except Exception as exc:  # JsonRpcMethodNotFound
        assert "noSuchThing" in str(exc) or "-32601" in str(exc) or "not found" in str(exc)
    else:
        raise AssertionError("an unknown method must be answered with an error")
    # still alive
    result = await client.protocol.send_request_async("stead/settings", {})
    assert result.settings.completion.enabled is True


def test_raw_malformed_json_rpc_keeps_server_alive(xdg: dict[str, str]) -> None:
    """Garbage bytes, bad JSON and bad params on stdio: error replies, and the server lives."""

    def frame(body: bytes) -> bytes:
        return b"Content-Length: %d\r\n\r\n" % len(body) + body

    init = json.dumps(
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"capabilities": {}, "processId": None, "rootUri": None}}
    ).encode()
    bad_params = json.dumps(
        {"jsonrpc": "2.0", "id": 2, "method": "textDocument/hover", "params": {"nope": 1}}
    ).encode()
    ok = json.dumps({"jsonrpc": "2.0", "id": 3, "method": "stead/settings", "params": {}}).encode()
    shutdown = json.dumps({"jsonrpc": "2.0", "id": 4, "method": "shutdown"}).encode()
    exit_ = json.dumps({"jsonrpc": "2.0", "method": "exit"}).encode()
    data = (
        frame(init) + frame(b"{not json") + frame(bad_params) + frame(ok)
        + frame(shutdown) + frame(exit_)
    )
    proc = subprocess.run(
        [sys.executable, "-m", "server", "serve"], input=data, capture_output=True,
        env=server_env(xdg), timeout=60,
    )
    out = proc.stdout.decode()
    assert '"id": 1' in out or '"id":1' in out
    assert '"id": 3' in out or '"id":3' in out  # answered after the garbage
    assert '"id": 4' in out or '"id":4' in out
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    # nothing but LSP frames on stdout
    assert out.startswith("Content-Length:")
