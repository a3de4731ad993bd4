#!/usr/bin/env bash
# README command 1: install what is missing, build, then talk to the bundled default model
# (models/onprem-default-Q8_0.gguf, trained by tools/train) through `onprem serve` and the
# official openai client: a greeting, tool calls with their results, reasoning, Korean.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
model="$root/models/onprem-default-Q8_0.gguf"
"$root/build/onprem" inspect "$model" --no-tensors
cd "$root/tests" && node ../tools/train/demo.mjs "$root/build/onprem" "$model"
