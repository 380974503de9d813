#!/usr/bin/env bash
# One call on a GPU machine (PyTorch 2.x with CUDA, transformers and peft; no Node.js, no
# registry): unpack node and node_modules, build the addon against the machine's PyTorch (CUDA
# libtorch 2.x), run the CUDA tests (parity against transformers/peft, NCCL among them),
# benchmark GPT-2 124M LoRA training against PyTorch eager, print a short table last. Logs go
# to $OUT.
#   here:  bash scripts/gpu/pack.sh        (node + node_modules into .device/, ~36 MB)
#   there: { command: "bash scripts/gpu-check.sh", carry: [".device"], timeout_s: 600 }
# The whole check keeps to GPU_CHECK_BUDGET_S seconds (default 540: one device call, with the
# machine's start, fits the 15-minute device budget); each stage gets what is left, the benchmark
# skips the cases it has no time for, and every stage's output is in $OUT as it goes.
#   DRY_RUN=1 TSTORCH_PYTHON=/usr/bin/python3 bash scripts/gpu-check.sh   checks the plumbing on a
#   CPU machine (the CUDA tests fail there by design; the benchmark runs a tiny model on the CPU).
set -uo pipefail
START=$SECONDS
BUDGET=${GPU_CHECK_BUDGET_S:-540}
left() { echo $((BUDGET - (SECONDS - START))); }
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu-check.log") 2>&1
cd "$(dirname "$0")/.."
# The GPU machine has no Node.js and no npm (so no npx): node comes from .device, and every tool
# below is started through node from node_modules.
if ! command -v node >/dev/null; then
  mkdir -p /tmp/tstorch-node && xz -dc .device/node.xz > /tmp/tstorch-node/node && chmod +x /tmp/tstorch-node/node
  export PATH=/tmp/tstorch-node:$PATH
fi
if [ ! -d node_modules ]; then
  [ -s .device/node_modules.tar.xz ] || { echo "gpu-check: no node_modules and no .device/node_modules.tar.xz (run scripts/gpu/pack.sh here first)"; exit 1; }
  xz -dc .device/node_modules.tar.xz | tar xf - || exit 1
fi
PY=${TSTORCH_PYTHON:-$(command -v python3)}
[ -x /opt/torch/.venv/bin/python ] && PY=/opt/torch/.venv/bin/python
export TSTORCH_PYTHON=$PY TSTORCH_REF_PYTHON=$PY
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}
echo "node $(node --version); python $PY: $($PY -c 'import torch; print(torch.__version__, torch.version.cuda, torch.cuda.is_available())')"
echo "== build ($(left) s left)"
rm -rf build
if ! ( time node node_modules/cmake-js/bin/cmake-js compile --CDCMAKE_BUILD_TYPE=Release ) > "$OUT/build.log" 2>&1; then
  # The first compiler errors say what moved in this libtorch's API; the tail says where it stopped.
  # ninja stops at the first failed file; -k 0 compiles all the others too, so that one call
  # shows every file's errors (the ones already built are not compiled again).
  ( cd build && timeout 240 cmake --build . -- -k 0 ) > "$OUT/build-all.log" 2>&1
  grep -h -E "error" "$OUT/build.log" "$OUT/build-all.log" | sort | uniq -c | sort -rn | cut -c1-400 | head -60
  echo ...; tail -15 "$OUT/build.log"
  exit 1
fi
grep -E "^real|tstorch: (libtorch|c10d|no Gloo|CUDA libtorch|CUDA allocator|torch.vmap|libtorch warnings)" "$OUT/build.log"
# What an optional part that did not compile says (CMakeLists.txt prints its first errors).
grep -A9 "disabled: native" "$OUT/build.log" | grep -E "error" | cut -c1-400 | head -30
node node_modules/typescript/bin/tsc -p . || exit 1
node -e "const t=require('./dist/lib'); const b=t.buildInfo(); console.log(JSON.stringify({v:b.torchVersion, src:b.torchSource, cuda:b.builtWithCuda, avail:b.cudaAvailable, n:b.cudaDeviceCount, dist:t.distributed.backends()}))"

# The benchmark needs about 200 s for its four cases; the tests get the rest, up to 240 s.
# GPU_CHECK_BENCH=0 skips the benchmark (its figures are in BENCHMARKS.md already) and gives the
# tests all the time left; GPU_CHECK_TESTS picks tests by name (jest's -t), e.g. "NCCL|torch.func".
BENCH=${GPU_CHECK_BENCH:-1}
if [ "$BENCH" = 0 ]; then JEST_S=$(( $(left) - 10 )); else
  JEST_S=$(( $(left) - 200 )); [ "$JEST_S" -gt 240 ] && JEST_S=240; fi
[ "$JEST_S" -lt 60 ] && JEST_S=60
echo "== CUDA tests (limit $JEST_S s)"
# (TSTORCH_REPORT_EACH: each test's result is printed as it ends, so a cut-off run still shows them.)
TSTORCH_TEST_CUDA=1 TSTORCH_REPORT_EACH=1 timeout "$JEST_S" node node_modules/jest/bin/jest.js test/cuda.test.ts \
  ${GPU_CHECK_TESTS:+-t "$GPU_CHECK_TESTS"} > "$OUT/jest-cuda.log" 2>&1
rc=$?; echo "jest exit $rc$([ $rc = 124 ] && echo ": cut off at $JEST_S s")"; grep -E "^\[(PASS|FAIL|SKIP)\]|^tests:|Expected|Received" "$OUT/jest-cuda.log" | cut -c1-600 | head -40

# GPT-2 124M LoRA training vs transformers+peft (fp32 and bf16, 8x128 and 16x1024), table last.
BENCH_S=$(( $(left) - 5 )); [ "$BENCH_S" -lt 30 ] && BENCH_S=30
if [ "$BENCH" = 0 ]; then echo "== benchmark skipped (GPU_CHECK_BENCH=0)"
elif [ "${DRY_RUN:-0}" != 1 ]; then
  echo "== benchmark (limit $BENCH_S s)"
  timeout "$BENCH_S" node dist/scripts/bench/gpu.js --steps 10 --time-budget $((BENCH_S - 10)) 2>&1 | tee "$OUT/bench-gpu.txt" | tail -14
else
  echo "== benchmark, dry run (limit $BENCH_S s)"
  timeout "$BENCH_S" node dist/scripts/bench/gpu.js --dry-run --time-budget $((BENCH_S - 10)) 2>&1 | tee "$OUT/bench-gpu.txt" | tail -10
fi
echo "== done in $((SECONDS - START)) s"
