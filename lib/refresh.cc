#include "refresh.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <limits>
#include <mutex>
#include <random>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "log.h"

namespace srconnect {
namespace {

using SteadyClock = std::chrono::steady_clock;

// --- one renewal -----------------------------------------------------------

// Result of checking the re-read row, before SmartRecruiters is called.
enum class RowCheck {
  kDue,
  kFresh,
  kWaitingForBackoff,  // a failure scheduled the next attempt later
  kNeedsReintegration,
  kNotRenewable,
};

RowCheck CheckRow(const Connection& connection, int64_t now,
                  const RenewOptions& options) {
  if (connection.state == ConnectionState::kNeedsReintegration) {
    return RowCheck::kNeedsReintegration;
  }
  const bool renewable_state =
      connection.state == ConnectionState::kConnected ||
      connection.state == ConnectionState::kDegraded;
  if (!renewable_state || !connection.has_credentials) {
    return RowCheck::kNotRenewable;
  }

  // A forced renewal checks for a renewal by another process after reading
  // the token (see RenewWithLease).
  if (options.force) return RowCheck::kDue;
  if (connection.token_expires_at >= now + options.margin_s) {
    return RowCheck::kFresh;
  }
  if (connection.next_attempt_at > now) return RowCheck::kWaitingForBackoff;
  return RowCheck::kDue;
}

double RandomJitter() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(generator);
}

std::string DescribeHttpStatus(const CallError& error) {
  if (error.http_status == 0) return "no response";
  return "HTTP " + std::to_string(error.http_status);
}

// Returns the reason stored on the row for a failed token request.
// error.message already names the call, the HTTP status or transport
// error, and the fix where there is one. Every outcome but rejected
// credentials is retried: kTlsError and kBadResponse usually need an
// operator, but retrying with backoff costs little and recovers by itself
// once the configuration or SmartRecruiters is fixed. The token endpoint
// never returns the setup call's kConsentMissing or
// kAlreadyIntegrated, so those are handled like kBadResponse.
std::string FailureReason(const CallError& error) {
  if (error.outcome == Outcome::kDeadCredentials) {
    const std::string detail = error.oauth_error.empty()
                                   ? DescribeHttpStatus(error)
                                   : error.oauth_error;
    return "SmartRecruiters rejected the credentials (" + detail + ")";
  }
  return error.message;
}

std::string ConnectionLabel(const RenewResult& result, int64_t id) {
  const std::string company =
      result.company_id.empty() ? "(none)" : Quote(result.company_id);
  return "company " + company + " (connection " + std::to_string(id) + ")";
}

void LogRenewResult(const RenewResult& result, int64_t connection_id,
                    int64_t now) {
  std::string line = "refresh of " + ConnectionLabel(result, connection_id) +
                     ": " + std::string(RenewOutcomeName(result.outcome));
  switch (result.outcome) {
    case RenewOutcome::kRenewed: {
      const int64_t expires_at =
          result.connection ? result.connection->token_expires_at : 0;
      LogInfo(line + ", token " + result.token_fingerprint + " expires in " +
              std::to_string(expires_at - now) + " s");
      return;
    }
    case RenewOutcome::kFresh:
    case RenewOutcome::kBusy:
      LogInfo(line + ", " + result.message);
      return;
    case RenewOutcome::kDegraded: {
      const int64_t next_attempt_at =
          result.connection ? result.connection->next_attempt_at : 0;
      LogWarning(line + ", next attempt in " +
                 std::to_string(next_attempt_at - now) +
                 " s: " + result.message);
      return;
    }
    case RenewOutcome::kNeedsReintegration:
    case RenewOutcome::kNotRenewable:
      LogWarning(line + ": " + result.message);
      return;
    case RenewOutcome::kError:
      LogError(line + ": " + result.message);
      return;
  }
}

// Reads the row into `result` after a store write; a failed read leaves
// the row out but keeps the outcome, because the write itself succeeded.
void RereadRow(Store& store, int64_t connection_id, RenewResult& result) {
  Result<std::optional<Connection>> row = store.FindConnection(connection_id);
  if (row.ok() && row->has_value()) result.connection = **row;
}

RenewResult ReleaseWith(Store& store, int64_t connection_id,
                        std::string_view owner, RenewResult result) {
  Status released = store.ReleaseLease(connection_id, owner);
  if (!released.ok()) {
    // The lease expires by itself at its deadline, so this only delays the
    // next renewal of this connection.
    LogWarning("releasing the refresh lease of connection " +
               std::to_string(connection_id) +
               " failed: " + released.message());
  }
  return result;
}

RenewResult HandleTokenSuccess(Store& store, int64_t connection_id,
                               std::string_view owner, int64_t now,
                               const RenewOptions& options, RenewResult result,
                               AccessToken token) {
  if (token.token.empty()) {
    // ParseTokenResponse rejects this already; a second check costs
    // nothing and keeps an empty token out of the store.
    result.outcome = RenewOutcome::kError;
    result.message = "SmartRecruiters returned an empty access token";
    return ReleaseWith(store, connection_id, owner, std::move(result));
  }
  int64_t lifetime_s = token.expires_in_s;
  if (lifetime_s <= 0) lifetime_s = kDefaultTokenLifetimeS;
  // Logged once per process: with a short lifetime every renewal would
  // repeat it.
  static std::atomic<bool> lifetime_warned{false};
  if (lifetime_s <= options.margin_s && !lifetime_warned.exchange(true)) {
    LogWarning("token lifetime of " + std::to_string(lifetime_s) +
               " s for company " + Quote(result.company_id) +
               " is not longer than the renewal margin of " +
               std::to_string(options.margin_s) +
               " s, so every run renews it: lower refresh.margin_s");
  }

  // The token was issued after `now`, so now + lifetime is a conservative
  // expiry.
  const int64_t expires_at = now + lifetime_s;
  Status committed =
      store.CommitToken(connection_id, owner, token.token, expires_at, now);
  if (!committed.ok()) {
    // CommitToken changes nothing on failure (for example when the lease
    // expired and another owner took it), so the previous token stays.
    result.outcome = RenewOutcome::kError;
    result.message =
        "storing the renewed token failed: " + committed.message() +
        "; the previous token is kept";
    return ReleaseWith(store, connection_id, owner, std::move(result));
  }
  result.outcome = RenewOutcome::kRenewed;
  result.token_fingerprint = token.token.Fingerprint();
  if (result.connection) {
    // The row as CommitToken leaves it, without a query per renewal to read
    // it back.
    Connection& row = *result.connection;
    row.token_expires_at = expires_at;
    row.last_success_at = now;
    row.updated_at = now;
    row.failure_count = 0;
    row.next_attempt_at = 0;
    if (row.state == ConnectionState::kDegraded) {
      row.state = ConnectionState::kConnected;
    }
  }
  return result;
}

RenewResult HandleTokenFailure(Store& store, int64_t connection_id,
                               std::string_view owner, int64_t now,
                               const RenewOptions& options,
                               const Connection& connection, RenewResult result,
                               const CallError& error) {
  result.http_status = error.http_status;
  result.retry_after_s = error.retry_after_s;
  result.message = FailureReason(error);

  ConnectionState state = ConnectionState::kDegraded;
  int64_t next_attempt_at = 0;
  if (error.outcome == Outcome::kDeadCredentials) {
    state = ConnectionState::kNeedsReintegration;
    result.outcome = RenewOutcome::kNeedsReintegration;
  } else {
    const double jitter = options.jitter ? *options.jitter : RandomJitter();
    next_attempt_at =
        now + BackoffDelayS(connection.failure_count, options.backoff_initial_s,
                            options.backoff_max_s, error.retry_after_s, jitter);
    result.outcome = RenewOutcome::kDegraded;
  }

  Status recorded = store.RecordFailure(connection_id, owner, state,
                                        result.message, next_attempt_at, now);
  if (!recorded.ok()) {
    result.outcome = RenewOutcome::kError;
    result.message = "recording the failed renewal (" + result.message +
                     ") failed: " + recorded.message();
    return ReleaseWith(store, connection_id, owner, std::move(result));
  }
  RereadRow(store, connection_id, result);
  return result;
}

// Runs RenewConnection's steps after the lease is held.
RenewResult RenewWithLease(Store& store, const SmartRecruitersClient& client,
                           int64_t connection_id, std::string_view owner,
                           int64_t now, const RenewOptions& options,
                           RenewResult result) {
  Result<std::optional<Connection>> row = store.FindConnection(connection_id);
  if (!row.ok() || !row->has_value()) {
    result.outcome = RenewOutcome::kError;
    result.message = row.ok() ? "the connection no longer exists"
                              : "reading the connection failed: " + row.error();
    return ReleaseWith(store, connection_id, owner, std::move(result));
  }
  const Connection connection = **row;
  result.company_id = connection.company_id;
  result.connection = connection;

  switch (CheckRow(connection, now, options)) {
    case RowCheck::kDue:
      break;
    case RowCheck::kFresh:
      result.outcome = RenewOutcome::kFresh;
      result.message = "token expires in " +
                       std::to_string(connection.token_expires_at - now) +
                       " s, beyond the margin";
      return ReleaseWith(store, connection_id, owner, std::move(result));
    case RowCheck::kWaitingForBackoff:
      result.outcome = RenewOutcome::kDegraded;
      result.message = connection.reason;
      return ReleaseWith(store, connection_id, owner, std::move(result));
    case RowCheck::kNeedsReintegration:
      result.outcome = RenewOutcome::kNeedsReintegration;
      result.message = connection.reason;
      return ReleaseWith(store, connection_id, owner, std::move(result));
    case RowCheck::kNotRenewable:
      result.outcome = RenewOutcome::kNotRenewable;
      result.message =
          "state is " + std::string(StateName(connection.state)) +
          (connection.has_credentials ? "" : " without credentials");
      return ReleaseWith(store, connection_id, owner, std::move(result));
  }

  Result<ConnectionSecrets> secrets = store.ReadSecrets(connection_id);
  if (!secrets.ok()) {
    result.outcome = RenewOutcome::kError;
    result.message = "reading the credentials failed: " + secrets.error();
    return ReleaseWith(store, connection_id, owner, std::move(result));
  }
  if (options.force && !options.forced_from_fingerprint.empty() &&
      secrets->access_token.Fingerprint() != options.forced_from_fingerprint) {
    result.outcome = RenewOutcome::kFresh;
    result.message = "renewed by another process since this run started";
    return ReleaseWith(store, connection_id, owner, std::move(result));
  }

  CallResult<AccessToken> token =
      client.RequestToken(secrets->client_id, secrets->client_secret);
  if (token.ok()) {
    return HandleTokenSuccess(store, connection_id, owner, now, options,
                              std::move(result), std::move(token).value());
  }
  return HandleTokenFailure(store, connection_id, owner, now, options,
                            connection, std::move(result), token.error());
}

// --- runs ----------------------------------------------------------------

std::string DescribeDue(const Connection& connection, int64_t now) {
  std::string text;
  if (connection.token_expires_at == 0) {
    text = "has no token";
  } else if (connection.token_expires_at <= now) {
    text = "expired " + std::to_string(now - connection.token_expires_at) +
           " s ago";
  } else {
    text = "expires in " + std::to_string(connection.token_expires_at - now) +
           " s";
  }
  return text + ", state " + std::string(StateName(connection.state));
}

// Logs what a run would do to each connection; changes nothing.
void DryRun(const std::vector<Connection>& connections, int64_t now,
            const RenewOptions& options, RunSummary& summary) {
  for (const Connection& connection : connections) {
    const std::string label = "company " + Quote(connection.company_id) +
                              " (connection " + std::to_string(connection.id) +
                              ")";
    const RowCheck check = CheckRow(connection, now, options);
    if (check == RowCheck::kDue) {
      ++summary.would_renew;
      LogInfo("dry run: would renew " + label + ": token " +
              DescribeDue(connection, now));
    } else {
      LogInfo("dry run: would not renew " + label + ": token " +
              DescribeDue(connection, now));
    }
  }
}

struct WorkQueue {
  const std::vector<Connection>* connections = nullptr;
  std::atomic<size_t> next_index{0};
  std::atomic<bool> budget_spent{false};
  SteadyClock::time_point budget_end;
  std::mutex summary_mutex;
  RunSummary summary;
};

void RunWorker(const App& app, const RenewOptions& options, size_t index,
               WorkQueue& queue) {
  Result<std::unique_ptr<Store>> store = app.OpenStore();
  if (!store.ok()) {
    LogError("refresh worker " + std::to_string(index) +
             " could not open the store: " + store.error());
    return;
  }
  const SmartRecruitersClient client(app.config.smartrecruiters);
  const std::string owner = LeaseOwnerId("w" + std::to_string(index));
  const size_t total = queue.connections->size();

  while (true) {
    if (SteadyClock::now() >= queue.budget_end) {
      queue.budget_spent = true;
      return;
    }
    const size_t item = queue.next_index.fetch_add(1);
    if (item >= total) return;
    const int64_t connection_id = (*queue.connections)[item].id;
    RenewOutcome outcome = RenewOutcome::kError;
    try {
      outcome = RenewConnection(**store, client, connection_id, owner,
                                NowUnix(), options)
                    .outcome;
    } catch (const std::exception& error) {
      // An exception would end the whole process from this thread; the
      // lease, if taken, expires by itself.
      LogError("refresh of connection " + std::to_string(connection_id) +
               " failed: unexpected exception: " + error.what());
    }
    std::lock_guard<std::mutex> lock(queue.summary_mutex);
    queue.summary.Add(outcome);
  }
}

// Renews `connections` on a pool of threads and returns the counts.
RunSummary RenewAll(const App& app, const std::vector<Connection>& connections,
                    const RunOptions& run_options,
                    const RenewOptions& options) {
  WorkQueue queue;
  queue.connections = &connections;
  queue.budget_end =
      SteadyClock::now() + std::chrono::seconds(run_options.budget_s);

  const size_t thread_count = static_cast<size_t>(std::clamp<int64_t>(
      run_options.concurrency, 1,
      std::max<int64_t>(1, static_cast<int64_t>(connections.size()))));
  std::vector<std::thread> threads;
  threads.reserve(thread_count);
  for (size_t i = 0; i < thread_count; ++i) {
    try {
      threads.emplace_back(RunWorker, std::cref(app), std::cref(options), i,
                           std::ref(queue));
    } catch (const std::system_error& error) {
      LogWarning("starting refresh worker " + std::to_string(i) +
                 " failed: " + error.what() + "; continuing with " +
                 std::to_string(threads.size()) + " workers");
      break;
    }
  }
  if (threads.empty()) {
    RunWorker(app, options, 0, queue);
  }
  for (std::thread& thread : threads) thread.join();

  const size_t taken = std::min(queue.next_index.load(), connections.size());
  const auto left = static_cast<int64_t>(connections.size() - taken);
  if (left > 0 && queue.budget_spent) {
    queue.summary.skipped_for_budget = left;
    LogWarning("refresh run budget of " + std::to_string(run_options.budget_s) +
               " s spent: " + std::to_string(left) +
               " due connections left for the next run");
  } else if (left > 0) {
    // Every worker failed to open the store and logged why.
    queue.summary.errors += left;
  }
  return queue.summary;
}

}  // namespace

// --- backoff -------------------------------------------------------------

int64_t BackoffWindowS(int64_t failure_count, int64_t initial_s,
                       int64_t max_s) {
  const int64_t cap = std::max<int64_t>(1, max_s);
  int64_t window = std::clamp<int64_t>(initial_s, 1, cap);
  // Doubling stops at the cap, so neither the shift nor the product can
  // overflow.
  for (int64_t i = 0; i < failure_count && window < cap; ++i) {
    window = window > cap / 2 ? cap : window * 2;
  }
  return window;
}

int64_t BackoffDelayS(int64_t failure_count, int64_t initial_s, int64_t max_s,
                      std::optional<int64_t> retry_after_s, double jitter) {
  const int64_t window = BackoffWindowS(failure_count, initial_s, max_s);
  if (!(jitter >= 0.0)) jitter = 0.0;  // also catches NaN
  if (jitter >= 1.0) jitter = std::nextafter(1.0, 0.0);

  const int64_t half = window / 2;
  const auto spread =
      static_cast<int64_t>(jitter * static_cast<double>(window - half));
  int64_t delay = std::max<int64_t>(1, half + spread);

  if (retry_after_s && *retry_after_s > 0) {
    const int64_t floor = std::min(*retry_after_s, std::max<int64_t>(1, max_s));
    delay = std::max(delay, floor);
  }
  return delay;
}

// --- one renewal -----------------------------------------------------------

std::string_view RenewOutcomeName(RenewOutcome outcome) {
  switch (outcome) {
    case RenewOutcome::kRenewed:
      return "renewed";
    case RenewOutcome::kFresh:
      return "fresh";
    case RenewOutcome::kBusy:
      return "busy";
    case RenewOutcome::kDegraded:
      return "degraded";
    case RenewOutcome::kNeedsReintegration:
      return "needs_reintegration";
    case RenewOutcome::kNotRenewable:
      return "not_renewable";
    case RenewOutcome::kError:
      break;
  }
  return "error";
}

RenewOptions RenewOptionsFromConfig(const RefreshConfig& config) {
  RenewOptions options;
  options.margin_s = config.margin_s;
  options.lease_s = config.lease_s;
  options.backoff_initial_s = config.backoff_initial_s;
  options.backoff_max_s = config.backoff_max_s;
  return options;
}

RenewResult RenewConnection(Store& store, const SmartRecruitersClient& client,
                            int64_t connection_id, std::string_view owner,
                            int64_t now, const RenewOptions& options) {
  RenewResult result;
  Result<bool> acquired =
      store.AcquireLease(connection_id, owner, now, now + options.lease_s);
  if (!acquired.ok()) {
    result.outcome = RenewOutcome::kError;
    result.message = "acquiring the refresh lease failed: " + acquired.error();
    RereadRow(store, connection_id, result);
  } else if (!*acquired) {
    result.outcome = RenewOutcome::kBusy;
    result.message = "another process holds the refresh lease";
    RereadRow(store, connection_id, result);
  } else {
    result = RenewWithLease(store, client, connection_id, owner, now, options,
                            std::move(result));
  }

  if (result.company_id.empty() && result.connection) {
    result.company_id = result.connection->company_id;
  }
  LogRenewResult(result, connection_id, now);
  return result;
}

std::string LeaseOwnerId(std::string_view suffix) {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  std::string id = host[0] != '\0' ? host : "localhost";
  id += ":" + std::to_string(::getpid()) + ":";
  id += suffix;
  return id;
}

// --- runs ----------------------------------------------------------------

RunOptions RunOptionsFromConfig(const RefreshConfig& config) {
  RunOptions options;
  options.concurrency = config.concurrency;
  options.budget_s = config.budget_s;
  options.margin_s = config.margin_s;
  return options;
}

void RunSummary::Add(RenewOutcome outcome) {
  switch (outcome) {
    case RenewOutcome::kRenewed:
      ++renewed;
      return;
    case RenewOutcome::kFresh:
      ++fresh;
      return;
    case RenewOutcome::kBusy:
      ++busy;
      return;
    case RenewOutcome::kDegraded:
      ++degraded;
      return;
    case RenewOutcome::kNeedsReintegration:
      ++needs_reintegration;
      return;
    case RenewOutcome::kNotRenewable:
      ++not_renewable;
      return;
    case RenewOutcome::kError:
      ++errors;
      return;
  }
}

std::string RunSummary::Describe() const {
  std::string text =
      "considered=" + std::to_string(considered) +
      " renewed=" + std::to_string(renewed) +
      " fresh=" + std::to_string(fresh) + " busy=" + std::to_string(busy) +
      " degraded=" + std::to_string(degraded) +
      " needs_reintegration=" + std::to_string(needs_reintegration) +
      " not_renewable=" + std::to_string(not_renewable) +
      " errors=" + std::to_string(errors) +
      " skipped_for_budget=" + std::to_string(skipped_for_budget);
  return text;
}

Result<RunSummary> RunRefresh(const App& app, const RunOptions& options) {
  const auto started = SteadyClock::now();
  const int64_t now = NowUnix();
  LogInfo(std::string("refresh run started") +
          (options.dry_run ? " (dry run)" : "") + ": margin " +
          std::to_string(options.margin_s) + " s, concurrency " +
          std::to_string(options.concurrency) + ", budget " +
          std::to_string(options.budget_s) + " s" +
          (options.company_id.empty()
               ? ""
               : ", company " + Quote(options.company_id)));

  Result<std::unique_ptr<Store>> store = app.OpenStore();
  if (!store.ok()) return store.status();

  std::vector<Connection> connections;
  if (options.company_id.empty()) {
    Result<std::vector<Connection>> due =
        (*store)->ListDue(now, options.margin_s);
    if (!due.ok()) {
      return Status::Error("listing due connections failed: " + due.error());
    }
    connections = std::move(due).value();
  } else {
    Result<std::optional<Connection>> found =
        (*store)->FindConnectionByCompany(options.company_id);
    if (!found.ok()) {
      return Status::Error("reading company " + Quote(options.company_id) +
                           " failed: " + found.error());
    }
    if (!found->has_value()) {
      return Status::Error("company " + Quote(options.company_id) +
                           " not found: it has no connection in the store");
    }
    connections.push_back(**found);
  }

  RenewOptions renew_options = RenewOptionsFromConfig(app.config.refresh);
  renew_options.margin_s = options.margin_s;
  renew_options.force = !options.company_id.empty() && options.force;
  if (renew_options.force && connections.front().has_credentials) {
    // Remember which token this run set out to replace, so that a renewal
    // by a concurrent run is recognised (see RenewOptions).
    Result<ConnectionSecrets> secrets =
        (*store)->ReadSecrets(connections.front().id);
    if (secrets.ok()) {
      renew_options.forced_from_fingerprint =
          secrets->access_token.Fingerprint();
    }
  }

  RunSummary summary;
  if (options.dry_run) {
    DryRun(connections, now, renew_options, summary);
    summary.considered = static_cast<int64_t>(connections.size());
  } else {
    summary = RenewAll(app, connections, options, renew_options);
    summary.considered = static_cast<int64_t>(connections.size());
  }

  const double elapsed_s =
      std::chrono::duration<double>(SteadyClock::now() - started).count();
  char elapsed[32];
  std::snprintf(elapsed, sizeof(elapsed), "%.3f", elapsed_s);
  if (options.dry_run) {
    LogInfo("refresh dry run finished in " + std::string(elapsed) +
            " s: would renew " + std::to_string(summary.would_renew) + " of " +
            std::to_string(summary.considered) +
            " connections, changed nothing");
  } else {
    // A warning when any company needs attention, so that a journal
    // filtered by priority still shows the run.
    const bool attention = summary.degraded > 0 ||
                           summary.needs_reintegration > 0 ||
                           summary.errors > 0 || summary.skipped_for_budget > 0;
    Log(attention ? LogPriority::kWarning : LogPriority::kInfo,
        "refresh run finished in " + std::string(elapsed) +
            " s: " + summary.Describe());
  }
  return summary;
}

}  // namespace srconnect
