#!/usr/bin/env bash
# Rebuilds onprem's default model from nothing but this repository: corpus, vocabulary, training
# (CPU, 2 threads), export, quantisation.
# Usage: tools/train/build_default.sh [WORK_DIR] [STEPS] [TRAIN_SEED] [OUT] [CONTINUE_STEPS]
# Trains STEPS, then continues CONTINUE_STEPS more from that file (recipe.sh, recipe_continue).
# Writes WORK_DIR/stage1-F32.gguf, WORK_DIR/model-F32.gguf and OUT (default
# models/onprem-default-Q8_0.gguf). The defaults rebuild the committed file (about 120 minutes on
# 2 cores); another TRAIN_SEED (initialisation and batch order; the corpus stays the same)
# measures how much the result depends on the draw.
# CORPUS_ARGS, VOCAB_ARGS and TRAIN_ARGS add options to those steps, TRAIN_ARGS to both training
# stages (docs/default-model.md).
# shellcheck disable=SC2086 # the *_ARGS variables are split into options on purpose
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:-$root/build/train}
steps=${2:-2000}
seed=${3:-1}
out=${4:-$root/models/onprem-default-Q8_0.gguf}
continue_steps=${5:-1200}
onprem=$root/build/onprem
py=/usr/bin/python3
mkdir -p "$work"
# shellcheck source=tools/train/recipe.sh
source "$root/tools/train/recipe.sh"
$py "$root/tools/train/corpus.py" "$onprem" "$work" --train 16000 --heldout 200 --seed 1 "${recipe_corpus[@]}" ${CORPUS_ARGS:-}
"$onprem" render-chat --jsonl < "$work/train.jsonl" > "$work/train.rendered.jsonl"
$py "$root/tools/train/train.py" vocab "$work" "${recipe_vocab[@]}" ${VOCAB_ARGS:-}
$py "$root/tools/train/train.py" check "$work" "$onprem"
OMP_NUM_THREADS=2 $py "$root/tools/train/train.py" train "$work" "$onprem" --steps "$steps" --seed "$seed" --threads 2 \
  "${recipe_train[@]}" ${TRAIN_ARGS:-}
mv "$work/model-F32.gguf" "$work/stage1-F32.gguf"
OMP_NUM_THREADS=2 $py "$root/tools/train/train.py" train "$work" "$onprem" --steps "$continue_steps" --seed "$seed" --threads 2 \
  --init-from "$work/stage1-F32.gguf" --skip-batches "$steps" "${recipe_continue[@]}" ${TRAIN_ARGS:-}
"$onprem" quantize "$work/model-F32.gguf" "$out" Q8_0
sha256sum "$work/model-F32.gguf" "$out"
