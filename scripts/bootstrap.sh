#!/usr/bin/env bash
# Creates .venv/ and installs Newsdesk with its CPU-only torch, the OpenVINO backend and the bundled model.
# Safe to run again: it does nothing when pyproject.toml and this script are unchanged since the last success.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Newsdesk needs Python 3.11 or newer")'

stamp_of() { cat pyproject.toml scripts/bootstrap.sh | sha256sum | cut -d' ' -f1; }
want=$(stamp_of)
if [[ -x .venv/bin/python && -f .venv/.newsdesk-installed && "$(cat .venv/.newsdesk-installed)" == "$want" ]]; then
  exit 0
fi

echo "newsdesk: setting up .venv (first run takes a few minutes)" >&2
[[ -x .venv/bin/python ]] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true

# torch first, pinned to the CPU build: left to the resolver, pip would pull a multi-GB CUDA build.
if ! .venv/bin/python -m pip install --quiet "torch==2.13.0" 2>/dev/null; then
  .venv/bin/python -m pip install --quiet "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu
fi
.venv/bin/python -m pip install --quiet -e ".[dev]" 2>&1 | grep -v "^WARNING: Location" || true
# optimum-intel drags in a CUDA-linked torchvision that breaks `import transformers`; nothing here needs it.
.venv/bin/python -m pip uninstall --quiet -y torchvision 2>/dev/null || true
.venv/bin/python - <<'PY'
import indexer, service, torch, sentence_transformers, qdrant_client, qdrant_edge, litestar  # noqa: F401
from optimum.intel.openvino import OVModelForFeatureExtraction  # noqa: F401
assert "+cpu" in torch.__version__ or not torch.cuda.is_available(), torch.__version__
PY
# export the default model for the OpenVINO backend once (into ./data/models), so no run or test pays for it
.venv/bin/python -c "from indexer.embedding import Embedder; from indexer.settings import IndexerSettings; Embedder(IndexerSettings(_env_file=None))"
echo "$want" > .venv/.newsdesk-installed
echo "newsdesk: .venv ready" >&2
