"""The audit log: one record per egress attempt, append-only and hash-chained.

Each line is a JSON record holding the hash of the record before it (`prev`) and its own
hash over everything else, so editing, deleting or reordering any record breaks the chain.
A head file beside the log keeps the count and the last hash, so cutting records off the
end is caught too.  Appends take an exclusive lock: several server processes (one per
editor window) and the CLI share one log.

An attempt's record is written *before* any byte leaves (a send that cannot be audited is
not made); a send that then fails gets a second record, `failed`, naming the same manifest.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Literal

from attrs import field, frozen

from server.paths import exclusive

#: `completed` closes an approved model download (`stead models install`) that arrived whole.
Outcome = Literal["approved", "trimmed", "refused", "failed", "completed"]
OUTCOMES = ("approved", "trimmed", "refused", "failed", "completed")
GENESIS = "0" * 64
SCHEMA = 1


@frozen
class Verified:
    ok: bool
    records: int
    problems: tuple[str, ...] = field(factory=tuple)
    #: Hash of the last record: noted elsewhere, it also exposes a log rewritten whole.
    last_hash: str = GENESIS


def record_hash(record: dict[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "hash"}
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.head_path = path.with_name(path.name + ".head")
        self.lock_path = path.with_name(path.name + ".lock")

    def _locked(self) -> contextlib.AbstractContextManager[None]:
        return exclusive(self.lock_path)

    def _head(self) -> tuple[int, str] | None:
        try:
            data = json.loads(self.head_path.read_text(encoding="utf-8"))
            return int(data["seq"]), str(data["hash"])
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):
            return (-1, "")

    def append(
        self,
        outcome: Outcome,
        *,
        provider: str | None,
        model: str | None = None,
        url: str | None = None,
        manifest: str | None = None,
        payload: str | None = None,
        reason: str = "",
        detail: str = "",
        items: list[str] | None = None,
        dropped: list[str] | None = None,
        tokens: int | None = None,
        workspace: list[str] | None = None,
    ) -> dict[str, Any]:
        """Append one record and return it.  Refuses to extend a log whose tail is broken."""
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown audit outcome {outcome!r}")
        with self._locked():
            seq, prev = self._tail()
            record: dict[str, Any] = {
                "v": SCHEMA,
                "seq": seq + 1,
                "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
                "outcome": outcome,
                "provider": provider,
                "model": model,
                "url": url,
                "workspace": workspace or [],
                "manifest_sha256": manifest,
                "payload_sha256": payload,
                "items": items or [],
                "dropped": dropped or [],
                "tokens": tokens,
                "reason": reason,
                "detail": detail,
                "prev": prev,
            }
            record["hash"] = record_hash(record)
            line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
            tmp = self.head_path.with_name(self.head_path.name + ".tmp")
            tmp.write_text(json.dumps({"seq": record["seq"], "hash": record["hash"]}))
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.head_path)
            return record

    def _tail(self) -> tuple[int, str]:
        """(seq, hash) of the last record; raises when the log does not end where the head
        says, so a tampered log is never silently extended."""
        last = self._last_line()
        head = self._head()
        if last is None:
            if head not in (None, (0, GENESIS)):
                raise AuditError(f"{self.path} is missing or empty but its head file is not")
            return 0, GENESIS
        try:
            rec = json.loads(last)
            seq, h = int(rec["seq"]), str(rec["hash"])
        except (ValueError, KeyError, TypeError):
            raise AuditError(
                f"{self.path}: the last record is damaged; run `stead audit verify`"
            ) from None
        if head is not None and head != (seq, h):
            raise AuditError(
                f"{self.path} does not end where its head file says; run `stead audit verify`"
            )
        return seq, h

    def _last_line(self) -> str | None:
        try:
            with open(self.path, "rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                if size == 0:
                    return None
                block = min(size, 65536)
                while True:
                    f.seek(size - block)
                    data = f.read(block)
                    lines = data.rstrip(b"\n").split(b"\n")
                    if len(lines) > 1 or block == size:
                        return lines[-1].decode("utf-8", "replace")
                    block = min(size, block * 4)
        except FileNotFoundError:
            return None

    def records(self) -> list[dict[str, Any]]:
        """Every record that parses, in file order (verify says whether they are genuine)."""
        out = []
        for line in self._lines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict):
                out.append(rec)
        return out

    def _lines(self) -> list[str]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        return [ln for ln in data.decode("utf-8", "replace").split("\n") if ln.strip()]

    def verify(self) -> Verified:
        return verify_lines(self._lines(), self._head(), self.path.exists())


class AuditError(RuntimeError):
    """The audit log cannot be appended to safely."""


def verify_lines(lines: list[str], head: tuple[int, str] | None, exists: bool = True) -> Verified:
    """Check the chain: every hash, every `prev`, consecutive numbers, and the head."""
    problems: list[str] = []
    prev, seq = GENESIS, 0
    for n, line in enumerate(lines, 1):
        try:
            rec = json.loads(line)
            if not isinstance(rec, dict):
                raise ValueError
        except ValueError:
            problems.append(f"line {n}: not a JSON record")
            prev, seq = "?", seq + 1
            continue
        if rec.get("hash") != record_hash(rec):
            problems.append(
                f"line {n}: record {rec.get('seq')} was edited (its hash does not match)"
            )
        if prev != "?" and rec.get("prev") != prev:
            problems.append(
                f"line {n}: record {rec.get('seq')} does not follow the record before it "
                "(a record was removed, inserted or moved)"
            )
        if rec.get("seq") != seq + 1:
            problems.append(f"line {n}: expected record {seq + 1}, found {rec.get('seq')}")
        prev = str(rec.get("hash"))
        seq = rec["seq"] if isinstance(rec.get("seq"), int) else seq + 1
    if head is None:
        if lines:
            problems.append("the head file is missing (records may have been cut from the end)")
    elif head == (-1, ""):
        problems.append("the head file is damaged")
    elif head != (seq, prev):
        problems.append(
            f"the log ends at record {seq} but the head file says {head[0]}: "
            "records were cut from the end or the log was replaced"
        )
    if not exists and head not in (None, (0, GENESIS)):
        problems.append("the log file is missing")
    return Verified(not problems, len(lines), tuple(problems), prev)
