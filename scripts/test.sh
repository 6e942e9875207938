#!/usr/bin/env bash
# Run the whole test suite: the fast tier (no model) and the model tier (the embedded
# models through llama.cpp). Sets up first (idempotent, cached), as CI starts from a clean clone.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --no-demo
# The fault suite applies --diff output with the real GNU patch and git apply.
if ! command -v patch >/dev/null || ! command -v git >/dev/null; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get install -y -q patch git >/dev/null || echo "test: could not install patch/git; those cases skip" >&2
  else
    echo "test: patch or git missing; the diff round-trip cases skip" >&2
  fi
fi
exec .venv/bin/python -m pytest -q "$@"
