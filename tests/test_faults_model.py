"""Fault suite, model mode: Ctrl-C acts within about a second, exits 130, and leaves the file alone."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from faultkit import SRC

M = pytest.mark.fault("signals", "refused")


@M
@pytest.mark.model
@pytest.mark.parametrize("delay", [1.0, 6.0])  # while loading / while the model runs
def test_sigint_in_model_mode_exits_130_at_once(tmp_path, delay):
    original = "".join(f"def f{i}(x):\n    y = x * {i}\n    return y + {i}\n\n\n" for i in range(150))
    target = tmp_path / "big.py"
    target.write_text(original)
    snip = tmp_path / "s.py"
    snip.write_text("# ... existing code ...\ndef f75(x):\n    y = x * 750\n    return y\n# ... existing code ...\n")
    env = {**os.environ, "PYTHONPATH": SRC}
    child = subprocess.Popen([sys.executable, "-m", "fastapply", "apply", str(target), "-s", str(snip), "--mode",
                              "model", "--in-place"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    time.sleep(delay)
    if child.poll() is not None:
        pytest.fail(f"finished before the signal: {child.returncode} {child.stderr.read()[-300:]!r}")
    sent = time.monotonic()
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    took = time.monotonic() - sent
    assert child.returncode == 130, err[-500:]
    assert took < 3.0, took  # generous: the requirement is about a second (was 13 s)
    assert b"nothing was written" in err and b"Traceback" not in err
    assert target.read_text() == original and sorted(os.listdir(tmp_path)) == ["big.py", "s.py"]
