#!/usr/bin/env bash
# How the shipped model and the ablations were made on one H200 (the device tool's machine; results land in $OUT).
#
#   engine/train/h200.sh probe     # ~3 min: corpus + tokenizer; eager vs compiled step times on a small corpus
#   engine/train/h200.sh full      # ~8.7 min: the default model alone on the GPU (checkpoint in $OUT/default)
#   engine/train/h200.sh ablation  # ~8 min: the arms base, no-engram, dense in lockstep, 700 equal steps each
#
# TOKENIZER (optional): a tokenizer.json to reuse (the shipped one: engine/weights/default/tokenizer.json), so the
# corpus is encoded with the ids the shipped model knows and no tokenizer is trained.
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
  MAIN_MINUTES=${MAIN_MINUTES:-6.9}  # the whole call (preparation, training, evaluation) stays under 10 minutes
  $PY -m engine.train --prepare-only --data /tmp/data --out /tmp/unused "${tok[@]}" ${PREP_ARGS:-} > "$OUT/main.log" 2>&1 || exit 1
  $PY -m engine.train --out /tmp/default --data /tmp/data --minutes "$MAIN_MINUTES" --batch-size 24 \
    ${MAIN_ARGS:-} >> "$OUT/main.log" 2>&1
  cp /tmp/default/training.json "$OUT/" 2>/dev/null
  # the checkpoint (files come back at 16 MiB each at most: the ~27 MB weights travel in two parts;
  # join them with `cat model.safetensors.part-* > model.safetensors`)
  mkdir -p "$OUT/default"
  cp /tmp/default/config.json /tmp/default/tokenizer.json "$OUT/default/" 2>/dev/null
  split -b 15M /tmp/default/model.safetensors "$OUT/default/model.safetensors.part-"
  exit 0
fi

if [ "$mode" = ablation ]; then
  $PY -m engine.train --prepare-only --data /tmp/data --out /tmp/unused "${tok[@]}" ${PREP_ARGS:-} > "$OUT/ablation.log" 2>&1 || exit 1
  $PY -m engine.train --out /tmp/ablation --data /tmp/data --arms base,no-engram,dense --steps 700 --batch-size 16 \
    --indexer-warmup 0.15 --eval-lines 600 --eval-retrieval 32 ${ABLATION_ARGS:-} >> "$OUT/ablation.log" 2>&1
  cp /tmp/ablation/ablations.json "$OUT/" 2>/dev/null
  exit 0
fi
echo "unknown mode $mode" >&2
exit 2
