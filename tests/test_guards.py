"""Guards: the docstring's worked example, refusal kinds, and input checks (pure, no model)."""
from __future__ import annotations

import doctest

import pytest

import fastapply
from fastapply import guards
from fastapply.errors import ConfigError, InputError, OutputRejected
from fastapply.guards import KINDS, guard_failure
from fastapply.settings import Settings

ORIGINAL = "".join(f"def f{i}():\n    return {i}\n\n\n" for i in range(10))
SNIPPET = "def f0():\n    return 100\n# ... existing code ...\n"
APPLIED = ORIGINAL.replace("return 0\n", "return 100\n", 1)


def test_the_docstring_example_holds():
    assert doctest.testmod(guards).failed == 0


@pytest.mark.parametrize("answer,kind", [
    (SNIPPET, guards.LEAKED_MARKERS),
    ("def f0():\n    return 100\n", guards.MASS_DELETION_KIND),
    (ORIGINAL, guards.SNIPPET_NOT_APPLIED),
    (APPLIED, None),
])
def test_each_guard_names_its_kind(answer, kind):
    failure = guard_failure(answer, ORIGINAL, SNIPPET)
    assert (failure.kind if failure else None) == kind
    assert failure is None or (failure.kind in KINDS and failure.message)


def test_a_merge_refusal_carries_its_kind():
    repeated = "def f():\n    return 1\n\n\ndef g():\n    return 1\n"
    with pytest.raises(OutputRejected) as info:
        fastapply.apply(repeated, "# ...\n    return 2\n# ...\n", path="m.py", mode="merge")
    assert info.value.kind == guards.MERGE_REFUSED


@pytest.mark.parametrize("original,snippet,instruction,word", [
    (b"x = 1\n", SNIPPET, None, "must be a str"),
    (ORIGINAL, 42, None, "must be a str"),
    (ORIGINAL, SNIPPET, 3, "must be a str"),
    ("x = 1\x00\n", SNIPPET, None, "NUL"),
    (ORIGINAL, "def f0():\n    return '\ud800'\n# ...\n", None, "surrogate"),
])
def test_the_api_refuses_what_is_not_text(original, snippet, instruction, word):
    with pytest.raises(InputError, match=word):
        fastapply.apply(original, snippet, instruction, mode="merge")


def test_the_api_takes_policy_settings_as_keywords():
    res = fastapply.apply(ORIGINAL, SNIPPET, path="m.py", mode="merge")
    assert res.text == APPLIED and res.source == "merge"
    # Keywords go over the given settings; an unknown name or a bad value is a ConfigError.
    res = fastapply.apply(ORIGINAL, SNIPPET, path="m.py", settings=Settings(mode="model"), mode="merge")
    assert res.source == "merge"
    with pytest.raises(ConfigError, match="bogus"):
        fastapply.apply(ORIGINAL, SNIPPET, bogus=1)
    with pytest.raises(ConfigError, match="mode"):
        fastapply.apply(ORIGINAL, SNIPPET, mode="sideways")
