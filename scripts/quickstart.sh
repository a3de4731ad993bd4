#!/usr/bin/env bash
# README command 1: install what is missing, build, make the bundled default model and show it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
mkdir -p "$root/models"
# The default model until the trained one lands: a small random-weight Qwen3.6-35B-A3B-shaped
# MoE (qwen35moe) in Q4_K_M, deterministic from its seed.
"$root/build/onprem" gen-model --preset tiny-moe --type Q4_K_M --seed 1 -o "$root/models/default.gguf"
"$root/build/onprem" inspect "$root/models/default.gguf" --no-tensors
echo "Hello, 세계! <think>" | "$root/build/onprem" tokenize -m "$root/models/default.gguf" --pieces
# Random weights: the text is noise until the trained default model lands, but every stage runs.
"$root/build/onprem" run -m "$root/models/default.gguf" -p "<|im_start|>user
Hello<|im_end|>
<|im_start|>assistant
" -n 32 --seed 1
