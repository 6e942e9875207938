#!/usr/bin/env bash
# Run the whole test suite: the fast tier (no model) and the model tier (the embedded
# models through llama.cpp). Sets up first (idempotent, cached), as CI starts from a clean clone.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --no-demo
exec .venv/bin/python -m pytest -q "$@"
