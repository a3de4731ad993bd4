#!/usr/bin/env bash
# Builds the GGUF fuzzer with clang (libFuzzer + ASan + UBSan) and runs it for SECONDS (default 60)
# from the committed seed corpus. Exits non-zero on any finding.
set -euo pipefail
seconds=${1:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
build="$root/build-fuzz"
cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DONPREM_FUZZ=ON -DONPREM_BENCH=OFF >/dev/null
cmake --build "$build" --target gguf_fuzz -j"$(nproc)" >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$root"/tests/fuzz/corpus/* "$work"/
artifacts="$build/artifacts"   # kept: a finding is written here to be reproduced
mkdir -p "$artifacts"
# -rss_limit_mb guards against allocations sized by the input; -timeout against hangs.
"$build/tests/fuzz/gguf_fuzz" "$work" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
  -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts/" >"$build/fuzz.log" 2>&1 || {
  grep -A40 -E "ERROR|out-of-memory|timeout|deadly" "$build/fuzz.log" | head -80
  echo "fuzzer found a problem; reproduce with: $build/tests/fuzz/gguf_fuzz $artifacts/<file>"
  exit 1
}
tail -n 6 "$build/fuzz.log"
