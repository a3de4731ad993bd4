#!/usr/bin/env bash
# Every kernel path on this machine, whatever CPU it has: the kernel tests, the public conformance
# set (llama.cpp's logits), the engine tests and a server smoke test through the official openai
# client (the README demo too, natively only), run
#   natively (the widest path this CPU runs),
#   under qemu-x86_64 -cpu Haswell (AVX2, no AVX-512: the avx2 path),
#   under qemu-x86_64 -cpu qemu64 (baseline x86-64: the scalar path),
# and, where build-arm64/ exists (scripts/arm64.sh), the ARM64 kernel tests and conformance set
# under qemu-aarch64 with and without dotprod / i8mm.
# usage: paths.sh ROOT [SHARED_DIR]   (ROOT holds build/ and tests/)
set -uo pipefail
root=$(cd "$1" && pwd)
shared=${2:-$root/../shared}
build=$root/build
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Haswell less the features TCG does not emulate and user space never uses (quiet warnings).
haswell="Haswell,-pcid,-x2apic,-tsc-deadline,-hle,-rtm,-invpcid"
summary=()
failed=0

gtest_counts() {  # a gtest log -> "P passed, S skipped"
  local p s
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -1)
  s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$1" | tail -1)
  echo "${p:-0} passed, ${s:-0} skipped"
}

step() {  # label, log file, command...: runs it, records the outcome
  local label=$1 log=$2; shift 2
  local t0=$SECONDS
  if "$@" > "$log" 2>&1; then
    local what="ok"
    grep -q '^\[==========\]' "$log" && what=$(gtest_counts "$log")
    if [ "$what" = "0 passed, 0 skipped" ]; then  # a filter that matched nothing proves nothing
      summary+=("$label: ran no test: FAILED"); failed=1; return
    fi
    summary+=("$label: $what ($((SECONDS - t0)) s)")
  else
    summary+=("$label: FAILED ($((SECONDS - t0)) s), log below")
    echo "---- $label failed:"; tail -40 "$log"
    failed=1
  fi
}

run_path() {  # name, expected ISA, runner prefix (empty: native), conformance tests (a gtest filter)
  local name=$1 want=$2 prefix=$3 files=$4 bin=$build/onprem
  if [ -n "$prefix" ]; then
    bin=$work/onprem-$name
    printf '#!/bin/sh\nexec %s %s "$@"\n' "$prefix" "$build/onprem" > "$bin"
    chmod +x "$bin"
  fi
  echo "== path $name: $($bin inspect --system --no-bandwidth 2>&1 | sed -n 's/^chosen path *//p') on $($bin inspect --system --no-bandwidth 2>&1 | sed -n 's/^cpu *//p')"
  local chosen
  chosen=$($bin inspect --system --no-bandwidth 2>&1 | sed -n 's/^chosen path *\([a-z0-9]*\).*/\1/p')
  if [ "$chosen" != "$want" ]; then
    summary+=("$name: chose '$chosen', expected $want: FAILED"); failed=1; return
  fi
  local demo=(bash -c "cd '$root/tests' && node ../tools/train/demo.mjs '$bin' '$root/models/onprem-default-Q8_0.gguf'")
  # scripts/test.sh runs CTest first, natively: every test below but the README demo has run on
  # this path already.
  if [ -z "$prefix" ] && [ "${ONPREM_CTEST_RAN:-0}" = 1 ]; then
    summary+=("$name ($want): its tests ran in CTest")
    step "$name README demo" "$work/$name-demo.log" "${demo[@]}"
    return
  fi
  # shellcheck disable=SC2086
  step "$name kernels ($want)" "$work/$name-kernels.log" $prefix "$build/tests/kernels/kernels_test"
  # shellcheck disable=SC2086
  step "$name conformance" "$work/$name-conf.log" $prefix "$build/tests/model/model_test" \
    --gtest_filter="$files"
  # The engine on a Vulkan device (lavapipe) is left out under emulation: its kernels are the
  # driver's, not this path's, and an emulated CPU driver takes minutes for seconds of work.
  local engine_filter="*"
  [ -n "$prefix" ] && engine_filter="-*OnVulkan*"
  # shellcheck disable=SC2086
  step "$name engine" "$work/$name-engine.log" $prefix "$build/tests/engine/engine_test" \
    --gtest_filter="$engine_filter"
  # Under emulation: the kernels' smoke set of the server test (no long tool-call generation), and
  # the client waits 10x longer before it calls a request lost. Natively CTest has run the whole
  # test already; this is the smoke set.
  local slow=1 smoke=1
  [ -n "$prefix" ] && slow=10 smoke=kernels
  step "$name server (openai client)" "$work/$name-server.log" \
    bash -c "cd '$root/tests' && ONPREM_E2E_SMOKE=$smoke ONPREM_E2E_SLOWDOWN=$slow node e2e/server_openai.mjs '$bin' '$work/$name-server'"
  # The README demo natively only: emulated, it took three minutes of the AVX2 path, and the
  # server test there has just run the same engine and kernels.
  [ -z "$prefix" ] && step "$name README demo" "$work/$name-demo.log" "${demo[@]}"
  return 0
}

case "$(uname -m)" in
  x86_64)
    native=$("$build/onprem" inspect --system --no-bandwidth | sed -n 's/^chosen path *\([a-z0-9]*\).*/\1/p')
    run_path native "$native" "" "PublicSet/*:HubFiles/*"
    if [ "$native" != avx512 ]; then
      summary+=("avx512: skipped, this CPU lacks AVX-512 and qemu 7.2 does not emulate it (the native path is $native)")
    fi
    # Emulation runs ~25x slower: one file of the public set each, MoE on one path, dense on the
    # other, so that between them Q4_K, Q6_K and Q8_0 weights and both architectures are covered,
    # and one hub file each (Q2_K with Q3_K; IQ4_XS).
    run_path haswell avx2 "qemu-x86_64 -cpu $haswell" \
      "PublicSet/Conformance.MatchesLlamaCpp/qwen35moe_tiny_Q4_K_M:HubFiles/RealFiles.MatchesLlamaCpp/qwen35_tiny_Q2_K"
    run_path baseline scalar "qemu-x86_64 -cpu qemu64" \
      "PublicSet/Conformance.MatchesLlamaCpp/qwen35_tiny_Q8_0:HubFiles/RealFiles.MatchesLlamaCpp/qwen35_tiny_IQ4_XS"
    ;;
  *)
    native=$("$build/onprem" inspect --system --no-bandwidth | sed -n 's/^chosen path *\([a-z0-9]*\).*/\1/p')
    run_path native "$native" "" "PublicSet/*:HubFiles/*"
    ;;
esac

if [ -x "$root/build-arm64/tests/kernels/kernels_test" ]; then
  "$root/tests/isa/arm64_paths.sh" "$root" "$shared" > "$work/arm64.log" 2>&1
  rc=$?
  cat "$work/arm64.log"
  while IFS= read -r l; do summary+=("$l"); done < <(grep '^arm64 ' "$work/arm64.log")
  [ $rc -eq 0 ] || failed=1
else
  summary+=("arm64: not built (scripts/arm64.sh builds it)")
fi

echo "== kernel paths"
printf '  %s\n' "${summary[@]}"
exit $failed
