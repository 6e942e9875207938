"""Elisions in other words: many wordings and comment syntaxes, including ones no renderer
here uses, against real comments that must stay code."""
from __future__ import annotations

import doctest

import pytest

from fastapply import elision
from fastapply.elision import reads_as_elision
from fastapply.languages import detect
from fastapply.merge import merge

ELISIONS = [
    ("# (existing code)", "a.py"), ("    # existing code unchanged", "a.py"), ("// rest unchanged", "a.ts"),
    ("/* snip */", "a.c"), ("-- same as before", "q.sql"), ("<!-- remaining markup unchanged -->", "a.html"),
    ("// [other methods omitted]", "A.java"), ("  # rest of the file stays the same", "a.rb"),
    ("{/* rest of the component */}", "a.jsx"), ("// remainder of function unchanged", "a.go"),
    ("# omitted for brevity", "a.sh"), ("/* previous code remains */", "a.rs"), ("// Existing imports", "a.js"),
    ("    // unchanged", "a.cpp"), ("# untouched", "a.py"), ("// elided", "a.kt"),
]
CODE = [
    ("# keep the existing behaviour for old clients", "a.py"), ("x = 1  # existing", "a.py"),
    ("// TODO: handle the rest api errors", "a.ts"), ("# Copyright 2020 The Authors", "a.py"),
    ("return same(a, b)", "a.py"), ("/* eslint-disable no-console */", "a.js"),
    ("# pylint: disable=unused-import", "a.py"), ("// The cache is rebuilt on every request", "a.go"),
    ("rest = items[1:]", "a.py"), ("# type: ignore", "a.py"),
]


def test_the_docstring_examples_hold():
    assert doctest.testmod(elision).failed == 0


@pytest.mark.parametrize("line,path", ELISIONS)
def test_elisions_in_other_words(line, path):
    assert reads_as_elision(line, detect(path))


@pytest.mark.parametrize("line,path", CODE)
def test_real_comments_and_code_stay_code(line, path):
    assert not reads_as_elision(line, detect(path))


def test_the_merge_takes_a_wordless_marker_and_keeps_a_comment_the_file_has():
    original = "".join(f"def f{i}():\n    return {i}\n\n\n" for i in range(6))
    snippet = "# (existing code)\ndef f3():\n    return 30\n# (existing code)\n"
    assert merge(original, snippet, path="m.py").text == original.replace("return 3\n", "return 30\n")
    # The same words as a comment the original already has are a context line, not a marker.
    with_comment = original.replace("def f3", "# rest unchanged\ndef f3")
    snippet = "# ... existing code ...\n# rest unchanged\ndef f3():\n    return 30\n# ... existing code ...\n"
    assert merge(with_comment, snippet, path="m.py").text == with_comment.replace("return 3\n", "return 30\n")
