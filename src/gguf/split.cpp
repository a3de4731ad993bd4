// Split models (llama-gguf-split): one logical model in N files named
// "<prefix>-00001-of-0000N.gguf", each a complete GGUF holding some of the tensors; the first also
// holds the model's metadata. Every shard carries split.no, split.count and split.tensors.count.
#include <cstdio>
#include <regex>

#include "gguf/file.h"

namespace onprem::gguf {

using core::ErrorCode;
using core::Expected;
using core::make_error;

namespace {

struct SplitKeys {
  uint64_t no = 0, count = 1, tensors = 0;
};

Expected<SplitKeys> split_keys(const File& f, const std::string& path) {
  SplitKeys k;
  if (!f.find("split.count")) return k;
  auto count = f.get_uint("split.count");
  auto no = f.get_uint("split.no");
  auto tensors = f.get_uint("split.tensors.count");
  if (!count || !no || !tensors)
    return make_error(ErrorCode::kCorrupt,
                      path + ": split.count, split.no and split.tensors.count must all be integers");
  k = {*no, *count, *tensors};
  if (k.count == 0 || k.count > 9999 || k.no >= k.count)
    return make_error(ErrorCode::kCorrupt,
                      path + ": split.no " + std::to_string(k.no) + " of split.count " + std::to_string(k.count));
  return k;
}

std::string shard_path(const std::string& prefix, uint64_t no, uint64_t count) {
  char tail[32];
  std::snprintf(tail, sizeof tail, "-%05u-of-%05u.gguf", unsigned(no + 1), unsigned(count));
  return prefix + tail;
}

}  // namespace

Expected<File> File::open(const std::string& path) {
  auto first = open_one(path);
  if (!first) return first;
  auto keys = split_keys(*first, path);
  if (!keys) return keys.error();
  if (keys->count == 1) return first;
  static const std::regex kName(R"((.*)-(\d{5})-of-(\d{5})\.gguf)");
  std::smatch m;
  if (!std::regex_match(path, m, kName))
    return make_error(ErrorCode::kInvalidArgument,
                      path + " is shard " + std::to_string(keys->no + 1) + " of a model split in " +
                          std::to_string(keys->count) +
                          " files, but its name is not '<name>-0000K-of-0000N.gguf', so the others cannot be found");
  if (keys->no != 0)
    return make_error(ErrorCode::kInvalidArgument, path + " is shard " + std::to_string(keys->no + 1) + " of " +
                                                       std::to_string(keys->count) +
                                                       "; open the first: " + shard_path(m[1].str(), 0, keys->count));
  File& f = *first;
  f.shard_paths_.push_back(path);
  for (uint64_t no = 1; no < keys->count; ++no) {
    const std::string p = shard_path(m[1].str(), no, keys->count);
    auto shard = open_one(p);
    if (!shard) {
      core::Error e = shard.error();
      e.message = "shard " + std::to_string(no + 1) + " of " + std::to_string(keys->count) + ": " + e.message;
      return e;
    }
    auto sk = split_keys(*shard, p);
    if (!sk) return sk.error();
    if (sk->no != no || sk->count != keys->count)
      return make_error(ErrorCode::kCorrupt, p + " says it is shard " + std::to_string(sk->no + 1) + " of " +
                                                 std::to_string(sk->count) + ", expected " + std::to_string(no + 1) +
                                                 " of " + std::to_string(keys->count));
    for (const auto& t : shard->tensors_) {
      if (f.tensor_index_.count(t.name))
        return make_error(ErrorCode::kCorrupt,
                          "tensor '" + std::string(t.name) + "' is in more than one shard (again in " + p + ")");
      f.tensor_index_.emplace(t.name, f.tensors_.size());
      f.tensors_.push_back(t);  // names and data point into the shard's mapping, kept below
    }
    f.shard_maps_.push_back(shard->map_);
    f.shard_paths_.push_back(p);
  }
  if (f.tensors_.size() != keys->tensors)
    return make_error(ErrorCode::kCorrupt, path + ": the " + std::to_string(keys->count) + " shards hold " +
                                               std::to_string(f.tensors_.size()) +
                                               " tensors, split.tensors.count says " + std::to_string(keys->tensors));
  return first;
}

}  // namespace onprem::gguf
