"""JavaScript, TypeScript, Go, Rust and Java files, read with tree-sitter.

Grammars come from the per-language wheels (tree-sitter-javascript, ...),
which ship compiled parsers. tree-sitter-language-pack 1.x fetches its
grammars from the network on first use; it is used only for grammars it
already has on disk, so building a map never waits on a download.
"""

from __future__ import annotations

import functools
import importlib

from agent.repomap.tags import Definition, FileSummary, one_line

_GRAMMARS = {
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "java": ("tree_sitter_java", "language"),
}

# Definition patterns: `@def.<kind>` on the whole definition, `@name` on its name.
_JS_DEFS = """
(class_declaration name: (_) @name) @def.class
(function_declaration name: (identifier) @name) @def.function
(generator_function_declaration name: (identifier) @name) @def.function
(method_definition name: (_) @name) @def.method
(variable_declarator name: (identifier) @name value: [(arrow_function) (function_expression)]) @def.function
"""
_TS_DEFS = _JS_DEFS + """
(abstract_class_declaration name: (_) @name) @def.class
(interface_declaration name: (_) @name) @def.interface
(type_alias_declaration name: (_) @name) @def.type
(enum_declaration name: (_) @name) @def.type
(method_signature name: (_) @name) @def.method
(abstract_method_signature name: (_) @name) @def.method
(function_signature name: (_) @name) @def.function
"""
_JS_IMPORTS = """
(import_statement source: (string (string_fragment) @import))
(export_statement source: (string (string_fragment) @import))
(call_expression function: [(identifier) (import)] @_fn arguments: (arguments . (string (string_fragment) @import))
  (#any-of? @_fn "require" "import"))
"""
_QUERIES: dict[str, tuple[str, str, str]] = {
    # language: (definitions, reference node types, imports)
    "javascript": (_JS_DEFS, "identifier property_identifier", _JS_IMPORTS),
    "typescript": (_TS_DEFS, "identifier property_identifier type_identifier", _JS_IMPORTS),
    "tsx": (_TS_DEFS, "identifier property_identifier type_identifier", _JS_IMPORTS),
    "go": (
        """
        (function_declaration name: (identifier) @name) @def.function
        (method_declaration name: (field_identifier) @name) @def.method
        (type_spec name: (type_identifier) @name) @def.type
        (method_elem name: (field_identifier) @name) @def.method
        """,
        "identifier type_identifier field_identifier",
        "(import_spec path: (interpreted_string_literal) @import)",
    ),
    "rust": (
        """
        (function_item name: (identifier) @name) @def.function
        (function_signature_item name: (identifier) @name) @def.function
        (struct_item name: (type_identifier) @name) @def.type
        (enum_item name: (type_identifier) @name) @def.type
        (trait_item name: (type_identifier) @name) @def.interface
        (type_item name: (type_identifier) @name) @def.type
        (impl_item type: (_) @name) @def.impl
        (macro_definition name: (identifier) @name) @def.macro
        """,
        "identifier type_identifier field_identifier",
        "",
    ),
    "java": (
        """
        (class_declaration name: (identifier) @name) @def.class
        (interface_declaration name: (identifier) @name) @def.interface
        (enum_declaration name: (identifier) @name) @def.type
        (record_declaration name: (identifier) @name) @def.class
        (method_declaration name: (identifier) @name) @def.method
        (constructor_declaration name: (identifier) @name) @def.method
        """,
        "identifier type_identifier",
        "(import_declaration [(scoped_identifier) (identifier)] @import)",
    ),
}
# Kinds that hold members; anything defined inside another kind is local.
_CONTAINERS = {"class", "interface", "impl", "type"}


@functools.lru_cache(maxsize=None)
def grammar(lang: str):  # -> tree_sitter.Language | None
    """The tree-sitter language for `lang`, or None when no grammar is installed."""
    from tree_sitter import Language

    module_name, attr = _GRAMMARS[lang]
    try:
        return Language(getattr(importlib.import_module(module_name), attr)())
    except ImportError:
        pass
    try:
        import tree_sitter_language_pack as pack

        if hasattr(pack, "downloaded_languages") and lang not in pack.downloaded_languages():
            return None
        return pack.get_language(lang)
    except Exception:
        return None


@functools.lru_cache(maxsize=None)
def _compiled(lang: str):
    from tree_sitter import Parser, Query

    language = grammar(lang)
    if language is None:
        return None
    defs, ref_types, imports = _QUERIES[lang]
    refs = "[" + " ".join(f"({t})" for t in ref_types.split()) + "] @ref"
    return (
        Parser(language),
        Query(language, defs),
        Query(language, refs),
        Query(language, imports) if imports else None,
    )


def summarize_tree_sitter(source: bytes, lang: str) -> FileSummary:
    from tree_sitter import QueryCursor

    summary = FileSummary(lang)
    compiled = _compiled(lang)
    if compiled is None:
        return summary
    parser, def_query, ref_query, import_query = compiled
    root = parser.parse(source).root_node

    found = []
    for _, captures in QueryCursor(def_query).matches(root):
        kind = next(k for k in captures if k.startswith("def."))
        node = captures[kind][0]
        found.append((node.start_byte, node.end_byte, kind[4:], node, captures["name"][0]))
    found.sort(key=lambda f: (f[0], -f[1]))
    enclosing: list[tuple[int, str]] = []  # (end byte, kind) of the open definitions
    for start, end, kind, node, name_node in found:
        while enclosing and enclosing[-1][0] <= start:
            enclosing.pop()
        if enclosing and enclosing[-1][1] not in _CONTAINERS:
            continue  # a helper inside a function body
        depth = len(enclosing)
        enclosing.append((end, kind))
        name = _text(name_node)
        if kind == "function" and depth:
            kind = "method"
        summary.defs.append(Definition(name, kind, node.start_point[0] + 1, depth, _signature(source, node, lang)))

    refs: dict[str, int] = {}
    for node in QueryCursor(ref_query).captures(root).get("ref", []):
        name = _text(node)
        refs[name] = refs.get(name, 0) + 1
    summary.refs = refs

    if import_query is not None:
        for node in QueryCursor(import_query).captures(root).get("import", []):
            summary.imports.append(_text(node).strip('"'))
    summary.is_main = _is_main(root, summary.defs, lang)
    return summary


def _text(node) -> str:
    return node.text.decode("utf-8", errors="replace")


def _signature(source: bytes, node, lang: str) -> str:
    """The definition's text up to its body: name, parameters, result type."""
    body = node.child_by_field_name("body")
    value = node.child_by_field_name("value")
    if body is None and value is not None:  # const f = (a) => ...
        body = value.child_by_field_name("body")
    end = body.start_byte if body is not None else node.end_byte
    text = source[node.start_byte : end].decode("utf-8", errors="replace")
    text = text.split("{", 1)[0] if body is None else text
    text = text.rstrip().removesuffix("=>").rstrip().removesuffix(";")
    if lang == "go" and node.type == "type_spec":
        text = "type " + text
    return one_line(text)


def _is_main(root, defs: list[Definition], lang: str) -> bool:
    if lang == "go":
        package = next((c for c in root.children if c.type == "package_clause"), None)
        is_main_package = package is not None and _text(package).split()[-1] == "main"
        return is_main_package and any(d.name == "main" and d.depth == 0 for d in defs)
    if lang == "rust":
        return any(d.name == "main" and d.depth == 0 and d.kind == "function" for d in defs)
    if lang == "java":
        return any(d.name == "main" and " static " in f" {d.signature} " for d in defs)
    return False
