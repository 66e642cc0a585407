"""What `stead doctor` knows about this install: where each layer runs, what may leave the
machine, which models are usable, where data lives, and what is missing (with the fix).

Collecting is separate from printing so the same report can be shown by editors later.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import platform
import time
from collections.abc import Callable
from pathlib import Path

from attrs import define, field

from server.paths import Dirs, dir_size
from server.settings import Settings

KEY_PACKAGES = (
    "pygls", "lsprotocol", "tree-sitter", "lancedb", "gpt4all", "tiktoken", "platformdirs",
    "gguf", "httpx",
)


@define
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


@define
class Layer:
    name: str
    where: str
    egress: str


@define
class Report:
    layers: list[Layer] = field(factory=list)
    checks: list[Check] = field(factory=list)
    dirs: list[tuple[str, Path, int]] = field(factory=list)
    versions: dict[str, str] = field(factory=dict)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks if c.required)


def layers(settings: Settings, dirs: Dirs) -> list[Layer]:
    """The local-first table: one row per layer, with what may leave the machine."""
    if settings.model.backend == "gpt4all":
        inference = "in-process (gpt4all, CPU), model file in " + str(dirs.models)
    else:
        inference = f"local server at {settings.model.url}"
    providers = sorted(settings.remote.providers)
    if settings.remote.enabled and providers:
        remote = (
            "nothing, unless you approve one previewed, redacted request to: "
            + ", ".join(providers)
        )
    else:
        remote = "nothing (remote escalation is disabled)"
    return [
        Layer("model inference", inference, remote),
        Layer("context assembly", "this process (open buffers + the local index)",
              "only an approved, redacted manifest"),
        Layer("memory / history", f"SQLite at {dirs.history_db}",
              "nothing (export writes a local file)"),
        Layer("embeddings / index", f"local embedder, LanceDB under {dirs.indexes}", "nothing"),
        Layer("shared base index", *_shared_index(settings, dirs)),
        Layer("telemetry", "none", "nothing"),
        Layer("sync", "none", "nothing"),
    ]


def _shared_index(settings: Settings, dirs: Dirs) -> tuple[str, str]:
    from index.cluster.location import doctor_layer

    return doctor_layer(dirs.data, settings.index.shared)


def cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


def lancedb_cpu_check(flags: set[str] | None = None) -> Check:
    """Prebuilt LanceDB wheels need AVX2 and FMA on x86-64; say so rather than crash later."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return Check("CPU features for LanceDB", True, f"{platform.machine()}: not x86-64")
    flags = cpu_flags() if flags is None else flags
    if not flags:
        return Check("CPU features for LanceDB", True, "could not read CPU flags", required=False)
    missing = sorted({"avx2", "fma"} - flags)
    if missing:
        return Check(
            "CPU features for LanceDB", False, "missing " + ", ".join(missing),
            "this CPU cannot run the prebuilt LanceDB; set index.enabled = false "
            "(completion and chat still work from open files)",
        )
    return Check("CPU features for LanceDB", True, "avx2 and fma present")


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in KEY_PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "missing"
    return out


def package_checks(found: dict[str, str]) -> list[Check]:
    checks = []
    for name in KEY_PACKAGES:
        version = found.get(name, "missing")
        checks.append(
            Check(
                f"package {name}", version != "missing", version,
                f"pip install {name} (or reinstall stead from its checkout: "
                "pip install /path/to/stead)" if version == "missing" else "",
            )
        )
    return checks


#: The model a new install should add: the code model `stead models install` fetches.
RECOMMENDED_MODEL = "qwen2.5-coder-0.5b"  # = server.models.registry.DEFAULT (tested)
GGUF_MAGIC = b"GGUF"


def model_fix(name: str = "") -> str:
    """The one command that gets a usable model, the same wording in every message."""
    from server.models import registry

    if name and name in registry.KNOWN:
        return f"stead models install {name}"
    return (f"stead models install {RECOMMENDED_MODEL} (or `stead models list`, then "
            "`stead models use NAME`, or set model.path to a GGUF file)")


def model_file_check(settings: Settings, dirs: Dirs, *, digest: bool = False) -> Check:
    """Whether the configured model file is where the settings say, whole and unchanged,
    without loading it: cheap enough for every status poll (size and the GGUF magic), and
    with `digest` the sha256 recorded in models.json as well (seconds: doctor only).

    Loading proves more but costs a second or more and memory; this catches the usual
    first-run failures (never installed, a package uninstalled, a half-copied file).
    """
    from server.models import registry
    from server.models.store import embedded_source, installed, sha256_file

    name = "configured model file"
    m = settings.model
    if m.backend == "openai-compatible":
        return Check(name, True, f"served by the local server at {m.url}", required=False)
    expected_size: int | None = None
    expected_sha = ""
    if m.path:
        path = Path(m.path).expanduser()
        label = str(path)
        fix = f"set model.path to a GGUF file that exists, or clear it and run `{model_fix()}`"
    else:
        try:
            entry = installed(dirs).get(m.name)
        except Exception as exc:  # an unreadable models.json
            return Check(name, False, f"{dirs.models / 'models.json'}: {exc}",
                         model_fix(m.name))
        fix = model_fix(m.name)
        if entry is None:
            known = registry.KNOWN.get(m.name)
            if known is not None and embedded_source(known) is not None:
                return Check(name, True, f"{m.name}: available from its package; "
                             "installed on first use")
            return Check(name, False, f"{m.name}: not installed", fix)
        path = Path(entry.path)
        label = f"{m.name} ({path})"
        expected_size, expected_sha = entry.size, entry.sha256
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            magic = f.read(4)
    except FileNotFoundError:
        return Check(name, False, f"{label}: file not found", fix)
    except OSError as exc:
        return Check(name, False, f"{label}: {exc.strerror or exc}", fix)
    if magic != GGUF_MAGIC:
        return Check(name, False, f"{label}: not a GGUF file", fix)
    if expected_size is not None and size != expected_size:
        return Check(name, False, f"{label}: {size:,} bytes, expected {expected_size:,} "
                     "(a partial or damaged copy)", fix)
    if digest and expected_sha:
        actual = sha256_file(path)
        if actual != expected_sha:
            return Check(name, False, f"{label}: sha256 {actual[:12]}… does not match the "
                         f"recorded {expected_sha[:12]}…", fix)
        return Check(name, True, f"{label}: {size:,} bytes, sha256 matches")
    return Check(name, True, f"{label}: {size:,} bytes")


def model_checks(settings: Settings, dirs: Dirs, load: bool) -> list[Check]:
    """Known and installed models, whether the configured one is present and whole, and
    (unless `load` is false) whether it loads and how long that took."""
    from server.backends.base import ModelError
    from server.models.store import describe

    checks: list[Check] = []
    for row in describe(dirs):
        if row["installed"]:
            checks.append(Check(f"model {row['name']}", True, f"installed at {row['path']}",
                                required=False))
        elif row["available"]:
            checks.append(Check(f"model {row['name']}", True,
                                "available from its package; installed on first use",
                                required=False))
    if settings.model.backend == "openai-compatible":
        checks.append(Check("configured model", True,
                            f"served by the local server at {settings.model.url}",
                            required=False))
        return checks
    target = settings.model.path or settings.model.name
    present = model_file_check(settings, dirs, digest=True)
    checks.append(present)
    if not load or not present.ok:
        return checks
    try:
        from server.backends import make_backend

        started = time.perf_counter()
        backend = make_backend(settings, dirs)
        try:
            load_fn = getattr(backend, "load", None)
            if load_fn is not None:
                load_fn()
            ms = (time.perf_counter() - started) * 1000
            info = backend.info
            detail = f"{target}: loads in {ms:.0f} ms ({info.name}, fim {info.fim}, " \
                f"chat {info.chat}, context {info.context_length})"
        finally:
            backend.close()
        checks.append(Check("configured model", True, detail))
    except ModelError as exc:
        named = "" if settings.model.path else settings.model.name
        checks.append(Check("configured model", False, str(exc), model_fix(named)))
    except Exception as exc:  # a broken file must not crash doctor
        checks.append(Check("configured model", False, f"{target}: {exc}",
                            "check the file with `stead models verify`"))
    return checks


def collect(settings: Settings, dirs: Dirs, *, load_models: bool = True,
            extra: list[Callable[[], list[Check]]] | None = None) -> Report:
    found = versions()
    report = Report(layers=layers(settings, dirs), versions=found)
    report.checks.extend(package_checks(found))
    report.checks.append(lancedb_cpu_check())
    report.checks.extend(model_checks(settings, dirs, load_models))
    for fn in extra or []:
        report.checks.extend(fn())
    for label, path in (("config", dirs.config), ("data", dirs.data), ("cache", dirs.cache),
                        ("state/logs", dirs.state)):
        report.dirs.append((label, path, dir_size(path)))
    return report


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def render(report: Report) -> str:
    lines = ["stead doctor", "", "Where each layer runs, and what may leave this machine:"]
    width = max((len(layer.name) for layer in report.layers), default=0)
    for layer in report.layers:
        lines.append(f"  {layer.name:<{width}}  runs: {layer.where}")
        lines.append(f"  {'':<{width}}  may leave: {layer.egress}")
    lines += ["", "Checks:"]
    for c in report.checks:
        mark = "ok " if c.ok else ("!! " if c.required else "-- ")
        lines.append(f"  {mark}{c.name}: {c.detail}")
        if not c.ok and c.fix:
            lines.append(f"       fix: {c.fix}")
    lines += ["", "Data directories:"]
    for label, path, size in report.dirs:
        lines.append(f"  {label:<10} {path}  ({human_size(size)})")
    lines += ["", "Versions: " + ", ".join(f"{k} {v}" for k, v in report.versions.items())]
    lines.append("")
    lines.append("All needed parts are present." if report.ok
                 else "Something needed is missing: see the '!!' lines and their fixes.")
    return "\n".join(lines)


def module_available(name: str) -> bool:
    return importlib.util.find_spec(name) is not None
