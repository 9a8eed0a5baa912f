#include "token_endpoint.h"

#include <map>
#include <optional>
#include <string>

#include "encoding.h"
#include "http_util.h"
#include "log.h"
#include "request_log.h"

namespace srconnect::fake {
namespace {

// The parameters of a token request. `error` is empty when the request is
// well-formed; otherwise it is the invalid_request description, and the
// fields hold what could still be read.
struct TokenRequest {
  std::string grant_type;
  std::string client_id;
  std::string client_secret;
  bool basic_auth = false;
  std::string error;
};

// Reads "Authorization: Basic base64(id:secret)", where id and secret are
// form-encoded (RFC 6749 section 2.3.1). Returns false when the header is
// present but malformed.
bool ReadBasicAuth(const httplib::Request& request, TokenRequest& parsed) {
  const std::string header = request.get_header_value("Authorization");
  if (header.size() < 6 || (header.compare(0, 6, "Basic ") != 0 &&
                            header.compare(0, 6, "basic ") != 0)) {
    return true;
  }
  parsed.basic_auth = true;
  const std::optional<std::string> decoded = Base64Decode(header.substr(6));
  const size_t colon = decoded ? decoded->find(':') : std::string::npos;
  if (colon == std::string::npos) return false;
  const std::optional<std::string> id =
      UrlDecode(std::string_view(*decoded).substr(0, colon), true);
  const std::optional<std::string> secret =
      UrlDecode(std::string_view(*decoded).substr(colon + 1), true);
  if (!id || !secret) return false;
  parsed.client_id = *id;
  parsed.client_secret = *secret;
  return true;
}

TokenRequest ParseTokenRequest(const httplib::Request& request) {
  TokenRequest parsed;
  if (!ReadBasicAuth(request, parsed)) {
    parsed.error = "malformed HTTP Basic Authorization header";
    return parsed;
  }
  if (!HasContentType(request, "application/x-www-form-urlencoded")) {
    parsed.error = "request body must be application/x-www-form-urlencoded";
    return parsed;
  }
  Result<std::map<std::string, std::string>> form = ParseForm(request.body);
  if (!form.ok()) {
    parsed.error = form.error();
    return parsed;
  }

  const auto field = [&](const char* name) -> std::string {
    const auto found = form->find(name);
    return found == form->end() ? "" : found->second;
  };
  parsed.grant_type = field("grant_type");
  if (parsed.basic_auth) {
    if (form->count("client_id") != 0 || form->count("client_secret") != 0) {
      parsed.error =
          "client credentials given both in the Authorization header and "
          "in the body; use one method";
    }
  } else {
    parsed.client_id = field("client_id");
    parsed.client_secret = field("client_secret");
  }
  if (!parsed.error.empty()) return parsed;

  if (parsed.grant_type.empty()) {
    parsed.error = "grant_type is missing";
  } else if (parsed.client_id.empty()) {
    parsed.error = "client_id is missing";
  } else if (parsed.client_secret.empty()) {
    parsed.error = "client_secret is missing";
  }
  return parsed;
}

}  // namespace

RequestSubject IdentifyTokenRequest(const httplib::Request& request,
                                    ServerContext& context) {
  RequestSubject subject;
  subject.client_id = ParseTokenRequest(request).client_id;
  if (!subject.client_id.empty()) {
    subject.company_id =
        context.state.CompanyOfClient(subject.client_id).value_or("");
  }
  return subject;
}

void HandleTokenRequest(const httplib::Request& request,
                        httplib::Response& response, ServerContext& context) {
  const TokenRequest parsed = ParseTokenRequest(request);
  RequestContext& log_context = CurrentRequestContext();
  log_context.client_id = parsed.client_id;

  // RFC 6749 lists unsupported_grant_type for a grant type the server does
  // not support; a missing grant_type is an invalid request.
  if (parsed.error.empty() && parsed.grant_type != "client_credentials") {
    LogInfo("token request rejected: unsupported grant_type " +
            Quote(parsed.grant_type) + " from client " +
            Quote(parsed.client_id));
    SetOAuthError(response, 400, "unsupported_grant_type",
                  "grant_type \"" + parsed.grant_type +
                      "\" is not supported; use client_credentials");
    return;
  }
  if (!parsed.error.empty()) {
    LogInfo("token request rejected: invalid_request: " + parsed.error);
    SetOAuthError(response, 400, "invalid_request", parsed.error);
    return;
  }

  const std::optional<IssuedToken> issued =
      context.state.IssueToken(parsed.client_id, parsed.client_secret);
  if (!issued) {
    LogInfo("token request rejected: invalid_client for client " +
            Quote(parsed.client_id));
    if (parsed.basic_auth) {
      response.set_header("WWW-Authenticate",
                          "Basic realm=\"smartrecruiters\"");
    }
    SetOAuthError(response, 401, "invalid_client",
                  "client authentication failed: unknown client, wrong "
                  "secret or revoked credentials");
    return;
  }

  log_context.company_id =
      context.state.CompanyOfClient(parsed.client_id).value_or("");
  LogDebug("token issued to client " + Quote(parsed.client_id));
  response.set_header("Cache-Control", "no-store");
  response.set_header("Pragma", "no-cache");
  SetJson(response, 200,
          {{"access_token", issued->access_token},
           {"token_type", "bearer"},
           {"expires_in", issued->expires_in_s}});
}

}  // namespace srconnect::fake
