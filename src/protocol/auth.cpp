#include "protocol/auth.h"

#include <cctype>

namespace onprem::protocol {

std::string presented_api_key(std::string_view authorization, std::string_view x_api_key) {
  // The scheme name is case-insensitive (RFC 9110, 11.1); the token is taken as it is.
  constexpr std::string_view kBearer = "bearer ";
  if (authorization.size() >= kBearer.size()) {
    bool bearer = true;
    for (size_t i = 0; i < kBearer.size(); ++i)
      bearer = bearer && char(std::tolower(static_cast<unsigned char>(authorization[i]))) == kBearer[i];
    if (bearer) return std::string(authorization.substr(kBearer.size()));
  }
  return std::string(x_api_key);
}

}  // namespace onprem::protocol
