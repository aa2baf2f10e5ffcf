#!/usr/bin/env bash
# Test-only tools that do not come from PyPI. Each step is idempotent and quick when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
