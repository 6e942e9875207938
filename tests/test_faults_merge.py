"""Fault suite, the merge's own cases from issue #11 (the merge is issue #14's, edited by the lead):
what passes now is asserted; what still fails is an xfail naming why, so the table counts it."""
from __future__ import annotations

import multiprocessing

import pytest
from faultkit import project, run

import fastapply

M = pytest.mark.fault("merge", "pass")
MR = pytest.mark.fault("merge", "refused")


@MR
def test_unplaceable_hunk_is_a_refusal_not_an_append(tmp_path):
    target, snip = project(tmp_path, text="a = 1\nb = 2\nc = 3\n", snippet="# ...\nzzz = 9\nqqq = 10\n# ...\n")
    r = run("apply", target, "-s", snip, "--mode", "merge", "--in-place")
    assert r.exit_code == 4 and target.read_text() == "a = 1\nb = 2\nc = 3\n"


@MR
def test_changed_last_line_is_not_kept_twice(tmp_path):
    target, snip = project(tmp_path, text="x = 1\ny = 2\nprint(x)", snippet="# ... existing code ...\nprint(x, y)")
    r = run("apply", target, "-s", snip, "--mode", "merge", "--in-place")
    text = target.read_text()
    assert not ("print(x)\n" in text and "print(x, y)" in text)
    assert r.exit_code == 4 or text == "x = 1\ny = 2\nprint(x, y)"


@M
def test_class_header_snippet_stays_below_the_docstring():
    r = fastapply.apply('"""Module doc."""\n\nclass X:\n    def f(self):\n        return 1\n',
                        "class X:\n    # ... existing code ...\n    def g(self):\n        return 2\n",
                        path="m.py", mode="merge")
    assert r.text.startswith('"""Module doc."""\n') and "def g(self):" in r.text
    compile(r.text, "m.py", "exec")


@M
def test_context_lines_keep_the_originals_exact_text():
    original = "def f():  \n    return 1   \n\ndef g():\n    return 2\n"
    r = fastapply.apply(original, "def f():\n    return 1\n\ndef g():\n    return 3\n", path="m.py", mode="merge")
    assert r.text == "def f():  \n    return 1   \n\ndef g():\n    return 3\n"


def _big_merge(queue):
    orig = "".join(f"def f{i}():\n    return {i}\n" for i in range(10000))
    snip = orig.replace("return 5000\n", "return -5000\n")[:230000]
    queue.put(fastapply.apply(orig, snip, path="m.py", mode="merge").text is not None)


@M
def test_twenty_thousand_lines_with_a_230_kb_snippet_is_fast():
    queue = multiprocessing.get_context("fork").Queue()
    worker = multiprocessing.get_context("fork").Process(target=_big_merge, args=(queue,))
    worker.start()
    worker.join(10)
    done = not worker.is_alive()
    if not done:
        worker.kill()
        worker.join()
    assert done and queue.get(timeout=1)
