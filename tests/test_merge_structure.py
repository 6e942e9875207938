"""The structural level: tree-sitter definitions, structural anchors, the parse guard.

Skipped where tree-sitter or a grammar is not installed (the fast tier); the text
levels in test_merge.py still run there.
"""
from __future__ import annotations

import pytest

from fastapply.merge import merge
from fastapply.merge.structure import Definition, definitions, parses_cleanly

pytest.importorskip("tree_sitter")


@pytest.mark.parametrize(
    "grammar, source, expected",
    [
        ("python", "class A:\n    @staticmethod\n    def f():\n        pass\n",
         [Definition("type", "A", 0), Definition("function", "f", 2)]),
        ("javascript", "const g = () => 1;\nclass C {\n  m() {}\n}\n",
         [Definition("function", "g", 0), Definition("type", "C", 1), Definition("function", "m", 2)]),
        ("typescript", "interface I { x: number }\nfunction h(): void {}\n",
         [Definition("type", "I", 0), Definition("function", "h", 1)]),
        ("java", "class K {\n  @Override\n  public String toString() { return \"\"; }\n}\n",
         [Definition("type", "K", 0), Definition("function", "toString", 2)]),
        ("c", "static int sq(int x) {\n  return x * x;\n}\n", [Definition("function", "sq", 0)]),
        ("cpp", "int A::foo(int x) {\n  return x;\n}\n", [Definition("function", "A::foo", 0)]),
        ("go", "func (p *P) Get() int {\n\treturn 1\n}\n", [Definition("function", "Get", 0)]),
        ("rust", "impl P {\n    fn get(&self) -> i32 { 1 }\n}\n",
         [Definition("type", "P", 0), Definition("function", "get", 1)]),
    ],
)
def test_definitions_per_language(grammar, source, expected):
    pytest.importorskip(f"tree_sitter_{'typescript' if grammar == 'typescript' else grammar}")
    assert definitions(source, grammar) == expected


def test_unknown_grammar_is_none_not_an_error():
    assert definitions("x", "cobol") is None and parses_cleanly("x", "cobol") is None


GO = 'package main\n\nimport "fmt"\n\nfunc greet(name string) string {\n\treturn "hi " + name\n}\n\nfunc main() {\n\tfmt.Println(greet("bob"))\n}\n'


def test_go_signature_and_body_changed_anchored_by_definition_name():
    pytest.importorskip("tree_sitter_go")
    snippet = (
        "// ... existing code ...\nfunc greet(name string, loud bool) string {\n\tif loud {\n"
        '\t\treturn "HI " + name\n\t}\n\treturn "hi " + name\n}\n// ... existing code ...\n'
    )
    r = merge(GO, snippet, path="main.go")
    assert r.text == GO.replace(
        "func greet(name string) string {\n",
        'func greet(name string, loud bool) string {\n\tif loud {\n\t\treturn "HI " + name\n\t}\n',
    )
    assert r.confidence == 0.9 and r.reasons == ["1 line(s) anchored by definition kind and name only"]


def test_js_whole_function_rewritten_anchored_by_name():
    pytest.importorskip("tree_sitter_javascript")
    original = "function foo() {\n  a();\n}\n\nfunction bar() {\n  c();\n}\n"
    r = merge(original, "// ... existing code ...\nfunction foo(x) {\n  return x;\n}\n// ... existing code ...\n", path="f.js")
    assert r.text == "function foo(x) {\n  return x;\n}\n\nfunction bar() {\n  c();\n}\n"
    assert r.confidence == 0.9


def test_python_renamed_anchor_function_reports_the_rename():
    pytest.importorskip("tree_sitter_python")
    original = "import os\n\n\ndef old(x):\n    y = x * 2\n    return y + 1\n\n\ndef other():\n    pass\n"
    snippet = "# ... existing code ...\ndef new(x):\n    y = x * 2\n    return y + 1\n# ... existing code ...\n"
    r = merge(original, snippet, path="m.py")
    assert r.text == original.replace("def old(x):", "def new(x):")
    assert r.confidence == 0.85  # below auto's fallback threshold: a rename is a guess
    assert r.reasons == ["block opener 'def old(x):' renamed old -> new as 'def new(x):'"]


def test_result_that_no_longer_parses_is_refused():
    pytest.importorskip("tree_sitter_javascript")
    # The snippet opens a block it never closes: the text levels alone would splice it in.
    original = "function foo() {\n  a();\n}\n\nfunction bar() {\n  c();\n}\n"
    original = original.replace("c();", "log(c);")
    r = merge(original, "// ... existing code ...\n  log(c);\n  if (x) {\n// ... existing code ...\n", path="f.js")
    assert r.text is None
    assert r.reasons == ["the merged text does not parse as javascript while the original does"]


def test_python_stub_ellipsis_is_code_for_a_new_stub():
    pytest.importorskip("tree_sitter_python")
    original = "class P:\n    def a(self) -> int:\n        return 1\n"
    snippet = "class P:\n    # ... existing code ...\n    def b(self) -> int:\n        ...\n"
    r = merge(original, snippet, path="p.pyi")
    assert r.text == "class P:\n    def a(self) -> int:\n        return 1\n    def b(self) -> int:\n        ...\n"
