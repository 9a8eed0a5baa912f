// Token renewal: keeps a valid customer access token for every connected
// company and classifies every failure.
//
// The client-credentials grant has no refresh token, so renewing means
// running the grant again with the customer-level credentials before the
// access token expires. Only the holder of a connection's lease (see
// Store::AcquireLease) calls SmartRecruiters for that connection; everyone
// else reads the result. A crash at any point leaves the previous token in
// place, because a new token is stored in one transaction.
//
// RunRefresh drives RenewConnection for the timer's `--due` run and the
// operator's `--company` run; token_handout.h drives it for the token
// hand-out to the product's own services.

#ifndef SRCONNECT_LIB_REFRESH_H_
#define SRCONNECT_LIB_REFRESH_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "app.h"
#include "config.h"
#include "secret.h"
#include "sr_client.h"
#include "status.h"
#include "store.h"

namespace srconnect {

// --- backoff -------------------------------------------------------------

// Returns the backoff window after `failure_count` earlier consecutive
// failures: min(max_s, initial_s * 2^failure_count), and at least 1.
// Negative counts are treated as 0; the doubling never overflows.
int64_t BackoffWindowS(int64_t failure_count, int64_t initial_s, int64_t max_s);

// Returns the delay before the next attempt, in seconds, with equal jitter:
// window/2 + jitter * window/2, where `jitter` is a uniform random value in
// [0, 1) (clamped to that range). The delay is at least `retry_after_s` when
// SmartRecruiters sent Retry-After, with that floor capped at max_s so that
// one bad header cannot park a connection for days.
int64_t BackoffDelayS(int64_t failure_count, int64_t initial_s, int64_t max_s,
                      std::optional<int64_t> retry_after_s, double jitter);

// --- one renewal -----------------------------------------------------------

enum class RenewOutcome {
  kRenewed,             // a new token was stored
  kFresh,               // the token is not due (any more); nothing sent
  kBusy,                // another owner holds the lease; nothing sent
  kDegraded,            // transient failure, next attempt scheduled
  kNeedsReintegration,  // SmartRecruiters rejected the credentials
  kNotRenewable,        // pending, disconnected or without credentials
  kError,               // a store or key failure on this host
};

// Returns "renewed", "fresh", "busy", "degraded", "needs_reintegration",
// "not_renewable" or "error", for logs and summaries.
std::string_view RenewOutcomeName(RenewOutcome outcome);

struct RenewOptions {
  // Renew tokens that expire before now + margin_s.
  int64_t margin_s = 600;
  // Lease length; must exceed one HTTP call (connect + read timeout).
  int64_t lease_s = 60;
  int64_t backoff_initial_s = 30;
  int64_t backoff_max_s = 3600;
  // When true, renews a connected or degraded connection even when its
  // token is outside the margin or its next attempt lies in the future.
  bool force = false;
  // With force: the Fingerprint() of the token stored when the renewal was
  // requested. A different stored token means that another process renewed
  // it meanwhile, which gives kFresh. Empty: always renew.
  std::string forced_from_fingerprint;
  // Jitter source for BackoffDelayS; nullopt draws a random value.
  std::optional<double> jitter;
};

// Returns RenewOptions with the margin, lease and backoff of `config`.
RenewOptions RenewOptionsFromConfig(const RefreshConfig& config);

struct RenewResult {
  RenewOutcome outcome = RenewOutcome::kError;
  std::string company_id;
  // The connection's row after the attempt, when it could be read.
  std::optional<Connection> connection;
  // Explanation of the outcome for logs, empty for kRenewed. For kDegraded
  // and kNeedsReintegration it is the reason stored on the row.
  std::string message;
  // Fingerprint of the stored token after a renewal, else empty.
  std::string token_fingerprint;
  // From SmartRecruiters' failed response: HTTP status (0 when no response
  // arrived) and Retry-After.
  int http_status = 0;
  std::optional<int64_t> retry_after_s;
};

// Renews the token of connection `connection_id` as lease owner `owner`.
// Acquires the lease until now + lease_s and re-reads the row. When the
// token is no longer due (kFresh) or the state no longer allows a renewal,
// releases the lease without calling SmartRecruiters. Otherwise requests a
// token with the customer-level credentials and commits it with
// token_expires_at = now + expires_in. A failure is recorded as
// kNeedsReintegration for rejected credentials and as kDegraded with a
// backoff for everything else. A lease held by another owner gives kBusy.
// Logs one line with the result and never logs a token or secret.
//
// `now` is the unix time at which the attempt starts. Store errors give
// kError and leave the row unchanged where possible (the lease, if taken,
// is released or expires by itself).
RenewResult RenewConnection(Store& store, const SmartRecruitersClient& client,
                            int64_t connection_id, std::string_view owner,
                            int64_t now, const RenewOptions& options);

// Returns "HOST:PID:SUFFIX", a lease owner id unique to this process and
// `suffix` (a worker index or "main").
std::string LeaseOwnerId(std::string_view suffix);

// --- runs of the timer and the operator ------------------------------------

struct RunOptions {
  int64_t concurrency = 8;
  // Wall-time budget: no renewal starts once it is spent.
  int64_t budget_s = 240;
  int64_t margin_s = 600;
  // List what would be renewed and why; change nothing and send nothing.
  bool dry_run = false;
  // When not empty, work on this company only instead of listing due
  // connections.
  std::string company_id;
  // With company_id: renew now even when the token is not due (see
  // RenewOptions::force).
  bool force = false;
};

// Returns RunOptions with the concurrency, budget and margin of `config`.
RunOptions RunOptionsFromConfig(const RefreshConfig& config);

struct RunSummary {
  int64_t considered = 0;  // due connections (or 1 with company_id)
  int64_t renewed = 0;
  int64_t fresh = 0;
  int64_t busy = 0;
  int64_t degraded = 0;
  int64_t needs_reintegration = 0;
  int64_t not_renewable = 0;
  int64_t errors = 0;
  int64_t skipped_for_budget = 0;
  // Only for dry runs: connections that would have been renewed.
  int64_t would_renew = 0;

  void Add(RenewOutcome outcome);
  // Returns "renewed=N fresh=N ..." for the summary log line.
  std::string Describe() const;
};

// Runs one renewal pass: lists due connections (expired tokens included,
// so a missed timer run needs no special handling), then renews them on
// `concurrency` worker threads, each with its own Store and client. A
// worker takes the next connection from a shared index, so one company's
// slow or failed renewal never delays the others beyond one worker. Once
// `budget_s` has passed, no new renewal starts and the rest are counted as
// skipped_for_budget. Logs a start line, one line per connection and a
// summary line.
//
// Fails only when the store cannot be opened or listed, or when
// `company_id` names no connection. Per-connection failures are counted in
// the summary, never returned as errors.
Result<RunSummary> RunRefresh(const App& app, const RunOptions& options);

}  // namespace srconnect

#endif  // SRCONNECT_LIB_REFRESH_H_
