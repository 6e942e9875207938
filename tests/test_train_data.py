"""The training-data builder: synthetic mutations, windows, filters, mix, determinism, manifest."""
from __future__ import annotations

import difflib
import io
import json
import re
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from fastapply.corpus import mining
from fastapply.merge import merge, structure
from fastapply.train import data, synth
from fastapply.cli.data import data_group
from fastapply.train.example import Example, SourceFile, read_jsonl

needs_grammars = pytest.mark.skipif(
    not all(structure.available(g) for g in ("python", "javascript", "go", "rust", "c")),
    reason="tree-sitter grammars not installed",
)

PY = '''import os
import sys
from pathlib import Path


def load(path):
    # Read the whole file and strip the trailing spaces.
    text = Path(path).read_text()
    return text.strip()


def count_lines(path, limit=10):
    """Count the lines of a file, up to a limit of lines."""
    total = 0
    for line in load(path).splitlines():
        if total >= limit:
            break
        total += 1
    return total


def main():
    print(count_lines(sys.argv[1]))
    print(os.getcwd())
'''

JS = '''const fs = require("fs");
const path = require("path");

/**
 * Read a file and return its trimmed text content.
 */
function load(file) {
  // Read the whole file as UTF-8 text.
  const text = fs.readFileSync(file, "utf8");
  return text.trim();
}

function countLines(file, limit) {
  let total = 0;
  for (const line of load(file).split("\\n")) {
    if (total >= limit) {
      break;
    }
    total += 1;
  }
  return total;
}

module.exports = { countLines, base: path.basename(__filename), debug: false };
'''

GO = '''package main

import (
\t"fmt"
\t"os"
\t"strings"
)

// load reads a file and returns its trimmed text.
func load(path string) string {
\tdata, _ := os.ReadFile(path)
\treturn strings.TrimSpace(string(data))
}

func countLines(path string, limit int) int {
\ttotal := 0
\tfor range strings.Split(load(path), "\\n") {
\t\tif total >= limit {
\t\t\tbreak
\t\t}
\t\ttotal += 1
\t}
\treturn total
}

func main() {
\tfmt.Println(countLines(os.Args[1], 10))
}
'''

RUST = '''use std::env;
use std::fs;

/// Read a file and return its trimmed text.
fn load(path: &str) -> String {
    // Read the whole file as UTF-8 text.
    let text = fs::read_to_string(path).unwrap();
    text.trim().to_string()
}

fn count_lines(path: &str, limit: usize) -> usize {
    let mut total = 0;
    for _line in load(path).lines() {
        if total >= limit {
            break;
        }
        total += 1;
    }
    total
}

fn main() {
    let args: Vec<String> = env::args().collect();
    println!("{}", count_lines(&args[1], 10));
}
'''

C = '''#include <stdio.h>
#include <string.h>

/* Count the lines of a file, up to a limit. */
static int count_lines(FILE *file, int limit) {
    int total = 0;
    int c;
    while ((c = fgetc(file)) != EOF) {
        if (total >= limit) {
            break;
        }
        if (c == 10) {
            total += 1;
        }
    }
    return total;
}

int main(int argc, char **argv) {
    // Open the file named on the command line.
    FILE *file = fopen(argv[1], "r");
    printf("%d\\n", count_lines(file, 10));
    return 0;
}
'''

FILES = {"python": ("tool.py", PY), "javascript": ("tool.js", JS), "go": ("tool.go", GO),
         "rust": ("tool.rs", RUST), "c": ("tool.c", C)}


def changed_lines(a: str, b: str) -> tuple[list[str], list[str]]:
    """(lines only in a, lines only in b) of a line diff."""
    removed, added = [], []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a.splitlines(), b.splitlines(), autojunk=False).get_opcodes():
        if tag != "equal":
            removed += a.splitlines()[i1:i2]
            added += b.splitlines()[j1:j2]
    return removed, added


def pairs(language: str, kind: str, seed: str = "t") -> list[tuple[str, str]]:
    path, text = FILES[language]
    return synth.candidates(text, language, path, synth.rng_for(seed))[kind]()


# --- each mutation kind: exact target by construction ---------------------------------------------
@needs_grammars
def test_delete_function_python_exact():
    found = pairs("python", "delete-function")
    assert all(o == PY for o, _ in found) and len(found) == 3
    targets = [t for _, t in found]
    # The last function goes with the blank lines before it; a middle one with those after it.
    assert PY[: PY.index("\n\ndef main")] in targets
    start, end = PY.index("def count_lines"), PY.index("def main")
    assert PY[:start] + PY[end:] in targets


@needs_grammars
@pytest.mark.parametrize("language", ["python", "javascript", "go", "rust", "c"])
def test_delete_and_add_function_are_reverses(language):
    real = FILES[language][1]
    deletions = pairs(language, "delete-function")
    additions = pairs(language, "add-function")
    assert deletions and [(t, o) for o, t in deletions] == additions
    for original, target in deletions:
        removed, added = changed_lines(original, target)
        assert original == real and not [line for line in added if line.strip()]
        assert any(re.search(r"\b(def|function|func|fn|int)\b", line) for line in removed)


@needs_grammars
@pytest.mark.parametrize("language", ["python", "javascript", "go", "rust", "c"])
@pytest.mark.parametrize("kind", ["change-literal", "change-condition"])
def test_body_changes_have_the_real_file_as_target(language, kind):
    found = pairs(language, kind)
    assert found, f"no {kind} candidate in {language}"
    for original, target in found:
        removed, added = changed_lines(original, target)
        assert target == FILES[language][1] and len(removed) == len(added) == 1


@needs_grammars
@pytest.mark.parametrize("language", ["python", "javascript", "go", "rust", "c"])
def test_rename_local_renames_declaration_and_uses(language):
    found = pairs(language, "rename-local")
    assert found
    for original, target in found:
        removed, added = changed_lines(original, target)
        assert original == FILES[language][1] and len(removed) >= 2 and len(removed) == len(added)
        old = {w for line in removed for w in re.findall(r"\w+", line)}
        new = {w for line in added for w in re.findall(r"\w+", line)}
        (new_name,) = new - old
        old_name = re.sub(r"(_[a-z]+|[A-Z][a-z]+)$", "", new_name)
        assert old_name in old and new_name not in original
        assert [line.replace(new_name, old_name) for line in added] == removed


@needs_grammars
def test_rename_local_leaves_parameters_imports_and_attributes_alone():
    text = ("def build(trino=None, **kw):\n    from dialects.trino import Trino\n    trino = trino or Trino()\n"
            "    count = kw.count\n    count = count + trino.count\n    return f(count=count)\n")
    found = synth.local_renames(text, "python", synth.rng_for("s"))
    assert len(found) == 1
    (target, name), = found
    new = re.search(r"count_\w+", target).group(0)
    assert name == "count" and target == text.replace("    count =", f"    {new} =").replace(
        "count + ", f"{new} + ").replace("count=count", f"count={new}")


def test_rename_local_python_exact():
    found = [t for _, t in pairs("python", "rename-local")]
    expected = PY.replace("    text = Path", "    text_X = Path").replace("return text.strip", "return text_X.strip")
    assert any(re.sub(r"text_\w+", "text_X", t) == expected for t in found)


@needs_grammars
@pytest.mark.parametrize("language", ["python", "javascript", "go", "rust", "c"])
def test_rename_function_renames_every_call_site(language):
    found = pairs(language, "rename-function")
    assert found
    for original, target in found:
        removed, _ = changed_lines(original, target)
        old = re.findall(r"\w+", " ".join(removed))
        name = next(n for n in old if re.search(rf"\b{n}\b", original) and not re.search(rf"\b{n}\b", target))
        assert original.count(name) >= 2 and not re.search(rf"(?<![\w$]){name}(?![\w$])", target)


@pytest.mark.parametrize("language", ["python", "javascript", "go", "rust", "c"])
def test_import_mutations(language):
    real = FILES[language][1]
    removes, adds, reorders = (pairs(language, k) for k in ("import-remove", "import-add", "import-reorder"))
    assert removes and adds and reorders
    assert [(t, o) for o, t in removes] == adds
    for original, target in removes:
        removed, added = changed_lines(original, target)
        assert original == real and len(removed) == 1 and not added
        assert re.match(r"\s*(import|from|const|use|#include|\")|\t\"", removed[0])
    for original, target in reorders:
        assert target == real and sorted(original.splitlines()) == sorted(real.splitlines()) and original != real


@pytest.mark.parametrize("language", ["python", "javascript", "rust", "c"])
def test_comment_mutations_restore_the_real_comment(language):
    real = FILES[language][1]
    for kind in ("comment-add", "comment-edit"):
        found = pairs(language, kind)
        assert found, kind
        for original, target in found:
            removed, added = changed_lines(original, target)
            assert target == real and len(added) == 1 and added[0].strip().startswith(("#", "//"))
            if kind == "comment-edit":
                assert len(removed) == 1 and added[0].startswith(removed[0].rstrip())


@pytest.mark.parametrize("language", ["python", "javascript", "rust"])
def test_docstring_edit(language):
    found = pairs(language, "docstring-edit")
    assert found
    for original, target in found:
        removed, added = changed_lines(original, target)
        assert target == FILES[language][1] and len(removed) == len(added) == 1
        assert len(removed[0].split()) < len(added[0].split())
    if language == "python":
        (original, _), = found
        assert '    """Count the lines' in original and original.count('"""') == 2  # closing quotes kept


@needs_grammars
def test_mutate_is_deterministic_and_the_merge_reproduces_most_targets():
    examples = []
    for language, (path, text) in FILES.items():
        file = SourceFile("test:x@1", path, language, text)
        first = synth.synthetic_examples(file, "seed", per_file=12)
        assert first == synth.synthetic_examples(file, "seed", per_file=12)
        assert len({e.mutation for e in first}) == len(first) >= 6
        examples += first
    assert {e.language for e in examples} == set(FILES)
    reproduced = [e for e in examples if merge(e.original, e.snippet, path=e.path).text == e.target]
    assert len(reproduced) >= 0.75 * len(examples), [e.id for e in examples if e not in reproduced]
    for e in examples:
        assert e.kind == "synthetic" and e.unit == "file" and e.original != e.target and e.instruction


# --- windows ---------------------------------------------------------------------------------------
LONG = "".join(f"line {i} = {i}\n" for i in range(200))


def edit(text: str, *line_numbers: int) -> str:
    lines = text.splitlines(keepends=True)
    for n in line_numbers:
        lines[n] = lines[n].replace("=", "= 1 +")
    return "".join(lines)


def test_window_is_a_contiguous_slice_with_the_drawn_radius():
    target = edit(LONG, 100)
    (ow, tw), = data.windows(LONG, target, "s", radius=(4, 16))
    assert ow in LONG and tw in target and ow != tw
    prefix = LONG[: LONG.index(ow)]
    assert target.startswith(prefix) and target.endswith(LONG[LONG.index(ow) + len(ow):])
    before = len(prefix.splitlines())
    assert 4 <= 100 - before <= 16 and 4 <= before + len(ow.splitlines()) - 101 <= 16


def test_windows_that_touch_merge_and_far_ones_do_not():
    assert len(data.windows(LONG, edit(LONG, 100, 110), "s", radius=(8, 8))) == 1
    assert len(data.windows(LONG, edit(LONG, 50, 150), "s", radius=(8, 8))) == 2
    assert data.windows(LONG, edit(LONG, 50, 150), "s", radius=(8, 8), max_window=10) is None
    assert data.windows(LONG, LONG, "s") == []


def test_windows_handle_insertions_and_deletions():
    lines = LONG.splitlines(keepends=True)
    inserted = "".join(lines[:120] + ["new = 1\n", "more = 2\n"] + lines[120:])
    (ow, tw), = data.windows(LONG, inserted, "s", radius=(5, 5))
    assert tw.splitlines() == ow.splitlines()[:5] + ["new = 1", "more = 2"] + ow.splitlines()[5:]
    (ow, tw), = data.windows(inserted, LONG, "s", radius=(5, 5))
    assert ow.splitlines() == tw.splitlines()[:5] + ["new = 1", "more = 2"] + tw.splitlines()[5:]


def example(i: int = 0, path: str = "a.py", original: str = "a = 1\n", target: str = "a = 2\n",
            kind: str = "synthetic", source: str = "pypi:p@1") -> Example:
    return Example(id=f"{kind}/{source}/{path}#{i}", kind=kind, language="python", source=source, path=path,
                   instruction="", original=original, snippet="", target=target)


def config(**kw) -> data.BuildConfig:
    return data.BuildConfig(out=Path("unused.jsonl"), **kw)


def test_long_files_become_windows_short_files_stay_whole():
    cfg = config(window_lines=60)
    units, reason = data.to_units(example(original=LONG, target=edit(LONG, 30, 170)), cfg, 200)
    assert reason is None and len(units) == 2 and {u.unit for u in units} == {"window"}
    for unit in units:
        assert unit.n_lines <= 40 and unit.snippet and merge(unit.original, unit.snippet, path="a.py").text == unit.target
    short = example(original="x = 1\n" * 5, target="x = 1\n" * 4 + "x = 2\n")
    assert data.to_units(short, cfg, 5) == ([short], None)


# --- filters and mix ---------------------------------------------------------------------------------
def test_small_files_are_down_sampled():
    small = [(example(i, path=f"f{i}.py"), 50) for i in range(400)]
    big = [(example(i, path=f"g{i}.py"), 150) for i in range(50)]
    for keep, low, high in ((0.0, 0, 0), (1.0, 400, 400), (0.35, 100, 180)):
        rejected: Counter = Counter()
        kept = data._units(small + big, config(small_keep=keep, window_lines=1000), rejected)
        n_small = sum(e.path.startswith("f") for e in kept)
        assert low <= n_small <= high and len(kept) - n_small == 50
        assert rejected["synthetic:small-file-sampled-out"] == 400 - n_small


def test_select_caps_per_path_dedupes_and_drops_no_change():
    seen, per_path, rejected = set(), Counter(), Counter()
    same_path = [example(i, target=f"a = {i + 10}\n") for i in range(5)]
    other_release = [example(9, target="a = 99\n", source="pypi:p@2")]  # same project, same path
    duplicate = [example(20, path="b.py")] * 1 + [example(21, path="c.py")]  # same content, other path
    no_change = [example(30, path="d.py", target="a = 1\n")]
    kept = data.select(same_path + other_release + duplicate + no_change, config(per_path=3), seen, per_path, rejected)
    assert sum(e.path == "a.py" for e in kept) == 3
    assert rejected["synthetic:per-path-cap"] == 3 and rejected["synthetic:no-change"] == 1
    assert rejected["synthetic:duplicate"] >= 1 and len({e.content_key() for e in kept}) == len(kept)


def test_mix_keeps_the_ratio_and_the_limit():
    real = [example(i, kind="real") for i in range(10)]
    synthetic = [example(i) for i in range(100)]
    kinds = lambda xs: Counter(e.kind for e in xs)  # noqa: E731
    assert kinds(data.mix(real, synthetic, (1, 4), None, "s")) == {"real": 10, "synthetic": 40}
    assert kinds(data.mix(real, synthetic, (1, 4), 25, "s")) == {"real": 5, "synthetic": 20}
    assert kinds(data.mix(real, synthetic[:8], (1, 4), None, "s")) == {"real": 2, "synthetic": 8}
    assert kinds(data.mix(real, synthetic[:3], (1, 4), None, "s")) == {"real": 1, "synthetic": 3}
    assert kinds(data.mix(real, synthetic, (1, 0), None, "s")) == {"real": 10}
    assert data.mix(real, synthetic, (1, 4), None, "s") == data.mix(real, synthetic, (1, 4), None, "s")
    assert data.mix(real, synthetic, (1, 4), None, "s") != data.mix(real, synthetic, (1, 4), None, "t")


# --- manifest ----------------------------------------------------------------------------------------
def test_training_manifest_is_disjoint_from_the_benchmark_and_has_no_backports():
    _, sources = data.read_manifest()
    eval_names = {mining.normalize_name(e["name"]) for e in json.loads(data.EVAL_MANIFEST.read_text())["sources"]}
    names = [mining.normalize_name(s.name) for s in sources]
    assert len(names) == len(set(names)) >= 12
    assert not set(names) & eval_names
    assert not [n for n in names if mining.is_backport(n)]
    assert {s.registry for s in sources} == {"pypi", "npm"} and all(len(s.versions) >= 2 for s in sources)


def test_a_manifest_sharing_a_benchmark_project_is_refused(tmp_path):
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps({"sources": [
        {"registry": "pypi", "name": "Rich", "versions": ["1", "2"], "license": "MIT"}]}))
    with pytest.raises(ValueError, match="evaluation manifest"):
        data.read_manifest(manifest)


# --- a whole build, offline: a fabricated package in the download cache ----------------------------------
def fake_module(n_funcs: int, bump: int = 0) -> str:
    parts = ["import os\nimport sys\n"]
    for i in range(n_funcs):
        parts.append(f"\n\ndef helper_{i}(value):\n    # Scale the value by a constant factor here.\n"
                     f"    result = value * {i + (bump if i == 0 else 0)}\n"
                     f"    if result > {i}:\n        return result\n    return helper_{max(i - 1, 0)}(value)\n")
    return "".join(parts)


def wheel(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for path, text in sorted(files.items()):
            zf.writestr(path, text)
    return buffer.getvalue()


@pytest.fixture()
def offline_source(tmp_path):
    """A manifest naming one made-up package whose two releases are already in the cache."""
    cache = tmp_path / "cache"
    for version, bump in (("1.0", 0), ("1.1", 1)):
        files = {f"fakepkg/mod{k}.py": fake_module(3 + 4 * k, bump) for k in range(6)}
        files["fakepkg/vendor/six.py"] = fake_module(3, bump)
        folder = cache / "downloads" / "pypi" / "fakepkg" / version
        folder.mkdir(parents=True)
        (folder / f"fakepkg-{version}-py3-none-any.whl").write_bytes(wheel(files))
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"seed": "x", "filters": {"min_lines": 5, "max_lines": 2000, "max_touched": 0.4},
                                    "sources": [{"registry": "pypi", "name": "fakepkg", "versions": ["1.0", "1.1"],
                                                 "license": "MIT", "dist": "wheel"}]}))
    return manifest, cache


@needs_grammars
def test_build_is_deterministic_and_reports_its_composition(offline_source, tmp_path):
    manifest, cache = offline_source
    stdlib_text = fake_module(3 + 4 * 5, 1)  # pretend mod5 is a stdlib copy: it must never appear
    keys = frozenset({mining.content_key(stdlib_text)})
    outs = []
    for name, seed in (("a", "1"), ("b", "1"), ("c", "2")):
        out = tmp_path / f"{name}.jsonl"
        cfg = data.BuildConfig(out=out, seed=seed, manifest=manifest, cache_dir=cache, small_keep=1.0, window_lines=30)
        report = data.build(cfg, stdlib_keys=keys)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] and outs[0] != outs[2]
    examples = list(read_jsonl(tmp_path / "c.jsonl"))
    composition = json.loads(data.composition_path(tmp_path / "c.jsonl").read_text())
    assert composition["total"] == report.total == len(examples) > 0
    assert composition["kind"] == dict(Counter(e.kind for e in examples).most_common())
    assert composition["rejected"]["file:vendored"] == 1 and composition["rejected"]["file:stdlib"] == 1
    assert {"kind", "language", "unit", "mutation", "length"} <= composition.keys()
    kinds = Counter(e.kind for e in examples)
    assert kinds["real"] >= 1 and kinds["synthetic"] <= 4 * kinds["real"]
    assert not any("vendor/" in e.path or e.path == "fakepkg/mod5.py" and e.kind == "synthetic" for e in examples)
    assert Counter((data.project_of(e), e.path) for e in examples).most_common(1)[0][1] <= 3
    assert all(e.original != e.target for e in examples)
    assert any(e.unit == "window" for e in examples)


@needs_grammars
def test_teacher_examples_join_the_synthetic_side(offline_source, tmp_path):
    manifest, cache = offline_source
    offered = []

    def teacher(files):
        for file in files:
            offered.append(file.path)
            yield Example(id=f"teacher/{file.source}/{file.path}", kind="teacher", language=file.language,
                          source=file.source, path=file.path + ".t", instruction="Rename.", original=file.text,
                          snippet="x", target=file.text.replace("helper_", "util_"))

    cfg = data.BuildConfig(out=tmp_path / "t.jsonl", manifest=manifest, cache_dir=cache, small_keep=1.0,
                           teacher=teacher, teacher_limit=2, ratio=(1, 100))
    report = data.build(cfg, stdlib_keys=frozenset())
    assert 2 <= len(offered) == len(set(offered)) <= 6 and not any("vendor/" in p for p in offered)
    assert report.kind["teacher"] == len(offered) and report.kind["real"] >= 1


def test_cli_help_and_bad_ratio():
    runner = CliRunner()
    result = runner.invoke(data_group, ["build", "--help"])
    assert result.exit_code == 0 and "--ratio" in result.output and "real edits" in result.output
    result = runner.invoke(data_group, ["build", "--ratio", "4"])
    assert result.exit_code != 0 and "REAL:SYNTHETIC" in result.output


@pytest.mark.network
def test_cli_builds_a_tiny_slice_end_to_end(tmp_path):
    out = tmp_path / "tiny.jsonl"
    result = CliRunner().invoke(data_group, ["build", "--source", "debug", "--limit", "10", "--out", str(out),
                                             "--cache-dir", str(tmp_path / "cache"), "--small-keep", "1"])
    assert result.exit_code == 0, result.output
    examples = list(read_jsonl(out))
    assert 0 < len(examples) <= 10 and {e.kind for e in examples} <= {"real", "synthetic"}
    assert all(e.source.startswith("npm:debug@") and e.snippet and e.original != e.target for e in examples)
    assert data.composition_path(out).exists()
