#!/usr/bin/env bash
# Main job on the embedded default: set up .venv, index the bundled sample articles into ./data/qdrant,
# then serve the query API and chat page (http://127.0.0.1:8000, docs at /schema). Safe to run again
# (while the service runs, the embedded store is its own: add articles with POST /v1/documents).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
# exit 3 = done, some input skipped (each listed): the service still starts
.venv/bin/python -m indexer ingest samples --prune || [ $? -eq 3 ]
.venv/bin/python -m indexer stats
exec .venv/bin/python -m service
