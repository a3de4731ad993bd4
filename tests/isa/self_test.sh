#!/usr/bin/env bash
# The ISA check must reject each way AVX-512 code can leak past the dispatch table (an exported
# function, a weak inline copy, a dynamic initialiser, a call from outside dispatch.cpp) and accept
# a file that exports only its fill function, called only from dispatch.cpp.
set -u
checker=$1
cxx=${2:-c++}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src/kernels" "$tmp/src/model"
cd "$tmp"

compile() {  # source, then flags; appends the compile command
  local src=$1; shift
  local obj="$src.o"
  "$cxx" -std=c++20 -O2 -c "$src" -o "$obj" "$@" || { echo "could not compile $src"; exit 1; }
  printf '{"directory": "%s", "file": "%s", "command": "c++ %s -c %s -o %s"},\n' "$tmp" "$tmp/$src" "$*" "$src" "$obj" >> cmds
}
finish() { { echo "["; sed '$ s/,$//' cmds; echo "]"; } > compile_commands.json; rm cmds; }

good_avx512='namespace onprem::kernels { struct Kernels { float (*f)(const float*); };
namespace { float dot(const float* x) { return x[0] * 2; } }
void fill_avx512(Kernels& k) { k.f = dot; } }'
dispatch='namespace onprem::kernels { struct Kernels { float (*f)(const float*); }; void fill_avx512(Kernels& k);
Kernels build() { Kernels k; fill_avx512(k); return k; } }'

expect() {  # expect accept|reject, description, then the files as name=text pairs with flags
  local want=$1 what=$2; shift 2
  rm -rf src; mkdir -p src/kernels src/model; : > cmds
  while [ $# -gt 0 ]; do
    local name=$1 text=$2 flags=$3; shift 3
    printf '%s\n' "$text" > "$name"
    # shellcheck disable=SC2086
    compile "$name" $flags
  done
  finish
  if "$checker" "$tmp" > out 2>&1; then got=accept; else got=reject; fi
  if [ "$got" != "$want" ]; then echo "checker should $want: $what"; cat out; exit 1; fi
  echo "ok: $want $what"
  if [ "$got" = reject ]; then grep -m1 "FAILED:" out | sed "s#$tmp/##"; fi
}

expect accept "a file exporting only fill_avx512, called from dispatch.cpp" \
  src/kernels/dot_avx512.cpp "$good_avx512" "-mavx512f" \
  src/kernels/dispatch.cpp "$dispatch" ""

expect reject "an AVX-512 function exported and called from the model" \
  src/kernels/dot_avx512.cpp "$good_avx512
namespace onprem::kernels { float leak(const float* x) { return x[1] * 3; } }" "-mavx512f" \
  src/kernels/dispatch.cpp "$dispatch" "" \
  src/model/ffn.cpp "namespace onprem::kernels { float leak(const float*); } float f(const float* x) { return onprem::kernels::leak(x); }" ""

expect reject "fill_avx512 called from outside dispatch.cpp" \
  src/kernels/dot_avx512.cpp "$good_avx512" "-mavx512f" \
  src/kernels/dispatch.cpp "$dispatch" "" \
  src/model/forward.cpp "namespace onprem::kernels { struct Kernels { float (*f)(const float*); }; void fill_avx512(Kernels& k); }
void g(onprem::kernels::Kernels& k) { onprem::kernels::fill_avx512(k); }" ""

expect reject "a weak (inline template) copy instantiated under AVX-512 flags" \
  src/kernels/dot_avx512.cpp "$good_avx512
template <class T> __attribute__((noinline)) T twice(T x) { return x + x; }
namespace onprem::kernels { void fill_avx512_more(Kernels& k, volatile float* v) { *v = twice(*v); k.f = nullptr; } }" "-mavx512f" \
  src/kernels/dispatch.cpp "$dispatch" ""

expect reject "a dynamic initialiser under AVX-512 flags" \
  src/kernels/dot_avx512.cpp "$good_avx512
#include <cmath>
namespace { float table = std::sqrt(float(__builtin_ia32_rdtsc() & 7)); }
namespace onprem::kernels { void fill_avx512_t(Kernels& k) { k.f = table > 9 ? nullptr : k.f; } }" "-mavx512f" \
  src/kernels/dispatch.cpp "$dispatch" ""
echo "ISA checker self-test ok"
