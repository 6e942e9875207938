"""Structural facts from tree-sitter: definitions (family, name, line) and parse errors.

tree-sitter is optional: every function here returns None when the runtime or the
grammar is missing, and the merge then works on the text levels only. Grammars come
from the tree-sitter org's per-language wheels (compiled, offline).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

# language -> (grammar module, function returning the language pointer)
_GRAMMARS = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "java": ("tree_sitter_java", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
}

# Node type -> family. Families, not raw types, are compared: a Java method parsed out
# of its class in a snippet fragment may come back as a different node type.
_FUNCTION = "function"
_TYPE = "type"
_FAMILIES = {
    **dict.fromkeys(
        [
            "function_definition", "function_declaration", "generator_function_declaration",
            "method_definition", "method_declaration", "constructor_declaration", "function_item",
            "function_signature_item",
        ],
        _FUNCTION,
    ),
    **dict.fromkeys(
        [
            "class_definition", "class_declaration", "abstract_class_declaration",
            "interface_declaration", "enum_declaration", "record_declaration",
            "type_alias_declaration", "struct_specifier", "class_specifier", "enum_specifier",
            "namespace_definition", "type_spec", "struct_item", "enum_item", "trait_item",
            "impl_item", "mod_item",
        ],
        _TYPE,
    ),
}
_NAME_TYPES = {
    "identifier", "field_identifier", "qualified_identifier", "destructor_name",
    "operator_name", "type_identifier", "property_identifier", "namespace_identifier",
}


@dataclass(frozen=True)
class Definition:
    family: str  # "function" or "type"
    name: str
    line: int  # 0-based line of the name, i.e. the signature line rather than decorators


def grammar_name(language: str, path: str | None) -> str:
    """The grammar for a language; .tsx files need the TSX grammar, not plain TypeScript."""
    if language == "typescript" and path and path.lower().endswith(".tsx"):
        return "tsx"
    return language


def get_parser(grammar: str):
    """A parser for the grammar, or None when tree-sitter or the grammar is not installed."""
    spec = _GRAMMARS.get(grammar)
    if spec is None:
        return None
    try:
        import tree_sitter

        module = importlib.import_module(spec[0])
        return tree_sitter.Parser(tree_sitter.Language(getattr(module, spec[1])()))
    except (ImportError, AttributeError, ValueError, TypeError):
        return None


def available(grammar: str) -> bool:
    return get_parser(grammar) is not None


def name_of(node) -> str | None:
    """Name of a definition node: the name field, or the declarator chain in C/C++."""
    named = node.child_by_field_name("name")
    if named is None and node.type == "impl_item":
        named = node.child_by_field_name("type")
    if named is None and node.type == "function_definition":
        named = node.child_by_field_name("declarator")
        while named is not None and named.type not in _NAME_TYPES:
            named = named.child_by_field_name("declarator") or named.child_by_field_name("name")
    if named is None:
        return None
    return named.text.decode("utf-8", "replace")


def is_function(node) -> bool:
    """A node that defines a function: a function-family node, or a name bound to an arrow function."""
    return _FAMILIES.get(node.type) == _FUNCTION or _arrow_binding(node)


def _arrow_binding(node) -> bool:
    """``const f = () => ...`` and ``const f = function ...`` define functions in JS/TS."""
    value = node.child_by_field_name("value")
    return node.type == "variable_declarator" and value is not None and value.type in (
        "arrow_function", "function_expression", "function",
    )


def definitions(text: str, grammar: str) -> list[Definition] | None:
    """All definitions in text, in order; None when the grammar is unavailable."""
    parser = get_parser(grammar)
    if parser is None:
        return None
    tree = parser.parse(text.encode("utf-8"))
    found: list[Definition] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        family = _FAMILIES.get(node.type) or (_FUNCTION if _arrow_binding(node) else None)
        if family:
            name = name_of(node)
            if name:
                named = node.child_by_field_name("name") or node
                found.append(Definition(family, name, named.start_point[0]))
        stack.extend(reversed(node.children))
    return sorted(found, key=lambda d: d.line)


def parses_cleanly(text: str, grammar: str) -> bool | None:
    """Whether text parses without error nodes; None when the grammar is unavailable."""
    parser = get_parser(grammar)
    if parser is None:
        return None
    return not parser.parse(text.encode("utf-8")).root_node.has_error
