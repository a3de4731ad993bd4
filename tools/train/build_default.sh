#!/usr/bin/env bash
# Rebuilds onprem's default model from nothing but this repository: corpus, vocabulary, training
# (CPU, 2 threads), export, quantisation. Usage: tools/train/build_default.sh [WORK_DIR] [STEPS]
# Writes WORK_DIR/model-F32.gguf and models/onprem-default-Q8_0.gguf.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:-$root/build/train}
steps=${2:-400}
onprem=$root/build/onprem
py=/usr/bin/python3
mkdir -p "$work"
$py "$root/tools/train/corpus.py" "$onprem" "$work" --train 6000 --heldout 200 --seed 1
"$onprem" render-chat --jsonl < "$work/train.jsonl" > "$work/train.rendered.jsonl"
$py "$root/tools/train/train.py" vocab "$work"
$py "$root/tools/train/train.py" check "$work" "$onprem"
OMP_NUM_THREADS=2 $py "$root/tools/train/train.py" train "$work" "$onprem" --steps "$steps" --seed 1 --threads 2
"$onprem" quantize "$work/model-F32.gguf" "$root/models/onprem-default-Q8_0.gguf" Q8_0
sha256sum "$work/model-F32.gguf" "$root/models/onprem-default-Q8_0.gguf"
