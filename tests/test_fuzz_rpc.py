"""Property-based fuzzing of the real server over stdio (hypothesis).

Properties, for every stead method and every LSP method stead serves, with missing,
wrong-typed, deeply nested and path-laden params, and for raw JSON-RPC framing:
- every request gets exactly one answer (matched by id);
- the server stays responsive (a ping after each batch is answered);
- no file outside the workspace roots is read: an audit hook in the server process
  (`sys.addaudithook`, installed through `sitecustomize`) records every open of anything
  under a canary directory outside the roots that the fuzzed params keep pointing at;
- a frame whose Content-Length is wrong ends the server with status 2, never a deaf server.

Bounded for CI (~400 messages); `STEAD_FUZZ_MESSAGES=5000` runs the long version.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from server import jsonrpc, protocol
from tests.conftest import ROOT, server_env

MESSAGES = int(os.environ.get("STEAD_FUZZ_MESSAGES", "400"))
BATCH = 20
ANSWER_TIMEOUT_S = 60.0

AUDIT = '''
import os, sys
_canary = os.environ.get("STEAD_FUZZ_CANARY")
_log = os.environ.get("STEAD_FUZZ_AUDIT_LOG")
if _canary and _log:
    _fd = os.open(_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    _real = os.path.realpath
    def _hook(event, args):
        if event not in ("open", "os.listdir", "os.scandir") or not args:
            return
        path = args[0]
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not isinstance(path, str):
            return
        try:
            resolved = _real(path)
        except Exception:
            resolved = path
        if _canary in resolved or _canary in path:
            os.write(_fd, (event + " " + path + "\\n").encode())
    sys.addaudithook(_hook)
'''


class RawServer:
    """`stead serve` on real pipes, spoken to in raw frames; answers collected by id."""

    def __init__(self, env: dict[str, str], stderr: Path) -> None:
        self.err = stderr.open("wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "server", "serve"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.err, env=env, cwd=str(ROOT))
        self.answers: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        self.cond = threading.Condition()
        self.write_lock = threading.Lock()
        self.closed = False
        self.server_requests: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        try:
            while True:
                headers = {}
                while True:
                    line = out.readline()
                    if not line:
                        return
                    if line in (b"\r\n", b"\n"):
                        break
                    name, _, value = line.decode().partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = out.read(int(headers["content-length"]))
                msg = json.loads(body)
                if "method" in msg:
                    if "id" in msg:  # the server asks us (progress tokens): say yes
                        self.send({"jsonrpc": "2.0", "id": msg["id"], "result": None})
                    continue
                with self.cond:
                    self.answers[msg.get("id")].append(msg)
                    self.cond.notify_all()
        finally:
            with self.cond:
                self.closed = True
                self.cond.notify_all()

    def send_raw(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        with self.write_lock:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()

    def send(self, body: Any) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_raw(b"Content-Length: %d\r\n\r\n" % len(raw) + raw)

    def wait_for(self, ids: list[Any], timeout: float = ANSWER_TIMEOUT_S) -> list[Any]:
        """Ids still unanswered after `timeout` (empty when all were answered)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                missing = [i for i in ids if not self.answers.get(i)]
                left = deadline - time.monotonic()
                if not missing or left <= 0 or self.closed:
                    return missing
                self.cond.wait(left)

    def close(self) -> int:
        try:
            self.send({"jsonrpc": "2.0", "id": "bye", "method": "shutdown"})
            self.wait_for(["bye"], 30)
            self.send({"jsonrpc": "2.0", "method": "exit"})
            return self.proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            return self.proc.wait()
        finally:
            self.err.close()


# -- the world the fuzzer points at ----------------------------------------------------------
class World:
    def __init__(self, tmp: Path) -> None:
        self.ws = tmp / "ws"
        (self.ws / "pkg").mkdir(parents=True)
        (self.ws / "pkg" / "app.py").write_text(
            "def load_config(path):\n    return open(path).read()\n")
        (self.ws / "README.md").write_text("# demo\n")
        self.canary_dir = tmp / "outside-canary"
        self.canary_dir.mkdir()
        self.canary = self.canary_dir / "canary.py"
        self.canary.write_text("CANARY_SECRET = 'do-not-read-me'\n")
        (self.ws / "link_out.py").symlink_to(self.canary)
        (self.ws / "dir_out").symlink_to(self.canary_dir)
        self.export_dir = tmp / "exports"
        self.export_dir.mkdir()
        self.audit_log = tmp / "audit.log"
        self.env: dict[str, str] = {}

    def paths(self) -> list[str]:
        c, ws = self.canary, self.ws
        return [str(c), c.as_uri(), str(ws / "link_out.py"), (ws / "link_out.py").as_uri(),
                str(ws / "dir_out" / "canary.py"), (ws / "dir_out" / "canary.py").as_uri(),
                "../outside-canary/canary.py", "link_out.py", "dir_out/canary.py",
                str(c.parent), c.as_uri().replace("/canary.py", "/%2e%2e/outside-canary"),
                "file:///etc/hostname", "/etc/passwd", "pkg/app.py", str(ws / "pkg" / "app.py"),
                (ws / "pkg" / "app.py").as_uri(), "untitled:Untitled-1", "", "file://",
                "file:///", "~/.ssh/id_rsa", "pkg/../../outside-canary/canary.py", "\x00"]


def json_values(world: World) -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63),
        st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30),
        st.sampled_from(world.paths()),
        st.sampled_from(["hybrid", "fts", "vector", "nope", "**/*.py", "python"]),
    )
    return st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from([*KEYS, "x", ""]), inner, max_size=4)), max_leaves=12)


#: Every key any method takes (stead's params classes, and LSP's), camelCase and snake_case.
KEYS = sorted({
    "question", "uri", "position", "budget", "conversationId", "conversation_id", "selection",
    "token", "maxTokens", "max_tokens", "query", "k", "limit", "mode", "path_glob", "pathGlob",
    "language", "paths", "id", "ids", "private", "all", "kind", "workspace", "before", "since",
    "offset", "vacuum", "path", "provider", "items", "reason", "dropped", "approve", "text",
    "line", "character", "accepted_chars", "textDocument", "contentChanges", "context",
    "triggerKind", "settings", "changes", "value", "languageId", "version", "start", "end",
    "startLine", "endLine", "range", "type",
})

#: Methods fuzzed (requests and notifications).  Left out on purpose: initialize (once per
#: session), shutdown/exit (end it), workspace/didChangeWorkspaceFolders (moving the roots is
#: the client's right), history/export gets only paths under a temp dir (it writes there).
STEAD_METHODS = sorted(v for k, v in vars(protocol).items()
                       if isinstance(v, str) and v.startswith("stead/") and k.isupper())
LSP_METHODS = ["textDocument/completion", "textDocument/inlineCompletion",
               "textDocument/didOpen", "textDocument/didChange", "textDocument/didSave",
               "textDocument/didClose", "workspace/didChangeConfiguration",
               "workspace/didChangeWatchedFiles", "$/setTrace", "$/cancelRequest",
               "notebookDocument/didOpen", "notebookDocument/didChange",
               "notebookDocument/didClose", "window/workDoneProgress/cancel",
               "workspace/executeCommand", "initialized", "textDocument/hover"]
METHODS = STEAD_METHODS + LSP_METHODS


def structured(world: World) -> st.SearchStrategy[Any]:
    """Params shaped like a method's: its keys, with path-laden or wrong-typed values."""
    uri = st.sampled_from(world.paths())
    pos = st.one_of(st.fixed_dictionaries({"line": st.integers(-5, 10**9),
                                           "character": st.integers(-5, 10**6)}),
                    st.just("x"), st.none())
    doc = st.one_of(st.fixed_dictionaries({"uri": uri}), st.fixed_dictionaries(
        {"uri": uri, "languageId": st.just("python"), "version": st.integers(-1, 5),
         "text": st.text(max_size=200)}), st.fixed_dictionaries({"uri": st.integers()}))
    values = json_values(world)
    return st.one_of(
        st.fixed_dictionaries({"textDocument": doc, "position": pos},
                              optional={"context": st.fixed_dictionaries(
                                  {"triggerKind": st.integers(0, 3)})}),
        st.fixed_dictionaries({"question": st.text(max_size=40)},
                              optional={"uri": uri, "position": pos, "budget": values}),
        st.fixed_dictionaries({"paths": st.lists(uri, max_size=4)}),
        st.fixed_dictionaries({"query": st.one_of(st.text(max_size=30), values)},
                              optional={"k": values, "mode": values, "pathGlob": values}),
        st.fixed_dictionaries({"question": st.text(max_size=20), "provider": st.text(max_size=8)},
                              optional={"items": st.lists(st.fixed_dictionaries({"path": uri}),
                                                          max_size=3), "uri": uri}),
        st.fixed_dictionaries({"changes": st.lists(st.fixed_dictionaries(
            {"uri": uri, "type": st.integers(0, 4)}), max_size=3)}),
        st.dictionaries(st.sampled_from(KEYS), values, max_size=5),
    )


def message(world: World) -> st.SearchStrategy[tuple[str, bool, Any]]:
    """(method, is_request, params or a MISSING marker)."""
    params = st.one_of(st.just(MISSING), st.none(), json_values(world), structured(world),
                       structured(world), structured(world))
    return st.tuples(st.sampled_from(METHODS), st.booleans(), params)


MISSING = object()


def _safe(world: World, method: str, params: Any) -> Any:
    """history/export writes a file: keep it inside the temp dir whatever was drawn."""
    if method == protocol.HISTORY_EXPORT:
        return {"path": str(world.export_dir / "h.jsonl")}
    return params


@pytest.fixture(scope="module")
def fuzz_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, RawServer]]:
    tmp = tmp_path_factory.mktemp("fuzz")
    world = World(tmp)
    site = tmp / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(AUDIT)
    xdg = {}
    for name in ("CONFIG", "DATA", "CACHE", "STATE"):
        d = tmp / "xdg" / name.lower()
        d.mkdir(parents=True)
        xdg[f"XDG_{name}_HOME"] = str(d)
    env = server_env(xdg, LANCEDB_LOG="error", STEAD_FUZZ_CANARY=str(world.canary_dir),
                     STEAD_FUZZ_AUDIT_LOG=str(world.audit_log))
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(ROOT), env.get("PYTHONPATH", "")])
    world.env = env
    server = RawServer(env, tmp / "server.stderr")
    server.send({"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
        "processId": None, "rootUri": world.ws.as_uri(), "capabilities": {
            "window": {"workDoneProgress": True}},
        "workspaceFolders": [{"uri": world.ws.as_uri(), "name": "ws"}],
        # no model: model calls fail fast with their error instead of loading one
        "initializationOptions": {"model": {"path": str(tmp / "no-model.gguf")}}}})
    assert not server.wait_for(["init"], 60), "initialize unanswered"
    server.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    counter = {"next": 1000}
    server.counter = counter  # type: ignore[attr-defined]
    yield world, server
    rc = server.close()
    assert rc == 0, (tmp / "server.stderr").read_text()[-3000:]
    duplicates = {k: len(v) for k, v in server.answers.items() if len(v) > 1 and k is not None}
    assert not duplicates, f"answered more than once: {duplicates}"
    reads = world.audit_log.read_text() if world.audit_log.exists() else ""
    assert reads == "", f"files outside the roots were opened:\n{reads}"


def test_the_audit_hook_sees_a_read(fuzz_world: tuple[World, RawServer]) -> None:
    """The property below can fail: a process with the server's environment that opens the
    canary (directly, and through the workspace's symlink) is recorded."""
    world, _ = fuzz_world
    code = f"open({str(world.canary)!r}).read(); open({str(world.ws / 'link_out.py')!r}).read()"
    subprocess.run([sys.executable, "-c", code], env=world.env, check=True, timeout=60)
    lines = world.audit_log.read_text().splitlines()
    assert len(lines) == 2 and all(line.startswith("open ") for line in lines), lines
    world.audit_log.write_text("")  # truncate: the server appends to the same file


def _next_id(server: RawServer) -> int:
    counter = server.counter  # type: ignore[attr-defined]
    counter["next"] += 1
    return int(counter["next"])


sent = {"messages": 0}


#: Each example talks to one long-lived server, so shrinking (replaying variants against a
#: server that has moved on) says little and costs minutes: report the batch as it was.
NO_SHRINK = (Phase.explicit, Phase.generate)


@settings(max_examples=max(1, MESSAGES // BATCH), deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck), phases=NO_SHRINK)
@given(data=st.data())
def test_fuzzed_params_each_request_answered_once(
        fuzz_world: tuple[World, RawServer], data: st.DataObject) -> None:
    world, server = fuzz_world
    batch = data.draw(st.lists(message(world), min_size=BATCH, max_size=BATCH))
    ids = []
    sent_as: dict[int, Any] = {}
    for method, is_request, params in batch:
        body: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not MISSING:
            body["params"] = _safe(world, method, params)
        elif method == protocol.HISTORY_EXPORT:
            body["params"] = _safe(world, method, None)
        if is_request:
            body["id"] = _next_id(server)
            ids.append(body["id"])
            sent_as[body["id"]] = body
        server.send(body)
    ping = _next_id(server)
    server.send({"jsonrpc": "2.0", "id": ping, "method": "stead/settings", "params": {}})
    sent["messages"] += len(batch) + 1
    missing = server.wait_for([*ids, ping])
    assert not missing, f"unanswered: {[sent_as.get(i, ('ping', i)) for i in missing]}"
    for i in ids:
        (answer,) = server.answers[i]  # exactly one so far
        if "error" in answer:  # a JSON-RPC error, not a crash report dressed as one
            assert isinstance(answer["error"].get("code"), int)


# -- framing ------------------------------------------------------------------------------
ID = b'"@ID@"'


def _frames() -> st.SearchStrategy[bytes]:
    """Bodies with a correct Content-Length: JSON-ish garbage, truncations, deep nesting.
    `@ID@` becomes a fresh id per example, so answers can be counted per body."""
    good = b'{"jsonrpc":"2.0","id":' + ID + b',"method":"stead/status","params":{}}'
    return st.one_of(
        st.binary(max_size=200),
        st.text(max_size=200).map(str.encode),
        st.integers(1, len(good) - 1).map(lambda n: good[:n]),
        st.integers(1, 200_000).map(
            lambda n: (b'{"jsonrpc":"2.0","id":' + ID + b',"method":"stead/search","params":'
                       + b"[" * n + b"]" * n + b"}")),
        st.sampled_from([b"[]", b"null", b"1", b'"x"', b"{}", b'{"jsonrpc":"2.0"}',
                         b'{"jsonrpc":"2.0","id":' + ID + b"}",
                         b'{"jsonrpc":"2.0","id":{},"method":"x"}',
                         b'{"jsonrpc":"2.0","id":' + ID + b',"result":1}', good]),
    )


@settings(max_examples=max(10, MESSAGES // 10), deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck), phases=NO_SHRINK)
@given(body=_frames())
def test_fuzzed_bodies_keep_the_server_answering(
        fuzz_world: tuple[World, RawServer], body: bytes) -> None:
    _, server = fuzz_world
    uid = f"frame-{_next_id(server)}"
    body = body.replace(ID, json.dumps(uid).encode())
    server.send(body)
    ping = _next_id(server)
    server.send({"jsonrpc": "2.0", "id": ping, "method": "stead/settings", "params": {}})
    sent["messages"] += 2
    assert not server.wait_for([ping]), "server stopped answering after a malformed body"
    assert len(server.answers.get(uid, [])) <= 1
    if body.startswith(b'{"jsonrpc":"2.0","id":"frame-') and b'"method"' in body:
        assert len(server.answers.get(uid, [])) == 1, body[:120]  # a request: one answer


@settings(max_examples=4, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(delta=st.sampled_from([-40, -10, -1, 1, 10, 40]), tail=st.booleans())
def test_wrong_content_length_never_leaves_a_deaf_server(
        xdg: dict[str, str], tmp_path: Path, delta: int, tail: bool) -> None:
    server = RawServer(server_env(xdg), tmp_path / f"stderr-{delta}-{tail}")
    try:
        server.send({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                     "params": {"processId": None, "rootUri": None, "capabilities": {}}})
        assert not server.wait_for([1], 60)
        raw = json.dumps({"jsonrpc": "2.0", "id": 2, "method": "stead/status"}).encode()
        server.send_raw(b"Content-Length: %d\r\n\r\n" % (len(raw) + delta) + raw)
        for n in range(3, 6 if tail else 4):
            server.send({"jsonrpc": "2.0", "id": n, "method": "stead/settings", "params": {}})
        rc = server.proc.wait(timeout=60)
        assert rc == jsonrpc.FRAMING_EXIT
        assert b"out of step" in (tmp_path / f"stderr-{delta}-{tail}").read_bytes()
    finally:
        if server.proc.poll() is None:
            server.proc.kill()
        server.err.close()


def test_report_fuzz_count(fuzz_world: tuple[World, RawServer]) -> None:
    """Runs last in this module: how many messages the server took, for the record."""
    print(f"\nfuzz: {sent['messages']} messages sent, every request answered once")
    assert sent["messages"] >= min(MESSAGES, 100)
