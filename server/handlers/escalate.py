"""`stead/escalate/preview`, `stead/escalate/send` and the audit log over LSP.

Thin: params are checked strictly, the items are gathered from the request or the current
document (its unsaved text, as the user sees it), and `server.egress.flow.Escalations`
does the rest.  A refusal or a provider failure comes back as a JSON-RPC error whose
message says why; the server keeps running.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from server import protocol
from server.paths import uri_path

if TYPE_CHECKING:
    from server.egress.flow import Escalations
    from server.egress.manifest import Item
    from server.lsp import SteadServer

log = logging.getLogger(__name__)
T = TypeVar("T")

class EscalationError(protocol.RequestFailed):
    def __init__(self, message: str, outcome: str) -> None:
        super().__init__(message, {"outcome": outcome})


def _unknown_keys(data: Any, cls: type) -> list[str]:
    """Keys that name no field, at any depth of attrs classes (lists included)."""
    if not isinstance(data, dict) or not attrs.has(cls):
        return []
    fields = {f.name: f for f in attrs.fields(cls)}
    out = [k for k in data if k not in fields]
    for name, f in fields.items():
        sub = data.get(name)
        for inner in _attrs_types(f.type):
            items = sub if isinstance(sub, list) else [sub]
            out += [f"{name}.{k}" for i in items for k in _unknown_keys(i, inner)]
    return out


def _attrs_types(tp: Any) -> list[type]:
    if isinstance(tp, type) and attrs.has(tp):
        return [tp]
    return [t for arg in getattr(tp, "__args__", ()) for t in _attrs_types(arg)]


def strict(params: Any, cls: type[T]) -> T:
    """protocol.parse, but camelCase is accepted and an unknown key is an error."""
    data = protocol.snake_keys(params)
    attrs.resolve_types(cls)  # type: ignore[arg-type,type-var]
    unknown = _unknown_keys(data, cls)
    if unknown:
        raise protocol.InvalidParams(f"unknown field(s) for {cls.__name__}: {', '.join(unknown)}")
    return protocol.parse(data, cls)


def _buffer_text(ls: SteadServer, path: Path) -> str | None:
    """The editor's text for a file when it is open (unsaved edits included)."""
    try:
        docs = ls.workspace.text_documents
    except Exception:
        return None
    for uri, doc in docs.items():
        if uri.startswith("file:") and Path(uri_path(uri)) == path:
            return str(doc.source)
    return None


def items_for(ls: SteadServer, p: protocol.EscalatePreviewParams) -> list[Item]:
    """Explicit items, or the current document / selection; open buffers give the text."""
    from server.egress.manifest import Item

    roots = ls.roots
    out: list[Item] = []
    if p.items:
        for it in p.items:
            path = Path(uri_path(it.path))
            if not path.is_absolute() and roots:
                path = roots[0] / path
            out.append(Item(it.path, it.start_line, it.end_line, _buffer_text(ls, path)))
        return out
    if p.uri:
        path = Path(uri_path(p.uri))
        start, end = 1, 0
        if p.selection is not None:
            s, e = p.selection.start, p.selection.end
            start = s.line + 1
            # A selection ending at column 0 does not include that line.
            end = e.line + (1 if e.character > 0 or e.line == s.line else 0)
            end = max(end, start)
        out.append(Item(p.uri, start, end, _buffer_text(ls, path)))
    return out


def register(ls: SteadServer) -> None:
    def escalations() -> Escalations:
        def build() -> Escalations:
            from server.egress.audit import AuditLog
            from server.egress.flow import Escalations

            return Escalations(AuditLog(ls.dirs.audit_log), history_db=ls.dirs.history_db)

        return ls.service("egress.escalations", build)

    @ls.feature(protocol.ESCALATE_PREVIEW)
    async def preview(ls: SteadServer, params: Any) -> Any:
        from server.egress.flow import EgressRefused, load_private_texts

        p = strict(params, protocol.EscalatePreviewParams)
        items = items_for(ls, p)
        esc = escalations()
        settings, roots = ls.settings, ls.roots

        def run() -> Any:
            private = load_private_texts(ls.dirs.history_db)
            return esc.preview(
                p.question,
                items,
                settings,
                provider=p.provider,
                roots=roots,
                reason=p.reason,
                private_texts=private,
            )

        try:
            manifest = await ls.off_loop(run)
        except EgressRefused as exc:
            raise EscalationError(str(exc), "refused") from None
        return protocol.dump(manifest)

    @ls.feature(protocol.ESCALATE_SEND)
    async def send(ls: SteadServer, params: Any) -> Any:
        from server.egress.flow import EgressFailed, EgressRefused

        p = strict(params, protocol.EscalateSendParams)
        esc = escalations()
        try:
            if not p.approve:
                await ls.off_loop(esc.decline, p.id)
                return {"id": p.id, "outcome": "refused", "text": ""}

            def chunk(text: str) -> None:
                ls.protocol.notify(protocol.ESCALATE_CHUNK, {"id": p.id, "text": text})

            ls.remote_sends += 1  # `stead/status` says "remote" while bytes may be leaving
            try:
                sent = await esc.send(p.id, p.dropped, ls.settings, chunk)
            finally:
                ls.remote_sends -= 1
        except EgressRefused as exc:
            raise EscalationError(str(exc), "refused") from None
        except EgressFailed as exc:
            raise EscalationError(str(exc), "failed") from None
        return protocol.dump(sent)

    @ls.feature(protocol.AUDIT_LIST)
    async def audit_list(ls: SteadServer, params: Any) -> Any:
        from server.egress.audit import AuditLog

        p = strict(params, protocol.AuditListParams)
        records = await ls.off_loop(AuditLog(ls.dirs.audit_log).records)
        return {"records": records[-p.limit :] if p.limit > 0 else records}

    @ls.feature(protocol.AUDIT_VERIFY)
    async def audit_verify(ls: SteadServer, params: Any) -> Any:
        from server.egress.audit import AuditLog

        result = await ls.off_loop(AuditLog(ls.dirs.audit_log).verify)
        return protocol.dump(result)
