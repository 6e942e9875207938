"""Start ``fastapply serve`` / ``fastapply mcp`` as real processes for the tests and the benchmark.

The server runs from this tree's ``src`` (PYTHONPATH), on 127.0.0.1 and a free port, and is
stopped (terminate, then kill) however the test ends.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import requests

SRC = str(Path(__file__).resolve().parent.parent / "src")


def tree_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FASTAPPLY_")}
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    return {**env, **extra}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(*args: str, ready_within: float = 180.0, wait_ready: bool = True):
    """Yield the base URL (``http://127.0.0.1:PORT``) of a server started with ``args``."""
    port = free_port()
    log = tempfile.TemporaryFile()
    cmd = [sys.executable, "-m", "fastapply", "serve", "--host", "127.0.0.1", "--port", str(port), *args]
    proc = subprocess.Popen(cmd, env=tree_env(), stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_within
        while True:  # a bounded wait for startup, not a timing assertion
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"the server exited ({proc.returncode}):\n{log.read().decode(errors='replace')}")
            try:
                r = requests.get(base + "/health", timeout=2)
                if r.status_code == 200 or (not wait_ready and r.status_code == 503):
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not become ready in time")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
