#!/usr/bin/env bash
# Builds the fuzzers with clang (libFuzzer + ASan + UBSan) and runs each from its committed seed
# corpus: the GGUF reader for SECONDS (default 60), the request path (JSON bounds, parse, the
# sovereignty guard's scan) for half as long, compressed-body decoding and chat templates (the
# Jinja interpreter, seeded also with the spec's templates) for a quarter. Exits non-zero on any
# finding. `run.sh --build-only` builds the fuzzers and stops (scripts/test.sh builds them beside
# the emulated kernel paths, then fuzzes).
set -euo pipefail
seconds=${1:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
build="$root/build-fuzz"
cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DONPREM_FUZZ=ON -DONPREM_BENCH=OFF >/dev/null
cmake --build "$build" --target gguf_fuzz request_fuzz body_fuzz template_fuzz -j"$(nproc)" >/dev/null
[ "$seconds" = --build-only ] && exit 0
artifacts="$build/artifacts"   # kept: a finding is written here to be reproduced
mkdir -p "$artifacts"

fuzz() {  # name, seed folder, seconds, max input length
  local name=$1 seeds=$2 secs=$3 max_len=$4
  local work
  work=$(mktemp -d)
  cp "$seeds"/* "$work"/
  if [ "$name" = template_fuzz ]; then cp "$root"/../shared/spec/templates/*.jinja "$work"/ 2>/dev/null || true; fi
  # -rss_limit_mb guards against allocations sized by the input; -timeout against hangs.
  if ! "$build/tests/fuzz/$name" "$work" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
      -max_len="$max_len" -print_final_stats=1 -artifact_prefix="$artifacts/$name-" >"$build/$name.log" 2>&1; then
    # The report: a sanitizer's ERROR or "runtime error", an out-of-memory, a timeout; the log's end
    # when none of those words is there (grep's no-match must not end this script before the message).
    grep -A40 -E "ERROR|runtime error|out-of-memory|timeout|deadly" "$build/$name.log" | head -80 ||
      tail -40 "$build/$name.log"
    echo "$name found a problem; reproduce with: $build/tests/fuzz/$name $artifacts/$name-<file>"
    rm -rf "$work"
    exit 1
  fi
  rm -rf "$work"
  echo "$name: $(grep -E '^stat::number_of_executed_units' "$build/$name.log" | awk '{print $2}') inputs in $secs s, no finding"
}
fuzz gguf_fuzz "$root/tests/fuzz/corpus" "$seconds" 65536
fuzz request_fuzz "$root/tests/fuzz/request_corpus" "$((seconds / 2))" 16384
fuzz body_fuzz "$root/tests/fuzz/body_corpus" "$((seconds / 4))" 65536
fuzz template_fuzz "$root/tests/fuzz/template_corpus" "$((seconds / 4))" 16384
