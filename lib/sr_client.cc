#include "sr_client.h"

#include <time.h>

#include <charconv>
#include <cmath>
#include <ctime>
#include <iomanip>
#include <locale>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>

#include <nlohmann/json.hpp>

#include "log.h"

namespace srconnect {
namespace {

using nlohmann::json;

constexpr char kTokenPath[] = "/identity/oauth/token";
constexpr char kEnableIntegrationPath[] =
    "/apps-integrations/partner-api/integrations";

// Maximum length of text copied from a response into a message.
constexpr size_t kMaxExcerptChars = 120;

// Maximum token lifetime taken from expires_in. Larger values are
// clamped, so that adding a lifetime to a Unix time cannot overflow.
constexpr int64_t kMaxTokenLifetimeS = 366 * 24 * 3600;

// Returns up to kMaxExcerptChars of `text` with every byte outside
// printable ASCII replaced by '?', for use inside a message.
std::string Sanitize(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, kMaxExcerptChars)) {
    const auto byte = static_cast<unsigned char>(c);
    out.push_back(byte >= 0x20 && byte < 0x7f ? c : '?');
  }
  if (text.size() > kMaxExcerptChars) out += "...";
  return out;
}

// Returns Sanitize(text) in double quotes, with '"' and '\' escaped.
std::string QuoteExcerpt(std::string_view text) {
  return Quote(Sanitize(text));
}

// Parses `body` without throwing. A syntax error gives a discarded value.
json ParseJson(std::string_view body) {
  return json::parse(body.begin(), body.end(), nullptr,
                     /*allow_exceptions=*/false);
}

// Returns the string member `name` of `object`, or nullptr when it is
// absent or not a string.
const std::string* StringMember(const json& object, const char* name) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return nullptr;
  return it->get_ptr<const std::string*>();
}

bool IsTransientStatus(int status) {
  return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

bool IsSuccessStatus(int status) { return status >= 200 && status <= 299; }

// Parses an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") to Unix time.
std::optional<int64_t> ParseHttpDate(const std::string& text) {
  std::tm tm = {};
  std::istringstream in(text);
  in.imbue(std::locale::classic());
  in >> std::get_time(&tm, "%a, %d %b %Y %H:%M:%S GMT");
  if (in.fail()) return std::nullopt;
  in >> std::ws;
  if (!in.eof()) return std::nullopt;
  const time_t unix_time = ::timegm(&tm);
  if (unix_time == static_cast<time_t>(-1)) return std::nullopt;
  return static_cast<int64_t>(unix_time);
}

// Reads Retry-After as delta-seconds or as an IMF-fixdate, the two forms of
// RFC 9110 section 10.2.3. The obsolete date formats (RFC 850, asctime)
// are ignored, as is anything else that does not parse.
std::optional<int64_t> RetryAfterSeconds(const HttpResult& response) {
  const auto it = response.headers.find("retry-after");
  if (it == response.headers.end()) return std::nullopt;
  const std::string& value = it->second;

  int64_t seconds = 0;
  const auto [end, ec] =
      std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec == std::errc() && end == value.data() + value.size() &&
      !value.empty() && value.front() != '-') {
    return seconds;
  }

  const std::optional<int64_t> date = ParseHttpDate(value);
  if (!date) return std::nullopt;
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  return *date > now ? *date - now : 0;
}

// Reads expires_in as an integer number of seconds, a number with a
// fraction (truncated) or a string of digits. Returns kDefaultTokenLifetimeS
// when the member is missing, non-positive or unreadable.
int64_t ExpiresInSeconds(const json& object) {
  const auto it = object.find("expires_in");
  if (it == object.end()) return kDefaultTokenLifetimeS;

  int64_t seconds = 0;
  if (it->is_number_unsigned()) {
    const uint64_t value = it->get<uint64_t>();
    seconds = value > static_cast<uint64_t>(kMaxTokenLifetimeS)
                  ? kMaxTokenLifetimeS
                  : static_cast<int64_t>(value);
  } else if (it->is_number_integer()) {
    seconds = it->get<int64_t>();
  } else if (it->is_number_float()) {
    const double value = it->get<double>();
    if (!std::isfinite(value)) return kDefaultTokenLifetimeS;
    seconds = value >= static_cast<double>(kMaxTokenLifetimeS)
                  ? kMaxTokenLifetimeS
                  : static_cast<int64_t>(value);
  } else if (it->is_string()) {
    const std::string& text = it->get_ref<const std::string&>();
    const auto [end, ec] =
        std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec == std::errc::result_out_of_range && !text.empty() &&
        text.front() != '-') {
      seconds = kMaxTokenLifetimeS;
    } else if (ec != std::errc() || end != text.data() + text.size()) {
      return kDefaultTokenLifetimeS;
    }
  } else {
    return kDefaultTokenLifetimeS;
  }

  if (seconds <= 0) return kDefaultTokenLifetimeS;
  return seconds > kMaxTokenLifetimeS ? kMaxTokenLifetimeS : seconds;
}

CallError MakeError(Outcome outcome, int http_status, std::string message) {
  CallError error;
  error.outcome = outcome;
  error.http_status = http_status;
  error.message = std::move(message);
  return error;
}

// Classifies a response that carries no HTTP status because the transport
// failed. `subject` names the call, e.g. "token request".
CallError TransportFailure(const HttpResult& response,
                           std::string_view subject) {
  const std::string prefix = std::string(subject) + " failed: ";
  switch (response.error) {
    case TransportError::kTls:
      return MakeError(Outcome::kTlsError, 0,
                       prefix + "TLS handshake or certificate verification " +
                           "failed (" + response.error_text +
                           "); check smartrecruiters.ca_file and the host " +
                           "name in smartrecruiters.api_base");
    case TransportError::kTimeout:
      return MakeError(Outcome::kTransient, 0,
                       prefix + "timed out (" + response.error_text + ")");
    case TransportError::kConnect:
      return MakeError(
          Outcome::kTransient, 0,
          prefix + "connection failed (" + response.error_text + ")");
    default:
      return MakeError(Outcome::kTransient, 0, prefix + response.error_text);
  }
}

// Builds the kTransient error for a status worth retrying, with
// retry_after_s taken from Retry-After.
CallError TransientStatus(const HttpResult& response, std::string_view subject,
                          std::string detail) {
  CallError error = MakeError(Outcome::kTransient, response.status,
                              std::string(subject) + " failed: HTTP " +
                                  std::to_string(response.status) + detail);
  error.retry_after_s = RetryAfterSeconds(response);
  if (error.retry_after_s) {
    error.message +=
        ", retry after " + std::to_string(*error.retry_after_s) + " s";
  }
  return error;
}

// Returns the RFC 6749 section 5.2 error code of a token endpoint error
// body, or an empty string.
std::string OAuthErrorCode(const json& body) {
  const std::string* code = StringMember(body, "error");
  return code != nullptr ? Sanitize(*code) : "";
}

// Returns " invalid_client (\"description\")" for an RFC 6749 error body,
// or "" when it has none.
std::string DescribeOAuthError(const json& body, const std::string& code) {
  if (code.empty()) return "";
  std::string text = " " + code;
  const std::string* description = StringMember(body, "error_description");
  if (description != nullptr && !description->empty()) {
    text += " (" + QuoteExcerpt(*description) + ")";
  }
  return text;
}

// Returns ": \"message\" (CODE: \"detail\")" from SmartRecruiters'
// ErrorResponse {message, errors: [{code, message}]}, using the first
// entry of errors, or "" when the body is not one. A detail equal to the
// top-level message is left out.
std::string DescribeErrorResponse(const json& body) {
  if (!body.is_object()) return "";
  std::string text;
  const std::string* message = StringMember(body, "message");
  if (message != nullptr && !message->empty()) {
    text += ": " + QuoteExcerpt(*message);
  }

  const auto errors = body.find("errors");
  if (errors == body.end() || !errors->is_array() || errors->empty()) {
    return text;
  }
  const json& first = errors->front();
  const std::string* code = StringMember(first, "code");
  const std::string* detail = StringMember(first, "message");
  std::string part;
  if (code != nullptr) part += Sanitize(*code);
  const bool repeats_message =
      detail != nullptr && message != nullptr && *detail == *message;
  if (detail != nullptr && !detail->empty() && !repeats_message) {
    part += (part.empty() ? "" : ": ") + QuoteExcerpt(*detail);
  }
  if (part.empty()) return text;
  text += text.empty() ? ": (" : " (";
  text += part + ")";
  return text;
}

bool IsDeadCredentialsCode(const std::string& code) {
  return code == "invalid_client" || code == "unauthorized_client" ||
         code == "invalid_grant";
}

CallResult<AccessToken> ClassifyTokenResponse(const HttpResult& response,
                                              std::string_view subject) {
  if (response.error != TransportError::kNone) {
    return TransportFailure(response, subject);
  }
  const std::string failed =
      std::string(subject) + " failed: HTTP " + std::to_string(response.status);

  if (IsSuccessStatus(response.status)) {
    // The body of a success may contain a token, so no part of it is ever
    // copied into a message.
    const json body = ParseJson(response.body);
    if (body.is_discarded()) {
      return MakeError(Outcome::kTransient, response.status,
                       failed + " with a body that is not valid JSON");
    }
    if (!body.is_object()) {
      return MakeError(Outcome::kBadResponse, response.status,
                       failed + " with a JSON body that is not an object");
    }
    const auto token = body.find("access_token");
    if (token == body.end()) {
      return MakeError(Outcome::kBadResponse, response.status,
                       failed + " without access_token");
    }
    if (!token->is_string() || token->get_ref<const std::string&>().empty()) {
      return MakeError(
          Outcome::kBadResponse, response.status,
          failed + " with an access_token that is not a " + "non-empty string");
    }
    const auto type = body.find("token_type");
    if (type != body.end() && !type->is_null() && !type->is_string()) {
      return MakeError(Outcome::kBadResponse, response.status,
                       failed + " with a token_type that is not a string");
    }

    AccessToken access;
    access.token = Secret(token->get<std::string>());
    if (type != body.end() && type->is_string()) {
      access.token_type = type->get<std::string>();
    }
    access.expires_in_s = ExpiresInSeconds(body);
    return access;
  }

  if (IsTransientStatus(response.status)) {
    return TransientStatus(response, subject, "");
  }

  const json body = ParseJson(response.body);
  const std::string code = OAuthErrorCode(body);
  const std::string detail = DescribeOAuthError(body, code);
  CallError error;
  if (response.status == 401 ||
      (response.status == 400 && IsDeadCredentialsCode(code))) {
    error =
        MakeError(Outcome::kDeadCredentials, response.status, failed + detail);
  } else if (response.status == 400) {
    // These codes (invalid_request, unsupported_grant_type, none) mean the
    // request srconnect built is wrong, so sending it again will not help.
    error = MakeError(
        Outcome::kBadResponse, response.status,
        failed + (detail.empty() ? " without an OAuth error code" : detail));
  } else {
    error = MakeError(Outcome::kBadResponse, response.status,
                      failed + detail + "; check smartrecruiters.api_base");
  }
  error.oauth_error = code;
  return error;
}

CallResult<CustomerCredentials> ClassifyEnableIntegrationResponse(
    const HttpResult& response, std::string_view subject) {
  if (response.error != TransportError::kNone) {
    return TransportFailure(response, subject);
  }
  const std::string failed =
      std::string(subject) + " failed: HTTP " + std::to_string(response.status);

  if (IsSuccessStatus(response.status)) {
    // NOTE: SmartRecruiters does not publish the response schema either.
    // {"clientId", "clientSecret"} follows its ClientCredentials schema
    // from the Assessment partner API. No part of the body is copied into a
    // message because it contains a secret.
    const json body = ParseJson(response.body);
    if (body.is_discarded()) {
      return MakeError(Outcome::kTransient, response.status,
                       failed + " with a body that is not valid JSON");
    }
    const std::string* client_id = StringMember(body, "clientId");
    const std::string* client_secret = StringMember(body, "clientSecret");
    if (client_id == nullptr || client_id->empty()) {
      return MakeError(Outcome::kBadResponse, response.status,
                       failed + " without a non-empty string clientId");
    }
    if (client_secret == nullptr || client_secret->empty()) {
      return MakeError(Outcome::kBadResponse, response.status,
                       failed + " without a non-empty string clientSecret");
    }
    CustomerCredentials credentials;
    credentials.client_id = *client_id;
    credentials.client_secret = Secret(*client_secret);
    return credentials;
  }

  const json body = ParseJson(response.body);
  const std::string detail = DescribeErrorResponse(body);
  if (IsTransientStatus(response.status)) {
    return TransientStatus(response, subject, detail);
  }
  switch (response.status) {
    case 401:
      // NOTE: a 401 here means SmartRecruiters did not accept the master
      // access token that the token endpoint has just issued. That points
      // at the master credentials or the partner setup, which an operator
      // must fix with SmartRecruiters. No customer credentials are
      // involved, so it is kBadResponse rather than kDeadCredentials.
      return MakeError(Outcome::kBadResponse, response.status,
                       failed + detail +
                           "; the master access token was not accepted, " +
                           "check the master credentials and their scope");
    case 403:
      return MakeError(Outcome::kConsentMissing, response.status,
                       failed + detail +
                           "; the company has not given consent, or the " +
                           "master credentials lack the partner scope");
    case 409:
      return MakeError(Outcome::kAlreadyIntegrated, response.status,
                       failed + detail +
                           "; SmartRecruiters already has an integration " +
                           "for this company, remove the app there first");
    default:
      return MakeError(Outcome::kBadResponse, response.status, failed + detail);
  }
}

// Appends one form field, percent-encoding every byte outside RFC 3986's
// unreserved set. A space becomes "%20", which every form decoder reads
// back as a space, so '+' is never ambiguous.
void AppendFormField(std::string& out, std::string_view name,
                     std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  if (!out.empty()) out.push_back('&');
  out.append(name);
  out.push_back('=');
  for (char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                            c == '_' || c == '~';
    if (unreserved) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0x0f]);
    }
  }
}

// Replaces every occurrence of `secret` in `text`, in case a server echoed
// it into an error description.
void Redact(std::string& text, const std::string& secret) {
  if (secret.empty()) return;
  for (size_t at = text.find(secret); at != std::string::npos;
       at = text.find(secret, at)) {
    text.replace(at, secret.size(), "[redacted]");
    at += 10;
  }
}

}  // namespace

std::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk:
      return "ok";
    case Outcome::kDeadCredentials:
      return "dead_credentials";
    case Outcome::kConsentMissing:
      return "consent_missing";
    case Outcome::kAlreadyIntegrated:
      return "already_integrated";
    case Outcome::kTransient:
      return "transient";
    case Outcome::kBadResponse:
      return "bad_response";
    case Outcome::kTlsError:
      return "tls_error";
  }
  return "unknown";
}

std::string BuildTokenRequestBody(std::string_view client_id,
                                  const Secret& client_secret) {
  std::string body;
  AppendFormField(body, "grant_type", "client_credentials");
  AppendFormField(body, "client_id", client_id);
  AppendFormField(body, "client_secret", client_secret.Reveal());
  return body;
}

CallResult<AccessToken> ParseTokenResponse(const HttpResult& response) {
  return ClassifyTokenResponse(response, "token request");
}

std::string BuildEnableIntegrationBody(
    std::string_view company_id,
    const CustomerCredentials* partner_credentials) {
  json body = json::object();
  body["companyId"] = std::string(company_id);
  if (partner_credentials != nullptr) {
    body["clientId"] = partner_credentials->client_id;
    body["clientSecret"] = partner_credentials->client_secret.Reveal();
  }
  // Invalid UTF-8 is replaced by U+FFFD instead of throwing type_error.
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

CallResult<CustomerCredentials> ParseEnableIntegrationResponse(
    const HttpResult& response) {
  return ClassifyEnableIntegrationResponse(response, "setup call");
}

SmartRecruitersClient::SmartRecruitersClient(
    const SmartRecruitersConfig& config) {
  options_.base_url = config.api_base;
  options_.ca_file = config.ca_file;
  options_.connect_timeout_ms = config.connect_timeout_ms;
  options_.read_timeout_ms = config.read_timeout_ms;
  token_connection_ = std::make_unique<HttpConnection>(options_);
}

SmartRecruitersClient::~SmartRecruitersClient() = default;

CallResult<AccessToken> SmartRecruitersClient::RequestToken(
    std::string_view client_id, const Secret& client_secret) const {
  const HttpResult response = token_connection_->Send(
      "POST", kTokenPath, "application/x-www-form-urlencoded",
      BuildTokenRequestBody(client_id, client_secret), "");
  const std::string subject = "token request for client " + Quote(client_id);
  CallResult<AccessToken> result = ClassifyTokenResponse(response, subject);

  if (result.ok()) {
    LogInfo(subject + " succeeded: token " +
            result.value().token.Fingerprint() + ", expires in " +
            std::to_string(result.value().expires_in_s) + " s");
    return result;
  }
  CallError error = result.error();
  Redact(error.message, client_secret.Reveal());
  LogWarning(error.message + " [outcome " +
             std::string(OutcomeName(error.outcome)) + "]");
  return error;
}

CallResult<CustomerCredentials> SmartRecruitersClient::EnableIntegration(
    const Secret& master_token, std::string_view company_id) const {
  const HttpResult response = SendHttpRequest(
      options_, "POST", kEnableIntegrationPath, "application/json",
      BuildEnableIntegrationBody(company_id, nullptr), master_token.Reveal());
  const std::string subject = "setup call for company " + Quote(company_id);
  CallResult<CustomerCredentials> result =
      ClassifyEnableIntegrationResponse(response, subject);

  if (result.ok()) {
    LogInfo(subject + " succeeded: customer client " +
            Quote(result.value().client_id) + ", secret " +
            result.value().client_secret.Fingerprint());
    return result;
  }
  CallError error = result.error();
  Redact(error.message, master_token.Reveal());
  LogWarning(error.message + " [outcome " +
             std::string(OutcomeName(error.outcome)) + "]");
  return error;
}

}  // namespace srconnect
