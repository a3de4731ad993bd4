// Errors as values. Every trust boundary (files, requests) returns Expected<T>; CHECK-style asserts
// are for programmer invariants only.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace onprem::core {

enum class ErrorCode {
  kIo,                 // the operating system refused (open, mmap, read, write)
  kTruncated,          // the input ends before a field it promises
  kCorrupt,            // a field holds a value the format forbids
  kUnsupported,        // valid, but not something we implement
  kInvalidArgument,    // the caller asked for something impossible
  kNotFound,           // a key, tensor or token that must exist does not
  kTypeMismatch,       // a key or tensor exists with another type or shape
  kResourceExhausted,  // a queue or a limit is full: try again later
};

const char* error_code_name(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInvalidArgument;
  std::string message;  // names what was expected and what was found
  int64_t offset = -1;  // byte offset in the input where it went wrong, -1 if not about a byte
  std::string where;    // the file or request it is about, if known

  // "model.gguf: corrupt at byte 1234: ..." — the form users see.
  std::string to_string() const;
};

Error make_error(ErrorCode code, std::string message, int64_t offset = -1);

// A value or an Error. Deliberately small: C++23's std::expected is not available on g++ 12.
template <typename T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Expected(Error error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// For functions that only succeed or fail.
struct Ok {};
using Status = Expected<Ok>;
inline Status ok_status() { return Ok{}; }

}  // namespace onprem::core

// Propagate an error from an Expected expression; binds the value otherwise.
#define ONPREM_TRY_ASSIGN(lhs, expr)                     \
  auto lhs##_result_ = (expr);                           \
  if (!lhs##_result_.ok()) return lhs##_result_.error(); \
  auto& lhs = lhs##_result_.value()

#define ONPREM_TRY(expr)                                     \
  do {                                                       \
    auto onprem_status_ = (expr);                            \
    if (!onprem_status_.ok()) return onprem_status_.error(); \
  } while (0)
