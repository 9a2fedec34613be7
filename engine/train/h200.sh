#!/usr/bin/env bash
# How the shipped model and the ablations were made on one H200 (the device tool's machine; results land in $OUT).
#
#   engine/train/h200.sh probe   # ~3 min: corpus + tokenizer; eager vs compiled step times on a small corpus
#   engine/train/h200.sh full    # ~9.5 min: the default model and, beside it on the same GPU, the ablation arms
#
# TOKENIZER (optional): a tokenizer.json from an earlier probe, so `full` skips training one.
set -uo pipefail
export PYTHONUNBUFFERED=1
mode=${1:?usage: h200.sh probe|full}
OUT=${OUT:-/tmp/out}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
tok=()
[ -n "${TOKENIZER:-}" ] && tok=(--tokenizer "$TOKENIZER")

if [ "$mode" = probe ]; then
  nvidia-smi --query-gpu=name,memory.total --format=csv > "$OUT/eager.log"
  nproc >> "$OUT/eager.log"
  ( timeout 240 $PY -m engine.train --prepare-only --data /tmp/full --out /tmp/unused > "$OUT/prep.log" 2>&1
    cp /tmp/full/tokenizer.json /tmp/full/data.json "$OUT/" ) &
  $PY -m engine.train --prepare-only --data /tmp/small --out /tmp/unused --max-files 2000 >> "$OUT/eager.log" 2>&1
  quick=(--data /tmp/small --steps 16 --sparse-start 0.5 --indexer-warmup 0.125 --log-every 1
         --eval-lines 64 --eval-retrieval 16 --eval-windows 16)
  timeout 100 $PY -m engine.train --out /tmp/eager "${quick[@]}" --no-compile >> "$OUT/eager.log" 2>&1
  cp /tmp/eager/training.json "$OUT/eager.json"
  timeout 200 $PY -m engine.train --out /tmp/compiled "${quick[@]}" --compile > "$OUT/compiled.log" 2>&1
  cp /tmp/compiled/training.json "$OUT/compiled.json"
  wait
  exit 0
fi

if [ "$mode" = full ]; then
  MAIN_MINUTES=${MAIN_MINUTES:-7}
  ABLATION_MINUTES=${ABLATION_MINUTES:-6.5}
  $PY -m engine.train --prepare-only --data /tmp/data --out /tmp/unused "${tok[@]}" ${PREP_ARGS:-} > "$OUT/main.log" 2>&1 || exit 1
  $PY -m engine.train --out /tmp/default --data /tmp/data --minutes "$MAIN_MINUTES" ${MAIN_ARGS:-} >> "$OUT/main.log" 2>&1 &
  main=$!
  $PY -m engine.train --out /tmp/ablation --data /tmp/data --minutes "$ABLATION_MINUTES" \
    --arms base,no-engram,dense ${ABLATION_ARGS:-} > "$OUT/ablation.log" 2>&1 &
  ablation=$!
  wait $main; wait $ablation
  cp /tmp/default/training.json /tmp/ablation/ablations.json "$OUT/" 2>/dev/null
  # the checkpoint (8 files come back, 16 MiB each at most: the ~27 MB weights travel in two parts;
  # join them with `cat model.safetensors.part-* > model.safetensors`)
  mkdir -p "$OUT/default"
  cp /tmp/default/config.json /tmp/default/tokenizer.json "$OUT/default/" 2>/dev/null
  split -b 15M /tmp/default/model.safetensors "$OUT/default/model.safetensors.part-"
  exit 0
fi
echo "unknown mode $mode" >&2
exit 2
