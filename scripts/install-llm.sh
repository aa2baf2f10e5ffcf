#!/usr/bin/env bash
# Local language-model runtime for Newsdesk's generated answers (issue 11): llama-cpp-python[server] built from
# source once into the git-ignored .wheels/, installed into .venv, then the GGUF model(s) into data/llm/.
#
#   scripts/install-llm.sh                 # runtime + the test model (NEWSDESK_TEST_LLM_MODEL or qwen2.5-0.5b)
#   scripts/install-llm.sh qwen2.5-1.5b    # runtime + the named model(s); see install_llm_model.py --list
#   scripts/install-llm.sh --runtime-only  # no model
#
# Idempotent and quick when done: the wheel is cached under a key of (version, build flags, Python) in .wheels/ and
# in a machine-wide copy (NEWSDESK_WHEEL_CACHE, default ~/.cache/newsdesk/wheels) for fresh clones such as CI's;
# the install is skipped when .venv already has that wheel, and models already verified are not fetched again.
#
# Build flags. No GPU backend (CUDA's nvcc is on some machines here; a wheel that links libcudart would not load
# on the others). GGML_NATIVE=OFF because -march=native bakes in whatever the build host has (AVX-512 on some
# EPYC/Xeon hosts), and the cached wheel must run on every machine of this kind, CI's included, or die with
# SIGILL. Instead we name the x86-64-v3 set (AVX2, FMA, F16C, BMI2) that every x86-64 server CPU of the last
# ten years has and that gives most of llama.cpp's CPU speed; on a CPU without AVX2 the script falls back to an
# SSE4.2-only build (slower, but it runs) under its own cache key. LLAVA_BUILD=OFF: Newsdesk is text only, and
# the multimodal library is a large part of the build (llama_cpp imports it lazily, only for llava formats).
set -euo pipefail
cd "$(dirname "$0")/.."

LLAMA_CPP_PYTHON_VERSION=0.3.36
PY=${PYTHON:-.venv/bin/python}
WHEELS=.wheels
# CI runs in a fresh clone, where .wheels/ is empty: a machine-wide copy lets it skip the build too
MACHINE_WHEELS=${NEWSDESK_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/newsdesk/wheels}

if [[ ! -x "$PY" ]]; then
  echo "install-llm: $PY not found; run scripts/bootstrap.sh first (or set PYTHON=...)" >&2
  exit 1
fi

common_flags="-DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF -DGGML_HIP=OFF -DGGML_SYCL=OFF -DGGML_BLAS=OFF"
common_flags+=" -DGGML_BACKEND_DL=OFF -DGGML_OPENMP=ON -DLLAVA_BUILD=OFF -DLLAMA_CURL=OFF"
common_flags+=" -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF"
arch=$(uname -m)
if [[ "$arch" == x86_64 ]]; then
  if grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo && grep -qw f16c /proc/cpuinfo; then
    cpu_level=x86-64-v3
    cpu_flags="-DGGML_NATIVE=OFF -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
    cpu_flags+=" -DGGML_BMI2=ON -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF"
  else
    cpu_level=x86-64-v2
    cpu_flags="-DGGML_NATIVE=OFF -DGGML_SSE42=ON -DGGML_AVX=OFF -DGGML_AVX2=OFF -DGGML_FMA=OFF -DGGML_F16C=OFF"
    cpu_flags+=" -DGGML_BMI2=OFF -DGGML_AVX512=OFF"
  fi
else
  # other architectures: ggml's portable defaults for that architecture (not tried here)
  cpu_level=$arch-generic
  cpu_flags="-DGGML_NATIVE=OFF"
fi
CMAKE_ARGS="$cpu_flags $common_flags"
py_tag=$("$PY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
key=$(printf '%s|%s|%s|%s' "$LLAMA_CPP_PYTHON_VERSION" "$CMAKE_ARGS" "$py_tag" "$arch" | sha256sum | cut -c1-12)
cache="$WHEELS/llama-cpp-python-$LLAMA_CPP_PYTHON_VERSION-$cpu_level-$key"

runtime_only=0
models=()
for arg in "$@"; do
  if [[ "$arg" == --runtime-only ]]; then runtime_only=1; else models+=("$arg"); fi
done
[[ ${#models[@]} -gt 0 ]] || models=("${NEWSDESK_TEST_LLM_MODEL:-qwen2.5-0.5b}")

# --- 1. the wheel, built once ------------------------------------------------------------------------------------
find_wheel() { ls "$1"/llama_cpp_python-"$LLAMA_CPP_PYTHON_VERSION"-*.whl 2>/dev/null | head -n1 || true; }
wheel=$(find_wheel "$cache")
machine_copy="$MACHINE_WHEELS/$(basename "$cache")"
if [[ -z "$wheel" && -n "$(find_wheel "$machine_copy")" ]]; then
  mkdir -p "$cache"
  cp "$(find_wheel "$machine_copy")" "$machine_copy/BUILD-INFO" "$cache/" 2>/dev/null || true
  wheel=$(find_wheel "$cache")
  [[ -n "$wheel" ]] && echo "install-llm: reusing the machine's build from $machine_copy" >&2
fi
if [[ -z "$wheel" ]]; then
  echo "install-llm: building llama-cpp-python $LLAMA_CPP_PYTHON_VERSION ($cpu_level, CPU only); ~7 min on 2 cores" >&2
  echo "install-llm: CMAKE_ARGS=$CMAKE_ARGS" >&2
  mkdir -p "$WHEELS"
  tmp=$(mktemp -d "$WHEELS/.build-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  start=$(date +%s)
  # a wheel lands in the cache only when the build finished, so an interrupted build is simply redone
  CMAKE_ARGS="$CMAKE_ARGS" CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} \
    nice -n 10 "$PY" -m pip wheel --quiet --no-deps --no-binary llama-cpp-python -w "$tmp" \
    "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" 2>&1 | grep -v "^WARNING: Location" || true
  built=$(ls "$tmp"/llama_cpp_python-*.whl 2>/dev/null | head -n1 || true)
  if [[ -z "$built" ]]; then
    echo "install-llm: building llama-cpp-python failed (see pip's output above)" >&2
    exit 1
  fi
  mkdir -p "$cache"
  printf '%s\n' "version=$LLAMA_CPP_PYTHON_VERSION" "cpu_level=$cpu_level" "python=$py_tag" \
    "CMAKE_ARGS=$CMAKE_ARGS" "build_seconds=$(( $(date +%s) - start ))" > "$cache/BUILD-INFO"
  mv "$built" "$cache/"
  wheel="$cache/$(basename "$built")"
  if mkdir -p "$machine_copy" 2>/dev/null; then
    cp "$wheel" "$cache/BUILD-INFO" "$machine_copy/" || echo "install-llm: could not copy the wheel to $machine_copy" >&2
  fi
  echo "install-llm: built $wheel in $(( $(date +%s) - start )) s" >&2
fi

# --- 2. installed into .venv with the server extras ------------------------------------------------------------------
# the venv remembers which wheel it got (same version, other flags: reinstall)
marker=$("$PY" -c 'import sys; print(sys.prefix)')/.newsdesk-llama-cpp-wheel
if [[ "$(cat "$marker" 2>/dev/null)" != "$(basename "$cache")/$(basename "$wheel")" ]] \
   || ! "$PY" -c 'import llama_cpp.server.app' 2>/dev/null; then
  "$PY" -m pip install --quiet --force-reinstall --no-deps "$wheel" 2>&1 | grep -v "^WARNING: Location" || true
  "$PY" -m pip install --quiet "${wheel}[server]" 2>&1 | grep -v "^WARNING: Location" || true
  "$PY" -c 'import llama_cpp, llama_cpp.server.app; print("install-llm: llama_cpp", llama_cpp.__version__)' >&2
  echo "$(basename "$cache")/$(basename "$wheel")" > "$marker"
fi

# --- 3. the model(s) ---------------------------------------------------------------------------------------------
if [[ $runtime_only == 0 ]]; then
  for model in "${models[@]}"; do
    "$PY" scripts/install_llm_model.py "$model"
  done
fi
