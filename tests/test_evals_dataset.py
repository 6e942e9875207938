"""Benchmark set: snippet rendering, filters, the stdlib guard, and deterministic builds.

Offline tests build from hand-made release archives placed in the download cache (exactly where
`pip download` / `npm pack` would have put them). The real set needs the registries: `network`.
"""
from __future__ import annotations

import glob
import io
import os
import json
import shutil
import sysconfig
import tarfile
from pathlib import Path

import pytest

from fastapply.corpus import mining, snippets, stdlib
from fastapply.corpus.filters import Filters, read_manifest, refine_language, reject_reason
from fastapply.evals.dataset import (
    MANIFEST, Task, build, cache_root, length_bucket, load_tasks, mine_pair, read_jsonl, spread,
)
from fastapply.languages import detect

PY = detect("x.py")
JS = detect("x.js")


def style(context: int, phrase: str = "... existing code ...") -> snippets.SnippetStyle:
    return snippets.SnippetStyle(context=context, phrase=phrase)


# --- snippet rendering ----------------------------------------------------------------------------
COMPUTE_BEFORE = """\
def compute(values):
    total = 0
    count = 0
    for v in values:
        total += v
        count += 1
    mean = total / count
    return mean
"""
COMPUTE_AFTER = COMPUTE_BEFORE.replace("total = 0\n", "total = 0.0\n").replace("return mean", "return round(mean, 2)")


def test_snippet_marker_indented_like_the_elided_body():
    snippet = snippets.render_snippet(COMPUTE_BEFORE, COMPUTE_AFTER, PY, style(1))
    assert snippet == """\
def compute(values):
    total = 0.0
    count = 0
    # ... existing code ...
    mean = total / count
    return round(mean, 2)
"""


def test_snippet_deletion_shown_by_adjacent_context():
    before = """\
function setup(app) {
  app.use(logger());
  app.use(cors());
  app.use(helmet());
  app.listen(3000);
}

function teardown(app) {
  app.close();
}
"""
    after = before.replace("  app.use(cors());\n", "")
    snippet = snippets.render_snippet(before, after, JS, style(2, "... rest of the code ..."))
    assert snippet == """\
function setup(app) {
  app.use(logger());
  app.use(helmet());
  app.listen(3000);
// ... rest of the code ...
"""


def test_snippet_elides_both_ends_and_keeps_context_width():
    before = "".join(f"line{i} = {i}\n" for i in range(20))
    after = before.replace("line10 = 10\n", "line10 = 'ten'\n")
    assert snippets.render_snippet(before, after, PY, style(1, "... unchanged ...")) == (
        "# ... unchanged ...\nline9 = 9\nline10 = 'ten'\nline11 = 11\n# ... unchanged ...\n"
    )
    wide = snippets.render_snippet(before, after, PY, style(3))
    assert wide.splitlines()[1:8] == after.splitlines()[7:14]


def test_snippet_never_elides_a_single_line():
    before = "".join(f"v{i} = {i}\n" for i in range(10))
    after = before.replace("v2 = 2", "v2 = -2").replace("v6 = 6", "v6 = -6")
    # context 1 keeps 1..3 and 5..7: the one-line gap (v4) and the one-line head (v0) stay.
    assert snippets.render_snippet(before, after, PY, style(1)) == (
        "v0 = 0\nv1 = 1\nv2 = -2\nv3 = 3\nv4 = 4\nv5 = 5\nv6 = -6\nv7 = 7\n# ... existing code ...\n"
    )


def test_snippet_of_identical_files_is_refused():
    with pytest.raises(ValueError):
        snippets.render_snippet("a\n", "a\n", PY, style(1))


def test_marker_comment_syntax_per_language():
    assert snippets.marker_line(detect("a.c"), "... unchanged ...", "  ") == "  // ... unchanged ..."
    assert snippets.marker_line(detect("a.css"), "... unchanged ...", "") == "/* ... unchanged ... */"
    assert snippets.marker_line(detect("a.html"), "... x ...", "\t") == "\t<!-- ... x ... -->"
    assert snippets.marker_line(detect("README"), "... x ...", "") == "... x ..."


def test_style_is_seeded_and_varies():
    assert snippets.style_for("task-a") == snippets.style_for("task-a")
    styles = {snippets.style_for(f"task-{i}") for i in range(200)}
    assert {s.context for s in styles} == {1, 2, 3, 4}
    assert {s.phrase for s in styles} == set(snippets.MARKER_PHRASES)


# --- instructions ---------------------------------------------------------------------------------
def test_instruction_names_the_updated_definition():
    assert snippets.describe_edit(COMPUTE_BEFORE, COMPUTE_AFTER, "m.py") == "Update definition `compute`."


def test_instruction_add_import_and_remove_definition():
    assert snippets.describe_edit("import os\n\nx = 1\n", "import os\nimport sys\n\nx = 1\n", "m.py") == "Add import `sys`."
    before = "function a() {\n  return 1;\n}\n\nfunction teardown(app) {\n  app.close();\n}\n"
    after = "function a() {\n  return 1;\n}\n"
    assert snippets.describe_edit(before, after, "m.js") == "Remove definition `teardown`."


def test_instruction_does_not_mistake_a_call_for_a_definition():
    before = "def f(x):\n    print(x)\n    return x\n"
    after = "def f(x):\n    print(x, flush=True)\n    return x\n"
    assert snippets.describe_edit(before, after, "m.py") == "Update definition `f`."


def test_instruction_falls_back_to_the_file_name():
    assert snippets.describe_edit("X = 1\nY = 2\n", "X = 1\nY = 3\n", "pkg/consts.py") == "Update the code in `consts.py`."


# --- filters --------------------------------------------------------------------------------------
def body(n: int, prefix: str = "x") -> str:
    return "".join(f"{prefix}{i} = {i}\n" for i in range(n))


NO_STDLIB: frozenset[str] = frozenset()


def reason(path: str, before: str, after: str, keys: frozenset[str] = NO_STDLIB) -> str | None:
    return reject_reason(mining.FilePair(path, before, after), Filters(), keys)


def test_filters_accept_a_small_real_looking_edit():
    assert reason("pkg/mod.py", body(50), body(50).replace("x7 = 7", "x7 = 70")) is None


def test_filters_reject_each_kind():
    base = body(50)
    assert reason("pkg/_vendor/six.py", base, base.replace("x7 = 7", "x7 = 70")) == "vendored"
    assert reason("dist/index.min.js", base, base.replace("x7 = 7", "x7 = 70")) == "vendored"
    assert reason("pkg/mod.py", body(5), body(5).replace("x1 = 1", "x1 = 2")) == "length"
    assert reason("pkg/mod.py", body(399), body(400)) == "length"  # after-file reaches 400 lines
    assert reason("pkg/mod.py", base, base.replace(" = ", " =  ")) == "whitespace"
    minified = base + "var a=" + "1+" * 300 + "1;\n"
    assert reason("pkg/mod.js", minified, minified.replace("x7 = 7", "x7 = 70")) == "generated"
    generated = "# Generated by the protocol buffer compiler.  DO NOT EDIT!\n" + base
    assert reason("pkg/mod_pb2.py", generated, generated.replace("x7 = 7", "x7 = 70")) == "generated"
    assert reason("pkg/mod.py", base, body(25) + body(25, "y")) == "too-large"
    dated = "/* Copyright (c) 2013-2023 The Team */\n" + base
    assert reason("src/a.c", dated, dated.replace("2023", "2024")) == "trivial"
    versioned = base + '__version__ = "1.4.5"\n'
    bumped = versioned.replace("1.4.5", "1.4.6")
    assert reject_reason(mining.FilePair("pkg/v.py", versioned, bumped), Filters(), NO_STDLIB, ("1.4.5", "1.4.6")) == "trivial"
    assert reject_reason(mining.FilePair("pkg/v.py", versioned, bumped.replace("x3 = 3", "x3 = 4")),
                         Filters(), NO_STDLIB, ("1.4.5", "1.4.6")) is None
    assert reason("pkg/mod.py", base, body(30) + body(20, "y")) is None  # exactly 40%: kept


def test_touched_fraction():
    assert snippets.touched_fraction(body(10), body(10).replace("x3 = 3", "x3 = 4")) == pytest.approx(0.1)
    assert snippets.touched_fraction(body(10), body(10) + body(10, "y")) == pytest.approx(0.5)


def test_cpp_headers_are_told_apart_from_c():
    assert refine_language("inc/a.h", "namespace kiwi {\nclass A {};\n}\n") == "cpp"
    assert refine_language("inc/a.h", "#ifndef A_H\nint f(void);\n#endif\n") == "c"
    assert refine_language("src/a.cpp", "int x;\n") == "cpp"


def test_length_buckets_and_spread():
    assert [length_bucket(n) for n in (0, 99, 100, 199, 200, 399)] == ["0-100", "0-100", "100-200", "100-200", "200-400", "200-400"]
    tasks = [
        Task(f"t{lang}{n}{i}", lang, "p@1", "MIT", "a", "", "x\n" * n, "", "")
        for lang in ("python", "c") for n in (50, 150, 250) for i in range(5)
    ]
    picked = spread(tasks, 6)
    assert {(t.language, length_bucket(t.n_lines)) for t in picked} == {
        (lang, b) for lang in ("python", "c") for b in ("0-100", "100-200", "200-400")
    }
    assert [t.id for t in spread(tasks, 6)] == [t.id for t in picked]


# --- the stdlib guard -----------------------------------------------------------------------------
def stdlib_module(name: str) -> str:
    return (Path(sysconfig.get_paths()["stdlib"]) / name).read_text(encoding="utf-8")


def test_stdlib_dirs_cover_every_installed_python():
    dirs = stdlib.stdlib_dirs()
    assert Path(sysconfig.get_paths()["stdlib"]).resolve() in dirs
    for lib in glob.glob(os.path.expanduser("~/.pyenv/versions/*/lib/python[23].*")):
        if (Path(lib) / "os.py").exists():
            assert Path(lib).resolve() in dirs, lib


def test_stdlib_copies_are_dropped_even_reindented():
    keys = stdlib.stdlib_keys([Path(sysconfig.get_paths()["stdlib"])])
    bisect_py = stdlib_module("bisect.py")
    edited = bisect_py.replace("def insort_right(", "def insort_right_renamed(")
    assert bisect_py != edited
    assert reason("pkg/bisect.py", bisect_py, edited, keys) == "stdlib"
    # Re-indented and with blank lines dropped: still the stdlib.
    near_copy = "\n".join("  " + line for line in bisect_py.splitlines() if line.strip()) + "\n"
    assert stdlib.is_stdlib(near_copy, keys)
    assert not stdlib.is_stdlib(body(50), keys)


def test_backports_are_refused(tmp_path):
    assert mining.is_backport("typing_extensions") and mining.is_backport("backports.zoneinfo")
    assert not mining.is_backport("rich")
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps({"sources": [
        {"registry": "pypi", "name": "importlib-metadata", "versions": ["7.0.0", "7.0.1"], "license": "Apache-2.0"}]}))
    with pytest.raises(ValueError, match="backport"):
        read_manifest(manifest)


PERMISSIVE = {"MIT", "ISC", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "Apache-2.0 OR BSD-2-Clause", "MIT OR Apache-2.0"}


def test_committed_manifest_is_sane():
    data, sources = read_manifest(MANIFEST)
    assert 40 <= len(sources) <= 80
    assert {s.license for s in sources} <= PERMISSIVE
    assert not [s.name for s in sources if mining.is_backport(s.name)]
    assert len({(s.registry, s.name) for s in sources}) == len(sources)
    assert {s.registry for s in sources} == {"pypi", "npm"}
    assert all(len(set(s.versions)) == len(s.versions) >= 2 for s in sources)


# --- offline end-to-end build from a hand-made download cache ---------------------------------------
def add_tar(archive: Path, root: str, files: dict[str, str]) -> None:
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:gz") as tf:
        for path, text in sorted(files.items()):
            data = text.encode()
            info = tarfile.TarInfo(f"{root}/{path}")
            info.size, info.mtime = len(data), 0
            tf.addfile(info, io.BytesIO(data))


def fake_releases(cache: Path) -> Path:
    """Two pypi sdists and two npm tarballs in the download-cache layout, plus their manifest."""
    mod_v1 = "import os\n\n\n" + "".join(f"def f{i}(x):\n    return x + {i}\n\n\n" for i in range(15))
    mod_v2 = mod_v1.replace("    return x + 7\n", "    y = x * 2\n    return y + 7\n")
    util_v1 = "".join(f"const k{i} = {i};\n" for i in range(30)) + "function hello(name) {\n  return 'hi ' + name;\n}\n"
    util_v2 = util_v1.replace("'hi '", "'hello '")
    bisect_py = stdlib_module("bisect.py")
    py1 = {"demo/mod.py": mod_v1, "demo/_vendor/lib.py": mod_v1, "demo/bisect.py": bisect_py, "demo/same.py": body(20)}
    py2 = {"demo/mod.py": mod_v2, "demo/_vendor/lib.py": mod_v2, "demo/same.py": body(20),
           "demo/bisect.py": bisect_py.replace("def insort_right(", "def insort_right2(")}
    downloads = cache / "downloads"
    add_tar(downloads / "pypi/demo/1.0/demo-1.0.tar.gz", "demo-1.0", py1)
    add_tar(downloads / "pypi/demo/1.1/demo-1.1.tar.gz", "demo-1.1", py2)
    add_tar(downloads / "npm/demo-js/2.0.0/demo-js-2.0.0.tgz", "package", {"lib/util.js": util_v1})
    add_tar(downloads / "npm/demo-js/2.0.1/demo-js-2.0.1.tgz", "package", {"lib/util.js": util_v2})
    manifest = cache / "manifest.json"
    manifest.write_text(json.dumps({"seed": "t", "sources": [
        {"registry": "pypi", "name": "demo", "versions": ["1.0", "1.1"], "license": "MIT"},
        {"registry": "npm", "name": "demo-js", "versions": ["2.0.0", "2.0.1"], "license": "ISC"}]}))
    return manifest


def test_offline_build_is_deterministic_and_filtered(tmp_path):
    manifest = fake_releases(tmp_path / "a")
    shutil.copytree(tmp_path / "a" / "downloads", tmp_path / "b" / "downloads")
    first = build(manifest, tmp_path / "a")
    second = build(manifest, tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()
    assert first.name == second.name and first.name.startswith("tasks-")
    assert build(manifest, tmp_path / "a") == first  # cached: same path, no rebuild

    tasks = read_jsonl(first)
    assert [(t.id, t.language, t.source, t.license) for t in tasks] == [
        ("npm/demo-js/2.0.0..2.0.1/lib/util.js", "javascript", "demo-js@2.0.1", "ISC"),
        ("pypi/demo/1.0..1.1/demo/mod.py", "python", "demo@1.1", "MIT"),
    ]  # vendored copy, stdlib copy and unchanged file are gone
    mod = tasks[1]
    assert mod.instruction == "Update definition `f7`."
    assert "    y = x * 2\n    return y + 7\n" in mod.snippet
    assert mod.snippet.startswith(("# ...", "def ")) and mod.expected != mod.original
    assert json.loads(first.read_text().splitlines()[0]).keys() == {
        "id", "language", "source", "license", "path", "instruction", "original", "snippet", "expected"}

    assert [t.id for t in load_tasks(first, languages=["python"])] == [mod.id]
    assert load_tasks(first, min_lines=100) == []
    assert len(load_tasks(first, limit=1)) == 1


def test_mine_pair_counts_rejections(tmp_path):
    manifest = fake_releases(tmp_path)
    _, sources = read_manifest(manifest)
    demo = sources[0]
    old = mining.read_archive(mining.cached_archive(tmp_path / "downloads", demo, "1.0"))
    new = mining.read_archive(mining.cached_archive(tmp_path / "downloads", demo, "1.1"))
    keys = stdlib.stdlib_keys([Path(sysconfig.get_paths()["stdlib"])])
    rejected: dict[str, int] = {}
    tasks = mine_pair(demo, "1.0", "1.1", old, new, Filters(), keys, "t", rejected)
    assert [t.path for t in tasks] == ["demo/mod.py"]
    assert rejected == {"vendored": 1, "stdlib": 1}


def test_missing_release_offline_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # no registry: only the (empty) cache could serve it
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps({"sources": [
        {"registry": "pypi", "name": "demo-not-cached", "versions": ["1.0", "1.1"], "license": "MIT"}]}))
    with pytest.raises(mining.FetchError, match="demo-not-cached==1.0"):
        build(manifest, tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("tasks-*.jsonl"))


def test_cache_dir_follows_env(monkeypatch, tmp_path):
    monkeypatch.setenv("FASTAPPLY_CACHE_DIR", str(tmp_path))
    assert cache_root() == tmp_path / "benchset"
    monkeypatch.delenv("FASTAPPLY_CACHE_DIR")
    assert cache_root() == Path.home() / ".cache" / "fastapply" / "benchset"


# --- the real set (registries on first use, then the cache) ----------------------------------------
@pytest.mark.network
def test_real_benchmark_set():
    tasks = load_tasks()
    assert len(tasks) >= 300
    langs: dict[str, int] = {}
    for t in tasks:
        langs[t.language] = langs.get(t.language, 0) + 1
        assert t.n_lines < 400 and len(t.expected.splitlines()) < 400
        assert t.original != t.expected and t.snippet.strip()
        assert t.license in PERMISSIVE
    assert len({t.id for t in tasks}) == len(tasks)
    assert sum(1 for n in langs.values() if n >= 20) >= 4, langs
    assert {"python", "javascript", "c", "cpp"} <= set(langs)
    bench = load_tasks(languages=["python"], min_lines=100, max_lines=400)
    assert len(bench) >= 20
    per_package: dict[str, int] = {}
    for t in tasks:
        per_package[t.source.rsplit("@", 1)[0]] = per_package.get(t.source.rsplit("@", 1)[0], 0) + 1
    assert max(per_package.values()) <= Filters().max_per_package


@pytest.mark.network
def test_real_set_rebuilds_byte_for_byte_from_the_download_cache(tmp_path):
    first = build()  # fetches on first use, else reuses the cached build
    downloads = cache_root() / "downloads"
    (tmp_path / "benchset").mkdir()
    (tmp_path / "benchset" / "downloads").symlink_to(downloads, target_is_directory=True)
    second = build(cache_dir=tmp_path / "benchset")  # a fresh build, offline, from the same downloads
    assert second != first and second.name == first.name
    assert second.read_bytes() == first.read_bytes()
