#!/usr/bin/env bash
# The transformer's paper-scale experiments on a lent GPU (norm-control trains the base and
# ticket runs that tickets and pai share). Each finished experiment's tables and figures are
# packed into ${OUT:-cuda-check}/transformer-store.tgz at once, so a cut-off run still returns them.
set -uo pipefail
OUT=${OUT:-cuda-check}
mkdir -p "$OUT"
export PYTHONPATH=src PYTHONUNBUFFERED=1
PY=${PY:-python3}
STORE=/tmp/tf-store
for e in norm-control tickets pai; do
  s=$(date +%s)
  $PY -m grokking_tickets run "$e" --preset transformer-modadd --scale paper --device cuda --out $STORE --no-progress 2>&1 \
    | grep -v UserWarning | tail -12
  echo "TIMING $e $(( $(date +%s) - s )) s"
  tar czf "$OUT/transformer-store.tgz" -C $STORE summary.csv claims.json metrics.parquet figures experiments
done
