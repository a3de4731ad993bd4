#include "core/status.h"

namespace onprem::core {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kIo:
      return "io";
    case ErrorCode::kTruncated:
      return "truncated";
    case ErrorCode::kCorrupt:
      return "corrupt";
    case ErrorCode::kUnsupported:
      return "unsupported";
    case ErrorCode::kInvalidArgument:
      return "invalid argument";
    case ErrorCode::kNotFound:
      return "not found";
    case ErrorCode::kTypeMismatch:
      return "type mismatch";
    case ErrorCode::kResourceExhausted:
      return "resource exhausted";
  }
  return "unknown";
}

std::string Error::to_string() const {
  std::string s = where.empty() ? std::string() : where + ": ";
  s += error_code_name(code);
  if (offset >= 0) s += " at byte " + std::to_string(offset);
  s += ": ";
  s += message;
  return s;
}

Error make_error(ErrorCode code, std::string message, int64_t offset) {
  return Error{code, std::move(message), offset, {}};
}

}  // namespace onprem::core
