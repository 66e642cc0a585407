"""`redact(text) -> Redacted`: secrets, email and IP addresses replaced by placeholders.

One pure function serves both history (what is kept on disk) and egress (what may leave
the machine), so the two can never disagree about what a secret is.  Placeholders are
stable within one request: the same secret always becomes the same `<SECRET_AWS_KEY_1>`, so
a remote model can refer to it and `Placeholders.restore` maps its answer back locally.

Nothing here ever logs, returns or shows a secret's value: `Finding` holds its kind, its
placeholder and where it was; `Placeholders` keeps the values for `restore` but hides them
from `repr`.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from collections.abc import Iterator

from attrs import field, frozen

from server.redact import rules as R

_PLACEHOLDER = re.compile(r"<(?:SECRET_)?[A-Z0-9_]+_\d+>")


@frozen
class Finding:
    """One redaction.  `start`/`end` are offsets in the original text, `line` is 1-based."""

    kind: str
    placeholder: str
    start: int
    end: int
    line: int


class Placeholders:
    """The secret <-> placeholder mapping of one request.  Keep it in memory only."""

    def __init__(self) -> None:
        self._by_value: dict[str, str] = {}
        self._by_placeholder: dict[str, str] = {}
        self._counts: dict[str, int] = {}
        self._reserved: set[str] = set()

    def reserve(self, placeholder: str) -> None:
        """Never hand out a placeholder the text already contains (re-redacted text)."""
        if placeholder not in self._by_placeholder:
            self._reserved.add(placeholder)

    def placeholder_for(self, kind: str, category: str, value: str) -> str:
        existing = self._by_value.get(value)
        if existing is not None:
            return existing
        stem = kind if category != "secret" else f"SECRET_{kind}"
        n = self._counts.get(stem, 0)
        while True:
            n += 1
            token = f"<{stem}_{n}>"
            if token not in self._reserved and token not in self._by_placeholder:
                break
        self._counts[stem] = n
        self._by_value[value] = token
        self._by_placeholder[token] = value
        return token

    def restore(self, text: str) -> str:
        """Put the original values back where a (remote) answer mentions a placeholder."""
        if not self._by_placeholder:
            return text
        return _PLACEHOLDER.sub(lambda m: self._by_placeholder.get(m.group(0), m.group(0)), text)

    def fingerprint(self, placeholder: str) -> str:
        """A short hash of the value behind a placeholder, safe to show and log."""
        value = self._by_placeholder.get(placeholder)
        if value is None:
            return ""
        return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:8]

    def __len__(self) -> int:
        return len(self._by_placeholder)

    def __contains__(self, placeholder: object) -> bool:
        return placeholder in self._by_placeholder

    def items(self) -> Iterator[str]:
        """Placeholders handed out, in order (never the values)."""
        return iter(list(self._by_placeholder))

    def __repr__(self) -> str:
        return f"Placeholders({len(self)} values hidden)"


@frozen
class Redacted:
    text: str
    findings: tuple[Finding, ...]
    placeholders: Placeholders = field(eq=False)

    @property
    def kinds(self) -> dict[str, int]:
        """How many findings of each kind (what a manifest shows)."""
        out: dict[str, int] = {}
        for f in self.findings:
            out[f.kind] = out.get(f.kind, 0) + 1
        return out


@frozen
class _Span:
    start: int
    end: int
    kind: str
    category: str
    priority: int


def _grow(text: str, start: int, end: int) -> tuple[int, int]:
    chars = R.token_chars()
    while start > 0 and text[start - 1] in chars:
        start -= 1
    n = len(text)
    while end < n and text[end] in chars:
        end += 1
    return start, end


def _group_span(m: re.Match[str], group: int | str | None) -> tuple[int, int] | None:
    if group is None:
        for i in range(1, (m.re.groups or 0) + 1):
            if m.group(i):
                return m.span(i)
        return m.span(0)
    if m.group(group) is None:
        return None
    return m.span(group)


def _hits(text: str, lowered: str | None, rule: R.Rule) -> list[int]:
    hits: list[int] = []
    if rule.trigger_re is not None:
        hits.extend(m.start() for m in rule.trigger_re.finditer(text))
    for haystack, needles in ((text, rule.triggers), (lowered, rule.itriggers)):
        if not needles or haystack is None:
            continue
        for needle in needles:
            i = haystack.find(needle)
            while i >= 0:
                hits.append(i)
                i = haystack.find(needle, i + 1)
    hits.sort()
    return hits


def _windows(text: str, hits: list[int], rule: R.Rule) -> list[tuple[int, int]]:
    """Merged spans around each trigger (whole lines for rules that need them)."""
    n = len(text)
    out: list[tuple[int, int]] = []
    for h in hits:
        lo = max(0, h - rule.before)
        hi = min(n, h + rule.after)
        if rule.lines:
            cut = text.rfind("\n", max(0, lo - _LINE_SLACK), lo)
            lo = cut + 1 if cut >= 0 else max(0, lo - _LINE_SLACK)
            end = text.find("\n", hi, min(n, hi + _LINE_SLACK))
            hi = end if end >= 0 else min(n, hi + _LINE_SLACK)
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


_LINE_SLACK = 2000


def _lower_same_length(text: str) -> str:
    lowered = text.lower()
    if len(lowered) != len(text):  # a few characters (e.g. "İ") grow when lowered
        lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    return lowered


def _candidates(text: str) -> Iterator[_Span]:
    lowered: str | None = None
    for rule in R.rules():
        if rule.itriggers and lowered is None:
            lowered = _lower_same_length(text)
        triggered = bool(rule.triggers or rule.itriggers or rule.trigger_re)
        if not triggered:
            matches: Iterator[re.Match[str]] = rule.pattern.finditer(text)
        elif rule.mode == "match":
            matches = (
                m for h in _hits(text, lowered, rule) if (m := rule.pattern.match(text, h))
            )
        else:
            windows = _windows(text, _hits(text, lowered, rule), rule)
            matches = (m for lo, hi in windows for m in rule.pattern.finditer(text, lo, hi))
        for m in matches:
            span = _extract(text, rule, m)
            if span is not None:
                yield span


def _extract(text: str, rule: R.Rule, m: re.Match[str]) -> _Span | None:
    kind = rule.kind
    if rule.extract is not None:
        got = rule.extract(m)
        if got is None:
            return None
        start, end, kind = got
    else:
        span = _group_span(m, rule.group)
        if span is None:
            return None
        start, end = span
    if rule.trim:
        while start < end and text[start] in rule.trim:
            start += 1
        while end > start and text[end - 1] in rule.trim:
            end -= 1
    if end <= start:
        return None
    value = text[start:end]
    if _PLACEHOLDER.fullmatch(value):
        return None
    if rule.validate is not None and not rule.validate(value):
        return None
    if rule.extend:
        start, end = _grow(text, start, end)
    return _Span(start, end, kind, rule.category, rule.priority)


def _select(spans: list[_Span]) -> list[_Span]:
    """Non-overlapping spans: specific rules first, then longer, then earlier."""
    spans.sort(key=lambda s: (s.priority, -(s.end - s.start), s.start))
    starts: list[int] = []
    chosen: list[_Span] = []
    for s in spans:
        i = bisect.bisect_right(starts, s.start)
        if i > 0 and chosen[i - 1].end > s.start:
            continue
        if i < len(chosen) and chosen[i].start < s.end:
            continue
        starts.insert(i, s.start)
        chosen.insert(i, s)
    return chosen


def find(text: str) -> list[tuple[str, str, int, int]]:
    """(kind, category, start, end) of everything `redact` would replace, in text order."""
    return [(s.kind, s.category, s.start, s.end) for s in _select(list(_candidates(text)))]


def redact(text: str, placeholders: Placeholders | None = None) -> Redacted:
    """Replace secrets, email and IP addresses by placeholders.

    Pass the same `placeholders` for every piece of one request (prompt, context chunks,
    follow-ups) so that a secret appearing twice gets one placeholder, then call
    `placeholders.restore(answer)` on what comes back.
    """
    ph = placeholders if placeholders is not None else Placeholders()
    if not text:
        return Redacted(text, (), ph)
    for m in _PLACEHOLDER.finditer(text):
        ph.reserve(m.group(0))
    spans = _select(list(_candidates(text)))
    if not spans:
        return Redacted(text, (), ph)
    newlines = [m.start() for m in re.finditer("\n", text)]
    out: list[str] = []
    findings: list[Finding] = []
    pos = 0
    for s in spans:
        token = ph.placeholder_for(s.kind, s.category, text[s.start : s.end])
        out.append(text[pos : s.start])
        out.append(token)
        pos = s.end
        line = bisect.bisect_left(newlines, s.start) + 1
        findings.append(Finding(s.kind, token, s.start, s.end, line))
    out.append(text[pos:])
    return Redacted("".join(out), tuple(findings), ph)
