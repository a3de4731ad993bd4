#!/usr/bin/env bash
# The training code's model is the engine's model: a small corpus, its vocabulary, and a
# random-initialised PyTorch qwen35moe exported to GGUF must give the engine's logits (float64
# PyTorch vs `onprem logits`, 300 tokens over 5 DeltaNet chunks). Usage: check.sh ONPREM WORK_DIR
set -euo pipefail
onprem=$1
work=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$work"
/usr/bin/python3 "$root/tools/train/corpus.py" "$onprem" "$work" --train 400 --heldout 0 --seed 3
"$onprem" render-chat --jsonl < "$work/train.jsonl" > "$work/train.rendered.jsonl"
/usr/bin/python3 "$root/tools/train/train.py" vocab "$work"
/usr/bin/python3 "$root/tools/train/train.py" check "$work" "$onprem"
