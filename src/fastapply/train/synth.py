"""Synthetic edits of real files, with exact targets by construction.

Each mutation takes a real file and returns an (original, target) pair that differs by one
edit a developer would ask for: delete a function, add one (the reverse of a deletion, so the
new code is real code), fix a literal or a condition, rename a local variable or a function
and its call sites, add/remove/reorder an import, add or edit a comment or docstring.

Everything is a pure function of the file text and a seed string: the same file and seed give
the same mutations on any machine. Structure comes from tree-sitter (`merge.structure`); files
of languages without a grammar only get the line-level mutations (imports, comments).
"""
from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from fastapply.corpus import snippets
from fastapply.languages import detect
from fastapply.merge import structure
from fastapply.train.example import Example, SourceFile

MUTATIONS = (
    "delete-function", "add-function", "change-literal", "change-condition", "rename-local",
    "rename-function", "import-add", "import-remove", "import-reorder", "comment-add", "comment-edit",
    "docstring-edit",
)
# A function longer than this is not deleted/added whole: the window around it would exceed the
# trainer's window cap, and huge insertions teach little beyond copying.
MAX_FUNCTION_LINES = 60


@dataclass(frozen=True)
class Mutation:
    kind: str  # one of MUTATIONS
    original: str
    target: str


def rng_for(*parts: str) -> random.Random:
    """A Random seeded from strings through sha256: stable across processes (unlike hash())."""
    digest = hashlib.sha256("\0".join(parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


# --- tree-sitter helpers ---------------------------------------------------------------------------
def parse(text: str, grammar: str):
    parser = structure.get_parser(grammar)
    return parser.parse(text.encode("utf-8")) if parser is not None else None


def walk(node) -> Iterator:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


# Wrappers that belong to a function statement: deleting the function deletes them too.
_WRAPPERS = {"decorated_definition", "export_statement", "template_declaration", "lexical_declaration",
             "variable_declaration"}
_LEADING = {"comment", "line_comment", "block_comment", "attribute_item", "decorator"}


def _statement(node):
    """The whole statement a function definition lives in (decorators, `export`, `const f =`)."""
    while node.parent is not None and node.parent.type in _WRAPPERS:
        if node.parent.type in ("lexical_declaration", "variable_declaration") and node.parent.named_child_count != 1:
            break
        node = node.parent
    return node


def _whole_lines(lines: list[str], node) -> bool:
    """The node starts its first line and ends its last (only whitespace or `;` around it)."""
    (r0, c0), (r1, c1) = node.start_point, node.end_point
    return lines[r0][:c0].strip() == "" and lines[r1][c1:].strip() in ("", ";")


def function_spans(text: str, grammar: str) -> list[tuple[str, int, int]]:
    """(name, first line, last line) of every function statement that occupies whole lines,
    leading doc comments and attributes included; 0-based, inclusive."""
    tree = parse(text, grammar)
    if tree is None:
        return []
    data = text.encode("utf-8")
    lines = data.decode("utf-8").split("\n")
    # tree-sitter columns are byte offsets: compare on the encoded lines.
    blines = [line.encode("utf-8") for line in lines]
    spans = []
    for node in walk(tree.root_node):
        if not structure.is_function(node):
            continue
        name = structure.name_of(node)
        stmt = _statement(node)
        (r0, c0), (r1, c1) = stmt.start_point, stmt.end_point
        if not name or blines[r0][:c0].strip() or blines[r1][c1:].strip() not in (b"", b";"):
            continue
        prev = stmt.prev_sibling
        while prev is not None and prev.type in _LEADING and prev.end_point[0] == r0 - 1 \
                and not blines[prev.start_point[0]][: prev.start_point[1]].strip():
            r0 = prev.start_point[0]
            prev = prev.prev_sibling
        spans.append((name, r0, r1))
    return spans


def parses_like(reference: bool | None, text: str, grammar: str) -> bool:
    """A mutated text must parse cleanly whenever the real file does (no half-deleted blocks)."""
    return not reference or bool(structure.parses_cleanly(text, grammar))


# --- structural mutations --------------------------------------------------------------------------
def _remove_lines(lines: list[str], start: int, end: int) -> list[str]:
    """Drop lines start..end (inclusive) and as many blank lines after them as preceded them, so the
    spacing between the neighbours stays what it was."""
    before = 0
    while start - before - 1 >= 0 and not lines[start - before - 1].strip():
        before += 1
    stop = end + 1
    blank_after = 0
    while stop + blank_after < len(lines) and not lines[stop + blank_after].strip():
        blank_after += 1
    if stop + blank_after >= len(lines):
        # The last thing in the file: the blank run before it goes instead.
        return lines[: start - before] + lines[stop:]
    return lines[:start] + lines[stop + min(before, blank_after):]


def delete_function(text: str, grammar: str, rng: random.Random) -> list[tuple[str, str]]:
    """Every deletable function: (text without it, its name)."""
    lines = text.split("\n")
    out = []
    for name, start, end in function_spans(text, grammar):
        if 2 <= end - start + 1 <= MAX_FUNCTION_LINES:
            out.append(("\n".join(_remove_lines(lines, start, end)), name))
    return out


_NUMBER_TYPES = {"integer", "number", "number_literal", "int_literal", "integer_literal", "decimal_integer_literal"}
_BOOL_TEXT = {"true": "false", "false": "true", "True": "False", "False": "True"}
_OPERATORS = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "==", "===": "!==", "!==": "===",
              "&&": "||", "||": "&&", "and": "or", "or": "and"}
_BINARY_PARENTS = {"comparison_operator", "binary_expression", "boolean_operator", "binary_operator"}


def _function_nodes(tree) -> list:
    return [n for n in walk(tree.root_node) if structure.is_function(n)]


def _replace_bytes(data: bytes, start: int, end: int, new: str) -> str:
    return (data[:start] + new.encode("utf-8") + data[end:]).decode("utf-8")


def _inside_functions(text: str, grammar: str):
    """(source bytes, node) for every node inside a function, each once (nested functions
    are walked by their parents too)."""
    tree = parse(text, grammar)
    if tree is None:
        return
    data = text.encode("utf-8")
    seen = set()
    for func in _function_nodes(tree):
        for node in walk(func):
            key = (node.start_byte, node.end_byte, node.type)
            if key not in seen:
                seen.add(key)
                yield data, node


def literal_changes(text: str, grammar: str, rng: random.Random) -> list[tuple[str, str]]:
    """Every number or boolean literal inside a function, changed: (mutated text, description)."""
    out = []
    for data, node in _inside_functions(text, grammar):
        value = node.text.decode("utf-8", "replace")
        if node.type in _NUMBER_TYPES and value.isdigit():
            number = int(value)
            new = str(rng.choice([number + 1, number * 2 + 1, max(number - 1, 0) if number > 1 else number + 2]))
        elif value in _BOOL_TEXT and node.type in ("true", "false", "boolean_literal", "boolean"):
            new = _BOOL_TEXT[value]
        else:
            continue
        out.append((_replace_bytes(data, node.start_byte, node.end_byte, new), value))
    return out


def condition_changes(text: str, grammar: str, rng: random.Random) -> list[tuple[str, str]]:
    """Every comparison or boolean operator inside a function, flipped (`<` to `<=`, `&&` to `||`)."""
    return [(_replace_bytes(data, node.start_byte, node.end_byte, _OPERATORS[node.type]), node.type)
            for data, node in _inside_functions(text, grammar)
            if node.type in _OPERATORS and not node.is_named and node.parent is not None
            and node.parent.type in _BINARY_PARENTS]


# Where a local variable is declared: (parent node type, field holding the name).
_DECLARATIONS = {("assignment", "left"), ("for_statement", "left"), ("variable_declarator", "name"),
                 ("let_declaration", "pattern"), ("short_var_declaration", "left"), ("init_declarator", "declarator"), ("for_in_statement", "left")}
_NOT_RENAMED = {"self", "this", "cls", "_", "i", "j", "k", "err", "ctx"}
_SHORTHAND = {"shorthand_property_identifier", "shorthand_property_identifier_pattern"}


def _new_name(name: str, rng: random.Random, taken: str) -> str | None:
    """A plausible new identifier in the same case style that does not occur in the file yet."""
    camel = not "_" in name and any(c.isupper() for c in name[1:])
    suffixes = ["value", "item", "result", "data", "current", "tmp", "entry", "info"]
    rng.shuffle(suffixes)
    for suffix in suffixes:
        new = name + suffix.capitalize() if camel else f"{name}_{suffix}"
        if not re.search(rf"(?<![\w$]){re.escape(new)}(?![\w$])", taken):
            return new
    return None


def _in_parameters(node, func) -> bool:
    parent = node.parent
    while parent is not None and parent != func:
        if "parameter" in parent.type:
            return True
        parent = parent.parent
    return False


def _renamable(node, func) -> bool:
    """An identifier that refers to the variable (not `obj.name`, not `f(name=...)`, not a module
    path in an import)."""
    parent = node.parent
    if parent is None:
        return True
    if parent.type in ("dotted_name", "scoped_identifier", "import_spec", "aliased_import"):
        return False
    if parent.type == "attribute" and parent.child_by_field_name("attribute") == node:
        return False
    if parent.type == "keyword_argument" and parent.child_by_field_name("name") == node:
        return False
    return True


def local_renames(text: str, grammar: str, rng: random.Random) -> list[tuple[str, str]]:
    """Every local variable renamed throughout its function (declaration and uses)."""
    tree = parse(text, grammar)
    if tree is None:
        return []
    data = text.encode("utf-8")
    out = []
    for func in _function_nodes(tree):
        nodes = list(walk(func))
        declared = []
        for node in nodes:
            parent = node.parent
            if parent is not None and parent.type == "expression_list":  # Go: `a, b := ...`
                node_in, parent = parent, parent.parent
            else:
                node_in = node
            if node.type == "identifier" and parent is not None and any(
                parent.type == ptype and parent.child_by_field_name(field) == node_in for ptype, field in _DECLARATIONS
            ):
                declared.append(node.text.decode("utf-8", "replace"))
        shorthand = {n.text.decode("utf-8", "replace") for n in nodes if n.type in _SHORTHAND}
        # A parameter is part of the signature (callers may pass it by keyword): never renamed.
        params = {n.text.decode("utf-8", "replace") for n in nodes if n.type == "identifier" and _in_parameters(n, func)}
        for name in sorted(set(declared) - _NOT_RENAMED - shorthand - params):
            if len(name) < 2:
                continue
            uses = [n for n in nodes if n.type == "identifier" and n.text.decode("utf-8", "replace") == name
                    and _renamable(n, func)]
            new = _new_name(name, rng, text)
            if len(uses) < 2 or new is None:
                continue
            mutated = data
            for node in sorted(uses, key=lambda n: n.start_byte, reverse=True):
                mutated = mutated[: node.start_byte] + new.encode("utf-8") + mutated[node.end_byte:]
            out.append((mutated.decode("utf-8"), name))
    return out


_VERB_SWAPS = {"get": "fetch", "fetch": "get", "make": "create", "create": "make", "build": "construct",
               "parse": "read", "check": "validate", "validate": "check", "remove": "delete", "delete": "remove",
               "update": "refresh", "load": "read", "find": "lookup", "compute": "calculate", "to": "as",
               "is": "has", "has": "is", "add": "append", "format": "render", "render": "format"}
_NOT_FUNCTIONS = {"main", "init", "constructor", "new", "setup", "teardown", "default", "toString", "run", "call"}


def _renamed_function(name: str, rng: random.Random) -> str:
    """Swap a leading verb (`get_x` -> `fetch_x`, `getX` -> `fetchX`), else add a suffix."""
    head = re.match(r"^(_*)([a-z]+)(.*)$", name)
    if head and head.group(2) in _VERB_SWAPS and head.group(3)[:1] in ("_", "") + tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ"):
        return head.group(1) + _VERB_SWAPS[head.group(2)] + head.group(3)
    camel = "_" not in name.strip("_") and any(c.isupper() for c in name)
    suffix = rng.choice(["impl", "helper", "inner", "internal"])
    return name + suffix.capitalize() if camel or name[:1].isupper() else f"{name}_{suffix}"


def function_renames(text: str, grammar: str, rng: random.Random) -> list[tuple[str, str]]:
    """A function defined once and used elsewhere in the file, renamed everywhere it appears."""
    names = [name for name, _, _ in function_spans(text, grammar)]
    out = []
    for name in sorted(set(names)):
        if names.count(name) != 1 or len(name) < 4 or name.startswith("__") or name in _NOT_FUNCTIONS:
            continue
        pattern = re.compile(rf"(?<![\w$]){re.escape(name)}(?![\w$])")
        if len(pattern.findall(text)) < 2:
            continue
        new = _renamed_function(name, rng)
        if re.search(rf"(?<![\w$]){re.escape(new)}(?![\w$])", text):
            continue
        out.append((pattern.sub(new, text), name))
    return out


# --- line-level mutations (any language) ----------------------------------------------------------
_IMPORT_LINES = {
    "python": re.compile(r"^(?:import [\w., ]+|from [\w.]+ import [\w, ]+)\s*$"),
    "javascript": re.compile(
        r"^(?:import [^;]+ from ['\"][^'\"]+['\"];?|import ['\"][^'\"]+['\"];?"
        r"|(?:const|let|var) [\w{}, ]+ = require\(['\"][^'\"]+['\"]\)(?:\.\w+)*;?)\s*$"
    ),
    "c": re.compile(r"^#\s*include\s*[<\"][^>\"]+[>\"]\s*$"),
    "java": re.compile(r"^import [\w.*]+;\s*$"),
    "go": re.compile(r"^(?:import )?\t?(?:\w+ )?\"[\w./-]+\"\s*$"),
    "rust": re.compile(r"^use [^;{}]+;\s*$"),
}
_IMPORT_LINES["typescript"] = _IMPORT_LINES["javascript"]
_IMPORT_LINES["cpp"] = _IMPORT_LINES["c"]


def import_lines(text: str, language: str) -> list[int]:
    pattern = _IMPORT_LINES.get(language)
    if pattern is None:
        return []
    return [i for i, line in enumerate(text.split("\n")) if pattern.match(line)]


_PRAGMAS = ("noqa", "type:", "pragma", "eslint", "istanbul", "prettier", "@ts-", "go:", "nolint", "clang-format",
            "fmt:", "pylint", "isort", "tslint", "-*-", "!", "...", "license", "copyright", "spdx", "c8 ")


def comment_lines(text: str, language: str) -> list[int]:
    """Whole-line comments of four words or more that are prose, not tool pragmas."""
    prefix = detect(f"x.{_EXT.get(language, 'txt')}").line_comment
    if not prefix:
        return []
    out = []
    for i, line in enumerate(text.split("\n")):
        body = line.strip()
        if body.startswith(prefix) and not body.startswith(prefix + prefix[-1]):
            words = body[len(prefix):].split()
            if len(words) >= 4 and not any(p in body.lower() for p in _PRAGMAS):
                out.append(i)
    return out


_EXT = {"python": "py", "javascript": "js", "typescript": "ts", "c": "c", "cpp": "cpp", "java": "java",
        "go": "go", "rust": "rs"}
_COMMENT_HEAD = re.compile(r"^(\s*(?:#|//)\s*)(.*)$")
_DOC_LINE = re.compile(r"^(\s*(?:[rRuU]?\"\"\"|[rRuU]?'''|/\*\*|\*|///|//!)\s*)([A-Za-z`].*\S)\s*$")


def doc_lines(text: str) -> list[int]:
    """First lines of docstrings and JSDoc/Javadoc prose lines (not `@param` tags)."""
    return [i for i, line in enumerate(text.split("\n")) if (m := _DOC_LINE.match(line)) and len(m.group(2).split()) >= 5]


def _truncated(line: str, rng: random.Random, pattern: re.Pattern | None = None) -> str:
    """The line with its prose cut after a random number of words (the edit restores the rest);
    docstring closing quotes are kept."""
    if pattern is not None:
        head, prose = pattern.match(line).groups()
    else:
        head, prose = _COMMENT_HEAD.match(line).groups()
    closing = next((q for q in ('"""', "'''", "*/") if prose.endswith(q)), "")
    words = prose[: len(prose) - len(closing)].split()
    keep = rng.randint(max(1, len(words) // 3), max(1, len(words) - 2))
    return head + " ".join(words[:keep]) + (closing and (" " + closing if closing == "*/" else closing))


# --- choosing ---------------------------------------------------------------------------------------
def candidates(text: str, language: str, path: str, rng: random.Random) -> dict[str, Callable[[], list[tuple[str, str]]]]:
    """Per mutation kind, a thunk giving its (original, target) pairs; thunks keep the cost down to
    the kinds actually drawn."""
    grammar = structure.grammar_name(language, path)
    lines = text.split("\n")

    def flip(pairs):  # mutated -> real: the target is the real file
        return [(mutated, text) for mutated, _ in pairs]

    def keep(pairs):  # real -> mutated
        return [(text, mutated) for mutated, _ in pairs]

    def without(indices):
        return [("\n".join(lines[:i] + lines[i + 1:]), "") for i in indices]

    def reorders():
        imports = import_lines(text, language)
        out = []
        for a, b in zip(imports, imports[1:]):
            if b == a + 1 and lines[a] != lines[b]:
                swapped = lines[:a] + [lines[b], lines[a]] + lines[b + 1:]
                out.append(("\n".join(swapped), ""))
        return flip(out)

    return {
        "delete-function": lambda: keep(delete_function(text, grammar, rng)),
        "add-function": lambda: flip(delete_function(text, grammar, rng)),
        "change-literal": lambda: flip(literal_changes(text, grammar, rng)),
        "change-condition": lambda: flip(condition_changes(text, grammar, rng)),
        "rename-local": lambda: keep(local_renames(text, grammar, rng)),
        "rename-function": lambda: keep(function_renames(text, grammar, rng)),
        "import-remove": lambda: keep(without(import_lines(text, language))),
        "import-add": lambda: flip(without(import_lines(text, language))),
        "import-reorder": reorders,
        "comment-add": lambda: flip(without(comment_lines(text, language))),
        "comment-edit": lambda: flip([("\n".join(lines[:i] + [_truncated(lines[i], rng)] + lines[i + 1:]), "")
                                      for i in comment_lines(text, language)]),
        "docstring-edit": lambda: flip([("\n".join(lines[:i] + [_truncated(lines[i], rng, _DOC_LINE)] + lines[i + 1:]), "")
                                        for i in doc_lines(text)]),
    }


def mutate(file: SourceFile, seed: str, per_file: int = 4) -> list[Mutation]:
    """Up to `per_file` mutations of one file, each of a different kind, drawn deterministically."""
    rng = rng_for(seed, file.source, file.path)
    grammar = structure.grammar_name(file.language, file.path)
    reference = structure.parses_cleanly(file.text, grammar)
    kinds = list(MUTATIONS)
    rng.shuffle(kinds)
    thunks = candidates(file.text, file.language, file.path, rng)
    out: list[Mutation] = []
    for kind in kinds:
        if len(out) >= per_file:
            break
        pairs = [(o, t) for o, t in thunks[kind]() if o != t]
        rng.shuffle(pairs)
        for original, target in pairs[:3]:  # a few tries: some mutations break the parse
            if parses_like(reference, original, grammar) and parses_like(reference, target, grammar):
                out.append(Mutation(kind, original, target))
                break
    return out


def to_example(file: SourceFile, mutation: Mutation, index: int, seed: str) -> Example:
    """A whole-file synthetic example: snippet and instruction rendered from the pair."""
    example_id = f"synthetic/{file.source}/{file.path}#{mutation.kind}:{index}"
    style = snippets.style_for(f"{seed}:{example_id}")
    return Example(
        id=example_id,
        kind="synthetic",
        language=file.language,
        source=file.source,
        path=file.path,
        instruction=snippets.describe_edit(mutation.original, mutation.target, file.path),
        original=mutation.original,
        snippet=snippets.render_snippet(mutation.original, mutation.target, detect(file.path), style),
        target=mutation.target,
        unit="file",
        mutation=mutation.kind,
    )


def synthetic_examples(file: SourceFile, seed: str, per_file: int = 4) -> list[Example]:
    return [to_example(file, m, i, seed) for i, m in enumerate(mutate(file, seed, per_file))]
