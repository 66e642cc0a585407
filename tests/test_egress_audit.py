"""The audit log's hash chain: any edit, deletion, insertion, reordering or cut is found."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from server.egress.audit import GENESIS, AuditError, AuditLog, record_hash


def filled(tmp_path: Path, n: int = 4) -> AuditLog:
    log = AuditLog(tmp_path / "audit.jsonl")
    outcomes = ["approved", "trimmed", "refused", "failed"]
    for i in range(n):
        log.append(outcomes[i % 4], provider="p", model="m", manifest=f"{i:064x}",  # type: ignore[arg-type]
                   items=[f"a.py:1-{i + 1}"], tokens=10 * i, reason="user asked")
    return log


def lines(log: AuditLog) -> list[str]:
    return log.path.read_text().splitlines()


def write(log: AuditLog, new: list[str]) -> None:
    log.path.write_text("".join(x + "\n" for x in new))


def test_a_fresh_chain_verifies_and_links(tmp_path: Path) -> None:
    log = filled(tmp_path)
    result = log.verify()
    assert result.ok and result.records == 4 and result.problems == ()
    records = log.records()
    assert records[0]["prev"] == GENESIS
    assert [r["prev"] for r in records[1:]] == [r["hash"] for r in records[:-1]]
    assert [r["seq"] for r in records] == [1, 2, 3, 4]
    assert all(r["hash"] == record_hash(r) for r in records)
    assert (log.path.stat().st_mode & 0o777) == 0o600


def _edit(ls: list[str]) -> list[str]:
    rec = json.loads(ls[1])
    rec["outcome"] = "approved"
    rec["tokens"] = 0
    return [ls[0], json.dumps(rec), *ls[2:]]


def _edit_and_rehash(ls: list[str]) -> list[str]:
    rec = json.loads(ls[1])
    rec["provider"] = "elsewhere"
    rec["hash"] = record_hash(rec)
    return [ls[0], json.dumps(rec), *ls[2:]]


def _forge_insert(ls: list[str]) -> list[str]:
    prev = json.loads(ls[1])
    forged = dict(prev, seq=3, outcome="refused", detail="nothing to see")
    forged["prev"] = prev["hash"]
    forged["hash"] = record_hash(forged)
    return [*ls[:2], json.dumps(forged), *ls[2:]]


TAMPERING: list[tuple[str, Callable[[list[str]], list[str]], str]] = [
    ("edit", _edit, "line 2: record 2 was edited"),
    ("edit and rehash", _edit_and_rehash, "line 3: record 3 does not follow"),
    ("delete a middle record", lambda ls: [ls[0], *ls[2:]], "line 2: record 3 does not follow"),
    ("delete the first record", lambda ls: ls[1:], "line 1: record 2 does not follow"),
    ("reorder", lambda ls: [ls[0], ls[2], ls[1], ls[3]], "does not follow"),
    ("cut the end", lambda ls: ls[:3], "the log ends at record 3 but the head file says 4"),
    ("forged insert", _forge_insert, "expected record 4, found 3"),
    ("garbage line", lambda ls: [ls[0], "{not json", *ls[1:]], "line 2: not a JSON record"),
    ("emptied", lambda ls: [], "the log ends at record 0 but the head file says 4"),
]


@pytest.mark.parametrize(("name", "tamper", "problem"), TAMPERING, ids=[t[0] for t in TAMPERING])
def test_tampering_is_detected(
    tmp_path: Path, name: str, tamper: Callable[[list[str]], list[str]], problem: str
) -> None:
    log = filled(tmp_path)
    write(log, tamper(lines(log)))
    result = log.verify()
    assert not result.ok
    assert any(problem in p for p in result.problems), result.problems


def test_deleting_the_head_file_or_the_log_is_detected(tmp_path: Path) -> None:
    log = filled(tmp_path)
    log.head_path.unlink()
    assert any("head file is missing" in p for p in log.verify().problems)
    log2 = filled(tmp_path / "b")
    log2.path.unlink()
    assert not log2.verify().ok


def test_a_broken_log_is_never_extended(tmp_path: Path) -> None:
    log = filled(tmp_path)
    write(log, lines(log)[:2])
    with pytest.raises(AuditError, match="does not end where its head file says"):
        log.append("refused", provider="p")
    assert len(lines(log)) == 2


def test_empty_log_verifies(tmp_path: Path) -> None:
    result = AuditLog(tmp_path / "none.jsonl").verify()
    assert result.ok and result.records == 0


def test_unknown_outcome_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown audit outcome"):
        AuditLog(tmp_path / "a.jsonl").append("sneaky", provider="p")  # type: ignore[arg-type]


def test_concurrent_processes_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    code = (
        "import sys; from pathlib import Path; from server.egress.audit import AuditLog\n"
        "log = AuditLog(Path(sys.argv[1]))\n"
        "for i in range(25): log.append('refused', provider=sys.argv[2], detail=str(i))\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path), f"p{n}"])
             for n in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    result = AuditLog(path).verify()
    assert result.ok, result.problems
    assert result.records == 100
