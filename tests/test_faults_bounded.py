"""Fault suite, bounded work: hostile lines, huge inputs, FIFOs and terminals never hang."""
from __future__ import annotations

import os
import pty
import subprocess
import sys
import time

import pytest
from faultkit import PY, SRC, proc, project, run

import fastapply
from fastapply.markers import is_marker

B = pytest.mark.fault("bounded", "pass")
R = pytest.mark.fault("bounded", "refused")

HOSTILE = [
    "# existing code" + " " * 3000 + "x",
    "// ... " + " " * 5000 + "x" + "*/" * 2000,
    "..." + "." * 5000 + "x",
    "[" + "." * 5000 + "x",
    "# rest" + " " * 5000 + "of",
    "#" * 10000 + " existing",
    "# existing " + "code " * 3000 + "x",
    "/*" + "*" * 5000 + " ... ",
    "-- no" + " " * 5000 + "changes x",
]


@B
@pytest.mark.parametrize("line", HOSTILE, ids=range(len(HOSTILE)))
def test_marker_recognition_is_linear_on_hostile_lines(line):
    start = time.perf_counter()
    for _ in range(10):
        is_marker(line)
    assert time.perf_counter() - start < 1.0  # a guard against super-linear backtracking (was 62 s)


@B
def test_hostile_line_through_the_whole_merge(tmp_path):
    line = "# existing code" + " " * 3000 + "x"
    target, snip = project(tmp_path, snippet=f"{line}\ndef g():\n    return 20\n")
    start = time.perf_counter()
    r = run("apply", target, "-s", snip, "--mode", "merge")
    assert time.perf_counter() - start < 30 and r.exit_code in (0, 4)


@R
def test_ten_megabyte_snippet_refused_at_once(tmp_path):
    target, snip = project(tmp_path)
    snip.write_text("x = 1\n" * (10 * 1024 * 1024 // 6))
    start = time.perf_counter()
    r = run("apply", target, "-s", snip, "--mode", "merge", "--in-place")
    assert r.exit_code == 3 and "over the limit" in r.output and time.perf_counter() - start < 10
    assert target.read_text() == PY
    with pytest.raises(fastapply.InputError, match="over the limit"):
        fastapply.apply(PY, "x = 1\n" * (10 * 1024 * 1024 // 6), mode="merge")


@R
def test_ten_megabyte_snippet_on_stdin_refused(tmp_path):
    target, _ = project(tmp_path)
    p = proc("apply", target, "-s", "-", "--mode", "merge", input=b"x = 1\n" * (10 * 1024 * 1024 // 6))
    assert p.returncode == 3 and b"over the limit" in p.stderr or b"more than the limit" in p.stderr


@R
def test_fifo_target_with_no_writer_does_not_block(tmp_path):
    fifo = tmp_path / "pipe.py"
    os.mkfifo(fifo)
    _, snip = project(tmp_path)
    p = proc("apply", fifo, "-s", snip, "--mode", "merge", timeout=30)
    assert p.returncode == 3 and b"FIFO" in p.stderr


@B
def test_terminal_stdin_gets_a_hint(tmp_path):
    target, _ = project(tmp_path)
    leader, follower = pty.openpty()
    env = {**os.environ, "PYTHONPATH": SRC}
    child = subprocess.Popen([sys.executable, "-m", "fastapply", "apply", str(target), "-s", "-", "--mode", "merge"],
                             stdin=follower, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    os.close(follower)
    try:
        time.sleep(1.5)
        os.write(leader, b"# ... existing code ...\ndef g():\n    return 20\n\x04")
        out, err = child.communicate(timeout=60)
    finally:
        child.kill() if child.poll() is None else None
        os.close(leader)
    assert b"reading the snippet from the terminal" in err
    assert child.returncode == 0 and out.endswith(b"return 20\n")


@B
def test_large_file_whole_snippet_done(tmp_path):
    """A 20,000-line file: the write path adds nothing quadratic (the merge's own speed is the merge's issue)."""
    text = "".join(f"def f{i}():\n    return {i}\n\n\n" for i in range(5000))
    target, snip = project(tmp_path, text=text, snippet="# ... existing code ...\ndef f4999():\n    return -1\n")
    r = run("apply", target, "-s", snip, "--mode", "merge", "--in-place")
    assert r.exit_code == 0, r.output
    assert target.read_text().rstrip().endswith("def f4999():\n    return -1")
