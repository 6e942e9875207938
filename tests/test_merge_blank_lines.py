"""Blank lines the snippet shares with the original survive the merge (regressions).

A hunk that ends (or starts) with blank lines next to a marker used to lose them: the
blank lines were matched to the original's, so the span covered the original's blank
lines, and then they were trimmed from the hunk as marker layout.
"""
from __future__ import annotations

from pathlib import Path
from textwrap import dedent

from fastapply.merge import merge

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def d(text: str) -> str:
    return dedent(text).lstrip("\n")


def test_trailing_blank_line_before_marker_is_kept():
    original = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"
    snippet = "def add(a, b):\n    print(a, b)\n    return a + b\n\n\n# ... existing code ...\n"
    expected = "def add(a, b):\n    print(a, b)\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"
    assert merge(original, snippet, path="m.py").text == expected


def test_method_hunk_ending_in_blank_line_keeps_spacing():
    original = d("""
        class Shop:
            def restock(self, sku, amount):
                self.items[sku] += amount

            def value(self):
                return 0
    """)
    snippet = (
        "    def restock(self, sku, amount):\n"
        "        if amount <= 0:\n"
        '            raise ValueError("amount")\n'
        "        self.items[sku] += amount\n"
        "\n"
        "    # ... existing code ...\n"
    )
    assert merge(original, snippet, path="m.py").text == d("""
        class Shop:
            def restock(self, sku, amount):
                if amount <= 0:
                    raise ValueError("amount")
                self.items[sku] += amount

            def value(self):
                return 0
    """)


def test_leading_blank_lines_after_marker_are_kept():
    original = "import os\n\n\ndef a():\n    return 1\n\n\ndef b():\n    return 2\n"
    snippet = "# ... existing code ...\n\n\ndef b():\n    return 3\n"
    assert merge(original, snippet, path="m.py").text == "import os\n\n\ndef a():\n    return 1\n\n\ndef b():\n    return 3\n"


def test_blank_lines_around_a_middle_hunk_in_javascript():
    original = "function a() {\n  return 1;\n}\n\nfunction b() {\n  return 2;\n}\n\nfunction c() {\n  return 3;\n}\n"
    snippet = "// ... existing code ...\n\nfunction b() {\n  return 20;\n}\n\n// ... existing code ...\n"
    assert merge(original, snippet, path="m.js").text == original.replace("return 2;", "return 20;")


def test_example_app_snippet_keeps_blank_line_between_methods():
    original = (EXAMPLES / "app.py").read_text()
    result = merge(original, (EXAMPLES / "app.snippet.py").read_text(), path="app.py")
    assert result.ok
    assert "        self.items[sku].quantity += amount\n\n    def value_cents(self) -> int:\n" in result.text
    # Nothing but the two inserted lines differs.
    assert [l for l in result.text.splitlines() if l not in original.splitlines()] == [
        "        if amount <= 0:",
        '            raise ValueError("amount must be positive")',
    ]
    assert len(result.text.splitlines()) == len(original.splitlines()) + 2


def test_doc_comment_line_edit_keeps_the_rest_of_the_comment():
    # The marker at column 0 after ` * ` lines says nothing about where the comment ends:
    # dropping "the rest of the block" there ran through the comment's `*/`.
    original = d("""
        /**
         * Example:
         *     // Make all buffers required.
         *     mongoose.Schema.Buffer.set('required', true);
         *
         * @param {String} option
         * @api public
         */

        SchemaBuffer.set = SchemaType.set;

        /**
         * Other.
         */
        SchemaBuffer.get = SchemaType.get;
    """)
    snippet = d("""
        // ... existing code ...
         *     // Make all buffers required.
         *     mongoose.Schema.Types.Buffer.set('required', true);
         *
        // ... existing code ...
    """)
    result = merge(original, snippet, path="m.js")
    # Kept: every line of the comment after the edit (a low-confidence insertion at worst).
    assert result.text is not None and " * @param {String} option\n * @api public\n */\n" in result.text
    assert result.confidence < 0.9


def test_method_body_replaced_up_to_its_own_end_not_the_class():
    original = d("""
        class A:
            def f(self):
                a()
                b()

            def g(self):
                return 2
    """)
    snippet = "    def f(self):\n        c()\n# ... existing code ...\n"
    assert merge(original, snippet, path="m.py").text == d("""
        class A:
            def f(self):
                c()

            def g(self):
                return 2
    """)


def test_new_assignment_next_to_the_same_target_is_doubted():
    # Lazy semantics insert the new line; the original assigns the same target right there,
    # so it was more likely replaced: not confident enough for auto mode to write alone.
    original = "a = 1\nb.c = 'x'\nd = 4\n\ne = 5\n"
    snippet = "a = 1\nb.c = 'y; longer text'\n\n# ... existing code ...\n"
    result = merge(original, snippet, path="m.py")
    assert result.ok and result.confidence < 0.9
    assert any("resembles original" in r for r in result.reasons)


def test_edge_without_marker_in_a_snippet_with_markers_is_below_the_fallback_threshold():
    original = "import os\n\nX = 1\n\n\ndef a():\n    return 1\n\n\ndef b():\n    return 2\n"
    snippet = "def a():\n    return 10\n\n\n# ... existing code ...\n"
    result = merge(original, snippet, path="m.py")
    assert result.text == original.replace("return 1\n", "return 10\n")  # kept, but doubted
    assert result.confidence == 0.8 and "no marker at the snippet's edge" in result.reasons[0]


def test_hunk_opening_with_closers_inserts_after_the_same_closers():
    # The snippet shows the end of the previous method as context, then a new method.
    original = d("""
        class A {
          f(x) {
            if (x) {
              g();
            }
          }

          /**
           * Docs of h.
           */
          h() {}
        }
    """)
    snippet = d("""
        // ... existing code ...
            }
          }

          added() {
            return 1;
          }

          /**
           * Docs of h.
        // ... existing code ...
    """)
    assert merge(original, snippet, path="m.js").text == d("""
        class A {
          f(x) {
            if (x) {
              g();
            }
          }

          added() {
            return 1;
          }

          /**
           * Docs of h.
           */
          h() {}
        }
    """)
