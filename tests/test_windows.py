"""Files beyond the model's context: windows around the edits, the rest copied verbatim.

The scripted engine answers each window's prompt with that window's correct rewrite (the
merge of the window and its sub-snippet), so the stitching is tested exactly; a rambling
answer tests the guards. A real-model case is marked ``model``.
"""
from __future__ import annotations

import re

import pytest

from fastapply import prompt
from fastapply.applier import Applier
from fastapply.errors import ContextTooLong, OutputRejected
from fastapply.merge import Region, merge
from fastapply.settings import Settings
from fastapply.windows import Window, plan_windows, sub_snippet
from toy_engine import PromptScriptedEngine

N_FUNCS = 700  # 4 lines each: a 2,800-line file


def big_file(n: int = N_FUNCS) -> str:
    return "".join(f"def f{i}(x):\n    return x + {i}\n\n\n" for i in range(n)).rstrip("\n") + "\n"


EDIT = (
    "# ... existing code ...\n"
    "def f10(x):\n    y = x * 2\n    return y + 10\n\n\n"
    "# ... existing code ...\n"
    "def f400(x):\n    return x - 400\n\n\n"
    "def f401(x):\n    return x + 401\n\n\n"
    "def g(x):\n    return -x\n\n\n"
    "# ... existing code ...\n"
    "def f699(x):\n    return None\n"
)


def expected() -> str:
    text = big_file()
    text = text.replace("def f10(x):\n    return x + 10\n", "def f10(x):\n    y = x * 2\n    return y + 10\n")
    text = text.replace("def f400(x):\n    return x + 400\n", "def f400(x):\n    return x - 400\n")
    text = text.replace("def f401(x):\n    return x + 401\n", "def f401(x):\n    return x + 401\n\n\ndef g(x):\n    return -x\n")
    return text.replace("def f699(x):\n    return x + 699\n", "def f699(x):\n    return None\n")


def parts(prompt_text: str) -> tuple[str, str]:
    code = re.search(r"<code>\n(.*?)</code>", prompt_text, re.S).group(1)
    update = re.search(r"<update>\n(.*?)</update>", prompt_text, re.S).group(1)
    return code, update


def perfect(prompt_text: str) -> str:
    """A model that applies edits exactly: the merge of what it was shown."""
    code, update = parts(prompt_text)
    return prompt.expected_answer(merge(code, update, path="w.py").text)


def rambling(_prompt_text: str) -> str:
    return "Sure! Here is the updated code, with explanations. " * 50


def applier(answer, mode: str, n_ctx: int = 12_000) -> Applier:
    # auto_prefer="model": auto runs the model on every window, with the merge as its draft
    # (by default a confident merge is written without the model).
    return Applier(Settings(mode=mode, auto_prefer="model"), engine=PromptScriptedEngine(answer, n_ctx=n_ctx))


def test_the_fixture_is_large_and_the_edit_is_a_plain_merge():
    assert len(big_file().splitlines()) >= 2000
    assert merge(big_file(), EDIT, path="big.py").text == expected()


@pytest.mark.parametrize("mode", ["model", "auto"])
def test_windows_rewrite_only_the_edited_regions_and_stitch_exactly(mode):
    a = applier(perfect, mode)
    with pytest.raises(ContextTooLong):
        a.rewrite(big_file(), EDIT)  # the whole file does not fit
    a.engine.prompts.clear()
    result = a.apply(big_file(), EDIT, path="big.py")
    assert result.text == expected()
    assert result.source == "model"
    assert len(a.engine.prompts) == 3  # f10, f400-g, f699: three separate windows
    assert all(parts(p)[0].count("\n") < 150 for p in a.engine.prompts)  # windows, not the file
    assert mode == "auto" or any("window" in note for note in result.notes)  # auto reports the merge's notes
    assert result.stats.output_tokens > 0


def test_the_merge_draft_is_copied_in_auto_mode():
    model = applier(perfect, "model").apply(big_file(), EDIT, path="big.py")
    auto = applier(perfect, "auto").apply(big_file(), EDIT, path="big.py")
    assert model.text == auto.text == expected()
    # The draft holds the edited lines too, so more tokens are accepted per forward pass.
    assert auto.stats.tokens_per_pass > model.stats.tokens_per_pass


def test_a_bad_window_answer_falls_back_to_the_merge_in_auto_mode():
    result = applier(rambling, "auto").apply(big_file(), EDIT, path="big.py")
    assert result.text == expected() and result.source == "merge-fallback"


def test_a_bad_window_answer_is_refused_in_model_mode():
    with pytest.raises(OutputRejected):
        applier(rambling, "model").apply(big_file(), EDIT, path="big.py")


def test_an_unlocalisable_snippet_is_refused():
    # No markers, no overlap: a whole-file replacement cannot be windowed.
    with pytest.raises(OutputRejected, match="cannot be localised"):
        applier(perfect, "model").apply(big_file(), "x = 1\n" * 3, path="big.py")


def test_windows_widen_to_top_level_lines_and_merge_when_they_touch():
    lines = big_file(100).splitlines(keepends=True)
    one = Region(40, 42, 0, 2, 2)  # f10's body
    near = Region(48, 50, 4, 6, 2)
    far = Region(300, 302, 8, 10, 2)
    windows = plan_windows(lines, [one, near, far], radius=4)
    assert [(w.start, w.end) for w in windows] == [(36, 56), (296, 308)]
    assert windows[0].regions == (one, near)
    assert all(lines[k].startswith("def ") for k in (36, 56, 296, 308))
    # A window grows to a boundary by at most its radius again: small windows stay small.
    assert [(w.start, w.end) for w in plan_windows(lines, [far], radius=1)] == [(299, 303)]


def test_sub_snippet_marks_what_the_window_skips():
    snippet = ["// ... existing code ...", "a", "b", "// ... existing code ...", "c"]
    window = Window(10, 30, (Region(12, 14, 1, 3, 2), Region(20, 21, 4, 5, 1)))
    assert sub_snippet(snippet, window) == "// ... existing code ...\na\nb\n// ... existing code ...\nc\n// ... existing code ...\n"
    flush = Window(12, 21, (Region(12, 14, 1, 3, 2), Region(20, 21, 4, 5, 1)))
    assert sub_snippet(snippet, flush) == "a\nb\n// ... existing code ...\nc\n"


@pytest.mark.model
def test_real_model_on_a_large_file_in_auto_mode_never_damages_it():
    """SmolLM2 does not apply edits zero-shot: its window answers are unusable, so the
    guarded outcome is a fallback to the (confident) merge or a refusal -- never a damaged
    file. n_ctx is small so the 2,800-line file takes the windowed path quickly."""
    a = Applier(Settings(mode="auto", auto_prefer="model", model="smollm2-135m", n_ctx=2048))
    try:
        result = a.apply(big_file(), EDIT, path="big.py")
    except (OutputRejected, ContextTooLong):
        return
    assert result.text == expected()


def test_each_window_draft_is_that_window_of_the_merged_file():
    from fastapply.windows import window_draft

    original = big_file()
    merged = merge(original, EDIT, path="big.py")
    lines, merged_lines = original.splitlines(keepends=True), merged.text.splitlines(keepends=True)
    windows = plan_windows(lines, merged.regions)
    assert len(windows) == 3
    for w in windows:
        sub = "".join(lines[w.start : w.end])
        assert window_draft(merged_lines, w, merged.regions) == merge(sub, sub_snippet(EDIT.split("\n"), w), path="w.py").text


def test_an_edit_at_the_end_of_a_file_without_final_newline():
    original = big_file().rstrip("\n")
    snippet = "# ... existing code ...\ndef f699(x):\n    return 0\n"
    result = applier(perfect, "model").apply(original, snippet, path="big.py")
    assert result.text == original.replace("return x + 699", "return 0")
    assert not result.text.endswith("\n")
