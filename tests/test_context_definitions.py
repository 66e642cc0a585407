"""Definition resolution for completion context: which definitions reach the prompt for a
cursor whose callee is not typed yet (table-driven over small real workspaces)."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.context.budget import Window
from server.context.completion import CompletionInput, cli_root, definitions
from server.context.symbols import outline, signature

FILES = {
    # Python: a package re-exporting, a module used as a receiver
    "py/shop/__init__.py": "from .units import to_meters as to_meters\n",
    "py/shop/units.py": (
        "FACTORS = {'km': 1000}\n\n\n"
        "def to_meters(value, unit):\n    return value * FACTORS[unit]\n\n\n"
        "def to_feet(value):\n    return value * 3.28\n"
    ),
    "py/shop/fmt.py": "def money(x):\n    return f'{x:.2f}'\n\n\ndef percent(x):\n    return x\n",
    "py/app.py": (
        "from shop import to_meters\nfrom shop import fmt\n\n\n"
        "def total(parts):\n    return sum(\n"
    ),
    "py/report.py": "from shop import fmt\n\n\ndef show(x):\n    print(fmt.\n",
    # TypeScript: sources imported by their compiled name
    "ts/src/merge.ts": (
        "export function deepMerge<T>(a: T, b: T): T {\n  return {...a, ...b};\n}\n"
    ),
    "ts/src/ky.ts": "import {deepMerge} from './merge.js';\n\nconst options = \n",
    # Go: the same package without an import, another package of the module with one
    "go/go.mod": "module example.com/web/v2\n\ngo 1.22\n",
    "go/tree.go": (
        "package web\n\nfunc patNextSegment(pattern string) (int, string) {\n\treturn 0, \"\"\n}\n"
    ),
    "go/mux.go": (
        "package web\n\nimport \"example.com/web/v2/middleware\"\n\n"
        "func route(p string) {\n\tmiddleware.\n\tn, seg := \n}\n"
    ),
    "go/middleware/logger.go": (
        "package middleware\n\nfunc Logger(next string) string {\n\treturn next\n}\n"
    ),
    "go/mux_test.go": "package web\n\nfunc helperOnlyInTests() {}\n",
}


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("defs")
    for rel, text in FILES.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def _defs(ws: Path, rel: str, line: int, project: str) -> list[tuple[str, int, str]]:
    path = str(ws / rel)
    lines = (ws / rel).read_text().splitlines(keepends=True)
    req = CompletionInput(path, lines, line, Window(path, 1, len(lines)), (ws / project,))
    return [(Path(c.path).relative_to(ws).as_posix(), c.start_line, c.text)
            for c in definitions(req, None, {})]


@pytest.mark.parametrize(
    ("rel", "line", "project", "expected"),
    [
        # imported, not used yet: about to be called; found through the re-export
        ("py/app.py", 6, "py", [("py/shop/units.py", 4, "def to_meters(value, unit):")]),
        # the cursor reaches into a module: its members
        ("py/report.py", 5, "py", [("py/shop/fmt.py", 1, "def money(x):"),
                                   ("py/shop/fmt.py", 5, "def percent(x):")]),
        # `./merge.js` is merge.ts
        ("ts/src/ky.ts", 3, "ts", [("ts/src/merge.ts", 1, "export function deepMerge")]),
        # same package, no import; an imported package of the module
        ("go/mux.go", 7, "go", [("go/tree.go", 3, "func patNextSegment")]),
        ("go/mux.go", 6, "go", [("go/middleware/logger.go", 3, "func Logger(")]),
    ],
)
def test_definitions_reach_the_callee(
    ws: Path, rel: str, line: int, project: str, expected: list[tuple[str, int, str]]
) -> None:
    got = _defs(ws, rel, line, project)
    for path, start, head in expected:
        assert any(p == path and s == start and t.startswith(head) for p, s, t in got), got


def test_go_test_helpers_stay_out_of_the_package(ws: Path) -> None:
    got = _defs(ws, "go/mux.go", 7, "go")
    assert not any(p.endswith("_test.go") for p, _, _ in got)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("def f(a,\n      b) -> int:\n    return a\n", "def f(a,\n      b) -> int:\n"),
        ("@cache\ndef g():\n    pass\n", "@cache\ndef g():\n"),
        ("export function x(a: number): string {\n  return '';\n}\n",
         "export function x(a: number): string {\n"),
        ("func (m *Mux) Use(fn func()) {\n\tm.x = fn\n}\n", "func (m *Mux) Use(fn func()) {\n"),
        ("LIMIT = 10\n", "LIMIT = 10\n"),
    ],
)
def test_signature(text: str, expected: str) -> None:
    assert signature(text) == expected


def test_outline_keeps_a_long_class_signatures() -> None:
    methods = "".join(f"    def m{i}(self, x):\n" + "        y = x\n" * 6 + "\n" for i in range(8))
    text = "class Big(Base):\n    \"\"\"Doc.\"\"\"\n\n" + methods
    short = outline(text, max_lines=12)
    assert short.splitlines() == ["class Big(Base):"] + [f"    def m{i}(self, x):" for i in range(8)]
    body = "def long():\n" + "    if x:\n        y = 1\n" * 40
    assert outline(body, max_lines=10) == "".join(body.splitlines(keepends=True)[:10])
    assert outline("def f():\n    return 1\n") == "def f():\n    return 1\n"


def test_cli_root_outside_git(tmp_path: Path) -> None:
    class Dirs:
        def __init__(self, indexed: Path | None) -> None:
            self.indexed = indexed

        def index_dir(self, root: Path) -> Path:
            return tmp_path / ("yes" if root == self.indexed else "no")

    (tmp_path / "yes").mkdir()
    proj = tmp_path / "proj"
    (proj / "pkg").mkdir(parents=True)
    f = proj / "pkg" / "a.py"
    f.write_text("x = 1\n")
    # the folder `stead index` indexed (no argument, from proj) is found from the file
    assert cli_root(f, Dirs(proj), cwd=tmp_path / "elsewhere") == proj
    # no index: the current directory when it holds the file, else the file's folder
    assert cli_root(f, Dirs(None), cwd=proj) == proj
    assert cli_root(f, Dirs(None), cwd=tmp_path / "elsewhere") == proj / "pkg"
    (proj / ".git").mkdir()
    assert cli_root(f, Dirs(None), cwd=tmp_path / "elsewhere") == proj
