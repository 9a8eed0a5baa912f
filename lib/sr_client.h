// The SmartRecruiters side of the OAuth 2.0 General Partner Integration:
// the client-credentials grant (for master and customer-level credentials)
// and the setup call that enables the integration for one company.
//
// Every call returns a CallResult whose Outcome tells the caller what to
// do; handlers and refresh act on the Outcome, never on HTTP details.

#ifndef SRCONNECT_LIB_SR_CLIENT_H_
#define SRCONNECT_LIB_SR_CLIENT_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "config.h"
#include "http_client.h"
#include "secret.h"
#include "status.h"

namespace srconnect {

enum class Outcome {
  kOk,
  // The token endpoint rejected the credentials (invalid_client,
  // unauthorized_client, invalid_grant, or 401): the customer must
  // reintegrate. Never retried.
  kDeadCredentials,
  // Setup answered 403: the company has not given consent, or the master
  // token lacks the partner scope.
  kConsentMissing,
  // Setup answered 409: SmartRecruiters already has an integration for the
  // company.
  kAlreadyIntegrated,
  // 5xx, 429, timeout, connection refused or reset, a non-JSON or truncated
  // body: retry later with backoff.
  kTransient,
  // A 2xx whose body lacks a required field or has the wrong JSON types,
  // or another 4xx (400, 404) that retrying will not fix.
  kBadResponse,
  // TLS handshake or certificate verification failed: a configuration
  // problem (CA file, host name), not a credential problem.
  kTlsError,
};

// Returns "ok", "dead_credentials", "consent_missing", ... for logs and JSON.
std::string_view OutcomeName(Outcome outcome);

struct CallError {
  Outcome outcome = Outcome::kTransient;
  int http_status = 0;      // 0 when no response arrived
  std::string oauth_error;  // RFC 6749 "error" value, when present
  // What failed, for logs and operator pages. Contains no secret.
  std::string message;
  // Seconds from a Retry-After header, when present and valid.
  std::optional<int64_t> retry_after_s;
};

template <typename T>
class CallResult {
 public:
  CallResult(T value) : value_(std::move(value)) {}        // NOLINT
  CallResult(CallError error) : error_(std::move(error)) {}  // NOLINT

  bool ok() const { return value_.has_value(); }
  Outcome outcome() const { return ok() ? Outcome::kOk : error_.outcome; }
  // REQUIRES: !ok().
  const CallError& error() const { return error_; }
  // REQUIRES: ok().
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }

 private:
  std::optional<T> value_;
  CallError error_;
};

struct AccessToken {
  Secret token;
  std::string token_type;
  int64_t expires_in_s = 0;
};

struct CustomerCredentials {
  std::string client_id;
  Secret client_secret;
};

// Lifetime assumed when a token response has no usable expires_in.
// NOTE: SmartRecruiters publishes no client-credentials lifetime; 30
// minutes is the figure it gives for authorization-code access tokens.
inline constexpr int64_t kDefaultTokenLifetimeS = 1800;

// Builds the form body of a client-credentials grant.
std::string BuildTokenRequestBody(std::string_view client_id,
                                  const Secret& client_secret);

// Classifies a token endpoint response.
CallResult<AccessToken> ParseTokenResponse(const HttpResult& response);

// Builds the JSON body of the setup call.
// NOTE: SmartRecruiters does not publish this schema. The body follows its
// ClientCredentials naming: {"companyId", "clientId", "clientSecret"}, with
// the partner-generated pair only when `partner_credentials` is given.
std::string BuildEnableIntegrationBody(
    std::string_view company_id,
    const CustomerCredentials* partner_credentials);

// Classifies a setup call response; on success returns the customer-level
// credentials from {"clientId", "clientSecret"}.
CallResult<CustomerCredentials> ParseEnableIntegrationResponse(
    const HttpResult& response);

// Token requests share one kept-alive connection (see HttpConnection), so
// a refresh worker that renews many companies pays the TCP and TLS
// handshakes once. The setup call, which must not be sent twice, always
// goes on a connection of its own.
//
// Not thread-safe, although its methods are const: one client per thread.
class SmartRecruitersClient {
 public:
  explicit SmartRecruitersClient(const SmartRecruitersConfig& config);
  ~SmartRecruitersClient();
  SmartRecruitersClient(const SmartRecruitersClient&) = delete;
  SmartRecruitersClient& operator=(const SmartRecruitersClient&) = delete;

  // POST {api_base}/identity/oauth/token with grant_type=client_credentials.
  CallResult<AccessToken> RequestToken(std::string_view client_id,
                                       const Secret& client_secret) const;

  // POST {api_base}/apps-integrations/partner-api/integrations with the
  // master access token.
  CallResult<CustomerCredentials> EnableIntegration(
      const Secret& master_token, std::string_view company_id) const;

 private:
  HttpClientOptions options_;
  // A token request changes no state in SmartRecruiters beyond issuing a
  // token, so it is safe to repeat on a new connection.
  std::unique_ptr<HttpConnection> token_connection_;
};

}  // namespace srconnect

#endif  // SRCONNECT_LIB_SR_CLIENT_H_
