#!/usr/bin/env bash
# One call on the GPU machine (see ../shared/gpu/README.md): unpack node, build the addon
# against the machine's PyTorch (CUDA libtorch 2.x), run the CUDA tests (parity against
# transformers/peft among them), benchmark against PyTorch eager, print a short table last.
# Logs go to $OUT. Run with carry [".device", "node_modules"] after ../shared/gpu/pack-node.sh.
set -uo pipefail
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu-check.log") 2>&1
cd "$(dirname "$0")/.."
if ! command -v node >/dev/null; then
  xz -dc .device/node.xz > /tmp/node && chmod +x /tmp/node && export PATH=/tmp:$PATH
fi
PY=${TSTORCH_PYTHON:-$(command -v python3)}
[ -x /opt/torch/.venv/bin/python ] && PY=/opt/torch/.venv/bin/python
export TSTORCH_PYTHON=$PY TSTORCH_REF_PYTHON=$PY
echo "node $(node --version); python $PY: $($PY -c 'import torch; print(torch.__version__, torch.version.cuda, torch.cuda.is_available())')"
rm -rf build
( time npx cmake-js compile --CDCMAKE_BUILD_TYPE=Release ) > "$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
npx tsc -p . || exit 1
grep -E "tstorch: (c10d|no Gloo|CUDA libtorch|CUDA allocator)" "$OUT/build.log"  # which distributed backends were built (NCCL is tested below)
node -e "const t=require('./dist/lib'); const b=t.buildInfo(); console.log(JSON.stringify({v:b.torchVersion, src:b.torchSource, cuda:b.builtWithCuda, avail:b.cudaAvailable, n:b.cudaDeviceCount}))"
# Each stage has its own time limit, so that a hang cannot spend the whole device budget.
TSTORCH_TEST_CUDA=1 timeout 300 npx jest test/cuda.test.ts 2>&1 | tail -40
# GPT-2 124M LoRA training vs transformers+peft (fp32 and bf16, 8x128 and 16x1024), table last.
# DRY_RUN=1 (on a CPU machine, to check the plumbing) runs it on the CPU with a tiny model
# (there: TSTORCH_PYTHON=/usr/bin/python3; the CUDA tests above fail by design).
if [ "${DRY_RUN:-0}" != 1 ]; then
  timeout 420 node dist/scripts/bench/gpu.js --steps 10 2>&1 | tee "$OUT/bench-gpu.txt" | tail -12
else
  node dist/scripts/bench/gpu.js --dry-run 2>&1 | tail -8
fi
