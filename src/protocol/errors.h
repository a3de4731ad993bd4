// The one place errors become HTTP statuses and API error bodies (OpenAI and Anthropic shapes).
#pragma once

#include <exception>
#include <string>

#include "chat/pyjson.h"
#include "core/status.h"

namespace onprem::protocol {

using chat::Json;

struct ApiError {
  int status = 400;
  std::string type = "invalid_request_error";  // OpenAI type; mapped for Anthropic
  std::string message;
  std::string param;
  std::string code;  // OpenAI's error.code (e.g. context_length_exceeded); null when empty
};

ApiError bad_request(std::string message, std::string param = {});
ApiError from_status(const core::Error& e, std::string param = {});
// What escaped a handler: a JSON type error is the client's (a field of the wrong type, 400);
// anything else is a bug of ours (500, to be logged).
ApiError from_exception(std::exception_ptr ep);
std::string openai_error_body(const ApiError& e);
std::string anthropic_error_body(const ApiError& e);
// For the HTTP edge, before the route (and so the API shape) is known: a body both shapes' clients
// read (OpenAI's take error.message, Anthropic's error.type).
std::string either_shape_error_body(const std::string& type, const std::string& message);

}  // namespace onprem::protocol
