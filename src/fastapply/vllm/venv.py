"""Run vLLM in its own venv from a process that does not have it (the tests, the benchmark).

vLLM's CPU build needs its own torch and ~3 GB, so it lives in ``.venv-vllm``
(``scripts/setup-vllm.sh``), never in fastapply's main venv. This module finds that venv,
builds the environment the CPU build needs and runs ``fastapply.vllm.offline`` jobs or a
``vllm serve`` in it. It imports no vLLM itself.
"""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SRC = REPO / "src"


def venv_dir() -> Path:
    return Path(os.environ.get("FASTAPPLY_VLLM_VENV", REPO / ".venv-vllm"))


def python() -> Path | None:
    """The vLLM venv's interpreter, or None when the venv is not set up."""
    exe = venv_dir() / "bin" / "python"
    return exe if exe.exists() else None


def cpu_env(tp: int = 1, **extra: str) -> dict[str, str]:
    """The environment vLLM's CPU build needs, with this tree's ``src`` first on the path.

    LD_PRELOAD: the CPU build's OpenMP runtime (libiomp5) must be loaded before torch's.
    VLLM_CPU_KVCACHE_SPACE: GiB of KV cache; 1 is plenty for the tiny test model.
    VLLM_CPU_OMP_THREADS_BIND: one core per tensor-parallel rank ("0|1" for TP=2).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("FASTAPPLY_")}
    lib = venv_dir() / "lib" / "libiomp5.so"
    if lib.exists():
        env["LD_PRELOAD"] = str(lib)
    env.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    if tp > 1:
        env["VLLM_CPU_OMP_THREADS_BIND"] = "|".join(str(i) for i in range(tp))
    env["PYTHONPATH"] = str(SRC) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("VLLM_PLUGINS", None)
    return {**env, **extra}


def run_job(job: dict, *, timeout: float = 900.0) -> dict:
    """Run one ``fastapply.vllm.offline`` job (one engine start) and return its report."""
    exe = python()
    if exe is None:
        raise RuntimeError(f"no vLLM venv at {venv_dir()}: run scripts/setup-vllm.sh")
    with tempfile.TemporaryDirectory() as tmp:
        job_path, out_path, log_path = Path(tmp, "job.json"), Path(tmp, "out.json"), Path(tmp, "log.txt")
        job_path.write_text(json.dumps(job))
        with open(log_path, "wb") as log:
            proc = subprocess.run([str(exe), "-m", "fastapply.vllm.offline", str(job_path), str(out_path)],
                                  env=cpu_env(job.get("tp", 1)), stdout=log, stderr=subprocess.STDOUT, timeout=timeout)
        if proc.returncode != 0 or not out_path.exists():
            tail = log_path.read_text(errors="replace")[-4000:]
            raise RuntimeError(f"vLLM job ({job.get('method')}, tp={job.get('tp', 1)}) failed, exit {proc.returncode}:\n{tail}")
        return json.loads(out_path.read_text())


def build_tiny_model(out: Path) -> Path:
    """Build the tiny random Llama (``tinymodel.py``) with the vLLM venv's transformers."""
    exe = python()
    if exe is None:
        raise RuntimeError(f"no vLLM venv at {venv_dir()}: run scripts/setup-vllm.sh")
    subprocess.run([str(exe), "-m", "fastapply.vllm.tinymodel", str(out)], env=cpu_env(), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
    return out


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
