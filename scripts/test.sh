#!/usr/bin/env bash
# Runs the whole test suite on a fresh clone: installs .venv, the test tools (Qdrant server binary, Chromium)
# and runs pytest. Extra arguments go to pytest, e.g. scripts/test.sh -k chunking
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/install-test-tools.sh
exec .venv/bin/python -m pytest "$@"
