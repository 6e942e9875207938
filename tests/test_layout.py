"""The house rules, checked from the code's own imports (docs/architecture.md draws the map):
no import cycles between fastapply's modules (imports inside functions count too), every
module opens with a docstring, no module reaches for another module's private names, and the
speculative core imports no backend, settings or runtime."""
from __future__ import annotations

import ast
from pathlib import Path

import fastapply

ROOT = Path(fastapply.__file__).parent


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def imports(name: str, path: Path) -> list[tuple[str, list[str]]]:
    """(imported fastapply module, names taken from it) for every import in the file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names if a.name.startswith("fastapply")]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if base.startswith("fastapply"):
                found.append((base, [a.name for a in node.names]))
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        for target, names in imports(name, path):
            # `from pkg import mod` imports the submodule; `from mod import name` the module.
            for sub in names:
                if f"{target}.{sub}" in mods:
                    edges[name].add(f"{target}.{sub}")
            if target in mods and not all(f"{target}.{sub}" in mods for sub in names or ["-"]):
                edges[name].add(target)
    for name in edges:  # a package's own __init__ re-exporting its modules is not a cycle
        edges[name] = {t for t in edges[name] if t != name and not name.startswith(t + ".")}
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    found, state, stack = [], {}, []

    def visit(node: str) -> None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


def test_no_import_cycles():
    assert cycles(graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]


def test_every_module_says_what_it_is_for():
    missing = [name for name, path in modules().items()
               if not ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))]
    assert missing == []


def test_no_private_names_cross_modules():
    leaks = []
    for name, path in modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported_modules = set()
        for target, names in imports(name, path):
            leaks += [f"{name}: from {target} import {n}" for n in names if n.startswith("_") and n != "__version__"]
            imported_modules.update(names)
        for node in ast.walk(tree):  # module._private, for a module this file imported
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                    and isinstance(node.value, ast.Name) and node.value.id in imported_modules):
                leaks.append(f"{name}: {node.value.id}.{node.attr}")
    assert leaks == []


def test_the_speculative_core_imports_only_itself():
    core = {n: p for n, p in modules().items() if n.startswith("fastapply.speculative")}
    outside = sorted({t for n, p in core.items() for t, _ in imports(n, p) if not t.startswith("fastapply.speculative")})
    assert outside == []
