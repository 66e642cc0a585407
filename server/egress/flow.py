"""The two-step escalation: preview a manifest, then send exactly it (minus dropped items).

`Escalations` keeps previewed manifests in memory under an unguessable id.  `send` takes a
manifest out of that table before anything else, so each one is sent at most once; an id
that was never previewed, already used or expired is refused.  Every attempt is written to
the audit log, and an approved send is recorded before its first byte leaves.  Both the
LSP handlers and `stead ask --remote` drive this one class.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from attrs import frozen

from server.egress import keys, providers, urls
from server.egress.audit import AuditError, AuditLog, Outcome
from server.egress.manifest import (
    Item,
    Manifest,
    ManifestError,
    Prepared,
    build_manifest,
    trim,
    user_content,
)
from server.egress.policy import Request, decide
from server.history import should_record
from server.redact import Placeholders
from server.settings import Settings

log = logging.getLogger(__name__)

OnText = Callable[[str], Awaitable[None] | None]
Transport = Callable[[str, str, bytes, str, float, OnText], Awaitable[providers.Answer]]

#: A previewed manifest must be sent within this many seconds.
TTL_S = 15 * 60


class EgressRefused(Exception):
    """Nothing was sent; the message says why and what to change."""


class EgressFailed(Exception):
    """The request was made but the provider failed (timeout, error, garbage)."""


@frozen
class Sent:
    id: str
    outcome: str
    #: The whole answer, placeholders mapped back to the original values (locally).
    text: str
    finish_reason: str | None
    #: The manifest as sent (after dropped items were removed).
    manifest: Manifest


@frozen
class _Pending:
    prepared: Prepared
    roots: tuple[str, ...]
    created: float


class Restorer:
    """Maps placeholders back while streaming, never splitting one across pieces.

    Placeholders hold no whitespace, so text up to the last whitespace is safe to restore.
    """

    def __init__(self, placeholders: Placeholders, hold: int = 256) -> None:
        self.placeholders = placeholders
        self.buf = ""
        self.hold = hold

    def feed(self, text: str) -> str:
        self.buf += text
        cut = max(self.buf.rfind(c) for c in " \n\t\r")
        if cut < 0 and len(self.buf) > self.hold:
            cut = len(self.buf) - 64
        if cut < 0:
            return ""
        out, self.buf = self.buf[: cut + 1], self.buf[cut + 1 :]
        return self.placeholders.restore(out)

    def end(self) -> str:
        out, self.buf = self.buf, ""
        return self.placeholders.restore(out) if out else ""


def load_private_texts(history_db: Path) -> list[str]:
    """Texts the user marked private in history; they never go into a payload.

    Fails closed: when the history exists but cannot be read, escalation is refused.
    """
    from server.history import open_store

    if not history_db.exists():
        return []
    try:
        return [str(t) for t in open_store(history_db).private_texts()]
    except Exception as exc:
        raise EgressRefused(
            f"cannot read private history entries ({exc}); refusing to build a payload"
        ) from exc


def _ranges(manifest: Manifest) -> list[str]:
    return [f"{i.path}:{i.start_line}-{i.end_line}" for i in manifest.items]


class Escalations:
    def __init__(
        self,
        audit: AuditLog,
        *,
        history_db: Path | None = None,
        ttl_s: float = TTL_S,
        transport: Transport = providers.stream,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.audit = audit
        #: Where sent escalations are recorded (redacted); None keeps no history.
        self.history_db = history_db
        self.ttl_s = ttl_s
        self.transport = transport
        self.clock = clock
        self._pending: dict[str, _Pending] = {}
        self._spent: dict[str, str] = {}
        self._lock = threading.Lock()

    def _refuse(
        self, message: str, provider: str | None, roots: Sequence[str] = (), **kw: Any
    ) -> EgressRefused:
        try:
            self.audit.append(
                "refused", provider=provider, detail=message, workspace=list(roots), **kw
            )
        except (AuditError, OSError) as exc:
            log.error("cannot write the audit log: %s", exc)
        return EgressRefused(message)

    # -- step 1 ------------------------------------------------------------------------
    def preview(
        self,
        question: str,
        items: Sequence[Item],
        settings: Settings,
        *,
        provider: str,
        roots: Sequence[Path],
        reason: str = "user asked",
        private_texts: Iterable[str] = (),
    ) -> Manifest:
        """Build and remember a manifest; raises EgressRefused (audited) when not allowed."""
        root_names = tuple(str(r) for r in roots)
        decision = decide(Request(provider, root_names, reason), settings)
        if decision.route != "remote":
            raise self._refuse(decision.reason, provider, root_names, reason=reason)
        ps = settings.remote.providers[provider]
        if keys.find(provider, ps) is None:
            raise self._refuse(
                keys.missing_message(provider, ps), provider, root_names, model=ps.model
            )
        try:
            prepared = build_manifest(
                question,
                items,
                settings,
                provider=provider,
                roots=roots,
                reason=decision.reason,
                private_texts=private_texts,
            )
        except ManifestError as exc:
            raise self._refuse(str(exc), provider, root_names, model=ps.model) from None
        with self._lock:
            self._expire()
            self._pending[prepared.manifest.id] = _Pending(prepared, root_names, self.clock())
        return prepared.manifest

    def _expire(self) -> None:
        now = self.clock()
        for mid, p in list(self._pending.items()):
            if now - p.created > self.ttl_s:
                del self._pending[mid]
                self._spent[mid] = "expired"

    def _take(self, manifest_id: str, dropped: Iterable[int]) -> tuple[_Pending, Prepared]:
        with self._lock:
            self._expire()
            pending = self._pending.get(manifest_id)
            if pending is None:
                state = self._spent.get(manifest_id)
                if state == "expired":
                    msg = "this manifest expired; preview the request again"
                elif state:
                    msg = f"this manifest was already {state}; a manifest is used once"
                else:
                    msg = "unknown manifest id; only a previewed manifest can be sent"
                raise self._refuse(msg, None, manifest=None)
            try:
                final = trim(pending.prepared, dropped)
            except ManifestError as exc:  # the manifest stays pending: fix and retry
                raise EgressRefused(str(exc)) from None
            del self._pending[manifest_id]
            return pending, final

    def decline(self, manifest_id: str, why: str = "declined by the user") -> None:
        """The user said no: forget the manifest and record the refusal."""
        pending, final = self._take(manifest_id, ())
        with self._lock:
            self._spent[manifest_id] = "declined"
        m = final.manifest
        self._refuse(
            why,
            m.provider,
            pending.roots,
            model=m.model,
            url=m.url,
            manifest=m.sha256,
            reason=m.reason,
            items=_ranges(m),
        )

    # -- step 2 ------------------------------------------------------------------------
    async def send(
        self,
        manifest_id: str,
        dropped: Iterable[int],
        settings: Settings,
        on_text: OnText,
    ) -> Sent:
        """Send exactly the approved manifest; stream the restored answer to `on_text`."""
        drop = sorted(set(dropped))
        pending, final = self._take(manifest_id, drop)
        with self._lock:
            self._spent[manifest_id] = "sent"
        m = final.manifest
        common: dict[str, Any] = {
            "model": m.model,
            "url": m.url,
            "manifest": m.sha256,
            "reason": m.reason,
            "items": _ranges(m),
            "dropped": [
                f"{i.path}:{i.start_line}-{i.end_line}"
                for i in pending.prepared.manifest.items
                if i.index in drop
            ],
            "tokens": m.tokens,
        }
        # Settings may have changed since the preview: decide again.
        decision = decide(Request(m.provider, pending.roots, m.reason), settings)
        if decision.route != "remote":
            raise self._refuse(decision.reason, m.provider, pending.roots, **common)
        ps = settings.remote.providers[m.provider]
        if (ps.kind, ps.model, urls.endpoint(ps.kind, ps.url)) != (m.kind, m.model, m.url):
            raise self._refuse(
                f"provider {m.provider!r} was reconfigured after the preview; preview again",
                m.provider,
                pending.roots,
                **common,
            )
        key = keys.find(m.provider, ps)
        if key is None:
            raise self._refuse(
                keys.missing_message(m.provider, ps), m.provider, pending.roots, **common
            )
        outcome: Outcome = "trimmed" if drop else "approved"
        try:
            self.audit.append(
                outcome,
                provider=m.provider,
                workspace=list(pending.roots),
                payload=m.payload_sha256,
                **common,
            )
        except (AuditError, OSError) as exc:
            raise EgressRefused(f"cannot write the audit log ({exc}); nothing was sent") from exc

        restorer = Restorer(final.placeholders)

        async def piece(text: str) -> None:
            out = restorer.feed(text)
            if out:
                await _call(on_text, out)

        started = time.monotonic()
        keep = self.history_db is not None and should_record(settings.history, "escalation")
        try:
            answer = await self.transport(
                m.kind, m.url, m.payload.encode("utf-8"), key, ps.timeout_s, piece
            )
        except providers.ProviderError as exc:
            self._failed(m, pending, common, str(exc))
            if keep:
                await self._history(m, pending, "", "failed", started)
            raise EgressFailed(str(exc)) from None
        except asyncio.CancelledError:
            self._failed(m, pending, common, "cancelled by the client")
            raise
        except Exception as exc:
            detail = keys.scrub(f"unexpected error: {exc}", key)
            self._failed(m, pending, common, detail)
            raise EgressFailed(detail) from None
        tail = restorer.end()
        if tail:
            await _call(on_text, tail)
        text = final.placeholders.restore(answer.text)
        if keep:
            await self._history(m, pending, text, "answered", started)
        return Sent(manifest_id, outcome, text, answer.finish_reason, m)

    async def _history(
        self, m: Manifest, pending: _Pending, answer: str, outcome: str, started: float
    ) -> None:
        """Keep the sent prompt (already redacted) and the answer in local history."""
        from server.history import Entry, FileRange, record

        assert self.history_db is not None
        entry = Entry(
            kind="escalation",
            prompt=user_content(m),
            response=answer,
            model=m.model,
            route=f"remote:{m.provider}",
            workspace=pending.roots[0] if pending.roots else "",
            files=[FileRange(i.path, i.start_line, i.end_line) for i in m.items],
            prompt_tokens=m.tokens,
            latency_ms=round((time.monotonic() - started) * 1000, 1),
            outcome=outcome,
        )
        await asyncio.to_thread(record, entry, self.history_db)

    def _failed(self, m: Manifest, pending: _Pending, common: dict[str, Any], detail: str) -> None:
        try:
            self.audit.append(
                "failed",
                provider=m.provider,
                workspace=list(pending.roots),
                payload=m.payload_sha256,
                detail=detail,
                **common,
            )
        except (AuditError, OSError) as exc:
            log.error("cannot write the audit log: %s", exc)


async def _call(fn: OnText, text: str) -> None:
    result = fn(text)
    if inspect.isawaitable(result):
        await result
