#!/usr/bin/env bash
# Everything tstorch needs on a fresh Debian 12, then the build. Idempotent.
#   libtorch-dev          Debian's libtorch 1.13 (CPU) to build and run against
#   libopenblas0-pthread  a fast BLAS for it (without it matmul uses the slow reference BLAS)
#   libgloo-dev           Gloo headers, for c10d data-parallel training (libtorch has the code)
#   python3-torch         the Python reference used by the parity fixtures and benchmarks
#   python3-jinja2        the chat-template reference (transformers renders templates with Jinja2)
#   python3-jsonschema    the JSON Schema reference for serve's response_format json_schema
#   python3-lark          the grammar reference for serve's structured outputs grammar (Lark's Earley parser)
#   zstd                  writes the tests' Zstandard data files (an independent writer for the .zst reader)
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
need=()
for p in libtorch-dev libopenblas0-pthread libgloo-dev python3-torch python3-jinja2 python3-jsonschema python3-lark zstd cmake g++ make; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" ca-certificates >/dev/null
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run compile
