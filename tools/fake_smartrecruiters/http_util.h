// Response builders and request helpers shared by the fake's endpoints.

#ifndef SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_HTTP_UTIL_H_
#define SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_HTTP_UTIL_H_

#include <optional>
#include <string>
#include <string_view>

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace srconnect::fake {

void SetJson(httplib::Response& response, int status,
             const nlohmann::json& body);

// Sets SmartRecruiters' ErrorResponse body:
// {"message": message, "errors": [{"code": code, "message": message}]}.
void SetErrorResponse(httplib::Response& response, int status,
                      const std::string& code, const std::string& message);

// Sets an RFC 6749 section 5.2 token error body with Cache-Control:
// no-store.
void SetOAuthError(httplib::Response& response, int status,
                   const std::string& error, const std::string& description);

// Sets 401 with `WWW-Authenticate: Bearer error="invalid_token"` and an
// ErrorResponse with code "unauthorized".
void SetInvalidToken(httplib::Response& response, const std::string& message);

void SetHtml(httplib::Response& response, int status, const std::string& html);

// Returns the token of an "Authorization: Bearer <token>" header (scheme
// matched case-insensitively), or nullopt.
std::optional<std::string> BearerToken(const httplib::Request& request);

// Returns the value of cookie `name` from the Cookie header, or nullopt.
std::optional<std::string> Cookie(const httplib::Request& request,
                                  std::string_view name);

// Returns true for 127.0.0.0/8, ::1 and IPv4-mapped 127.0.0.0/8 addresses
// in numeric form.
bool IsLoopbackAddress(const std::string& address);

// Returns true when the media type of the Content-Type header is `type`
// (parameters such as charset ignored, case-insensitive).
bool HasContentType(const httplib::Request& request, std::string_view type);

}  // namespace srconnect::fake

#endif  // SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_HTTP_UTIL_H_
