"""Split source text into semantic chunks: functions, methods, classes, with line ranges.

Retrieval works on units a developer thinks in, so code is cut along its syntax tree
(tree-sitter, one prebuilt grammar wheel per language) rather than into blind windows.
Large definitions are split with their signature repeated at the top of every piece, small
neighbours are merged so the index does not fill with three-line fragments, and files in
languages without a grammar fall back to line windows.  Works on any text, saved or not.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import re
import threading
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any

from attrs import frozen

log = logging.getLogger(__name__)

#: A chunk larger than this (characters) is split; neighbours smaller than MIN are merged.
MAX_CHARS = 2400
MIN_CHARS = 500
#: Line window used for text without a grammar, and for pieces of large definitions.
WINDOW_LINES = 60
#: Bumped whenever chunk boundaries, texts or hashes come out differently: a shared base
#: index (index/cluster) records it, and a client with another chunker refuses the base.
CHUNKER_VERSION = 1


@frozen
class Chunk:
    path: str  # workspace-relative, posix
    start_line: int  # 1-based, inclusive
    end_line: int  # 1-based, inclusive
    symbol: str  # qualified name ("Class.method"), "" when none
    name: str  # bare name of the first definition ("method"), "" when none
    kind: str  # function | method | class | type | module | block | lines
    language: str  # "python", ..., or "text"
    text: str
    hash: str  # content hash of `text` (plus symbol), stable across moves within a file
    names: tuple[str, ...] = ()  # every definition's bare name in the chunk (merged ones too)


# -- languages ---------------------------------------------------------------------------
_EXTENSIONS: dict[str, str] = {
    ".py": "python", ".pyi": "python", ".pyw": "python",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript", ".tsx": "tsx",
    ".go": "go", ".rs": "rust", ".java": "java",
    ".c": "c", ".h": "c",
    ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp", ".hxx": "cpp",
    ".cs": "c_sharp", ".rb": "ruby", ".rake": "ruby", ".gemspec": "ruby",
    # no grammar: line windows, but still named so filters work
    ".md": "markdown", ".rst": "rst", ".txt": "text", ".toml": "toml", ".yaml": "yaml",
    ".yml": "yaml", ".json": "json", ".sh": "shell", ".bash": "shell", ".lua": "lua",
    ".kt": "kotlin", ".swift": "swift", ".php": "php", ".scala": "scala", ".sql": "sql",
    ".html": "html", ".css": "css", ".vue": "vue", ".el": "elisp", ".vim": "vim",
}
_FILENAMES = {"Rakefile": "ruby", "Gemfile": "ruby", "Makefile": "make", "Dockerfile": "docker"}

#: grammar module and the function in it that returns the language pointer
_GRAMMARS: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "java": ("tree_sitter_java", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
    "c_sharp": ("tree_sitter_c_sharp", "language"),
    "ruby": ("tree_sitter_ruby", "language"),
}

#: node type -> chunk kind, per language; "class" kinds are containers that may be split
_CLS, _FN, _TYPE, _MOD = "class", "function", "type", "module"
_DEFS: dict[str, dict[str, str]] = {
    "python": {"function_definition": _FN, "class_definition": _CLS,
               "decorated_definition": _FN},
    "javascript": {"function_declaration": _FN, "generator_function_declaration": _FN,
                   "class_declaration": _CLS, "method_definition": _FN,
                   "lexical_declaration": _FN, "export_statement": _FN},
    "go": {"function_declaration": _FN, "method_declaration": _FN, "type_declaration": _TYPE},
    "rust": {"function_item": _FN, "impl_item": _CLS, "struct_item": _TYPE, "enum_item": _TYPE,
             "trait_item": _CLS, "mod_item": _MOD, "macro_definition": _FN},
    "java": {"class_declaration": _CLS, "interface_declaration": _CLS, "enum_declaration": _CLS,
             "record_declaration": _CLS, "method_declaration": _FN,
             "constructor_declaration": _FN},
    "c": {"function_definition": _FN, "struct_specifier": _TYPE, "enum_specifier": _TYPE,
          "type_definition": _TYPE},
    "cpp": {"function_definition": _FN, "class_specifier": _CLS, "struct_specifier": _CLS,
            "namespace_definition": _MOD, "template_declaration": _FN, "enum_specifier": _TYPE},
    "c_sharp": {"class_declaration": _CLS, "interface_declaration": _CLS,
                "struct_declaration": _CLS, "record_declaration": _CLS,
                "enum_declaration": _TYPE, "namespace_declaration": _MOD,
                "file_scoped_namespace_declaration": _MOD, "method_declaration": _FN,
                "constructor_declaration": _FN, "property_declaration": _FN},
    "ruby": {"method": _FN, "singleton_method": _FN, "class": _CLS, "module": _MOD},
}
_DEFS["typescript"] = {**_DEFS["javascript"], "interface_declaration": _TYPE,
                       "type_alias_declaration": _TYPE, "enum_declaration": _TYPE,
                       "abstract_class_declaration": _CLS, "module": _MOD,
                       "internal_module": _MOD}
_DEFS["tsx"] = _DEFS["typescript"]

#: node types that hold the members of a container (looked through when splitting)
_BODIES = {"block", "class_body", "declaration_list", "field_declaration_list",
           "body_statement", "enum_body", "interface_body", "statement_block",
           "compound_statement", "namespace_body", "template_declaration"}
#: wrappers whose real definition sits in a field
_WRAPPED = {"decorated_definition": "definition", "export_statement": "declaration",
            "template_declaration": None}
_NAME_TYPES = {"identifier", "field_identifier", "type_identifier", "property_identifier",
               "constant", "name", "namespace_identifier", "qualified_identifier",
               "destructor_name", "operator_name", "scoped_identifier"}


def language_for(path: str) -> str | None:
    """The language a file is chunked as, from its name; None for unknown extensions."""
    p = PurePosixPath(path.replace("\\", "/"))
    if p.name in _FILENAMES:
        return _FILENAMES[p.name]
    return _EXTENSIONS.get(p.suffix.lower())


def has_grammar(language: str | None) -> bool:
    return language in _GRAMMARS


_parsers: dict[str, Any] = {}
_local = threading.local()


def _parser(language: str) -> Any:
    """One parser per thread and language (tree-sitter parsers are not thread-safe)."""
    cache: dict[str, Any] | None = getattr(_local, "parsers", None)
    if cache is None:
        cache = _local.parsers = {}
    parser = cache.get(language)
    if parser is None:
        from tree_sitter import Language, Parser

        module, fn = _GRAMMARS[language]
        lang = Language(getattr(importlib.import_module(module), fn)())
        parser = cache[language] = Parser(lang)
    return parser


# -- identifiers -------------------------------------------------------------------------
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CAMEL_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def split_identifier(name: str) -> list[str]:
    """`HttpClient` -> ["http", "client"]; `parse_url2` -> ["parse", "url", "2"]."""
    return [p.lower() for p in _CAMEL_PARTS.findall(name)]


#: identifiers with an inner underscore, a lower-to-upper step or an acronym before a word
_COMPOUND = re.compile(
    r"\b\w*?(?:[A-Za-z0-9]_[A-Za-z0-9]|[a-z0-9][A-Z]|[A-Z][A-Z][a-z])\w*")


def identifier_terms(text: str, joined: bool = False) -> str:
    """Words from the compound identifiers in `text`, so full-text search finds their parts.

    Only identifiers that split into more than one part add anything; the rest are already
    words the full-text tokenizer sees.  With `joined`, each also adds its parts run
    together (`parse_date` -> parsedate), which the tokenizer (splitting at `_` but not at
    case changes) would otherwise never match against `parseDate`.
    """
    out: list[str] = []
    for ident in dict.fromkeys(_COMPOUND.findall(text)):
        parts = split_identifier(ident)
        if len(parts) > 1:
            out.extend(parts)
            if joined and "_" in ident:
                out.append("".join(parts))
    return " ".join(out)


# -- chunking ----------------------------------------------------------------------------
def _hash(text: str, symbol: str) -> str:
    return hashlib.blake2b(f"{symbol}\x00{text}".encode("utf-8", "replace"),
                           digest_size=12).hexdigest()


def chunk_text(path: str, text: str, language: str | None = None) -> list[Chunk]:
    """Chunks of one file's (or unsaved buffer's) text, in file order.

    `language` overrides the one guessed from the path.  A parse that fails for any reason
    falls back to line windows: a chunker never loses a file.
    """
    language = language or language_for(path) or "text"
    if not text.strip():
        return []
    if has_grammar(language):
        try:
            return _Chunker(path, text, language).run()
        except Exception:  # a grammar bug must not lose the file
            log.exception("tree-sitter chunking failed for %s; using line windows", path)
    return line_windows(path, text, language)


def line_windows(path: str, text: str, language: str, first_line: int = 1,
                 header: str = "", symbol: str = "", name: str = "",
                 kind: str = "lines") -> list[Chunk]:
    """Cut text into windows of about WINDOW_LINES lines, preferring to end at blank lines."""
    lines = text.splitlines(keepends=True)
    out: list[Chunk] = []
    i = 0
    while i < len(lines):
        end = min(len(lines), i + WINDOW_LINES)
        size = 0
        for j in range(i, end):  # keep windows under MAX_CHARS for very long lines too
            size += len(lines[j])
            if size > MAX_CHARS and j > i:
                end = j
                break
        if end < len(lines) and end - i > WINDOW_LINES // 2:
            for j in range(end - 1, i + WINDOW_LINES // 2, -1):  # prefer a blank line
                if not lines[j].strip():
                    end = j + 1
                    break
        body = "".join(lines[i:end])
        if body.strip():
            piece = header + body if header and i > 0 else body
            out.append(Chunk(path, first_line + i, first_line + end - 1, symbol, name, kind,
                             language, piece, _hash(piece, symbol), (name,) if name else ()))
        i = end
    return out


class _Chunker:
    def __init__(self, path: str, text: str, language: str) -> None:
        self.path = path
        self.text = text
        self.language = language
        self.data = text.encode("utf-8", "surrogatepass")
        self.defs = _DEFS.get(language, {})
        self.out: list[Chunk] = []

    def run(self) -> list[Chunk]:
        tree = _parser(self.language).parse(self.data)
        self._level(tree.root_node.children, "", kind_of_glue="module")
        return self.out

    # text helpers
    def _src(self, start: int, end: int) -> str:
        return self.data[start:end].decode("utf-8", "replace")

    def _name(self, node: Any) -> str:
        inner = self._unwrap(node)
        for field in ("name", "declarator"):
            child = inner.child_by_field_name(field)
            depth = 0
            while child is not None and depth < 8:
                if child.type in _NAME_TYPES:
                    return self._src(child.start_byte, child.end_byte)
                nxt = child.child_by_field_name("name") or child.child_by_field_name(
                    "declarator")
                if nxt is None:
                    nxt = next((c for c in child.named_children if c.type in _NAME_TYPES),
                               None)
                child = nxt
                depth += 1
        if inner.type in ("lexical_declaration", "type_declaration"):
            for c in inner.named_children:
                if c.type in ("variable_declarator", "type_spec", "type_alias"):
                    n = c.child_by_field_name("name")
                    if n is not None:
                        return self._src(n.start_byte, n.end_byte)
        return ""

    def _unwrap(self, node: Any) -> Any:
        for _ in range(3):
            if node.type not in _WRAPPED:
                break
            field = _WRAPPED[node.type]
            inner = node.child_by_field_name(field) if field else None
            if inner is None:
                inner = next((c for c in node.named_children if c.type in self.defs
                              or c.type.endswith(("definition", "declaration"))), None)
            if inner is None:
                break
            node = inner
        return node

    def _is_def(self, node: Any) -> bool:
        if node.type not in self.defs:
            return False
        if node.type == "lexical_declaration":  # const f = () => ..., not const x = 1
            return any(
                c.type == "variable_declarator" and (v := c.child_by_field_name("value"))
                is not None and v.type in ("arrow_function", "function_expression",
                                           "function", "class")
                for c in node.named_children)
        if node.type == "export_statement":
            inner = node.child_by_field_name("declaration")
            return inner is not None and self._is_def(inner)
        return True

    def _kind(self, node: Any, parent_symbol: str) -> str:
        inner = self._unwrap(node)
        kind = self.defs.get(inner.type, self.defs.get(node.type, "block"))
        if kind == _FN and parent_symbol:
            return "method"
        return kind

    def _all_names(self, node: Any, depth: int = 0) -> list[str]:
        """The definition's own name, then its members' (so `get` finds HttpClient.get)."""
        name = self._name(node)
        out = [name] if name else []
        if depth < 3:
            for m in self._members(node):
                if self._is_def(m):
                    out.extend(self._all_names(m, depth + 1))
        return out

    def _members(self, node: Any) -> list[Any]:
        """The children of a container's body, looked up through wrapper nodes."""
        inner = self._unwrap(node)
        for child in inner.children:
            if child.type in _BODIES:
                return list(child.children)
        body = inner.child_by_field_name("body")
        return list(body.children) if body is not None else []

    # the walk
    def _emit(self, start: int, end: int, symbol: str, name: str, kind: str,
              names: tuple[str, ...] = ()) -> None:
        start_line = self.data.count(b"\n", 0, start) + 1
        # extend to whole lines so the chunk reads naturally
        line_start = self.data.rfind(b"\n", 0, start) + 1
        line_end = self.data.find(b"\n", end)
        line_end = len(self.data) if line_end < 0 else line_end
        text = self._src(line_start, line_end)
        if not text.strip():
            return
        end_line = start_line + text.count("\n")
        self.out.append(Chunk(self.path, start_line, end_line, symbol, name, kind,
                              self.language, text, _hash(text, symbol),
                              names or ((name,) if name else ())))

    def _level(self, nodes: Iterable[Any], parent: str, kind_of_glue: str) -> None:
        """Chunk one sibling list: definitions alone (or merged when small), glue merged.

        Comments directly above a definition (its doc comment: JSDoc, Go's `//` lines,
        Rust's `///`) go into the definition's chunk, so the words that explain the code are
        found with it."""
        group: list[Any] = []  # consecutive small nodes merged into one chunk
        group_size = 0

        def flush() -> None:
            nonlocal group, group_size
            if group:
                named = [n for n in group if self._is_def(n)]
                first = named[0] if named else None
                if first is not None and len(named) == 1:
                    name = self._name(first)
                    symbol = f"{parent}.{name}" if parent and name else name or parent
                else:
                    # several definitions (or none): the chunk is not any one of them; the
                    # container names it, and search labels a hit by the name it matched
                    name, symbol = "", parent
                if first is not None and len(named) == 1 and \
                        all(n is first or n.type == "comment" for n in group):
                    kind = self._kind(first, parent)
                else:
                    kind = "block" if named or parent else kind_of_glue
                names = tuple(dict.fromkeys(n for d in named for n in self._all_names(d)))
                self._emit(group[0].start_byte, group[-1].end_byte, symbol, name, kind, names)
            group, group_size = [], 0

        def doc_comments() -> list[Any]:
            """The comments at the end of the group that lead up to the next node."""
            lead: list[Any] = []
            for prev in reversed(group):
                if prev.type != "comment":
                    break
                lead.insert(0, prev)
            return lead

        for node in nodes:
            if not node.is_named:
                continue  # punctuation between members
            size = node.end_byte - node.start_byte
            is_def = self._is_def(node)
            lead = doc_comments() if is_def else []
            if lead and not self._adjacent(lead, node):
                lead = []
            if is_def and size >= MIN_CHARS:
                if lead:
                    del group[len(group) - len(lead):]
                    group_size -= sum(c.end_byte - c.start_byte for c in lead)
                flush()
                self._definition(node, parent, lead[0].start_byte if lead else None)
                continue
            if size > MAX_CHARS:  # big non-definition statement: windows of its own
                flush()
                self._big(node, parent, "", "block")
                continue
            if group_size + size > MAX_CHARS:
                if lead:  # the doc comment moves on with its definition
                    del group[len(group) - len(lead):]
                flush()
                group = list(lead)
                group_size = sum(c.end_byte - c.start_byte for c in lead)
            group.append(node)
            group_size += size
        flush()

    def _adjacent(self, comments: list[Any], node: Any) -> bool:
        """Whether comments form one block ending on the line above `node`."""
        row = node.start_point[0]
        for c in reversed(comments):
            if c.end_point[0] < row - 1:
                return False
            row = c.start_point[0]
        return True

    def _definition(self, node: Any, parent: str, lead: int | None = None) -> None:
        """One definition's chunk(s); `lead` is where its doc comment starts, if any."""
        start = node.start_byte if lead is None else lead
        name = self._name(node)
        symbol = f"{parent}.{name}" if parent and name else name or parent
        kind = self._kind(node, parent)
        size = node.end_byte - start
        if size <= MAX_CHARS:
            self._emit(start, node.end_byte, symbol, name, kind,
                       tuple(dict.fromkeys(self._all_names(node))))
            return
        members = self._members(node)
        if kind in (_CLS, _MOD) and any(self._is_def(m) for m in members):
            # the header (signature up to the first member) stays with the small members
            self._level_with_header(node, members, symbol, name, kind, start)
            return
        self._big(node, parent, symbol, kind, name, start)

    def _level_with_header(self, node: Any, members: list[Any], symbol: str, name: str,
                           kind: str, start: int | None = None) -> None:
        start = node.start_byte if start is None else start
        first = next((i for i, m in enumerate(members) if self._is_def(m)), None)
        if first is not None:
            while first > 0 and members[first - 1].type == "comment" and \
                    self._adjacent([members[first - 1]], members[first]):
                first -= 1  # the first member's doc comment goes with it, not the header
        header_end = members[first].start_byte if first is not None else node.end_byte
        if header_end - start <= MAX_CHARS:
            # end the header on the line before the first member (emit extends to line end)
            cut = self.data.rfind(b"\n", start, header_end)
            self._emit(start, cut if cut > start else header_end, symbol, name, kind)
            self._level([m for m in members if m.start_byte >= header_end], symbol, "block")
        else:
            self._big(node, "", symbol, kind, name, start)

    def _big(self, node: Any, parent: str, symbol: str, kind: str, name: str = "",
             start: int | None = None) -> None:
        """Split a large node into line windows, each starting with its signature line."""
        start = node.start_byte if start is None else start
        line_start = self.data.rfind(b"\n", 0, start) + 1
        line_end = self.data.find(b"\n", node.end_byte)
        line_end = len(self.data) if line_end < 0 else line_end
        text = self._src(line_start, line_end)
        first_line = self.data.count(b"\n", 0, line_start) + 1
        sig_start = self.data.rfind(b"\n", 0, node.start_byte) + 1
        sig_end = self.data.find(b"\n", node.start_byte)
        signature = self._src(sig_start, len(self.data) if sig_end < 0 else sig_end)
        header = signature.rstrip() + "\n" if symbol else ""
        self.out.extend(line_windows(self.path, text, self.language, first_line, header,
                                     symbol or parent, name, kind))
