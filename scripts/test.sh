#!/usr/bin/env bash
# README command 2 (and CI): install what is missing, build, run every test (unit, conformance,
# reference-engine end-to-end), then fuzz the GGUF reader for 60 seconds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
(cd "$root/build" && ctest --output-on-failure -j"$(nproc)")
"$root/tests/fuzz/run.sh" 60
