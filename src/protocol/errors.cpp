#include "protocol/errors.h"

#include "protocol/json_text.h"

namespace onprem::protocol {

ApiError bad_request(std::string message, std::string param) {
  return ApiError{400, "invalid_request_error", std::move(message), std::move(param), ""};
}

ApiError from_status(const core::Error& e, std::string param) {
  ApiError a;
  a.message = e.message;
  a.param = std::move(param);
  switch (e.code) {
    case core::ErrorCode::kResourceExhausted:
      a.status = 429, a.type = "rate_limit_error";
      break;
    case core::ErrorCode::kNotFound:
      a.status = 404, a.type = "not_found_error";
      break;
    case core::ErrorCode::kIo:
    case core::ErrorCode::kCorrupt:
      a.status = 500, a.type = "server_error";
      break;
    default:
      a.status = 400, a.type = "invalid_request_error";
  }
  return a;
}

ApiError from_exception(std::exception_ptr ep) {
  try {
    std::rethrow_exception(ep);
  } catch (const nlohmann::json::exception& e) {
    return bad_request(std::string("a request field has the wrong type: ") + e.what());
  } catch (const std::exception& e) {
    return ApiError{500, "server_error", e.what(), "", ""};
  } catch (...) {
  }
  return ApiError{500, "server_error", "internal error", "", ""};
}

std::string openai_error_body(const ApiError& e) {
  chat::Json j = {{"error",
                   {{"message", e.message},
                    {"type", e.type},
                    {"param", e.param.empty() ? chat::Json() : chat::Json(e.param)},
                    {"code", e.code.empty() ? chat::Json() : chat::Json(e.code)}}}};
  return json_text(j);
}

std::string anthropic_error_body(const ApiError& e) {
  std::string type = e.type;
  if (e.status == 401)
    type = "authentication_error";
  else if (e.status == 429)
    type = "rate_limit_error";
  else if (e.status == 404)
    type = "not_found_error";
  else if (e.status >= 500)
    type = "api_error";
  chat::Json j = {{"type", "error"}, {"error", {{"type", type}, {"message", e.message}}}};
  return json_text(j);
}

std::string either_shape_error_body(const std::string& type, const std::string& message) {
  return json_text({{"type", "error"}, {"error", {{"type", type}, {"message", message}}}});
}

}  // namespace onprem::protocol
