#!/usr/bin/env bash
# The CUDA checks, in one script for a lent GPU machine (see README, "Ray and GPUs"):
#   1. the CUDA-marked tests (trainer against the textbook loop, with and without the Grokfast
#      filter, AdamW against torch.optim.AdamW for every gradient layout, member equals solo run),
#   2. `bench --device cuda` with populations up to 1024,
#   3. the transformer's `tickets` experiment at the paper scale on the GPU.
# Runs from the repository root with a Python that has torch (CUDA), pandas, pyarrow,
# safetensors, matplotlib, tqdm, scipy and pytest; the package is used from src/ uninstalled.
# Results go to ${OUT:-cuda-check}/.
set -uo pipefail
OUT=${OUT:-cuda-check}
mkdir -p "$OUT"
export PYTHONPATH=src PYTHONUNBUFFERED=1
PY=${PY:-python3}
step() { echo; echo "== $1 ($(date +%T))"; }

step "device"
nvidia-smi -L
$PY -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name())'

step "CUDA tests"
timeout 120 $PY -m pytest -q -p no:cacheprovider tests/unit/test_trajectory.py tests/unit/test_grokfast.py -k cuda -rs 2>&1 | tail -25 | tee "$OUT/tests.log"

step "bench --device cuda"
timeout 150 $PY -m grokking_tickets bench --device cuda --quick --sizes 1,8,64,256,1024 --out "$OUT/bench_cuda.json" 2>&1 | tee "$OUT/bench.log"

step "transformer tickets, paper scale, on the GPU"
s=$(date +%s)
timeout 270 $PY -m grokking_tickets run tickets --preset transformer-modadd --scale paper --device cuda \
  --out "$OUT/store" --no-progress 2>&1 | tail -20 | tee "$OUT/tickets.log"
echo "tickets wall-clock: $(( $(date +%s) - s )) s" | tee -a "$OUT/tickets.log"
cp "$OUT/store/summary.csv" "$OUT/tickets_summary.csv" 2>/dev/null
cp "$OUT/store/claims.json" "$OUT/tickets_claims.json" 2>/dev/null
rm -rf "$OUT/store"  # only the small tables come back
step "done"
