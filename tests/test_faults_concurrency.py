"""Fault suite, concurrency: two --in-place applies to one file at once never lose an edit
silently (compare-and-swap under flock: the loser exits 6 and writes nothing)."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest
from faultkit import SRC

C = pytest.mark.fault("concurrency", "pass")
ROUNDS, BUDGET_S = 4, 60


@C
def test_two_concurrent_in_place_applies_never_lose_an_edit(tmp_path):
    original = "".join(f"def f{i}():\n    return {i}\n\n\n" for i in range(40))
    snippets = {}
    for name, i, v in (("a", 3, 300), ("b", 30, 3000)):
        snippets[name] = tmp_path / f"{name}.snippet"
        snippets[name].write_text(f"# ... existing code ...\ndef f{i}():\n    return {v}\n# ... existing code ...\n")
    env = {"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"}
    start, outcomes = time.monotonic(), []
    for _ in range(ROUNDS):
        if time.monotonic() - start > BUDGET_S:
            break
        target = tmp_path / "t.py"
        target.write_text(original)
        procs = [subprocess.Popen([sys.executable, "-m", "fastapply", "apply", str(target), "-s", str(s), "--mode",
                                   "merge", "--in-place"], stderr=subprocess.PIPE, env=env) for s in snippets.values()]
        codes = [p.wait(timeout=60) for p in procs]
        for p in procs:
            p.stderr.close()
        text = target.read_text()
        a, b = "return 300\n" in text, "return 3000\n" in text
        outcomes.append(codes)
        assert set(codes) <= {0, 6}, codes
        # an exit 0 means that edit is in the file
        assert (codes[0] != 0 or a) and (codes[1] != 0 or b), (codes, a, b)
        # an exit 6 means that edit is not (nothing written)
        assert (codes[0] != 6 or not a) and (codes[1] != 6 or not b), (codes, a, b)
    assert outcomes
