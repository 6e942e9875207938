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
def running(cmd: list[str], env: dict[str, str], port: int, *, ready_within: float, wait_ready: bool = True,
            poll: float = 0.2, stop_within: float = 10.0):
    """Run ``cmd``, a server on 127.0.0.1:``port``, until its ``/health`` answers; yield the base
    URL; stop it (terminate, then kill) however the block ends. ``wait_ready=False`` also takes
    a 503 (up, still loading). The wait is bounded, not a timing assertion."""
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_within
        while True:
            if proc.poll() is not None:
                log.seek(0)
                tail = log.read().decode(errors="replace")[-4000:]
                raise RuntimeError(f"{Path(cmd[0]).name} {' '.join(cmd[1:3])} exited ({proc.returncode}):\n{tail}")
            try:
                r = requests.get(base + "/health", timeout=2)
                if r.status_code == 200 or (not wait_ready and r.status_code == 503):
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not become ready in {ready_within:.0f} s")
            time.sleep(poll)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(stop_within)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@contextmanager
def running_server(*args: str, ready_within: float = 180.0, wait_ready: bool = True):
    """Yield the base URL (``http://127.0.0.1:PORT``) of ``fastapply serve`` started with ``args``."""
    port = free_port()
    cmd = [sys.executable, "-m", "fastapply", "serve", "--host", "127.0.0.1", "--port", str(port), *args]
    with running(cmd, tree_env(), port, ready_within=ready_within, wait_ready=wait_ready) as base:
        yield base
