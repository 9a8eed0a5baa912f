// The token hand-out: gives the product's own services a valid access
// token for a company, renewing it first when it is about to expire (see
// refresh.h), and its FastCGI endpoint /smartrecruiters/refresh.

#ifndef SRCONNECT_LIB_TOKEN_HANDOUT_H_
#define SRCONNECT_LIB_TOKEN_HANDOUT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config.h"
#include "fastcgi.h"
#include "refresh.h"
#include "secret.h"
#include "sr_client.h"
#include "store.h"

namespace srconnect {

struct App;

enum class HandOutStatus {
  kOk,
  kUnknownCompany,
  // pending, disconnected or needs_reintegration, with the row's `state`
  // and `reason`.
  kNotConnected,
  // No valid token and SmartRecruiters could not be reached (or the
  // connection is waiting out a backoff); retry after `retry_after_s`.
  kUnavailable,
  kInternalError,
};

struct TokenHandOut {
  HandOutStatus status = HandOutStatus::kInternalError;
  std::string company_id;
  Secret access_token;     // set for kOk
  int64_t expires_at = 0;  // set for kOk
  ConnectionState state = ConnectionState::kPending;
  std::string reason;         // the row's reason, or what failed
  int64_t retry_after_s = 0;  // set for kUnavailable
  // Outcome of the renewal attempt, when one was made.
  std::optional<RenewOutcome> renewal;
};

// Shortest remaining lifetime for which a token that another process is
// renewing is handed out at once instead of waiting for the new one.
inline constexpr int64_t kHandOutMinLifetimeS = 60;

// Returns a valid access token for `company_id`, renewing it first when it
// expires within options.margin_s. When another process holds the lease
// and the current token has less than kHandOutMinLifetimeS left, polls the
// row every 100 ms, for at most lease_s, for the new token instead of
// calling SmartRecruiters. A still-valid token is returned even when the
// renewal failed. Logs nothing itself except through RenewConnection.
TokenHandOut HandOutToken(Store& store, const SmartRecruitersClient& client,
                          std::string_view company_id, std::string_view owner,
                          const RenewOptions& options);

// Handles GET or POST /smartrecruiters/refresh?company=ID and returns
//   200 {"company_id","access_token","token_type":"bearer","expires_at"},
//   400 without exactly one valid company parameter,
//   403 unless the peer is on loopback,
//   404 for an unknown company,
//   409 with the state and reason when the connection is not connected,
//   503 with Retry-After when no valid token can be had.
// Every response is JSON with Cache-Control: no-store. Logs each hand-out
// with the company id and the token's fingerprint. The lease owner id
// names the calling thread, so that threads that share a process never
// renew the same company at once.
HttpResponse HandleRefreshRequest(const HttpRequest& request, Store& store,
                                  const SmartRecruitersClient& client,
                                  const RefreshConfig& config);

// Returns a HandleRefreshRequest handler for one RunFastCgi responder
// thread. It owns its own Store and SmartRecruitersClient, because neither
// is thread-safe. `app` must outlive it. Fails when the store cannot be
// opened.
Result<RequestHandler> MakeRefreshHandler(const App& app);

}  // namespace srconnect

#endif  // SRCONNECT_LIB_TOKEN_HANDOUT_H_
