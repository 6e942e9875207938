"""Guards: what an apply refuses, before the model runs and before anything is written.

Every check is a pure function of texts. ``check_inputs`` refuses what is not text and
``check_snippet`` a snippet with nothing to apply (both ``InputError``); ``guard_failure`` names the first reason an answer must not be
written, as a ``Failure`` whose ``kind`` callers branch on (``OutputRejected.kind`` carries
it), so no caller parses a message:

    >>> original = "a = 0\\nb = 2\\nc = 3\\nd = 4\\n"
    >>> snippet = "a = 1\\n# ... existing code ...\\n"
    >>> guard_failure("a = 1\\n# ... existing code ...\\n", original, snippet).kind
    'leaked-markers'
    >>> guard_failure("a = 1\\nb = 2\\nc = 3\\nd = 4\\n", original, snippet) is None
    True
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from . import consistency
from .errors import InputError
from .markers import is_marker

# Kinds of refusal, as OutputRejected.kind carries them.
NOT_CLOSED = "not-closed"  # the model stopped before its closing tag: no whole file
LEAKED_MARKERS = "leaked-markers"  # an elision marker copied into the file
MASS_DELETION_KIND = "mass-deletion"  # a large share of the original is gone
SNIPPET_NOT_APPLIED = "snippet-not-applied"  # a code line of the snippet is missing
INCONSISTENT = "inconsistent"  # not the original with the snippet's hunks put in (consistency.py)
MERGE_REFUSED = "merge-refused"  # the deterministic merge would not place the snippet
KINDS = (NOT_CLOSED, LEAKED_MARKERS, MASS_DELETION_KIND, SNIPPET_NOT_APPLIED, INCONSISTENT, MERGE_REFUSED)
# Output-validity guards, run on whatever would be written (merge, auto and model modes).
SYNTAX_ERRORS = "syntax-errors"  # the result has parse errors the original did not have
MIXED_INDENTATION = "mixed-indentation"  # Python lines indented in the other style than the file's
KINDS += (SYNTAX_ERRORS, MIXED_INDENTATION)

# Share of the original's non-blank lines an answer may drop that the snippet does not account
# for. Continue's deterministic apply uses the same 30% bound; the merge refuses beyond it too.
MASS_DELETION = 0.3


@dataclass(frozen=True)
class Failure:
    kind: str  # one of KINDS
    message: str


def nonblank(lines: Iterable[str]) -> int:
    """How many of the lines have any non-whitespace character."""
    return sum(1 for line in lines if line.strip())


def check_inputs(original, snippet, instruction=None) -> None:
    """Refuse (``InputError``) inputs that cannot be text files: not a str, NUL characters,
    lone surrogates (not encodable as UTF-8, so never writable)."""
    for name, value in (("original", original), ("snippet", snippet), ("instruction", instruction)):
        if value is None and name == "instruction":
            continue
        if not isinstance(value, str):
            raise InputError(f"the {name} must be a str, not {type(value).__name__}")
        if "\x00" in value:
            raise InputError(f"the {name} contains NUL characters; only text can be edited")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InputError(f"the {name} is not valid Unicode text (a lone surrogate at character {exc.start})") from None


def check_snippet(snippet: str) -> None:
    """Refuse (``InputError``) a snippet that is empty or holds only elision markers."""
    if not snippet.strip():
        raise InputError("the edit snippet is empty")
    if all(is_marker(line) or not line.strip() for line in snippet.splitlines()):
        raise InputError("the edit snippet has no code, only elision markers such as '... existing code ...'")


def new_marker_lines(result: str, *sources: str) -> list[str]:
    """Marker lines in ``result`` beyond those any source already had, stripped and sorted.

    A marker line already in the original (a Python stub's ``...``) may stay.
    """
    before: Counter[str] = Counter()
    for text in sources:
        before |= Counter(line.strip() for line in text.splitlines() if is_marker(line))
    after = Counter(line.strip() for line in result.splitlines() if is_marker(line))
    return sorted((after - before).elements())


def lost_lines(result: str, original: str, snippet: str) -> int:
    """Original non-blank lines missing from the result and absent from the snippet.

    A lazy snippet shows deleted code only by leaving it out, so this over-counts real
    deletions a little; it is a guard against mass loss, not an edit check.
    """
    kept = Counter(line.strip() for line in result.splitlines() if line.strip())
    kept.update(line.strip() for line in snippet.splitlines() if line.strip())
    before = Counter(line.strip() for line in original.splitlines() if line.strip())
    return sum((before - kept).values())


def missing_snippet_lines(result: str, snippet: str) -> list[str]:
    """The snippet's code lines (stripped) that the result lacks, in snippet order.

    A lazy snippet shows new and context code only, never deleted code, so every line of it
    belongs in the result: true of all 593 benchmark edits. An answer lacking one did not
    apply the edit (it returned the original, or stopped short of a hunk).
    """
    have = {line.strip() for line in result.splitlines()}
    out: list[str] = []
    for line in snippet.splitlines():
        code = line.strip()
        if code and not is_marker(line) and code not in have and code not in out:
            out.append(code)
    return out


def guard_failure(text: str, original: str, snippet: str) -> Failure | None:
    """The first guard an extracted answer fails, or None when it may be written."""
    leaks = new_marker_lines(text, original)
    if leaks:
        return Failure(LEAKED_MARKERS, f"the model copied {len(leaks)} elision marker line(s) into the file instead "
                                       f"of the code they stand for (first: {leaks[0]!r})")
    lost, total = lost_lines(text, original, snippet), nonblank(original.splitlines())
    if lost > MASS_DELETION * max(1, total):
        return Failure(MASS_DELETION_KIND, f"the model's answer drops {lost} of the original's {total} non-blank "
                                           "lines that the snippet does not delete (a truncated or garbled rewrite)")
    missing = missing_snippet_lines(text, snippet)
    if missing:
        return Failure(SNIPPET_NOT_APPLIED, f"the model's answer lacks {len(missing)} line(s) of the snippet (first: "
                                            f"{missing[0]!r}), so the edit was not applied")
    consistent = consistency.check(original, snippet, text)
    if not consistent.ok:
        return Failure(INCONSISTENT, f"the model's answer is not the original with the snippet put in: {consistent.reason}")
    return None


def check_original(original: str) -> None:
    """The empty-file rule, the one rule for the CLI and the API: a file that is empty or only
    whitespace is refused (``InputError``); a lazy edit needs code to apply to."""
    if not original.strip():
        raise InputError("the file is empty (or only whitespace): there is nothing to apply a lazy edit to; "
                         "to create the file, write the snippet itself")


def check_sizes(original: str, snippet: str, limit: int) -> None:
    """Refuse (``InputError``) a file or snippet over ``limit`` bytes of UTF-8, before any work."""
    for name, text in (("file", original), ("snippet", snippet)):
        # len(text) <= bytes <= 4 * len(text): encode only when it could matter
        if 4 * len(text) > limit and len(text.encode("utf-8", "surrogatepass")) > limit:
            raise InputError(f"the {name} is {len(text.encode('utf-8', 'surrogatepass'))} bytes, over the limit "
                             f"of {limit} (--max-input-bytes)")


def python_error(text: str, name: str = "<file>") -> str | None:
    """Python's own compiler on text: None when it compiles, else the error in words."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # a full compile, not just the parser: `from __future__` placement is checked there
            compile(text, name, "exec", dont_inherit=True)
    except SyntaxError as exc:  # IndentationError and TabError included
        return f"{type(exc).__name__}: {exc.msg} (line {exc.lineno})"
    except (ValueError, RecursionError, MemoryError):
        return None
    return None


def tree_sitter_error(text: str, grammar: str) -> str | None | bool:
    """The first tree-sitter parse error in text as 'line N'; None when it parses cleanly;
    False when no grammar is installed for it."""
    from .merge import structure

    parser = structure.get_parser(grammar)
    if parser is None:
        return False
    root = parser.parse(text.encode("utf-8", "surrogatepass")).root_node
    if not root.has_error:
        return None
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            return f"line {node.start_point[0] + 1}"
        stack.extend(reversed([c for c in node.children if c.has_error or c.is_missing]))
    return "somewhere"


def syntax_regression(original: str, result: str, path: str | None) -> Failure | None:
    """A result with syntax errors its original did not have: Python's compiler for Python
    (IndentationError, TabError and ``from __future__`` placement, which tree-sitter lets
    through), then tree-sitter for every language it has a grammar for."""
    from .languages import detect
    from .merge import structure

    language = detect(path).name
    hint = "; --allow-syntax-errors writes it anyway"
    if language == "python" and python_error(original) is None:
        error = python_error(result)
        if error is not None:
            return Failure(SYNTAX_ERRORS, f"the result does not compile as Python ({error}) while the original "
                                          f"does{hint}")
    grammar = structure.grammar_name(language, path)
    before = tree_sitter_error(original, grammar)
    if before is None:
        after = tree_sitter_error(result, grammar)
        if after:
            return Failure(SYNTAX_ERRORS, f"the result has a {grammar} syntax error ({after}) that the original "
                                          f"does not have{hint}")
    return None


def indentation_failure(original: str, result: str, path: str | None) -> Failure | None:
    """Python lines the result adds indented in the other style than the file's own (tabs in a
    space-indented file, or spaces in a tab-indented one)."""
    from . import indentation
    from .languages import detect

    if detect(path).name != "python":
        return None
    file_style = indentation.style(original)
    if file_style is None:
        return None
    old = set(original.split("\n"))
    for number, line in enumerate(result.split("\n"), 1):
        ws = indentation.leading(line)
        if line in old or not ws or not line.strip():
            continue
        if (ws[0] == "\t") != (file_style.kind == "tab"):
            used = "a tab" if ws[0] == "\t" else "spaces"
            return Failure(MIXED_INDENTATION, f"line {number} of the result is indented with {used} but the file with "
                                              f"{'tabs' if file_style.kind == 'tab' else 'spaces'}; re-indent the "
                                              "snippet to the file's style")
    return None


def output_failure(original: str, result: str, path: str | None) -> Failure | None:
    """The first output-validity guard a result to be written fails, or None."""
    return indentation_failure(original, result, path) or syntax_regression(original, result, path)
