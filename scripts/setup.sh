#!/usr/bin/env bash
# Installs everything the build and the tests need on Debian 12, then the npm test clients.
# Safe to run again: apt and npm skip what is already there.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  build-essential cmake pkg-config git ca-certificates
  clang-14 libclang-rt-14-dev            # libFuzzer, ASan, UBSan
  clang-format-14                        # tests/format: the layout check
  libgtest-dev libgmock-dev libbenchmark-dev
  libpcre2-dev libutf8proc-dev           # tokenizer regex, Unicode
  nlohmann-json3-dev libcli11-dev libfmt-dev libspdlog-dev
  libcpp-httplib-dev libssl-dev libsqlite3-dev   # HTTP(S), the router's ledger
  libzstd-dev                            # zstd request bodies (gzip, br: zlib and brotli come with cpp-httplib)
  glslc libvulkan-dev mesa-vulkan-drivers # the Vulkan backend: shader compiler, headers, lavapipe (a CPU driver for its tests)
  qemu-user                              # tests/isa: every kernel path under emulation (x86-64 and ARM64)
  openssl                                # the router test's TLS front (a self-signed certificate)
  python3 python3-numpy python3-jinja2 python3-jsonschema   # oracles for tests (/usr/bin/python3)
  python3-torch python3-regex            # tools/train: the default model's training (CPU)
  libopenblas0-pthread                   # torch's BLAS: the generic one runs its matmuls ~30x slower
)

missing=()
# Node.js may come from another source (it bundles npm); take Debian's only when there is none.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
# Installed for this machine's architecture (or for all): an arm64 copy of a library for the
# ARM64 cross-build (scripts/arm64.sh) does not count.
native=$(dpkg --print-architecture)
installed() {
  dpkg-query -W -f='${db:Status-Status} ${Architecture}\n' "$1" 2>/dev/null | grep -qE "^installed ($native|all)$"
}
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ -f "$here/tests/package-lock.json" ] && [ ! -d "$here/tests/node_modules/node-llama-cpp" ]; then
  (cd "$here/tests" && npm ci --no-audit --no-fund --loglevel=error)
fi
