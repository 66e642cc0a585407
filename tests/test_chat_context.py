"""Reading a question, choosing roles, following the code graph, filling the budget with
whole units, the loop guard and the budget plan: table tests, plus selection over a real
LanceDB index of a small workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from server.chat.engine import budget_reason, latency_cap, prompt_rate
from server.chat.guard import LoopGuard, loops
from server.chat.prompt import plan
from server.context import budget as budgeting
from server.context.graph import calls_in, is_call_of
from server.context.question import DOCS, HOW, TEST, USAGE, read
from server.context.select import CALLEE, CALLER, fill_whole, names_file, role_of, select
from server.context.types import Candidate


@pytest.mark.parametrize(
    ("question", "intent", "symbols", "paths", "extensions"),
    [
        ("How does stead decide which settings value wins?", HOW, (), (), ()),
        ("How does CORS preflight handling work in cors/index.ts?", HOW, (), ("cors/index.ts",), ()),
        ("Where is parse_config tested?", TEST, ("parse_config",), (), ()),
        ("Which unit tests cover the retry logic?", TEST, (), (), ()),
        ("How do I use `Mux.Route` in Go?", USAGE, ("Mux.Route", "Route"), (), (".go",)),
        ("how to register a command with an alias", USAGE, (), (), ()),
        ("What does the changelog say about v5?", DOCS, (), (), ()),
        ("Is the timeout option documented?", DOCS, (), (), ()),
        ("How does os.path.join work in the Python code?", HOW, ("os.path.join", "join"), (), (".py", ".pyi")),
        ("Explain server/settings.py:42", HOW, (), ("server/settings.py",), ()),
        ("How are .ts files chunked by chunkText()?", HOW, ("chunkText",), (), (".ts",)),
        ("What does HTTPError carry?", HOW, ("HTTPError",), (), ()),
    ],
)
def test_reading_a_question(
    question: str, intent: str, symbols: tuple[str, ...], paths: tuple[str, ...], extensions: tuple[str, ...]
) -> None:
    r = read(question)
    assert r.intent == intent
    assert r.symbols == symbols
    assert r.paths == paths
    assert r.extensions == extensions


def test_search_text_drops_the_question_glue() -> None:
    r = read("How does the `retry` option work when the server answers 429?")
    words = r.search_text().split()
    assert "retry" in words and "429" in words and "server" in words
    assert not {"how", "does", "the", "when"} & set(words)


@pytest.mark.parametrize(
    ("question", "preferred", "over"),
    [
        ("How does the retry work?", "code", "test"),
        ("How does the retry work?", "code", "docs"),
        ("Where is the retry tested?", "test", "code"),
        ("How do I use the retry option?", "docs", "test"),
        ("What do the docs say about retries?", "docs", "code"),
    ],
)
def test_role_choice(question: str, preferred: str, over: str) -> None:
    roles = read(question).roles
    assert roles[preferred] > roles[over]


@pytest.mark.parametrize(
    ("path", "role"),
    [
        ("/ws/src/retry.ts", "code"),
        ("/ws/test/retry.test.ts", "test"),
        ("/ws/docs/retries.md", "docs"),
        ("/ws/CHANGELOG.md", "docs"),
        ("/ws/tsconfig.json", "config"),
    ],
)
def test_role_of_is_judged_inside_the_root(path: str, role: str) -> None:
    assert role_of(path, Path("/ws")) == role


@pytest.mark.parametrize(
    ("path", "question", "hits"),
    [
        ("server/completion/cache.py", "How does the completion cache work?", 2),
        ("middleware/timeout.go", "How are request timeouts handled by middleware?", 2),
        ("src/retry.ts", "How does the retry logic work?", 1),
        ("src/other.ts", "How does the retry logic work?", 0),
    ],
)
def test_file_names_the_question_uses(path: str, question: str, hits: int) -> None:
    assert names_file(path, read(question)) == hits


@pytest.mark.parametrize(
    ("path", "text", "expected"),
    [
        ("a.py", "def f(x):\n    y = load_config(x)\n    return self.merge_tree(y, len(x))\n",
         ["load_config", "merge_tree"]),
        ("a.go", "func (mx *Mux) Handle(p string) {\n  mx.handle(p)\n  x := NewRouteContext()\n}\n",
         ["handle", "NewRouteContext"]),
        ("a.ts", "const f = async () => { await this.retry(fn); throw new HTTPError(r) }\n",
         ["retry", "HTTPError"]),
        ("a.js", "function g() { return parseArgs(argv).map(x => x) }\n", ["parseArgs"]),
        ("a.txt", "load_config(x)\n", []),
    ],
)
def test_calls_in(path: str, text: str, expected: list[str]) -> None:
    assert calls_in(path, text) == expected


def test_is_call_of() -> None:
    assert is_call_of("x = load_config(path)", "load_config")
    assert not is_call_of("x = reload_config(path)", "load_config")
    assert not is_call_of("def load_configs(): pass", "load_config")


def fused(*sizes: int) -> list[budgeting.Fused]:
    return [
        budgeting.Fused(Candidate(f"/ws/f{i}.py", 1, n, "x = 1\n" * n, "full-text"), ("full-text",), 1.0 / (i + 1))
        for i, n in enumerate(sizes)
    ]


@pytest.mark.parametrize(
    ("sizes", "budget", "kept", "cut"),
    [
        ((10, 10, 10), 100, [0, 1, 2], False),  # everything fits
        ((10, 50, 10), 30, [0, 2], True),  # the big one is left out whole; a later small one fits
        ((50, 10), 30, [1], True),  # rank does not force a cut unit in
        ((50, 60), 30, [0], True),  # nothing fits whole: the best one is cut to the budget
        ((10,), 0, [], True),
    ],
)
def test_fill_spends_the_budget_on_whole_units(sizes: tuple[int, ...], budget: int, kept: list[int], cut: bool) -> None:
    def count(text: str) -> int:
        return text.count("\n")

    sel = fill_whole(fused(*sizes), budget, count)
    assert [int(Path(i.path).stem[1:]) for i in sel.items] == kept
    assert sel.cut is cut
    assert sel.tokens <= budget
    whole = [i for i in sel.items if i.end_line == sizes[int(Path(i.path).stem[1:])]]
    assert len(whole) >= len(sel.items) - (1 if kept and budget < min(sizes) else 0)


LOOPING = "The server's settings tree is always the first tree to be compared, and the rest follow. "


@pytest.mark.parametrize(
    ("text", "looped"),
    [
        (LOOPING * 15, True),
        (LOOPING * 2, False),
        ("word " * 30, True),
        ("    return self.settings.model.n_ctx\n" * 5, True),
        ("def f():\n    return 1\n\ndef g():\n    return 1\n", False),
        ("`merge` at server/settings.py:217 lets the override win leaf by leaf; `resolve` at "
         "server/settings.py:332 applies the defaults, the config file, then each layer.", False),
        ("| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |\n", False),
    ],
)
def test_loop_guard(text: str, looped: bool) -> None:
    assert loops(text) is looped


def test_loop_guard_stops_at_the_third_repetition_and_stays_stopped() -> None:
    g = LoopGuard()
    fed = 0
    for _ in range(15):
        fed += 1
        if not g.feed(LOOPING):
            break
    assert fed == 3
    assert "repeated" in g.why
    assert g.feed("more") is False


def test_budget_is_capped_by_the_window_the_setting_and_reading_time() -> None:
    assert latency_cap(50.0, 20.0) == 1000
    assert latency_cap(4.0, 20.0) == 512  # a starved machine still gets the code it asks about
    assert latency_cap(0.0) is None
    p = plan(4096, 512, 4000, 100, 30)
    why = budget_reason(p, 4096, 512, 4000, 1000, 50.0, True)
    assert f"context budget {p.context} tokens" in why and "4096-token" in why
    assert "new context at most 1000 tokens" in why and "50 tok/s, measured" in why

    class Measured:
        prompt_rate = 80.0

    assert prompt_rate(Measured()) == (80.0, True)

    class Unknown:
        path = None

    assert prompt_rate(Unknown()) == (0.0, False)


# -- selection over a real index -----------------------------------------------------------

RETRY_TS = """\
import {delay} from './delay.js';

export async function retry(request: () => Promise<Response>, limit: number): Promise<Response> {
\tfor (let attempt = 0; ; attempt++) {
\t\tconst response = await request();
\t\tif (response.status !== 429 || attempt >= limit) {
\t\t\treturn response;
\t\t}
\t\tawait delay(backoff(attempt));
\t}
}

export function backoff(attempt: number): number {
\treturn 0.3 * (2 ** attempt) * 1000;
}
"""
DELAY_TS = """\
export async function delay(ms: number): Promise<void> {
\tawait new Promise(resolve => setTimeout(resolve, ms));
}
"""
CLIENT_TS = """\
import {retry} from './retry.js';

export async function fetchJson(url: string) {
\tconst response = await retry(() => fetch(url), 2);
\treturn response.json();
}
"""
RETRY_TEST_TS = """\
import test from 'ava';
import {retry} from '../source/retry.js';

test('retry retries a 429 response until the limit', async t => {
\tlet calls = 0;
\tconst response = await retry(async () => { calls++; return new Response('', {status: 429}); }, 2);
\tt.is(calls, 3);
\tt.is(response.status, 429);
});

test('retry returns the first response that is not 429', async t => {
\tconst response = await retry(async () => new Response('ok'), 2);
\tt.is(response.status, 200);
});
"""
README = """\
# fetcher

## Retry

Requests answered with 429 are retried: retry waits with exponential backoff between
attempts, up to the retry limit. Retry retries retry 429 responses.
"""


@pytest.fixture
def indexed(tmp_path: Path) -> Any:
    from index.api import open_index
    from server.settings import IndexSettings

    ws = tmp_path / "ws"
    (ws / "source").mkdir(parents=True)
    (ws / "test").mkdir()
    (ws / "source" / "retry.ts").write_text(RETRY_TS)
    (ws / "source" / "delay.ts").write_text(DELAY_TS)
    (ws / "source" / "client.ts").write_text(CLIENT_TS)
    (ws / "test" / "retry.test.ts").write_text(RETRY_TEST_TS)
    (ws / "README.md").write_text(README)
    index = open_index(ws, tmp_path / "data", IndexSettings(embedder="none"))
    assert index.refresh().chunks_written > 0
    yield ws, index
    index.close()


def paths(sel: Any, ws: Path) -> list[str]:
    return [str(Path(i.path).relative_to(ws)) for i in sel.items]


def test_how_question_puts_the_implementation_first_and_follows_the_graph(indexed: Any) -> None:
    ws, index = indexed
    sel = select("How does retry handle a 429 response?", index=index, open_docs={}, budget=2000,
                 root=ws, vector=False)
    got = paths(sel, ws)
    assert got[0] == "source/retry.ts"
    assert got.index("source/retry.ts") < got.index("test/retry.test.ts") if "test/retry.test.ts" in got else True
    by_path = {str(Path(i.path).relative_to(ws)): i for i in sel.items}
    # the definition retry calls, and a caller of retry, came through the code graph
    assert CALLEE in by_path["source/delay.ts"].reasons
    assert "retry calls delay" in by_path["source/delay.ts"].detail
    assert CALLER in by_path["source/client.ts"].reasons
    assert "calls retry" in by_path["source/client.ts"].detail


def test_test_question_puts_the_tests_first(indexed: Any) -> None:
    ws, index = indexed
    sel = select("Where is the retry of 429 responses tested?", index=index, open_docs={},
                 budget=2000, root=ws, vector=False)
    assert paths(sel, ws)[0] == "test/retry.test.ts"
    assert "test file" in sel.items[0].detail


def test_a_small_budget_keeps_whole_units_and_says_what_was_left_out(indexed: Any) -> None:
    ws, index = indexed
    sel = select("How does retry handle a 429 response?", index=index, open_docs={}, budget=120,
                 root=ws, vector=False)
    assert sel.items and sel.tokens <= 120
    text = (ws / "source" / "retry.ts").read_text().splitlines()
    for item in sel.items:  # every unit as it is in its file, not a cut-off head
        lines = (ws / Path(item.path).relative_to(ws)).read_text().splitlines()
        assert item.text.rstrip("\n").splitlines() == lines[item.start_line - 1 : item.end_line]
    assert sel.cut and any(d.why == "over budget" for d in sel.dropped)
    assert text  # the workspace file is intact


def test_a_follow_up_carries_the_earlier_context_while_it_fits(tmp_path: Path) -> None:
    from server.chat.engine import EARLIER, with_earlier
    from server.context.types import Item, Selection

    (tmp_path / "a.py").write_text("".join(f"line {n}\n" for n in range(1, 21)))
    (tmp_path / "b.py").write_text("x = 1\n")
    manifest = {"items": [
        {"path": "a.py", "start_line": 2, "end_line": 4, "tokens": 3, "reasons": ["symbol match"]},
        {"path": "gone.py", "start_line": 1, "end_line": 2, "tokens": 2, "reasons": ["full-text"]},
        {"path": "b.py", "start_line": 1, "end_line": 9, "tokens": 9, "reasons": ["full-text"]},  # file shrank
        {"path": "a.py", "start_line": 10, "end_line": 19, "tokens": 10, "reasons": ["vector"]},
    ]}

    def count(text: str) -> int:
        return text.count("\n")

    asked: list[int] = []

    def fresh(left: int) -> Selection:
        asked.append(left)
        new = Item(str(tmp_path / "a.py"), 3, 3, "line 3\n", 1, ("full-text",))  # overlaps: dropped
        other = Item(str(tmp_path / "c.py"), 1, 1, "y\n", 1, ("full-text",))
        return Selection((new, other), (), left)

    sel = with_earlier(manifest, 8, count, tmp_path, fresh)
    # the first earlier chunk is re-read from disk with its reasons; the vanished file and the
    # changed one are skipped; the 10-line chunk no longer fits the 8-token budget
    assert [(Path(i.path).name, i.start_line, i.end_line) for i in sel.items] == [("a.py", 2, 4), ("c.py", 1, 1)]
    assert sel.items[0].text == "line 2\nline 3\nline 4\n"
    assert sel.items[0].reasons == ("symbol match",) and sel.items[0].detail == EARLIER
    assert asked == [5]  # the new question gets what the earlier context left
    # reading time bounds only the new context: the earlier one is read already
    asked.clear()
    assert with_earlier(manifest, 8, count, tmp_path, fresh, new_cap=2).items[0].detail == EARLIER
    assert asked == [2]
    assert with_earlier(None, 8, count, tmp_path, fresh).items[0].path.endswith("a.py")
