#!/usr/bin/env bash
# Cross-builds the engine libraries and their tests for ARM64 Linux into build-arm64/, with
# Debian's g++-aarch64-linux-gnu and arm64 multiarch libraries, so that tests/isa/paths.sh can run
# the NEON, dotprod and i8mm kernels under qemu-aarch64. Installs what is missing first.
# On an ARM64 machine none of this is needed: scripts/build.sh builds natively.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  $sudo_cmd dpkg --add-architecture arm64
  $sudo_cmd apt-get update -qq
fi
# libstdc++6:arm64: the C++ runtime qemu-aarch64 loads for the tests (the cross toolchain's own copy
# is not on its path; nothing else here is sure to pull it in).
packages=(g++-aarch64-linux-gnu qemu-user libgtest-dev:arm64 libpcre2-dev:arm64 libstdc++6:arm64 nlohmann-json3-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $sudo_cmd apt-get update -qq
  # --no-remove: if the arm64 copies ever conflicted with this machine's packages, fail instead.
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends --no-remove "${missing[@]}"
fi
cmake -S "$root" -B "$root/build-arm64" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE="$root/cmake/aarch64-linux-gnu.cmake" -DONPREM_ENGINE_ONLY=ON -DONPREM_BENCH=OFF -DONPREM_VULKAN=OFF >/dev/null
cmake --build "$root/build-arm64" -j"$(nproc)" --target kernels_test model_test
