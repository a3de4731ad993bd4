#!/usr/bin/env bash
# README command 2 (and CI): install what is missing, build, run every test (unit, conformance,
# reference-engine end-to-end), then every kernel path (native, AVX2 and baseline x86-64 under
# qemu-x86_64, NEON / dotprod / i8mm on the ARM64 cross-build under qemu-aarch64), then fuzz the
# GGUF reader for 60 seconds, the request path for 30, compressed-body decoding and chat templates
# for 15 each.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
# lavapipe is installed above, so a Vulkan test that finds no device is a failure here, not a skip.
(cd "$root/build" && ONPREM_REQUIRE_VULKAN=1 ctest --output-on-failure -j"$(nproc)")
# On x86-64, ARM64 is cross-built and emulated; on ARM64 the native run above covers it.
if [ "$(uname -m)" = x86_64 ]; then "$root/scripts/arm64.sh"; fi
"$root/tests/isa/paths.sh" "$root"
"$root/tests/fuzz/run.sh" 60
