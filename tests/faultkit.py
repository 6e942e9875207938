"""Helpers for the fault-injection suite (tests/test_faults_*.py): run the real CLI in temp
directories, in this process (click's runner) or as a real process (signals, FIFOs, ttys)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from fastapply.cli import cli

SRC = str(Path(__file__).resolve().parents[1] / "src")
PY = "def f():\n    return 1\n\n\ndef g():\n    return 2\n"
SNIP = "# ... existing code ...\ndef g():\n    return 20\n"
PY_AFTER = "def f():\n    return 1\n\n\ndef g():\n    return 20\n"


def run(*args, input=None):
    """The CLI in this process; returns click's Result (exit_code, output incl. stderr)."""
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


def proc(*args, input=None, timeout=60, cwd=None, env=None, **kw):
    """The CLI as a real process (python -m fastapply); returns CompletedProcess (bytes)."""
    full_env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), **(env or {})}
    return subprocess.run([sys.executable, "-m", "fastapply", *map(str, args)], input=input, capture_output=True,
                          timeout=timeout, cwd=cwd, env=full_env, **kw)


def project(tmp_path, text=PY, snippet=SNIP, name="t.py"):
    """A target and a snippet file in tmp_path."""
    target, snip = tmp_path / name, tmp_path / "edit.snippet"
    target.write_bytes(text.encode() if isinstance(text, str) else text)
    snip.write_text(snippet)
    return target, snip


def one_line_error(text: str) -> bool:
    """Exactly one 'fastapply: error' line and no traceback."""
    lines = [line for line in text.splitlines() if line.startswith("fastapply: error")]
    return len(lines) == 1 and "Traceback" not in text
