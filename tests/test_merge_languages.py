"""Merge cases per language and marker style: JS/TS/TSX, Java, C, C++, Go, Rust, HTML.

All of these anchor on text alone, so they run without tree-sitter; with it, the
parse guard checks every merged result as well.
"""
from __future__ import annotations

from textwrap import dedent

from fastapply.merge import merge


def d(text: str) -> str:
    return dedent(text).lstrip("\n")


JS = d("""
    const express = require("express");
    const app = express();

    app.get("/", (req, res) => {
      res.send("hi");
    });

    app.listen(3000);
""")


def test_js_new_route_between_existing_statements():
    snippet = d("""
        // ... existing code ...
        app.get("/", (req, res) => {
          res.send("hi");
        });

        app.get("/health", (req, res) => {
          res.json({ ok: true });
        });
        // ... existing code ...
    """)
    r = merge(JS, snippet, path="server.js")
    assert r.text == JS.replace(
        "});\n\napp.listen", '});\n\napp.get("/health", (req, res) => {\n  res.json({ ok: true });\n});\n\napp.listen'
    )
    assert r.confidence == 1.0


def test_js_pure_deletion_without_markers():
    r = merge(JS, 'const express = require("express");\nconst app = express();\n\napp.listen(3000);\n', path="s.js")
    assert r.text == 'const express = require("express");\nconst app = express();\n\napp.listen(3000);\n'


def test_js_function_body_replaced_and_closing_brace_mapped():
    original = "function foo() {\n  a();\n  b();\n}\n\nfunction bar() {\n  c();\n}\n"
    r = merge(original, "// ... existing code ...\nfunction foo() {\n  z();\n}\n// ... existing code ...\n", path="f.js")
    assert r.text == "function foo() {\n  z();\n}\n\nfunction bar() {\n  c();\n}\n"
    assert r.confidence == 1.0


def test_js_marker_inside_body_then_closer_in_next_hunk():
    original = "function foo() {\n  a();\n  b();\n}\n\nfunction bar() {\n  c();\n}\n"
    snippet = "function foo() {\n  // ... existing code ...\n  z();\n}\n// ... existing code ...\n"
    r = merge(original, snippet, path="f.js")
    assert r.text == "function foo() {\n  a();\n  b();\n  z();\n}\n\nfunction bar() {\n  c();\n}\n"


def test_js_spread_line_is_code_not_a_marker():
    original = "const s = {\n  a: 1,\n};\n"
    snippet = "const s = {\n  ...defaults,\n  a: 1,\n};\n"
    assert merge(original, snippet, path="s.js").text == snippet


def test_tsx_jsx_comment_marker():
    original = d("""
        export function App({ name }: { name: string }) {
          return (
            <div>
              <h1>{name}</h1>
              <p>old</p>
            </div>
          );
        }
    """)
    snippet = d("""
        // ... existing code ...
            <div>
              {/* ... existing code ... */}
              <p>new</p>
            </div>
        // ... existing code ...
    """)
    r = merge(original, snippet, path="App.tsx")
    assert r.text == original.replace("<p>old</p>\n", "<p>old</p>\n      <p>new</p>\n")
    assert r.confidence == 1.0


def test_ts_interface_field_added_at_file_start():
    original = d("""
        export interface User {
          id: number;
          name: string;
        }

        export function greet(u: User): string {
          return `hi ${u.name}`;
        }
    """)
    snippet = "export interface User {\n  id: number;\n  name: string;\n  email?: string;\n}\n// ... existing code ...\n"
    r = merge(original, snippet, path="user.ts")
    assert r.text == original.replace("name: string;\n", "name: string;\n  email?: string;\n")
    assert r.confidence == 1.0


JAVA = d("""
    package demo;

    public class Calc {
        private int total;

        public int add(int a, int b) {
            return a + b;
        }

        public int sub(int a, int b) {
            return a - b;
        }
    }
""")


def test_java_edit_method_and_add_method_before_class_end():
    snippet = d("""
        // ... existing code ...
            public int sub(int a, int b) {
                total -= b;
                return a - b;
            }

            public int mul(int a, int b) {
                return a * b;
            }
        }
    """)
    r = merge(JAVA, snippet, path="Calc.java")
    assert r.text == JAVA.replace(
        "    public int sub(int a, int b) {\n        return a - b;\n    }\n",
        "    public int sub(int a, int b) {\n        total -= b;\n        return a - b;\n    }\n\n"
        "    public int mul(int a, int b) {\n        return a * b;\n    }\n",
    )
    assert r.confidence == 1.0


def test_java_block_comment_marker_inside_class():
    snippet = "public class Calc {\n    /* ... */\n    public void reset() {\n        total = 0;\n    }\n}\n"
    r = merge(JAVA, snippet, path="Calc.java")
    assert r.text == JAVA.replace("        return a - b;\n    }\n}", "        return a - b;\n    }\n    public void reset() {\n        total = 0;\n    }\n}")


C = d("""
    #include <stdio.h>

    static int square(int x) {
        return x * x;
    }

    int main(void) {
        printf("%d\\n", square(3));
        return 0;
    }
""")


def test_c_new_line_that_resembles_a_kept_one_is_inserted_with_low_confidence():
    snippet = 'int main(void) {\n    printf("%d\\n", square(4));\n    /* ... */\n}\n'
    r = merge(C, "/* ... */\n" + snippet, path="m.c")
    assert r.text == C.replace('    printf("%d\\n", square(3));', '    printf("%d\\n", square(4));\n    printf("%d\\n", square(3));')
    assert r.confidence == 0.6 and "resembles original" in r.reasons[0]


def test_c_function_inserted_between_two_functions():
    snippet = d("""
        /* ... */
            return x * x;
        }

        static int cube(int x) {
            return x * square(x);
        }

        int main(void) {
        /* ... */
    """)
    r = merge(C, snippet, path="m.c")
    assert r.text == C.replace("}\n\nint main", "}\n\nstatic int cube(int x) {\n    return x * square(x);\n}\n\nint main")
    assert r.confidence == 1.0


CPP = d("""
    namespace geo {

    class Square {
    public:
        explicit Square(double s) : side_(s) {}
        double area() const {
            return side_ * side_;
        }
    private:
        double side_;
    };

    }  // namespace geo
""")


def test_cpp_method_added_inside_class_with_nested_marker():
    snippet = d("""
        // ... existing code ...
            double area() const {
                return side_ * side_;
            }
            double perimeter() const {
                return 4 * side_;
            }
        private:
            // ... existing code ...
        };
        // ... existing code ...
    """)
    r = merge(CPP, snippet, path="geo.cpp")
    assert r.text == CPP.replace("    }\nprivate:", "    }\n    double perimeter() const {\n        return 4 * side_;\n    }\nprivate:")
    assert r.confidence == 1.0


GO = d("""
    package main

    import "fmt"

    func greet(name string) string {
    \treturn "hi " + name
    }

    func main() {
    \tfmt.Println(greet("bob"))
    }
""")


def test_go_edit_with_tabs_and_end_of_file_edit():
    snippet = '// ... existing code ...\nfunc main() {\n\tfmt.Println(greet("ann"))\n}\n'
    r = merge(GO, snippet, path="main.go")
    assert r.text == GO.replace('greet("bob")', 'greet("ann")')
    assert r.confidence == 1.0


RUST = d("""
    struct P { x: i32 }

    impl P {
        fn new(x: i32) -> Self {
            P { x }
        }

        fn get(&self) -> i32 {
            self.x
        }
    }
""")


def test_rust_edit_method_and_add_one_in_impl():
    snippet = d("""
        // ... existing code ...
        impl P {
            // ... existing code ...
            fn get(&self) -> i32 {
                self.x * 2
            }

            fn set(&mut self, x: i32) {
                self.x = x;
            }
        }
    """)
    r = merge(RUST, snippet, path="p.rs")
    assert r.text == RUST.replace("        self.x\n    }\n", "        self.x * 2\n    }\n\n    fn set(&mut self, x: i32) {\n        self.x = x;\n    }\n")
    assert r.confidence == 1.0


def test_html_comment_markers():
    original = "<html>\n  <body>\n    <h1>Title</h1>\n    <footer>f</footer>\n  </body>\n</html>\n"
    snippet = "<!-- ... existing code ... -->\n    <h1>Title</h1>\n    <p>Intro</p>\n    <!-- ... -->\n"
    r = merge(original, snippet, path="index.html")
    assert r.text == original.replace("</h1>\n", "</h1>\n    <p>Intro</p>\n")
    assert r.confidence == 1.0
