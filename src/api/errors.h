// The one place errors become HTTP statuses and API error bodies (OpenAI and Anthropic shapes).
#pragma once

#include <string>

#include "chat/pyjson.h"
#include "core/status.h"

namespace onprem::api {

struct ApiError {
  int status = 400;
  std::string type = "invalid_request_error";  // OpenAI type; mapped for Anthropic
  std::string message;
  std::string param;
};

ApiError bad_request(std::string message, std::string param = {});
ApiError from_status(const core::Error& e, std::string param = {});
std::string openai_error_body(const ApiError& e);
std::string anthropic_error_body(const ApiError& e);

}  // namespace onprem::api
