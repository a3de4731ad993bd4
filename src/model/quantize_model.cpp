#include "model/quantize_model.h"

#include <cstring>
#include <vector>

#include "gguf/writer.h"
#include "model/config.h"
#include "model/tensor_table.h"
#include "quant/dequant.h"
#include "quant/quantize.h"

namespace onprem::model {

using core::ErrorCode;
using core::GgmlType;
using core::make_error;

core::Expected<QuantizeReport> quantize_model(const gguf::File& in, FileType ft, const std::string& out_path,
                                              core::ThreadPool& pool, const Imatrix* imatrix) {
  // As llama-quantize: the 1- and 2-bit lattice presets lose too much without knowing which columns
  // matter.
  using F = FileType;
  for (const F needs : {F::kIQ1_S, F::kIQ1_M, F::kIQ2_XXS, F::kIQ2_XS, F::kIQ2_S, F::kIQ2_M})
    if (ft == needs && !imatrix)
      return make_error(
          ErrorCode::kInvalidArgument,
          std::string(file_type_name(ft)) + " needs an importance matrix (--imatrix FILE; `onprem imatrix` makes one)");
  ONPREM_TRY_ASSIGN(cfg, load_config(in));
  ONPREM_TRY(check_tensors(in, cfg));
  const auto table = tensor_table(cfg);
  const auto types = tensor_types(table, cfg, ft);
  std::map<std::string_view, GgmlType> target;
  for (size_t i = 0; i < table.size(); ++i) target[table[i].name] = types[i];

  gguf::Writer w(in.alignment());
  for (const auto& [key, value] : in.metadata()) {
    if (key == "general.file_type") continue;
    w.set_value(key, value);
  }
  w.set_u32("general.file_type", file_type_gguf_id(ft));
  if (!in.find("general.quantization_version")) w.set_u32("general.quantization_version", 2);

  QuantizeReport rep;
  for (const gguf::TensorInfo& t : in.tensors()) {
    std::vector<uint64_t> ne(t.ne.begin(), t.ne.begin() + t.n_dims);
    rep.bytes_in += t.n_bytes;
    auto it = target.find(t.name);
    const GgmlType to = it == target.end() ? t.type : it->second;
    const auto info = core::ggml_type_info(uint32_t(to));
    const std::string to_name(info->name);
    rep.tensors_by_type[to_name]++;
    rep.bytes_out += t.n_elements() / info->block_size * info->block_bytes;
    if (to == t.type) {
      w.add_tensor(std::string(t.name), to, ne, [t](uint8_t* dst, size_t n) { std::memcpy(dst, t.data, n); });
      continue;
    }
    const auto decode = quant::dequantizer(t.type);
    const auto encode = quant::quantizer(to);
    if (!decode || !encode)
      return make_error(ErrorCode::kUnsupported,
                        std::string(t.name) + ": cannot convert " + core::ggml_type_name(t.type) + " to " + to_name);
    // One importance per column of each matrix (expert tensors hold ne[2] matrices of ne[1] rows).
    std::vector<float> importance;
    if (imatrix) {
      auto imp = imatrix->importance(std::string(t.name), t.ne[0], t.ne[2]);
      if (!imp) return imp.error();
      importance = std::move(*imp);
      rep.weighted_tensors += !importance.empty();
    }
    w.add_tensor(std::string(t.name), to, ne,
                 [t, decode, encode, &pool, importance = std::move(importance)](uint8_t* dst, size_t n_bytes) {
                   const uint64_t ne0 = t.ne[0], rows = t.n_elements() / ne0;
                   const size_t out_row = n_bytes / size_t(rows), in_row = size_t(t.row_bytes());
                   pool.parallel_for(size_t(rows), [&](size_t b, size_t e) {
                     std::vector<float> x(static_cast<size_t>(ne0));
                     for (size_t r = b; r < e; ++r) {
                       decode(t.data + r * in_row, x.data(), int64_t(ne0));
                       const float* w = importance.empty() ? nullptr : importance.data() + (r / t.ne[1]) * ne0;
                       encode(x.data(), dst + r * out_row, int64_t(ne0), w);
                     }
                   });
                 });
  }
  ONPREM_TRY(w.write(out_path));
  return rep;
}

}  // namespace onprem::model
