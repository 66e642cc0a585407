"""Following the code graph from chosen chunks: what a function calls, who calls it.

A question about how something works is rarely answered by one function: the helpers it
calls hold half of the answer.  tree-sitter reads the names a chunk calls; the index's
symbol table finds their definitions.  Pure over text except for the lookups passed in.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from server.context.symbols import grammar_for

#: Call-like node types and the field naming what is called, across the grammars stead has.
_CALLS = {
    "call": "function",  # python
    "call_expression": "function",  # js, ts, go, rust, c, c++
    "new_expression": "constructor",  # js, ts
    "method_invocation": "name",  # java
    "object_creation_expression": "type",  # java
    "invocation_expression": "function",  # c#
    "method_call_expression": "method",  # rust
}
#: The member part of `a.b` in each grammar.
_MEMBER = {
    "attribute": "attribute",
    "member_expression": "property",
    "selector_expression": "field",
    "field_expression": "field",
    "scoped_identifier": "name",
    "member_access_expression": "name",
}
#: Names too common to be worth a lookup (they name builtins or containers' methods).
COMMON = frozenset(
    """print len str int float bool list dict set tuple range isinstance getattr setattr
    hasattr super type format join split strip append extend get items keys values pop
    update add remove push map filter reduce slice concat then catch resolve reject
    toString valueOf hasOwnProperty call apply bind log error warn info debug sprintf
    Sprintf Errorf Printf Println New make new append copy delete cap panic recover
    assert assertEqual expect require open close read write encode decode lower upper
    startswith endswith replace find index sorted reversed enumerate zip min max sum any all
    next iter repr hash id vars dir""".split()  # noqa: SIM905
)


def walk_nodes(node: Any) -> Iterator[Any]:
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children))


def _name(node: Any) -> str | None:
    """The last identifier of a callee expression (`a.b.c(...)` -> "c")."""
    while node is not None:
        if node.type in _MEMBER:
            node = node.child_by_field_name(_MEMBER[node.type])
            continue
        if node.type in ("generic_name", "generic_function", "generic_type"):
            node = node.named_children[0] if node.named_children else None
            continue
        if "identifier" in node.type or node.type in ("constant", "name"):
            return node.text.decode("utf-8", "replace") if node.text else None
        return None
    return None


def calls_in(path: str, text: str, limit: int = 12) -> list[str]:
    """Names `text` (a chunk of the file at `path`) calls, in order of first use.

    Common builtins and names defined in the chunk itself are left out.
    """
    language = grammar_for(path)
    if language is None:
        return []
    import tree_sitter

    tree = tree_sitter.Parser(language).parse(text.encode("utf-8", "surrogatepass"))
    out: list[str] = []
    for node in walk_nodes(tree.root_node):
        field = _CALLS.get(node.type)
        if field is None:
            continue
        name = _name(node.child_by_field_name(field))
        if name and len(name) > 2 and name not in COMMON and name not in out:
            out.append(name)
            if len(out) >= limit:
                break
    return out


def defined_name(symbol: str) -> str:
    """The bare name of an index symbol ("Class.method" -> "method")."""
    return symbol.rsplit(".", 1)[-1].rsplit("::", 1)[-1]


def is_call_of(text: str, name: str) -> bool:
    """Whether `text` calls `name` (a cheap check before trusting a full-text hit)."""
    import re

    return re.search(rf"(?<![\w]){re.escape(name)}\s*[(<]", text) is not None
