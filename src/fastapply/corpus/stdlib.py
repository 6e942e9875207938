"""Guard: keep the CPython standard library out of the benchmark.

The stdlib is reserved for independent evaluation, and packages sometimes vendor or copy stdlib
modules. Every file of every Python installed on this machine is hashed (ignoring indentation,
trailing spaces and blank lines, so near-identical copies match too), and a mined file whose
before or after text hashes the same is dropped.
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from fastapply.corpus.mining import content_key, wanted

_PROBE = "import sysconfig; print(sysconfig.get_paths()['stdlib'])"
_SKIP_DIRS = frozenset({"site-packages", "dist-packages", "__pycache__"})


def python_executables() -> list[str]:
    """Every Python interpreter we can find: this one, pyenv's, and the usual names on PATH."""
    found = {sys.executable}
    found.update(glob.glob(os.path.expanduser("~/.pyenv/versions/*/bin/python")))
    found.update(glob.glob("/usr/bin/python[23]*") + glob.glob("/usr/local/bin/python[23]*"))
    for name in ["python", "python3"] + [f"python3.{minor}" for minor in range(6, 16)]:
        path = shutil.which(name)
        if path:
            found.add(path)
    return sorted(p for p in found if os.access(p, os.X_OK) and not p.endswith("-config"))


def stdlib_dirs(executables: list[str] | None = None) -> list[Path]:
    """`sysconfig.get_paths()['stdlib']` of each interpreter (deduplicated, existing only)."""
    dirs = {Path(sysconfig.get_paths()["stdlib"]).resolve()}
    for exe in executables if executables is not None else python_executables():
        try:
            out = subprocess.run([exe, "-c", _PROBE], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode == 0 and out.stdout.strip():
            dirs.add(Path(out.stdout.strip()).resolve())
    return sorted(d for d in dirs if d.is_dir())


def stdlib_keys(dirs: list[Path]) -> frozenset[str]:
    """Content keys of every source file under the stdlib directories (third-party site-packages
    inside them excluded: those are not the stdlib)."""
    keys = set()
    for root in dirs:
        for folder, subdirs, files in os.walk(root):
            subdirs[:] = sorted(d for d in subdirs if d not in _SKIP_DIRS)
            for name in files:
                if not wanted(name):
                    continue
                try:
                    data = (Path(folder) / name).read_bytes()
                    keys.add(content_key(data.decode("utf-8", errors="replace")))
                except OSError:
                    continue
    return frozenset(keys)


def is_stdlib(text: str, keys: frozenset[str]) -> bool:
    return content_key(text) in keys
