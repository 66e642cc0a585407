"""Which symbols the code near the cursor uses, and where the workspace defines them.

tree-sitter finds the identifiers around the cursor (a regex stands in for languages
without a grammar); imports are resolved to workspace files so a definition is found even
before the index has seen the file.  tree-sitter is imported lazily: these functions run
off the event loop, never on the initialize path.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from attrs import frozen

_GRAMMARS: dict[str, tuple[str, str]] = {
    ".py": ("tree_sitter_python", "language"),
    ".pyi": ("tree_sitter_python", "language"),
    ".js": ("tree_sitter_javascript", "language"),
    ".mjs": ("tree_sitter_javascript", "language"),
    ".cjs": ("tree_sitter_javascript", "language"),
    ".jsx": ("tree_sitter_javascript", "language"),
    ".ts": ("tree_sitter_typescript", "language_typescript"),
    ".mts": ("tree_sitter_typescript", "language_typescript"),
    ".tsx": ("tree_sitter_typescript", "language_tsx"),
    ".go": ("tree_sitter_go", "language"),
    ".rs": ("tree_sitter_rust", "language"),
    ".java": ("tree_sitter_java", "language"),
    ".c": ("tree_sitter_c", "language"),
    ".h": ("tree_sitter_c", "language"),
    ".cc": ("tree_sitter_cpp", "language"),
    ".cpp": ("tree_sitter_cpp", "language"),
    ".cxx": ("tree_sitter_cpp", "language"),
    ".hpp": ("tree_sitter_cpp", "language"),
    ".hh": ("tree_sitter_cpp", "language"),
    ".cs": ("tree_sitter_c_sharp", "language"),
    ".rb": ("tree_sitter_ruby", "language"),
}

_IDENT_TYPES = frozenset(
    {
        "identifier",
        "type_identifier",
        "field_identifier",
        "property_identifier",
        "constant",
        "namespace_identifier",
        "package_identifier",
        "shorthand_property_identifier",
    }
)

_DEF_TYPES = frozenset(
    {
        "function_definition",
        "class_definition",
        "decorated_definition",
        "function_declaration",
        "generator_function_declaration",
        "class_declaration",
        "method_definition",
        "method_declaration",
        "interface_declaration",
        "type_alias_declaration",
        "enum_declaration",
        "type_spec",
        "function_item",
        "struct_item",
        "enum_item",
        "trait_item",
        "type_item",
        "const_item",
        "static_item",
        "macro_definition",
        "struct_specifier",
        "class_specifier",
        "constructor_declaration",
        "record_declaration",
        "method",
        "class",
        "module",
        "variable_declarator",
        "assignment",
    }
)

#: Words never worth a lookup (keywords and the most common builtins across languages).
_NOISE = frozenset(
    """self this cls super None True False null nil true false undefined print len str int
    float bool list dict set tuple range return if else elif for while def class import from
    as in is not and or try except finally with yield await async lambda pass break continue
    const let var function new typeof instanceof void static public private protected fn pub
    impl use mod struct enum match loop mut ref func package type interface go defer chan map
    string byte rune error err ok args kwargs i j k n x y _""".split()  # noqa: SIM905
)

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def grammar_for(path: str) -> Any | None:
    """The tree-sitter Language for a path's extension, or None."""
    spec = _GRAMMARS.get(Path(path).suffix.lower())
    if spec is None:
        return None
    return _language(*spec)


@functools.cache
def _language(module: str, attr: str) -> Any | None:
    try:
        import tree_sitter

        mod = importlib.import_module(module)
        return tree_sitter.Language(getattr(mod, attr)())
    except Exception:  # a missing grammar only means regex fallback
        return None


def _parse(language: Any, text: str) -> Any:
    import tree_sitter

    return tree_sitter.Parser(language).parse(text.encode("utf-8", "surrogatepass"))


def _walk(node: Any) -> Iterator[Any]:
    cursor = node.walk()
    visited = False
    while True:
        if not visited:
            yield cursor.node
            if cursor.goto_first_child():
                continue
        if cursor.goto_next_sibling():
            visited = False
            continue
        if not cursor.goto_parent():
            return
        visited = True


def _is_definition_name(node: Any) -> bool:
    parent = node.parent
    if parent is None or parent.type not in _DEF_TYPES or parent.type in ("assignment",):
        return False
    name = parent.child_by_field_name("name")
    return name is not None and name.id == node.id


def identifiers_near(
    path: str,
    lines: Sequence[str],
    line: int,
    *,
    before: int = 30,
    after: int = 5,
    limit: int = 12,
) -> list[str]:
    """Identifiers used around 1-based `line`, nearest first, without noise words.

    Names defined inside the window itself are left out: their definition is already in
    the prompt.
    """
    start = max(1, line - before)
    end = min(len(lines), line + after)
    text = "".join(lines[start - 1 : end])
    found: list[tuple[int, str]] = []
    defined: set[str] = set()
    language = grammar_for(path)
    if language is not None:
        tree = _parse(language, text)
        for node in _walk(tree.root_node):
            if node.type in _IDENT_TYPES and node.text:
                name = node.text.decode("utf-8", "replace")
                if _is_definition_name(node):
                    defined.add(name)
                else:
                    found.append((abs(start + node.start_point[0] - line), name))
    else:
        for offset, src in enumerate(lines[start - 1 : end]):
            for m in _WORD.finditer(src):
                found.append((abs(start + offset - line), m.group()))
    found.sort(key=lambda t: t[0])
    out: list[str] = []
    for _, name in found:
        if len(name) < 2 or name in _NOISE or name in defined or name in out:
            continue
        out.append(name)
        if len(out) >= limit:
            break
    return out


@frozen
class Definition:
    name: str
    start_line: int  # 1-based inclusive
    end_line: int
    text: str


_FUNCTION_TYPES = frozenset(
    {
        "function_definition",
        "function_declaration",
        "generator_function_declaration",
        "method_definition",
        "method_declaration",
        "function_item",
        "constructor_declaration",
        "method",
        "arrow_function",
        "lambda",
    }
)
_WRAPPERS = (
    "decorated_definition",
    "export_statement",
    "lexical_declaration",
    "variable_declaration",
    "expression_statement",
)


@functools.lru_cache(maxsize=64)
def definition_spans(path: str, text: str) -> dict[str, tuple[int, int]]:
    """name -> (first line, last line) of each definition outside function bodies.

    Cached per file text: while the user types, the same imported files are asked about
    again and again, and walking a large file's tree in Python costs milliseconds.
    """
    language = grammar_for(path)
    if language is None:
        return {}
    out: dict[str, tuple[int, int]] = {}
    stack = [_parse(language, text).root_node]
    while stack:
        node = stack.pop()
        if node.type in _DEF_TYPES:
            target = node.child_by_field_name("name") or node.child_by_field_name("left")
            if target is not None and target.text is not None:
                name = target.text.decode("utf-8", "replace")
                top = node
                if top.parent is not None and top.parent.type in _WRAPPERS:
                    top = top.parent
                out.setdefault(name, (top.start_point[0] + 1, top.end_point[0] + 1))
        if node.type in _FUNCTION_TYPES:
            continue  # names inside function bodies are locals, not definitions to look up
        stack.extend(reversed(node.children))
    return out


def find_definition(path: str, text: str, name: str, *, max_lines: int = 40) -> Definition | None:
    """Where `text` (the file at `path`) defines `name`; the head of it, at most `max_lines`."""
    lines = text.splitlines(keepends=True)
    if grammar_for(path) is None:
        pattern = re.compile(
            rf"^\s*(?:export\s+)?(?:pub\s+)?(?:async\s+)?(?:def|class|function|func|fn|struct|"
            rf"interface|type|enum|trait|const|let|var)\s+\*?{re.escape(name)}\b"
        )
        for i, src in enumerate(lines):
            if pattern.match(src):
                end = min(len(lines), i + max_lines)
                return Definition(name, i + 1, end, "".join(lines[i:end]))
        return None
    span = definition_spans(path, text).get(name)
    if span is None:
        return None
    start = span[0]
    end = min(span[1], start + max_lines - 1)
    return Definition(name, start, end, "".join(lines[start - 1 : end]))


# -- imports -----------------------------------------------------------------------------
_PY_FROM = re.compile(r"^\s*from\s+(\.*[\w.]*)\s+import\s+\(?([^)#\n]+)", re.M)
_PY_IMPORT = re.compile(r"^\s*import\s+([\w.]+)(?:\s+as\s+(\w+))?", re.M)
_JS_IMPORT = re.compile(
    r"""import\s+(?:type\s+)?(?P<what>[\w*{}\s,]+?)\s+from\s+['"](?P<spec>[^'"]+)['"]"""
    r"""|(?:const|let|var)\s+(?P<what2>[\w{}\s,:]+?)\s*=\s*require\(\s*['"](?P<spec2>[^'"]+)['"]\s*\)"""
)
_JS_EXTS = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".d.ts")


@frozen
class Imported:
    """`local` is the name used in this file; `name` is what the module calls it ("" = module)."""

    local: str
    name: str
    file: str


def _py_module_file(module: str, current: Path, roots: Sequence[Path]) -> Path | None:
    dots = len(module) - len(module.lstrip("."))
    parts = [p for p in module.lstrip(".").split(".") if p]
    if dots:
        base = current.parent
        for _ in range(dots - 1):
            base = base.parent
        bases = [base]
    else:
        bases = [b for r in roots for b in (r, r / "src")] + [current.parent]
    for base in bases:
        target = base.joinpath(*parts)
        for cand in (target.with_name(target.name + ".py"), target / "__init__.py"):
            if parts and cand.is_file():
                return cand
        if not parts and (base / "__init__.py").is_file():
            return base / "__init__.py"
    return None


#: TypeScript sources are imported by the name of their compiled output ("./x.js").
_JS_TO_TS = {".js": (".ts", ".tsx"), ".jsx": (".tsx",), ".mjs": (".mts",), ".cjs": (".cts",)}


def _js_module_file(spec: str, current: Path) -> Path | None:
    if not spec.startswith("."):
        return None
    target = (current.parent / spec).resolve()
    if target.is_file():
        return target
    for ext in _JS_TO_TS.get(target.suffix, ()):
        cand = target.with_suffix(ext)
        if cand.is_file():
            return cand
    for ext in _JS_EXTS:
        cand = target.with_name(target.name + ext)
        if cand.is_file():
            return cand
    for ext in _JS_EXTS:
        cand = target / f"index{ext}"
        if cand.is_file():
            return cand
    return None


def resolve_imports(path: str, text: str, roots: Sequence[Path]) -> list[Imported]:
    """Names this file imports from files inside the workspace, with the defining file."""
    current = Path(path)
    suffix = current.suffix.lower()
    out: list[Imported] = []
    if suffix in (".py", ".pyi"):
        for m in _PY_FROM.finditer(text):
            module, names = m.group(1), m.group(2)
            for part in names.split(","):
                words = part.split()
                if not words or words[0] == "*":
                    continue
                name = words[0]
                local = words[2] if len(words) >= 3 and words[1] == "as" else name
                # `from pkg import submodule` first: a package's __init__ rarely defines it
                full = f"{module}.{name}" if module.strip(".") else module + name
                sub = _py_module_file(full, current, roots)
                if sub is not None:
                    out.append(Imported(local, "", str(sub)))
                    continue
                mod_file = _py_module_file(module, current, roots)
                if mod_file is not None:
                    out.append(Imported(local, name, str(mod_file)))
        for m in _PY_IMPORT.finditer(text):
            mod_file = _py_module_file(m.group(1), current, roots)
            if mod_file is not None:
                out.append(Imported(m.group(2) or m.group(1).split(".")[0], "", str(mod_file)))
    elif suffix in (".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".mts"):
        for m in _JS_IMPORT.finditer(text):
            what = m.group("what") or m.group("what2") or ""
            spec = m.group("spec") or m.group("spec2") or ""
            file = _js_module_file(spec, current)
            if file is None:
                continue
            braces = re.search(r"\{([^}]*)\}", what)
            if braces:
                for part in braces.group(1).split(","):
                    words = part.replace(":", " as ").split()
                    if not words or words[0] == "type":
                        words = words[1:]
                    if not words:
                        continue
                    local = words[2] if len(words) >= 3 and words[1] == "as" else words[0]
                    out.append(Imported(local, words[0], str(file)))
            head = re.sub(r"\{[^}]*\}", "", what).replace(",", " ").split()
            for word in head:
                if word in ("*", "as"):
                    continue
                out.append(Imported(word, "", str(file)))
    return out


_GO_IMPORT_BLOCK = re.compile(r"^import\s*\((.*?)^\)", re.M | re.S)
_GO_IMPORT_LINE = re.compile(r'^import\s+(\w+\s+)?"([^"]+)"', re.M)
_GO_SPEC = re.compile(r'^\s*(\w+\s+|\.\s+)?"([^"]+)"', re.M)
_GO_PACKAGE = re.compile(r"^package\s+(\w+)", re.M)


@functools.lru_cache(maxsize=32)
def _go_module(directory: str) -> tuple[str, str] | None:
    """(module path, module root directory) from the nearest go.mod above `directory`."""
    d = Path(directory)
    for cand in (d, *d.parents):
        mod = cand / "go.mod"
        if mod.is_file():
            try:
                m = re.search(r"^module\s+(\S+)", mod.read_text("utf-8"), re.M)
            except (OSError, UnicodeDecodeError):
                return None
            return (m.group(1), str(cand)) if m else None
    return None


def go_package_files(path: str, *, limit: int = 64) -> list[str]:
    """The other files of a Go file's package (same directory and package clause; test
    files only for a test file): Go calls them without an import."""
    current = Path(path)
    testing = current.name.endswith("_test.go")
    text = read_text(path) or ""
    m = _GO_PACKAGE.search(text)
    package = m.group(1).removesuffix("_test") if m else None
    out: list[str] = []
    try:
        siblings = sorted(current.parent.glob("*.go"))
    except OSError:
        return out
    for sib in siblings:
        if sib == current or (sib.name.endswith("_test.go") and not testing):
            continue
        head = (read_text(str(sib)) or "")[:4000]
        pm = _GO_PACKAGE.search(head)
        if package is not None and pm is not None and pm.group(1).removesuffix("_test") != package:
            continue
        out.append(str(sib))
        if len(out) >= limit:
            break
    return out


def go_imports(path: str, text: str) -> list[Imported]:
    """Packages of the same Go module that `text` imports: local name -> a directory."""
    mod = _go_module(str(Path(path).parent))
    if mod is None:
        return []
    module, root = mod
    specs: list[tuple[str, str]] = []
    for block in _GO_IMPORT_BLOCK.finditer(text):
        specs.extend(((a or "").strip(), b) for a, b in _GO_SPEC.findall(block.group(1)))
    specs.extend(((a or "").strip(), b) for a, b in _GO_IMPORT_LINE.findall(text))
    out = []
    for alias, spec in specs:
        if spec != module and not spec.startswith(module + "/"):
            continue
        directory = Path(root, spec[len(module):].lstrip("/"))
        if not directory.is_dir():
            continue
        parts = spec.split("/")
        name = parts[-1]
        if re.fullmatch(r"v\d+", name) and len(parts) > 1:
            name = parts[-2]
        out.append(Imported(alias if alias and alias not in (".", "_") else name, "",
                            str(directory)))
    return out


def module_files(imp: Imported) -> list[str]:
    """The files an import brings in: the module file, or a Go package's files."""
    if os.path.isdir(imp.file):
        try:
            return sorted(str(p) for p in Path(imp.file).glob("*.go")
                          if not p.name.endswith("_test.go"))[:64]
        except OSError:
            return []
    return [imp.file]


_SIG_END = re.compile(r"(:\s*(#.*)?|\{\s*|=>\s*\{?\s*|\)\s*)$")
_HEADER = re.compile(
    r"^\s*(?:@|(?:export\s+)?(?:default\s+)?(?:public\s+|private\s+|protected\s+|static\s+|"
    r"readonly\s+|abstract\s+|override\s+)*(?:async\s+)?(?:def|class|function\*?|func|fn|get|set|"
    r"constructor)\b|^\s*(?!(?:if|for|while|switch|catch|with|return|else)\b)(?:async\s+)?"
    r"(?:static\s+|private\s+|public\s+|protected\s+|readonly\s+)*#?[A-Za-z_$][\w$]*\s*"
    r"\([^)]*\)?\s*(?::[^={]+)?\{\s*$)"
)


def signature(text: str, *, max_lines: int = 6) -> str:
    """A definition's head: its first lines up to the one that opens the body."""
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines[:max_lines]):
        code = line.rstrip()
        if i > 0 and code.startswith(("@",)):
            continue
        if _SIG_END.search(code) and not code.lstrip().startswith("@"):
            return "".join(lines[: i + 1])
    return "".join(lines[:1])


def outline(text: str, *, max_lines: int = 30) -> str:
    """A long definition cut to what a caller needs: the whole thing when short, else its
    signature and the headers of the definitions nested in it (a class's methods) while
    they fit `max_lines`."""
    lines = text.splitlines(keepends=True)
    if len(lines) <= max_lines:
        return text
    head = signature(text)
    out = head.splitlines(keepends=True)
    start = len(out)
    base = None
    i = start
    while i < len(lines) and len(out) < max_lines:
        line = lines[i]
        i += 1
        if not _HEADER.match(line):
            continue
        ind = len(line) - len(line.lstrip())
        base = ind if base is None else base
        if ind <= base:  # nested definitions of the first level only, with their signature
            sig = signature("".join(lines[i - 1 : i + 5])).splitlines(keepends=True)
            out.extend(sig[: max_lines - len(out)])
            i += len(sig) - 1
    if len(out) == start:  # nothing nested: the head of the body
        return "".join(lines[:max_lines])
    return "".join(out)


def read_text(path: str, limit: int = 2_000_000) -> str | None:
    """A workspace file's text, or None when it is unreadable, binary or too large."""
    try:
        if os.path.getsize(path) > limit:
            return None
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError):
        return None
