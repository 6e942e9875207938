"""``fastapply mcp``: an MCP server over stdio with one tool, ``edit_file``.

Coding agents (Claude Code, Cline, Cursor) apply lazy edits through an MCP tool named
``edit_file(path, instruction, code_edit)``, the way Morph and Relace ship theirs. This one
applies with the same settings, guards and write path as ``fastapply apply --in-place``
(``textio.read_source`` -> ``Applier.apply`` -> ``SourceText.restore`` ->
``textio.atomic_write``) and answers with a unified diff and the decode statistics.

Every path is confined to the root directory given at start: a path is resolved (``..``
and symlinks followed) before anything is read, and refused unless the real file lies
inside the root, so a symlink that leads out of the root is refused too. The resolved
path is what is read and written, so a link inside the root stays a link.
"""
from __future__ import annotations

import difflib
import os
import threading
from pathlib import Path

from . import textio
from .applier import Applier
from .errors import FastApplyError
from .settings import Settings

DESCRIPTION = """Apply a lazy edit to an existing file and write it.

code_edit: the changed code only, with unchanged parts elided by comment lines such as
`// ... existing code ...` (`# ... existing code ...` in Python); keep a line or two of
unchanged code around each change so it can be placed. instruction: one sentence saying
what the edit does. Returns a unified diff of what was written. Nothing is written when the
edit cannot be applied safely (the error says why)."""


class OutsideRoot(FastApplyError):
    exit_code = 3


def resolve_inside(root: Path, path: str) -> Path:
    """The real path of ``path`` (relative to ``root`` or absolute), if it lies inside ``root``.

    Example (root=/work/proj): "src/a.py" -> /work/proj/src/a.py; "../etc/passwd" and a
    link src/out -> /etc are refused.
    """
    root = root.resolve()
    candidate = Path(path)
    real = (candidate if candidate.is_absolute() else root / candidate).resolve()
    if not real.is_relative_to(root):
        raise OutsideRoot(f"{path}: outside the editable root {root}")
    return real


def edit_file(applier: Applier, root: Path, path: str, instruction: str, code_edit: str) -> str:
    """The tool's work, callable without MCP (tests, other hosts)."""
    target = resolve_inside(root, path)
    src = textio.read_source(target)
    result = applier.apply(src.text, code_edit, instruction or None, path=str(target))
    old, new = src.restore(src.text), src.restore(result.text)
    if new != old:
        textio.atomic_write(target, new, expected=src.snapshot)  # compare-and-swap, as the CLI
    shown = os.path.relpath(target, root.resolve())
    diff = "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True), f"a/{shown}", f"b/{shown}"))
    s = result.stats
    stats = f"written by: {result.source}"
    if result.confidence is not None:
        stats += f" (merge confidence {result.confidence:.2f})"
    if s.output_tokens:
        stats += (f"; {s.output_tokens} tokens in {s.prefill_seconds + s.decode_seconds:.2f}s, "
                  f"{s.tokens_per_pass:.1f} tokens/forward pass, {s.accepted_tokens}/{s.drafted_tokens} draft "
                  "tokens accepted")
    return (diff or "(no change)\n") + stats


def build_server(root: Path, settings: Settings | None = None):
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    applier = Applier(settings or Settings())
    # The SDK runs sync tools on worker threads; the engine holds one sequence, so one apply
    # at a time.
    lock = threading.Lock()
    server = MCPServer("fastapply", instructions=f"Edits files under {root.resolve()} with lazy snippets.")

    @server.tool(name="edit_file", description=DESCRIPTION)
    def edit_file_tool(path: str, instruction: str, code_edit: str) -> str:
        try:
            with lock:
                return edit_file(applier, root, path, instruction, code_edit)
        except FastApplyError as exc:
            raise ToolError(str(exc)) from None
        except OSError as exc:
            raise ToolError(f"{path}: {exc.strerror or exc}") from None

    return server
