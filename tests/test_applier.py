"""The Applier's prompt, extraction and guards, driven by a scripted engine."""
from __future__ import annotations

import pytest

from fastapply import prompt
from fastapply.applier import Applier
from fastapply.guards import LEAKED_MARKERS, NOT_CLOSED, missing_snippet_lines, new_marker_lines
from fastapply.errors import ContextTooLong, InputError, OutputRejected
from fastapply.settings import Settings
from toy_engine import ScriptedEngine

ORIGINAL = "def f(x):\n    return x\n\n\ndef g():\n    return 2\n"
SNIPPET = "def f(x):\n    return x + 1\n\n# ... existing code ...\n"
UPDATED = "def f(x):\n    return x + 1\n\n\ndef g():\n    return 2\n"


def applier(script: str, mode: str = "model", **kw) -> Applier:
    return Applier(Settings(mode=mode), engine=ScriptedEngine(script, **kw))


@pytest.mark.parametrize("speculation", [True, False])
def test_apply_extracts_the_file(speculation):
    res = applier(prompt.expected_answer(UPDATED)).apply(ORIGINAL, SNIPPET, speculation=speculation)
    assert res.text == UPDATED
    assert res.stats.stop_reason == "stop"


def test_speculation_copies_in_chunks():
    plain = applier(prompt.expected_answer(UPDATED)).apply(ORIGINAL, SNIPPET, speculation=False)
    spec = applier(prompt.expected_answer(UPDATED)).apply(ORIGINAL, SNIPPET, speculation=True)
    assert spec.text == plain.text
    assert spec.stats.output_tokens == plain.stats.output_tokens
    assert spec.stats.forward_passes < plain.stats.forward_passes / 3
    assert spec.stats.accepted_tokens > 0


def test_trailing_newline_semantics_follow_the_original():
    no_nl = ORIGINAL.rstrip("\n")
    res = applier(prompt.expected_answer(UPDATED)).apply(no_nl, SNIPPET)
    assert res.text == UPDATED.rstrip("\n")


def test_model_stopping_early_is_rejected():
    with pytest.raises(OutputRejected, match="ended its answer before closing") as info:
        applier("def f(x):\n    return x + 1\n").apply(ORIGINAL, SNIPPET)
    assert info.value.kind == NOT_CLOSED


def test_leaked_marker_is_rejected():
    echo = prompt.expected_answer(SNIPPET)  # the model copied the snippet, marker and all
    with pytest.raises(OutputRejected, match="elision marker") as info:
        applier(echo).apply(ORIGINAL, SNIPPET)
    assert "# ... existing code ..." in info.value.text
    assert info.value.kind == LEAKED_MARKERS


def test_marker_like_lines_already_in_the_original_may_stay():
    stub = "class P:\n    def f(self):\n        ...\n"
    assert new_marker_lines(stub, stub) == []
    assert new_marker_lines(stub + "...\n", stub) == ["..."]


def test_context_too_long_says_how_many_tokens():
    with pytest.raises(ContextTooLong) as info:
        applier(prompt.expected_answer(UPDATED), n_ctx=200).apply(ORIGINAL, SNIPPET)
    assert info.value.limit == 200
    assert info.value.needed > 200
    assert f"{info.value.needed} tokens" in str(info.value)


@pytest.mark.parametrize("snippet", ["", "  \n\n", "// ... existing code ...\n", "# ...\n\n# ... rest ...\n"])
def test_empty_or_marker_only_snippet_is_refused(snippet):
    with pytest.raises(InputError):
        applier("x").apply(ORIGINAL, snippet)


def test_prompt_layout():
    msgs = prompt.messages("a = 1", "a = 2", "bump a")
    user = msgs[-1]["content"]
    assert "<instruction>bump a</instruction>" in user
    assert "<code>\na = 1\n</code>" in user
    assert "<update>\na = 2\n</update>" in user
    assert "<instruction>" not in prompt.messages("a", "b")[-1]["content"]


@pytest.mark.parametrize(
    "answer,original,expected",
    [  # the docstring's examples
        ("a\nb\n</updated-code>", "x\n", "a\nb\n"),
        ("a\nb\n</updated-code>", "x", "a\nb"),
        ("a\nb", "x\n", None),
        ("a\n\n\n</updated-code>junk", "x\n\n", "a\n\n\n"),
    ],
)
def test_extract(answer, original, expected):
    assert prompt.extract(answer, original) == expected


# -- modes ---------------------------------------------------------------------------------

def test_merge_mode_needs_no_model():
    a = Applier(Settings(mode="merge", model="/nonexistent.gguf"))
    res = a.apply(ORIGINAL, SNIPPET, path="m.py")
    assert res.text == UPDATED and res.source == "merge" and a._engine is None


def test_merge_mode_refusal_is_an_error():
    repeated = "def f():\n    return 1\n\n\ndef g():\n    return 1\n"
    with pytest.raises(OutputRejected, match="merge refused"):
        Applier(Settings(mode="merge")).apply(repeated, "# ...\n    return 2\n# ...\n", path="m.py")


def test_auto_mode_writes_a_confident_merge_without_the_model():
    a = Applier(Settings(mode="auto", model="/nonexistent.gguf"))
    res = a.apply(ORIGINAL, SNIPPET, path="m.py")
    assert res.text == UPDATED and res.source == "merge-confident" and a._engine is None
    assert res.stats.forward_passes == 0


def auto_prefer_model(answer: str) -> Applier:
    return Applier(Settings(mode="auto", auto_prefer="model"), engine=ScriptedEngine(answer))


def test_auto_mode_keeps_a_good_model_answer_and_drafts_from_the_merge():
    res = auto_prefer_model(prompt.expected_answer(UPDATED)).apply(ORIGINAL, SNIPPET, path="m.py")
    assert res.text == UPDATED and res.source == "model"
    # The merge equals the answer, so every draft token is accepted.
    assert res.stats.accepted_tokens == res.stats.drafted_tokens > 0


def test_auto_mode_falls_back_to_a_confident_merge():
    res = auto_prefer_model("I cannot do that.").apply(ORIGINAL, SNIPPET, path="m.py")
    assert res.text == UPDATED and res.source == "merge-fallback"
    assert "model answer unusable" in res.notes[0]


def test_auto_prefer_model_writes_the_models_answer_over_a_confident_merge():
    # Passes every guard (a blank line less is still the original with the hunk put in), but
    # is not the expected file.
    wrong = UPDATED.replace("\n\n\ndef g", "\n\ndef g")
    res = auto_prefer_model(prompt.expected_answer(wrong)).apply(ORIGINAL, SNIPPET, path="m.py")
    assert res.text == wrong and res.source == "model"


def test_auto_mode_asks_the_model_when_the_merge_is_unsure():
    # An unmarked snippet edge: the merge keeps the lines above it, at confidence 0.8.
    snippet = "def g():\n    return 3\n# ... existing code ...\n"
    answer = ORIGINAL.replace("return 2", "return 3")
    res = applier(prompt.expected_answer(answer), mode="auto").apply(ORIGINAL, snippet, path="m.py")
    assert res.text == answer and res.source == "model"  # below the 0.9 floor: the model is asked
    floor = Applier(Settings(mode="auto", merge_min_confidence=0.8), engine=ScriptedEngine("unused"))
    assert floor.apply(ORIGINAL, snippet, path="m.py").source == "merge-confident"


def test_auto_mode_refuses_when_neither_model_nor_merge_can():
    repeated = "def f():\n    return 1\n\n\ndef g():\n    return 1\n"
    with pytest.raises(OutputRejected, match="cannot stand in"):
        applier("nonsense", mode="auto").apply(repeated, "# ...\n    return 2\n# ...\n", path="m.py")


def test_mass_deletion_is_rejected():
    big = "".join(f"def f{i}():\n    return {i}\n\n\n" for i in range(20))
    truncated = "".join(f"def f{i}():\n    return {i}\n\n\n" for i in range(5))
    with pytest.raises(OutputRejected, match="drops 30 of the original's 40 non-blank lines"):
        applier(prompt.expected_answer(truncated)).apply(big, "def f0():\n    return 100\n# ...\n")


def test_an_answer_without_the_snippets_code_is_rejected():
    # The model gave the file back unchanged: every guard but this one passes it.
    with pytest.raises(OutputRejected, match="lacks 1 line\\(s\\) of the snippet \\(first: 'return x \\+ 1'\\)"):
        applier(prompt.expected_answer(ORIGINAL)).apply(ORIGINAL, SNIPPET)
    assert missing_snippet_lines(UPDATED, SNIPPET) == []


def test_public_apply_in_merge_mode():
    import fastapply

    res = fastapply.apply(ORIGINAL, SNIPPET, path="m.py", settings=Settings(mode="merge"))
    assert res.text == UPDATED and res.source == "merge"


def test_an_answer_that_keeps_the_old_line_beside_the_new_is_rejected():
    # Insert instead of replace: the snippet's hunk is not contiguous in the answer.
    both = UPDATED.replace("    return x + 1\n", "    return x + 1\n    return x\n")
    with pytest.raises(OutputRejected, match="not the original with the snippet put in") as info:
        applier(prompt.expected_answer(both)).apply(ORIGINAL, "def f(x):\n    return x + 1\n\n\ndef g():\n# ...\n")
    assert info.value.kind == "inconsistent"
