#!/usr/bin/env bash
# The GPU measurement of issue 19, as one script to run on a machine with a real GPU: builds with
# the Vulkan backend, checks the backend and conformance on that device, generates the full-size
# files there and runs `onprem bench --device` on them. Prints every figure; writes nothing to
# the repository.
#
# Usage: bench/vulkan_device.sh WORK_DIR [DEVICE] [SHAPES]
#   DEVICE  vulkan:N (default vulkan:0)
#   SHAPES  "27b:64 35b-a3b:40" (default: the issue's files, ~16 and ~21 GB in Q4_K_M), or smaller
#           layer counts, or "tiny:4" to try the script itself on any machine (lavapipe)
# Environment: ONPREM_VULKAN_LOADER=/path/to/libvulkan.so.1 where the machine has no loader of its
# own (carried there); VK_ICD_FILENAMES to choose a driver (else the loader's default: NVIDIA's
# nvidia_icd.json where its driver is installed).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:?usage: bench/vulkan_device.sh WORK_DIR [DEVICE] [SHAPES]}
device=${2:-vulkan:0}
shapes=${3:-"27b:64 35b-a3b:40"}
mkdir -p "$work"
if [ -n "${ONPREM_VULKAN_LOADER:-}" ]; then
  export LD_LIBRARY_PATH="$(dirname "$ONPREM_VULKAN_LOADER")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
build="$work/build"
echo "== build ($build)"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DONPREM_VULKAN=ON -DONPREM_TESTS=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target onprem vulkan_test vulkan_forward_test >/dev/null
"$build/onprem" inspect --system --no-bandwidth
echo "== the backend and conformance on $device"
index=${device#vulkan:}
# The tests open device 0; another index is chosen through the loader's device order.
[ "$index" = 0 ] || echo "note: the tests run on device 0; bench below uses $device"
ONPREM_REQUIRE_VULKAN=1 "$build/tests/backend/vulkan_test" --gtest_brief=1
ONPREM_REQUIRE_VULKAN=1 "$build/tests/model/vulkan_forward_test" --gtest_brief=1
for spec in $shapes; do
  preset=${spec%%:*}
  layers=${spec##*:}
  file="$work/$preset-${layers}l-Q4_K_M.gguf"
  if [ ! -f "$file" ]; then
    echo "== generating $file"
    "$build/onprem" gen-model --preset "$preset" --layers "$layers" --type Q4_K_M -o "$file"
  fi
  for p in 512 8192; do
    echo "== bench $preset, $layers layers, Q4_K_M, prefill $p, decode 128, on $device"
    "$build/onprem" bench -m "$file" -p "$p" -n 128 -r 2 --device "$device"
  done
done
