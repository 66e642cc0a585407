"""The manifest: exactly what an escalation would send, shown before anything is sent.

`build_manifest` is a plain function from a question, a list of items (file excerpts) and
the settings to a `Prepared` manifest: never-send files are excluded and listed, private
history is cut out, secrets are replaced by placeholders (the originals stay in
`Prepared.placeholders`, on this machine), and the exact request body is fixed.  `trim`
drops items the user unticked and rebuilds the body the same way.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs
import cattrs
from attrs import field, frozen

from server.egress import payload, rules, tokens, urls
from server.paths import OutsideRoots, in_roots
from server.redact import Placeholders, redact
from server.settings import Settings

#: Lines of private history shorter than this are too common to cut out of code.
PRIVATE_MIN_CHARS = 8
PRIVATE_MARK = "[private history removed]"


class ManifestError(ValueError):
    """An item cannot be part of any manifest (outside the roots, missing, bad range)."""


@frozen
class Item:
    """A file excerpt to send: 1-based inclusive lines; end_line 0 means to the end."""

    path: str
    start_line: int = 1
    end_line: int = 0
    #: The text of the whole file when the client has it (an unsaved buffer); else read.
    text: str | None = None


@frozen
class ManifestItem:
    index: int
    path: str
    start_line: int
    end_line: int
    tokens: int
    #: The redacted text that would be sent.
    text: str


@frozen
class Excluded:
    path: str
    reason: str


@frozen
class Redaction:
    kind: str
    placeholder: str
    #: "question" or "path:line".
    where: str
    #: Index of the item it belongs to; None for the question.
    item: int | None = None
    #: A short hash of the hidden value (safe to show) so the user can tell values apart.
    fingerprint: str = ""


@frozen
class Manifest:
    id: str
    provider: str
    kind: str
    model: str
    url: str
    reason: str
    question: str
    items: tuple[ManifestItem, ...]
    excluded: tuple[Excluded, ...]
    redactions: tuple[Redaction, ...]
    #: Input tokens of the whole body (cl100k estimate).
    tokens: int
    max_output_tokens: int
    #: Upper bound in USD (input + the most output tokens); None when prices are unknown.
    estimated_cost_usd: float | None
    #: The exact request body, as text; its UTF-8 bytes are what goes on the wire.
    payload: str
    payload_sha256: str
    #: Hash of everything above but `id` and itself; the audit log records it.
    sha256: str = ""


@frozen
class Prepared:
    manifest: Manifest
    #: Placeholder → original; never leaves this process.
    placeholders: Placeholders = field(repr=False)
    input_cost_per_mtok: float = 0.0
    output_cost_per_mtok: float = 0.0


_dumper = cattrs.Converter()


def to_dict(manifest: Manifest) -> dict[str, Any]:
    return _dumper.unstructure(manifest)  # type: ignore[no-any-return]


def digest(manifest: Manifest) -> str:
    data = to_dict(manifest)
    data.pop("id", None)
    data.pop("sha256", None)
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# -- items ------------------------------------------------------------------------------
def locate(raw: str, roots: Sequence[Path]) -> tuple[Path, str, str]:
    """(real file, path relative to its root as given, relative path after symlinks).

    The roots rule of every method (`server.paths.in_roots`), without the open-document
    allowance: nothing outside the roots is ever sent, opened or not.
    """
    try:
        where = in_roots(raw, roots)
    except OutsideRoots as exc:
        if not roots:
            raise ManifestError(f"{raw}: no workspace root, so no file can be sent") from None
        raise ManifestError(str(exc)) from None
    return where.real, where.rel, where.real_rel


def _private_lines(private_texts: Iterable[str]) -> list[str]:
    lines = {
        line.strip()
        for text in private_texts
        for line in text.splitlines()
        if len(line.strip()) >= PRIVATE_MIN_CHARS
    }
    return sorted(lines, key=len, reverse=True)


def _cut_private(text: str, lines: Sequence[str]) -> tuple[str, int]:
    n = 0
    for line in lines:
        if line in text:
            n += text.count(line)
            text = text.replace(line, PRIVATE_MARK)
    return text, n


# -- building ---------------------------------------------------------------------------
def build_manifest(
    question: str,
    items: Sequence[Item],
    settings: Settings,
    *,
    provider: str,
    roots: Sequence[Path],
    reason: str = "user asked",
    private_texts: Iterable[str] = (),
    manifest_id: str | None = None,
) -> Prepared:
    """Everything that would be sent to `provider`, redacted, with the exact body."""
    ps = settings.remote.providers.get(provider)
    if ps is None:
        raise ManifestError(f"unknown provider {provider!r}")
    if not question.strip():
        raise ManifestError("the question is empty")
    placeholders = Placeholders()
    private = _private_lines(private_texts)
    redactions: list[Redaction] = []
    excluded: list[Excluded] = []

    def clean(text: str, where_path: str | None, first_line: int, item: int | None) -> str:
        text, n = _cut_private(text, private)
        if n:
            where = where_path or "question"
            redactions.extend(
                Redaction("private-history", PRIVATE_MARK, where, item) for _ in range(n)
            )
        red = redact(text, placeholders)
        for f in red.findings:
            where = "question" if where_path is None else f"{where_path}:{first_line + f.line - 1}"
            redactions.append(
                Redaction(
                    f.kind, f.placeholder, where, item, placeholders.fingerprint(f.placeholder)
                )
            )
        return red.text

    q = clean(question, None, 0, None)
    kept: list[ManifestItem] = []
    for item in items:
        real, rel, real_rel = locate(item.path, roots)
        hit = rules.match(rel, settings.remote.never_send) or rules.match(
            real_rel, settings.remote.never_send
        )
        if hit:
            excluded.append(Excluded(rel, f"never-send rule {hit!r}"))
            continue
        if item.start_line < 1 or (item.end_line and item.end_line < item.start_line):
            raise ManifestError(
                f"{rel}: bad line range {item.start_line}-{item.end_line} (1-based, inclusive)"
            )
        if item.text is not None:
            whole = item.text
        else:
            try:
                data = real.read_bytes()
            except FileNotFoundError:
                raise ManifestError(f"{rel}: no such file") from None
            except IsADirectoryError:
                raise ManifestError(f"{rel}: is a directory, not a file") from None
            except OSError as exc:
                raise ManifestError(f"{rel}: cannot read ({exc.strerror})") from None
            try:
                whole = data.decode("utf-8")
            except UnicodeDecodeError:
                excluded.append(Excluded(rel, "not UTF-8 text"))
                continue
            if "\x00" in whole:
                excluded.append(Excluded(rel, "binary file"))
                continue
        lines = whole.splitlines(keepends=True)
        if item.start_line > max(1, len(lines)):
            raise ManifestError(
                f"{rel}: starts at line {item.start_line}, the file has {len(lines)}"
            )
        end = min(item.end_line or len(lines), len(lines)) or item.start_line
        index = len(kept)
        text = clean("".join(lines[item.start_line - 1 : end]), rel, item.start_line, index)
        kept.append(ManifestItem(index, rel, item.start_line, end, tokens.count(text), text))
    manifest = Manifest(
        id=manifest_id or secrets.token_urlsafe(18),
        provider=provider,
        kind=ps.kind,
        model=ps.model,
        url=urls.endpoint(ps.kind, ps.url),
        reason=reason,
        question=q,
        items=tuple(kept),
        excluded=tuple(excluded),
        redactions=tuple(redactions),
        tokens=0,
        max_output_tokens=settings.chat.max_tokens,
        estimated_cost_usd=None,
        payload="",
        payload_sha256="",
    )
    return _finish(
        Prepared(manifest, placeholders, ps.input_cost_per_mtok, ps.output_cost_per_mtok)
    )


def user_content(m: Manifest) -> str:
    """The user message of the body: the question, then each item's excerpt."""
    return payload.user_text(
        m.question, [(i.path, i.start_line, i.end_line, i.text) for i in m.items]
    )


def _finish(prepared: Prepared) -> Prepared:
    """Fix the body, the token count, the cost and the hash from the manifest's items."""
    m = prepared.manifest
    content = user_content(m)
    body = payload.body(m.kind, m.model, content, m.max_output_tokens)
    n = tokens.count(payload.SYSTEM) + tokens.count(content)
    cost = None
    if prepared.input_cost_per_mtok or prepared.output_cost_per_mtok:
        cost = round(
            (n * prepared.input_cost_per_mtok + m.max_output_tokens * prepared.output_cost_per_mtok)
            / 1_000_000,
            6,
        )
    m = attrs.evolve(
        m,
        tokens=n,
        estimated_cost_usd=cost,
        payload=body.decode("utf-8"),
        payload_sha256=hashlib.sha256(body).hexdigest(),
    )
    m = attrs.evolve(m, sha256=digest(m))
    return attrs.evolve(prepared, manifest=m)


def trim(prepared: Prepared, dropped: Iterable[int]) -> Prepared:
    """The same manifest without the dropped items (indexes as shown); unknown ones raise."""
    drop = set(dropped)
    m = prepared.manifest
    unknown = drop - {i.index for i in m.items}
    if unknown:
        raise ManifestError(f"no such item(s) in the manifest: {sorted(unknown)}")
    if not drop:
        return prepared
    items = tuple(i for i in m.items if i.index not in drop)
    redactions = tuple(r for r in m.redactions if r.item is None or r.item not in drop)
    excluded = m.excluded + tuple(
        Excluded(i.path, f"dropped by the user (lines {i.start_line}-{i.end_line})")
        for i in m.items
        if i.index in drop
    )
    return _finish(
        attrs.evolve(
            prepared,
            manifest=attrs.evolve(m, items=items, redactions=redactions, excluded=excluded),
        )
    )
