#!/usr/bin/env bash
# The training code's model is the engine's model: a small corpus, its vocabulary, and a
# random-initialised PyTorch qwen35moe exported to GGUF must give the engine's logits (float64
# PyTorch vs `onprem logits`, 300 tokens over 5 DeltaNet chunks), and training is deterministic,
# with the committed model's recipe (tools/train/recipe.sh).
# Usage: check.sh ONPREM WORK_DIR
set -euo pipefail
onprem=$1
work=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tools/train/recipe.sh
source "$root/tools/train/recipe.sh"
mkdir -p "$work"
/usr/bin/python3 "$root/tools/train/corpus.py" "$onprem" "$work" --train 400 --heldout 0 --seed 3 "${recipe_corpus[@]}"
"$onprem" render-chat --jsonl < "$work/train.jsonl" > "$work/train.rendered.jsonl"
/usr/bin/python3 "$root/tools/train/train.py" vocab "$work" "${recipe_vocab[@]}"
/usr/bin/python3 "$root/tests/train/whole_chars.py" "$work/vocab.json"
/usr/bin/python3 "$root/tools/train/train.py" check "$work" "$onprem"
# Same seed, same bytes: two short trainings through the real loop must write identical files
# (the committed default model is only reproducible if this holds).
for run in a b; do
  /usr/bin/python3 "$root/tools/train/train.py" train "$work" "$onprem" --steps 6 --tokens 2048 --seed 1 --threads 2 \
    "${recipe_train[@]}" > "$work/train-$run.log"
  mv "$work/model-F32.gguf" "$work/model-$run.gguf"
done
if ! cmp -s "$work/model-a.gguf" "$work/model-b.gguf"; then
  echo "two trainings with the same seed wrote different models" >&2
  exit 1
fi
echo "determinism: two 6-step trainings wrote the same $(stat -c %s "$work/model-a.gguf") bytes"
# A continuation (build_default.sh's second stage) starts from exactly the file it is given.
/usr/bin/python3 "$root/tools/train/train.py" train "$work" "$onprem" --steps 0 --tokens 2048 --seed 1 --threads 2 \
  --init-from "$work/model-a.gguf" --skip-batches 6 "${recipe_continue[@]}" > "$work/train-c.log"
/usr/bin/python3 "$root/tests/train/same_tensors.py" "$work/model-a.gguf" "$work/model-F32.gguf"
