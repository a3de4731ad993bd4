// Matrix-vector kernels of every stored type and instruction set, reported as achieved weight
// bytes/s and as a fraction of the read bandwidth this program measures first, with the same
// thread count. Run: ./build/kernels_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <vector>

#include "core/half.h"
#include "kernels/bandwidth.h"
#include "kernels/kernels.h"
#include "kernels/matmul.h"

namespace {

using namespace onprem;
using core::GgmlType;

std::map<int, double> g_bandwidth;  // threads -> bytes/s

constexpr int64_t kCols = 4096;
constexpr int64_t kWeightBytes = int64_t(256) << 20;  // far beyond the caches

std::vector<uint8_t> random_matrix(GgmlType t, int64_t rows) {
  const auto info = *core::ggml_type_info(uint32_t(t));
  const int64_t rb = int64_t(core::ggml_row_bytes(info, kCols));
  std::vector<uint8_t> w(size_t(rb * rows));
  std::mt19937 rng(1);
  for (size_t i = 0; i < w.size(); i += 4) {
    const uint32_t v = rng();
    std::memcpy(w.data() + i, &v, std::min<size_t>(4, w.size() - i));
  }
  // Sane scales so the numbers stay finite (the speed does not depend on them).
  const uint16_t h = core::f32_to_fp16(0.01f);
  for (int64_t b = 0; b < int64_t(w.size()) / int64_t(info.block_bytes); ++b) {
    uint8_t* p = w.data() + b * info.block_bytes;
    switch (t) {
      case GgmlType::kF32: {
        const float f = 0.5f;
        std::memcpy(p, &f, 4);
        break;
      }
      case GgmlType::kF16:
      case GgmlType::kQ4_0:
      case GgmlType::kQ8_0:
        std::memcpy(p, &h, 2);
        break;
      case GgmlType::kBF16: {
        const uint16_t b16 = core::f32_to_bf16(0.5f);
        std::memcpy(p, &b16, 2);
        break;
      }
      case GgmlType::kQ4_K:
      case GgmlType::kQ5_K:
        std::memcpy(p, &h, 2), std::memcpy(p + 2, &h, 2);
        break;
      case GgmlType::kQ6_K:
        std::memcpy(p + 208, &h, 2);
        break;
      case GgmlType::kQ4_1:
      case GgmlType::kQ5_1:
        std::memcpy(p, &h, 2), std::memcpy(p + 2, &h, 2);
        break;
      case GgmlType::kQ2_K:
        std::memcpy(p + 80, &h, 2), std::memcpy(p + 82, &h, 2);
        break;
      case GgmlType::kQ3_K:
        std::memcpy(p + 108, &h, 2);
        break;
      case GgmlType::kMXFP4:
        p[0] = 120;
        break;
      case GgmlType::kIQ1_M:
        for (int i = 0; i < 4; ++i)
          p[48 + 2 * i + 1] = uint8_t((p[48 + 2 * i + 1] & 0x0f) | (((h >> (4 * i)) & 15) << 4));
        break;
      case GgmlType::kQ5_0:
      case GgmlType::kIQ4_NL:
      case GgmlType::kIQ4_XS:
      case GgmlType::kIQ2_XXS:
      case GgmlType::kIQ2_XS:
      case GgmlType::kIQ2_S:
      case GgmlType::kIQ3_XXS:
      case GgmlType::kIQ3_S:
      case GgmlType::kIQ1_S:
        std::memcpy(p, &h, 2);
        break;
      default:
        break;
    }
  }
  return w;
}

// The matrix in the table's repacked groups (TypeKernels::packed_rows), as model::repack_weights
// leaves it, when `packed`; rows must be a multiple of the group.
kernels::MatrixView view_of(const kernels::Kernels& k, std::vector<uint8_t>& w, GgmlType type, int64_t rows,
                            bool packed) {
  kernels::MatrixView mv{w.data(), type, kCols, rows};
  const kernels::TypeKernels& tk = k.of(type);
  if (!packed || !tk.packed_rows) return mv;
  std::vector<uint8_t> p(w.size());
  const int64_t rb = mv.row_bytes();
  for (int64_t g = 0; g + tk.packed_rows <= rows; g += tk.packed_rows)
    tk.pack_rows(w.data() + g * rb, rb, kCols, p.data() + g * rb);
  w.swap(p);
  mv.data = w.data(), mv.packed_rows = tk.packed_rows;
  return mv;
}

void BM_Matvec(benchmark::State& state, GgmlType type, kernels::Isa isa, kernels::Activations acts, int threads,
               bool packed) {
  const kernels::Kernels* k = kernels::kernels_for(isa);
  if (!k) {
    state.SkipWithError("ISA not supported by this CPU");
    return;
  }
  const auto info = *core::ggml_type_info(uint32_t(type));
  const int64_t rows = kWeightBytes / int64_t(core::ggml_row_bytes(info, kCols)) / 16 * 16;
  auto w = random_matrix(type, rows);
  const kernels::MatrixView mv = view_of(*k, w, type, rows, packed);
  std::vector<float> x(kCols, 0.25f), y(static_cast<size_t>(rows));
  std::vector<uint8_t> scratch(size_t(kernels::matmul_scratch_bytes(*k, mv, 1, acts)) + 1);
  core::ThreadPool pool(threads);
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    kernels::matvec(*k, mv, x.data(), y.data(), acts, scratch.data(), &pool);
    benchmark::DoNotOptimize(y.data());
  }
  const double bytes = double(w.size());
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(bytes));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  state.counters["GB/s"] = bytes * double(state.iterations()) / seconds / 1e9;
  state.counters["bw_fraction"] = bytes * double(state.iterations()) / seconds / g_bandwidth[threads];
}

// The same product on a matrix that stays in L2 (about 1 MB): what the kernel computes per second
// when memory is not the limit. A decode kernel reaches the DRAM roofline only if this figure is
// well above the machine's read bandwidth.
void BM_MatvecCached(benchmark::State& state, GgmlType type, kernels::Isa isa, bool packed) {
  const kernels::Kernels* k = kernels::kernels_for(isa);
  if (!k) {
    state.SkipWithError("ISA not supported by this CPU");
    return;
  }
  const auto info = *core::ggml_type_info(uint32_t(type));
  const int64_t rows = (int64_t(1) << 20) / int64_t(core::ggml_row_bytes(info, kCols)) / 16 * 16;
  auto w = random_matrix(type, rows);
  const kernels::MatrixView mv = view_of(*k, w, type, rows, packed);
  std::vector<float> x(kCols, 0.25f), y(static_cast<size_t>(rows));
  const auto acts = kernels::Activations::kInt8;
  std::vector<uint8_t> scratch(size_t(kernels::matmul_scratch_bytes(*k, mv, 1, acts)) + 1);
  for (auto _ : state) {
    kernels::matvec(*k, mv, x.data(), y.data(), acts, scratch.data(), nullptr);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GB/s"] = benchmark::Counter(double(w.size()) / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

// Prefill: a [rows x 4096] matrix against `tokens` activation rows (a ubatch), as the forward pass
// calls it; reported as GFLOP/s (2 x rows x cols x tokens per call). The matrix (16 MB of Q4_K
// at 4096 rows) and the activations fit the outer caches, so this measures the kernels, not DRAM.
void BM_Matmat(benchmark::State& state, GgmlType type, kernels::Isa isa, int threads, bool packed) {
  const kernels::Kernels* k = kernels::kernels_for(isa);
  if (!k) {
    state.SkipWithError("ISA not supported by this CPU");
    return;
  }
  const int64_t rows = state.range(0), tokens = state.range(1);
  auto w = random_matrix(type, rows);
  const kernels::MatrixView mv = view_of(*k, w, type, rows, packed);
  std::vector<float> x(size_t(kCols * tokens)), y(size_t(rows * tokens));
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> u(-1, 1);
  for (float& v : x) v = u(rng);
  const auto acts = kernels::Activations::kInt8;
  std::vector<uint8_t> scratch(size_t(kernels::matmul_scratch_bytes(*k, mv, tokens, acts)) + 1);
  core::ThreadPool pool(threads);
  for (auto _ : state) {
    kernels::matmat(*k, mv, x.data(), tokens, y.data(), acts, scratch.data(), &pool);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(rows) * double(kCols) * double(tokens) / 1e9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

// Whether the table of isa (on this CPU) repacks type t: its benchmarks get a /packed twin.
bool has_packed(kernels::Isa isa, GgmlType t) {
  const kernels::Kernels* k = kernels::kernels_for(isa);
  return k && k->of(t).packed_rows;
}

void register_all() {
  const GgmlType types[] = {
      GgmlType::kF32,    GgmlType::kF16,    GgmlType::kBF16,   GgmlType::kQ8_0,    GgmlType::kQ4_0,  GgmlType::kQ4_1,
      GgmlType::kQ5_0,   GgmlType::kQ5_1,   GgmlType::kQ2_K,   GgmlType::kQ3_K,    GgmlType::kQ4_K,  GgmlType::kQ5_K,
      GgmlType::kQ6_K,   GgmlType::kIQ4_NL, GgmlType::kIQ4_XS, GgmlType::kIQ3_XXS, GgmlType::kIQ3_S, GgmlType::kIQ2_XXS,
      GgmlType::kIQ2_XS, GgmlType::kIQ2_S,  GgmlType::kIQ1_S,  GgmlType::kIQ1_M,   GgmlType::kMXFP4};
  for (int threads : {1, 2})
    for (kernels::Isa isa : kernels::built_isas())
      for (GgmlType t : types)
        for (kernels::Activations acts : {kernels::Activations::kFloat, kernels::Activations::kInt8}) {
          const bool int8 = acts == kernels::Activations::kInt8;
          if (int8 && t == GgmlType::kF32) continue;  // "int8" means the activations llama.cpp uses: F16 rows for F16
          if (isa == kernels::Isa::kScalar && threads > 1) continue;
          const std::string name = std::string("matvec/") + std::string(core::ggml_type_info(uint32_t(t))->name) + "/" +
                                   (int8 ? "int8" : "f32") + "/" + kernels::isa_name(isa) +
                                   "/threads:" + std::to_string(threads);
          for (bool packed : {false, true}) {
            if (packed && !(int8 && has_packed(isa, t))) continue;
            benchmark::RegisterBenchmark((name + (packed ? "/packed" : "")).c_str(), BM_Matvec, t, isa, acts, threads,
                                         packed)
                ->Unit(benchmark::kMillisecond)
                ->UseRealTime();
          }
        }
  for (kernels::Isa isa : kernels::built_isas())
    for (GgmlType t : types) {
      if (t == GgmlType::kF32 || isa == kernels::Isa::kScalar) continue;
      const std::string name = std::string("matvec_cached/") + std::string(core::ggml_type_info(uint32_t(t))->name) +
                               "/int8/" + kernels::isa_name(isa);
      for (bool packed : {false, true}) {
        if (packed && !has_packed(isa, t)) continue;
        benchmark::RegisterBenchmark((name + (packed ? "/packed" : "")).c_str(), BM_MatvecCached, t, isa, packed)
            ->Unit(benchmark::kMicrosecond);
      }
    }
  for (int threads : {1, 2})
    for (kernels::Isa isa : kernels::built_isas())
      for (GgmlType t : {GgmlType::kQ8_0, GgmlType::kQ4_0, GgmlType::kQ4_K, GgmlType::kQ5_K, GgmlType::kQ6_K,
                         GgmlType::kIQ4_XS, GgmlType::kQ3_K}) {
        if (isa == kernels::Isa::kScalar) continue;
        const std::string name = std::string("matmat/") + std::string(core::ggml_type_info(uint32_t(t))->name) + "/" +
                                 kernels::isa_name(isa) + "/threads:" + std::to_string(threads);
        for (bool packed : {false, true}) {
          if (packed && !has_packed(isa, t)) continue;
          benchmark::RegisterBenchmark((name + (packed ? "/packed" : "")).c_str(), BM_Matmat, t, isa, threads, packed)
              ->Args({4096, 512})
              ->Args({4096, 64})
              ->Args({4096, 32})
              ->Args({4096, 16})
              ->Args({4096, 15})
              ->Unit(benchmark::kMillisecond)
              ->UseRealTime();
        }
      }
}

}  // namespace

int main(int argc, char** argv) {
  for (int threads : {1, 2}) {
    core::ThreadPool pool(threads);
    const auto bw = kernels::measure_read_bandwidth(pool);
    g_bandwidth[threads] = bw.bytes_per_second;
    std::printf("machine read bandwidth, %d thread%s: %.1f GB/s\n", threads, threads > 1 ? "s" : "",
                bw.bytes_per_second / 1e9);
  }
  benchmark::Initialize(&argc, argv);
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
