#!/usr/bin/env bash
# The ARM64 kernel paths under qemu-aarch64, on the cross-build of scripts/arm64.sh: the kernel
# tests and the public conformance set (llama.cpp's logits) on three CPU models, each of which
# makes a different table the widest:
#   max         (sdot + smmla)   -> i8mm     (the whole public set)
#   cortex-a76  (sdot, no i8mm)  -> dotprod  (one file)
#   cortex-a57  (ARMv8.0)        -> neon     (one file)
# plus the ISA object check on the ARM64 objects. Prints one "arm64 ..." line per run.
# usage: arm64_paths.sh ROOT [SHARED_DIR]
set -uo pipefail
root=$(cd "$1" && pwd)
build=$root/build-arm64
log=$(mktemp)
trap 'rm -f "$log"' EXIT
failed=0

counts() {
  local p s
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
  s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
  echo "${p:-0} passed, ${s:-0} skipped"
}

run() {  # label, expected path, cpu, command...
  local label=$1 want=$2 cpu=$3; shift 3
  local t0=$SECONDS
  if qemu-aarch64 -cpu "$cpu" ${qemu_env:-} "$@" > "$log" 2>&1; then
    local chosen
    chosen=$(sed -n 's/^chosen kernel path: \([a-z0-9]*\).*/\1/p' "$log" | head -1)
    if [ -n "$chosen" ] && [ "$chosen" != "$want" ]; then
      echo "arm64 $cpu $label: chose $chosen, expected $want: FAILED"; failed=1; return
    fi
    if [ "$(counts)" = "0 passed, 0 skipped" ]; then
      echo "arm64 $cpu $label: ran no test: FAILED"; failed=1; return
    fi
    echo "arm64 $cpu ($want) $label: $(counts) ($((SECONDS - t0)) s)"
  else
    echo "arm64 $cpu ($want) $label: FAILED ($((SECONDS - t0)) s)"; tail -40 "$log"; failed=1
  fi
}

# The whole public set on the widest path (about 3 minutes: emulation is ~15x slower), then one
# file each on the two narrower ones, chosen so that they cover both architectures and Q4_K,
# Q6_K and Q8_0 weights between them; and four hub files (Q2_K with Q3_K, IQ4_XS, IQ2_XXS, IQ3_S)
# on one path.
hub="HubFiles/RealFiles.MatchesLlamaCpp/qwen35_tiny_Q2_K:HubFiles/RealFiles.MatchesLlamaCpp/qwen35_tiny_IQ4_XS"
hub="$hub:HubFiles/RealFiles.MatchesLlamaCpp/qwen35_tiny_IQ2_XXS:HubFiles/RealFiles.MatchesLlamaCpp/qwen35_tiny_IQ3_S"
for spec in 'max:i8mm:*' "cortex-a76:dotprod:qwen35_tiny_Q4_K_M:$hub" cortex-a57:neon:qwen35moe_tiny_Q8_0; do
  IFS=: read -r cpu want file extra <<< "$spec"
  run kernels "$want" "$cpu" "$build/tests/kernels/kernels_test"
  # Conformance on the path this CPU model makes the widest (ONPREM_ISA pins it, so a detection
  # slip would fail instead of silently testing another table; qemu passes the variable on).
  qemu_env="-E ONPREM_ISA=$want" run conformance "$want" "$cpu" "$build/tests/model/model_test" \
    --gtest_filter="PublicSet/Conformance.MatchesLlamaCpp/$file${extra:+:$extra}"
done
if python3 "$root/tests/isa/check_isa_objects.py" "$build" aarch64-linux-gnu-nm > "$log" 2>&1; then
  echo "arm64 ISA object check: $(tail -1 "$log")"
else
  echo "arm64 ISA object check: FAILED"; cat "$log"; failed=1
fi
exit $failed
