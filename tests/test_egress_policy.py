"""Pure policy pieces: never-send globs, provider URLs, the routing decision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from server.egress import rules, urls
from server.egress.policy import Request, decide, workspace_allowed
from server.settings import load


@pytest.mark.parametrize(
    ("path", "extra", "expected"),
    [
        (".env", (), ".env*"),
        ("config/.env.production", (), ".env*"),
        ("deploy/prod.env", (), "*.env"),
        ("certs/server.PEM", (), "*.pem"),
        ("keys/api.key", (), "*.key"),
        ("home/.ssh/config", (), ".ssh"),
        ("id_rsa.pub", (), "id_rsa*"),
        ("secrets/db.yaml", (), "secrets"),
        ("app/Secrets/x.txt", (), "secrets"),
        ("store.p12", (), "*.p12"),
        ("src/app.py", (), None),
        ("src/environment.py", (), None),
        ("docs/keyboard.md", (), None),
        ("src/app.py", ("src/*.py",), "src/*.py"),
        ("deep/src/app.py", ("src/*.py",), None),
        ("deep/src/app.py", ("**/src/*.py",), "**/src/*.py"),
        ("internal/notes/a.md", ("internal",), "internal"),
        ("internal/notes/a.md", ("internal/notes",), "internal/notes"),
        ("src/app.py", ("  ",), None),
    ],
)
def test_never_send(path: str, extra: tuple[str, ...], expected: str | None) -> None:
    assert rules.match(path, extra) == expected


def test_builtin_rules_cannot_be_removed() -> None:
    assert set(rules.BUILTIN) <= set(rules.patterns(["x"]))


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://api.openai.com/v1", True),
        ("http://127.0.0.1:8000/v1", True),
        ("http://localhost:11434/v1", True),
        ("http://[::1]:8000/v1", True),
        ("http://api.example.com/v1", False),
        ("http://10.0.0.5/v1", False),
        ("ftp://example.com", False),
        ("https://user:sk-secret@example.com/v1", False),
        ("https://example.com:99999/v1", False),
        ("not a url", False),
    ],
)
def test_provider_urls(url: str, ok: bool) -> None:
    assert (urls.problem(url) is None) is ok


@pytest.mark.parametrize(
    ("kind", "base", "endpoint"),
    [
        ("openai", "", "https://api.openai.com/v1/chat/completions"),
        ("openai", "http://127.0.0.1:9/v1/", "http://127.0.0.1:9/v1/chat/completions"),
        ("anthropic", "", "https://api.anthropic.com/v1/messages"),
        ("anthropic", "https://proxy.example/v1", "https://proxy.example/v1/messages"),
    ],
)
def test_endpoints(kind: str, base: str, endpoint: str) -> None:
    assert urls.endpoint(kind, base) == endpoint


WS = "/work/project"
PROVIDER = {"kind": "openai", "url": "https://api.example.com/v1", "model": "m",
            "api_key_env": "K"}


def settings(**remote: Any) -> Any:
    base: dict[str, Any] = {"enabled": True, "allowed_workspaces": [WS],
                            "providers": {"p": PROVIDER}}
    base.update(remote)
    loaded = load({"remote": base})
    assert loaded.problems == ()
    return loaded.settings


@pytest.mark.parametrize(
    ("request_", "remote", "route", "reason"),
    [
        (Request(None, (WS,)), {}, "local", "local by default"),
        (Request(None, (WS,)), {"enabled": False}, "local", "local by default"),
        (Request("p", (WS,)), {}, "remote", "user asked"),
        (Request("p", (WS,), "local model declined"), {}, "remote", "local model declined"),
        (Request("p", (WS,), "context exceeds the local window"), {}, "remote",
         "context exceeds the local window"),
        (Request("p", (WS,), "because"), {}, "refused", "unknown escalation reason"),
        (Request("p", (WS,)), {"enabled": False}, "refused", "remote escalation is disabled"),
        (Request("q", (WS,)), {}, "refused", "unknown provider 'q'"),
        (Request("p", (WS,)), {"allowed_workspaces": []}, "refused", "not allowed"),
        (Request("p", ("/elsewhere",)), {}, "refused", "not allowed"),
        (Request("p", ("/work/project-2",)), {}, "refused", "not allowed"),
        (Request("p", (WS + "/sub",)), {}, "remote", "user asked"),
        (Request("p", ("/elsewhere",)), {"allowed_workspaces": ["*"]}, "remote", "user asked"),
        (Request("p", ()), {}, "refused", "not allowed"),
        (Request("p", (WS,)), {"providers": {"p": {**PROVIDER, "url": "http://x.example"}}},
         "refused", "not https"),
        (Request("p", (WS,)), {"providers": {"p": {**PROVIDER, "model": ""}}},
         "refused", "no model"),
    ],
)
def test_decide(request_: Request, remote: dict[str, Any], route: str, reason: str) -> None:
    decision = decide(request_, settings(**remote))
    assert decision.route == route
    assert reason in decision.reason


def test_a_new_workspace_starts_with_remote_refused() -> None:
    defaults = load({}).settings
    assert decide(Request("p", (WS,)), defaults).route == "refused"


def test_workspace_allowed_follows_symlinks(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    assert workspace_allowed((str(link),), (str(real),))
    assert not workspace_allowed((str(tmp_path),), (str(real),))
