#!/usr/bin/env bash
# Main job on the embedded default: set up .venv, index the bundled sample articles into ./data/qdrant,
# then serve the query API (http://127.0.0.1:8000, docs at /schema). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/python -m indexer ingest samples --prune
.venv/bin/python -m indexer stats
if .venv/bin/python -c "import service.app" 2>/dev/null; then
  exec .venv/bin/python -m service
fi
