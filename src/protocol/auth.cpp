#include "protocol/auth.h"

namespace onprem::protocol {

std::string presented_api_key(std::string_view authorization, std::string_view x_api_key) {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.substr(0, kBearer.size()) == kBearer) return std::string(authorization.substr(kBearer.size()));
  return std::string(x_api_key);
}

}  // namespace onprem::protocol
