#!/usr/bin/env bash
# README command 2 (and CI): install what is missing, build, run every test (unit, conformance,
# reference-engine end-to-end), then every kernel path (native, AVX2 and baseline x86-64 under
# qemu-x86_64, NEON / dotprod / i8mm on the ARM64 cross-build under qemu-aarch64), then fuzz the
# GGUF reader for 60 seconds, the request path for 30, compressed-body decoding and chat templates
# for 15 each. Each phase says when it ended (seconds since the start): CI has a time budget.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
done_at() { echo "== $1: done at $SECONDS s"; }
"$root/scripts/setup.sh"
done_at setup
"$root/scripts/build.sh"
done_at build
# lavapipe is installed above, so a Vulkan test that finds no device is a failure here, not a skip.
(cd "$root/build" && ONPREM_REQUIRE_VULKAN=1 ctest --output-on-failure -j"$(nproc)")
done_at ctest
# The fuzzers (clang, ASan) build at the lowest priority beside the ARM64 build and the emulated
# kernel paths, which leave a core idle most of the time: qemu runs a test's one thread.
nice -n 19 "$root/tests/fuzz/run.sh" --build-only > "$root/build/fuzz-build.log" 2>&1 &
fuzz_build=$!
trap 'kill "$fuzz_build" 2>/dev/null || true' EXIT
# On x86-64, ARM64 is cross-built and emulated; on ARM64 the native run above covers it.
if [ "$(uname -m)" = x86_64 ]; then
  "$root/scripts/arm64.sh"
  done_at "arm64 build"
fi
# The native path's tests have just run in CTest; the emulated paths run theirs.
ONPREM_CTEST_RAN=1 "$root/tests/isa/paths.sh" "$root"
done_at "kernel paths"
wait "$fuzz_build" || { cat "$root/build/fuzz-build.log"; echo "the fuzzers did not build"; exit 1; }
done_at "fuzzers' build"
"$root/tests/fuzz/run.sh" 60
done_at fuzz
