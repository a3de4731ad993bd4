// The API key a client presents. OpenAI clients send "Authorization: Bearer KEY", Anthropic ones
// "x-api-key: KEY"; some send both, and then the Bearer token is the one read.
#pragma once

#include <string>
#include <string_view>

namespace onprem::protocol {

std::string presented_api_key(std::string_view authorization, std::string_view x_api_key);

}  // namespace onprem::protocol
