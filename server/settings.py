"""The one settings tree.

Every client (VS Code, Neovim, the CLI) mirrors this tree, so it is declared once, frozen
and fully defaulted.  Values come, lowest first, from the defaults, the user config file
(`config.toml` in the platform config dir), the client's `initializationOptions` and
`workspace/didChangeConfiguration`.  A bad value never stops the server: the field keeps its
default and the problem is reported with the field's dotted name.

Keys may be written in snake_case or camelCase (`max_tokens` or `maxTokens`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import cattrs
from attrs import field, frozen
from attrs.validators import ge, gt, in_, le

Backend = Literal["gpt4all", "openai-compatible"]


@frozen
class ModelSettings:
    #: Which local backend runs completions and chat: in-process GGUF or a local server.
    backend: Backend = field(default="gpt4all", validator=in_(("gpt4all", "openai-compatible")))
    #: A model name from `stead models list`; its file is looked up in the models dir.
    name: str = "qwen2.5-coder-0.5b"
    #: An explicit GGUF file; overrides `name` when set.
    path: str = ""
    #: Base URL of a local OpenAI-compatible server (loopback only; remote is escalation).
    url: str = "http://127.0.0.1:11434/v1"
    #: Model name to ask the OpenAI-compatible server for.
    server_model: str = ""
    #: CPU threads for in-process inference; 0 picks half the cores (at most 4).
    n_threads: int = field(default=0, validator=[ge(0), le(256)])
    #: Context window to allocate, in tokens.
    n_ctx: int = field(default=2048, validator=[ge(128), le(131072)])
    #: A request to the model is abandoned after this many seconds.
    timeout_s: float = field(default=10.0, validator=[gt(0), le(600)])
    #: Load the model in the background when the first document opens, so that the first
    #: suggestion does not wait for it.
    preload: bool = True


@frozen
class CompletionSettings:
    #: Serve inline (ghost text) and classic completions.
    enabled: bool = True
    #: Most tokens generated for one suggestion.
    max_tokens: int = field(default=64, validator=[ge(1), le(2048)])
    #: Token budget for the text before the cursor.
    prefix_tokens: int = field(default=384, validator=[ge(16), le(32768)])
    #: Token budget for the text after the cursor.
    suffix_tokens: int = field(default=128, validator=[ge(0), le(32768)])
    #: "auto" decides single- or multi-line from the cursor's surroundings.
    multiline: Literal["auto", "always", "never"] = field(
        default="auto", validator=in_(("auto", "always", "never"))
    )
    #: Completions kept in the in-memory cache.
    cache_size: int = field(default=256, validator=[ge(0), le(100000)])


@frozen
class ContextSettings:
    #: Tokens of cross-file context (definitions, recent edits, similar code) per completion.
    completion_budget: int = field(default=1024, validator=[ge(0), le(32768)])
    #: Tokens of context given to chat answers.
    chat_budget: int = field(default=1200, validator=[ge(0), le(131072)])
    #: A context source slower than this is skipped, never waited for.
    deadline_ms: int = field(default=100, validator=[ge(1), le(10000)])
    #: Recently edited or viewed chunks remembered across open documents.
    recent_chunks: int = field(default=16, validator=[ge(0), le(1024)])


@frozen
class IndexSettings:
    #: Index the workspace in the background after start-up.
    enabled: bool = True
    #: Files larger than this are not indexed.
    max_file_bytes: int = field(default=1_000_000, validator=[ge(1), le(1_000_000_000)])
    #: At most this many files per workspace folder; past it, the index says so and stops
    #: (exclude generated or vendored directories to make room).
    max_files: int = field(default=200_000, validator=[ge(1), le(10_000_000)])
    #: Extra gitignore-style patterns to leave out (beside .gitignore and .steadignore).
    exclude: tuple[str, ...] = ()
    #: Local embedding model for vector search: "default" (= "static-code": shipped with
    #: stead, fast), "static" (distilled on first use), "minilm" (better, ~5 chunks/s:
    #: small repositories) or "none" (full-text search only).
    embedder: str = field(default="default", validator=in_(("default", "static-code", "static",
                                                              "minilm", "none")))
    #: Read the shared base index a workspace is attached to (`stead index --attach URI`).
    #: That is egress of the query: each search reads index pages from the store's host,
    #: recorded in the audit log. False indexes such a workspace fully on this machine.
    shared: bool = True


@frozen
class ChatSettings:
    #: Most tokens in one answer.
    max_tokens: int = field(default=512, validator=[ge(1), le(32768)])
    #: An answer is abandoned after this many seconds (reading a long prompt on a CPU is slow).
    timeout_s: float = field(default=180.0, validator=[gt(0), le(3600)])


@frozen
class HistorySettings:
    #: Keep every prompt sent to a model (redacted) in the local history.
    enabled: bool = True
    #: Also keep inline-completion prompts (numerous; chat and escalation are always kept).
    completions: bool = True
    #: Delete entries older than this many days; 0 keeps them until the user deletes them.
    retention_days: int = field(default=0, validator=[ge(0), le(36500)])


@frozen
class ProviderSettings:
    #: API dialect of the remote provider.
    kind: Literal["openai", "anthropic"] = field(
        default="openai", validator=in_(("openai", "anthropic"))
    )
    #: Base URL; must be https unless it is loopback.
    url: str = ""
    #: Model to ask for.
    model: str = ""
    #: Environment variable holding the API key (the OS keyring is tried when it is unset).
    api_key_env: str = ""
    #: Price in USD per million input tokens, for the manifest's estimate (0 = unknown).
    input_cost_per_mtok: float = field(default=0.0, validator=ge(0))
    #: Price in USD per million output tokens (0 = unknown).
    output_cost_per_mtok: float = field(default=0.0, validator=ge(0))
    #: Seconds before a remote request is abandoned.
    timeout_s: float = field(default=60.0, validator=[gt(0), le(3600)])


@frozen
class RemoteSettings:
    #: Master switch: when false nothing is ever sent to a remote model.
    enabled: bool = False
    #: Named remote providers the user may escalate to.
    providers: dict[str, ProviderSettings] = field(factory=dict)
    #: Workspace roots where escalation is allowed; empty means none ("*" means all).
    allowed_workspaces: tuple[str, ...] = ()
    #: Extra never-send globs, added to the built-in ones (which always apply).
    never_send: tuple[str, ...] = ()


@frozen
class Settings:
    model: ModelSettings = field(factory=ModelSettings)
    completion: CompletionSettings = field(factory=CompletionSettings)
    context: ContextSettings = field(factory=ContextSettings)
    index: IndexSettings = field(factory=IndexSettings)
    chat: ChatSettings = field(factory=ChatSettings)
    history: HistorySettings = field(factory=HistorySettings)
    remote: RemoteSettings = field(factory=RemoteSettings)
    #: Log verbosity: "error", "warning", "info" or "debug".
    log_level: str = field(default="info", validator=in_(("error", "warning", "info", "debug")))


@frozen
class Loaded:
    settings: Settings
    problems: tuple[str, ...]


_converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)


def _structure_bool(value: Any, _: type) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError(f"expected true or false, got {value!r}")


def _structure_int(value: Any, _: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer, got {value!r}")
    return value


def _structure_float(value: Any, _: type) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {value!r}")
    return float(value)


def _structure_str(value: Any, _: type) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value


_converter.register_structure_hook(bool, _structure_bool)
_converter.register_structure_hook(int, _structure_int)
_converter.register_structure_hook(float, _structure_float)
_converter.register_structure_hook(str, _structure_str)

_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def _snake(key: str) -> str:
    return _CAMEL.sub(r"_\1", key).lower()


def _normalize(value: Any, *, keep_keys: bool = False) -> Any:
    """camelCase keys to snake_case, recursively (names inside `providers` are kept)."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            key = str(k) if keep_keys else _snake(str(k))
            out[key] = _normalize(v, keep_keys=(key == "providers" and not keep_keys))
        return out
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    return value


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge two raw settings mappings; `override` wins leaf by leaf."""
    out = dict(base)
    for k, v in override.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out


_PATH = re.compile(r"^\$((?:\.[A-Za-z0-9_\-]+|\[[^\]]*\])*)")


def _drop(raw: dict[str, Any], path: str) -> bool:
    """Remove the key a cattrs error path (`$.a.b['c']`) points at; True when removed."""
    parts = re.findall(r"\.([A-Za-z0-9_\-]+)|\['?([^'\]]*)'?\]", path)
    keys = [a or b for a, b in parts]
    if not keys:
        return False
    node: Any = raw
    for k in keys[:-1]:
        if not isinstance(node, dict) or k not in node:
            return False
        node = node[k]
    if isinstance(node, dict) and keys[-1] in node:
        del node[keys[-1]]
        return True
    return False


def _dotted(path: str) -> str:
    parts = re.findall(r"\.([A-Za-z0-9_\-]+)|\['?([^'\]]*)'?\]", path)
    return ".".join(a or b for a, b in parts) or "(settings)"


def load(raw: Any) -> Loaded:
    """Build Settings from raw data; each invalid field falls back to its default.

    Problems are returned as sentences that name the dotted field, for showMessage.
    """
    problems: list[str] = []
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        return Loaded(Settings(), (f"settings: expected an object, got {type(raw).__name__}",))
    data = _normalize(raw)
    for _ in range(64):
        try:
            return Loaded(_converter.structure(data, Settings), tuple(problems))
        except Exception as exc:  # cattrs raises ExceptionGroups of many kinds
            removed = False
            for message in _messages(exc):
                path, _, text = message.partition(" @ ")
                at = text if text.startswith("$") else path
                what = path if text.startswith("$") else text
                if _drop(data, at if at.startswith("$") else "$"):
                    removed = True
                    problems.append(f"{_dotted(at)}: {what.strip()}; using the default")
            if not removed:
                problems.append(f"settings: {exc}; using all defaults")
                return Loaded(Settings(), tuple(problems))
    return Loaded(Settings(), (*tuple(problems), "settings: too many problems; using defaults"))


def _format(exc: BaseException, type_: Any) -> str:
    if isinstance(exc, KeyError):
        return "required field missing"
    if isinstance(exc, cattrs.ForbiddenExtraKeysError):
        return f"extra fields found ({', '.join(sorted(exc.extra_fields))})"
    text = str(exc)
    if isinstance(exc, TypeError) and "not iterable" in text:
        return "expected a table of settings"
    literal = re.match(r"(.*) not in literal typing\.Literal\[(.*)\]", text)
    if literal:
        return f"{literal.group(1)} is not one of {literal.group(2)}"
    return text or type(exc).__name__


def _messages(exc: BaseException) -> list[str]:
    out = []
    for msg in cattrs.transform_error(exc, format_exception=_format):
        # "extra fields found (foo) @ $.model" → point the path at the unknown key
        m = re.match(r"extra fields found \((.*)\) @ (\$.*)", msg)
        if m:
            for name in m.group(1).split(", "):
                out.append(f"unknown setting @ {m.group(2)}.{name}")
            continue
        # attrs validators name the field but cattrs points at its class: point at the field
        v = re.match(r"'(\w+)' (must .*) @ (\$.*)", msg)
        if v:
            out.append(f"{v.group(2)} @ {v.group(3)}.{v.group(1)}")
            continue
        out.append(msg)
    return out


def read_config_file(path: Path) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Read the user's TOML config; a missing file is fine, a broken one is reported."""
    import tomllib  # only when a config file is read: keeps it off the initialize path

    try:
        text = path.read_bytes()
    except FileNotFoundError:
        return {}, ()
    except OSError as exc:
        return {}, (f"{path}: cannot read the config file ({exc.strerror}); using defaults",)
    try:
        return tomllib.loads(text.decode("utf-8")), ()
    except UnicodeDecodeError:
        return {}, (f"{path}: the config file is not UTF-8; using defaults",)
    except tomllib.TOMLDecodeError as exc:
        return {}, (f"{path}: malformed TOML ({exc}); using defaults",)


def resolve(*layers: Mapping[str, Any] | None, file: Path | None = None) -> Loaded:
    """Defaults < config file < each layer in order."""
    raw: dict[str, Any] = {}
    problems: tuple[str, ...] = ()
    if file is not None:
        raw, problems = read_config_file(file)
        raw = _normalize(raw)
    for layer in layers:
        if isinstance(layer, Mapping):
            raw = merge(raw, _normalize(layer))
        elif layer is not None:
            problems += (f"settings: expected an object, got {type(layer).__name__}; ignored",)
    loaded = load(raw)
    return Loaded(loaded.settings, problems + loaded.problems)


def to_dict(settings: Settings) -> dict[str, Any]:
    return _converter.unstructure(settings)  # type: ignore[no-any-return]
