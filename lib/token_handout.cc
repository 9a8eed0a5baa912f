#include "token_handout.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "app.h"
#include "log.h"
#include "validation.h"

namespace srconnect {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr auto kLeasePollInterval = std::chrono::milliseconds(100);

// Fills `out` with the token of `connection` when it is still valid at
// `now`. Returns false when there is no valid token to hand out.
bool FillToken(Store& store, const Connection& connection, int64_t now,
               TokenHandOut& out) {
  if (connection.token_expires_at <= now) return false;
  Result<ConnectionSecrets> secrets = store.ReadSecrets(connection.id);
  if (!secrets.ok()) {
    out.status = HandOutStatus::kInternalError;
    out.reason = "reading the token failed: " + secrets.error();
    return true;
  }
  if (secrets->access_token.empty()) return false;
  out.status = HandOutStatus::kOk;
  out.access_token = std::move(secrets->access_token);
  out.expires_at = connection.token_expires_at;
  out.state = connection.state;
  out.reason = connection.reason;
  return true;
}

bool IsConnectedState(ConnectionState state) {
  return state == ConnectionState::kConnected ||
         state == ConnectionState::kDegraded;
}

TokenHandOut NotConnected(TokenHandOut out, const Connection& connection) {
  out.status = HandOutStatus::kNotConnected;
  out.state = connection.state;
  out.reason = connection.reason;
  if (out.reason.empty() && !connection.has_credentials) {
    out.reason = "no credentials are stored for this connection";
  }
  return out;
}

TokenHandOut Unavailable(TokenHandOut out, const Connection& connection,
                         int64_t now) {
  out.status = HandOutStatus::kUnavailable;
  out.state = connection.state;
  out.reason = connection.reason.empty()
                   ? "no valid token, and renewing it did not finish"
                   : connection.reason;
  out.retry_after_s = std::max<int64_t>(1, connection.next_attempt_at - now);
  return out;
}

struct LeaseWait {
  Connection latest;  // the last row read
  // True when the holder released its lease or stored a result. False
  // when the lease ran out while held, which means the holder most likely
  // died, or when the wait reached `lease_s`.
  bool holder_finished = false;
};

// Polls the row until the lease holder releases its lease (a commit of a
// token or a failure clears it) or `lease_s` ends. A renewal that stored
// the same expiry second as before is seen by its release, not by the row.
Result<LeaseWait> WaitForLeaseHolder(Store& store, const Connection& before,
                                     int64_t lease_s) {
  const auto end = SteadyClock::now() + std::chrono::seconds(lease_s);
  LeaseWait wait;
  wait.latest = before;
  while (SteadyClock::now() < end) {
    std::this_thread::sleep_for(kLeasePollInterval);
    Result<std::optional<int64_t>> deadline = store.LeaseDeadline(before.id);
    if (!deadline.ok()) return deadline.status();
    Result<std::optional<Connection>> row = store.FindConnection(before.id);
    if (!row.ok()) return row.status();
    if (!row->has_value()) {
      return Status::Error("connection " + std::to_string(before.id) +
                           " was deleted during the renewal");
    }
    wait.latest = **row;
    if (!deadline->has_value()) {
      wait.holder_finished = true;
      return wait;
    }
    if (**deadline <= NowUnix()) return wait;
  }
  return wait;
}

TokenHandOut AfterRenewal(Store& store, const SmartRecruitersClient& client,
                          std::string_view owner, const RenewOptions& options,
                          const Connection& before, RenewResult renewal,
                          TokenHandOut out);

TokenHandOut AfterBusy(Store& store, const SmartRecruitersClient& client,
                       std::string_view owner, const RenewOptions& options,
                       const Connection& before, TokenHandOut out) {
  const int64_t now = NowUnix();
  if (before.token_expires_at >= now + kHandOutMinLifetimeS &&
      FillToken(store, before, now, out)) {
    return out;
  }

  // NOTE: this wait (up to lease_s) and the renewal that may follow it (up
  // to LongestCallMs() of the token request) hold one of the
  // refresh.handout_threads responder threads, for about 81 s at most with
  // the default settings. nginx/srconnect.conf sets fastcgi_read_timeout to
  // 120 s to cover that. While every thread waits, further hand-outs of the
  // same process wait in the socket's listen queue.
  Result<LeaseWait> wait = WaitForLeaseHolder(store, before, options.lease_s);
  if (!wait.ok()) {
    out.status = HandOutStatus::kInternalError;
    out.reason = wait.error();
    return out;
  }
  const Connection* latest = &wait->latest;
  if (!wait->holder_finished) {
    // The holder's lease ran out without a result, so it most likely
    // died; try once more ourselves. A second kBusy is not waited for
    // again.
    RenewResult retry =
        RenewConnection(store, client, before.id, owner, NowUnix(), options);
    if (retry.outcome != RenewOutcome::kBusy) {
      return AfterRenewal(store, client, owner, options, *latest,
                          std::move(retry), std::move(out));
    }
  }

  const int64_t after = NowUnix();
  if (!IsConnectedState(latest->state)) {
    return NotConnected(std::move(out), *latest);
  }
  if (FillToken(store, *latest, after, out)) return out;
  return Unavailable(std::move(out), *latest, after);
}

TokenHandOut AfterRenewal(Store& store, const SmartRecruitersClient& client,
                          std::string_view owner, const RenewOptions& options,
                          const Connection& before, RenewResult renewal,
                          TokenHandOut out) {
  out.renewal = renewal.outcome;
  const Connection current = renewal.connection.value_or(before);
  const int64_t now = NowUnix();

  switch (renewal.outcome) {
    case RenewOutcome::kBusy:
      return AfterBusy(store, client, owner, options, before, std::move(out));
    case RenewOutcome::kNeedsReintegration:
    case RenewOutcome::kNotRenewable:
      return NotConnected(std::move(out), current);
    case RenewOutcome::kError:
      // A failure on this host; a token that is still valid is still
      // worth handing out.
      if (FillToken(store, current, now, out)) return out;
      out.status = HandOutStatus::kInternalError;
      out.reason = renewal.message;
      return out;
    case RenewOutcome::kRenewed:
    case RenewOutcome::kFresh:
    case RenewOutcome::kDegraded:
      break;
  }
  if (FillToken(store, current, now, out)) return out;
  return Unavailable(std::move(out), current, now);
}

std::string JsonError(std::string_view code, std::string_view message) {
  nlohmann::json body = {{"error", code}, {"message", message}};
  return body.dump();
}

HttpResponse JsonResponse(int status, std::string body) {
  HttpResponse response = HttpResponse::Json(status, std::move(body));
  response.AddHeader("Cache-Control", "no-store");
  return response;
}

// Returns the company parameter, taken from the query or from the form body
// of a POST. Rejects a request that gives it in both places, even with
// equal values, so that no client depends on which one wins.
Result<std::string> CompanyParameter(const HttpRequest& request) {
  Result<std::optional<std::string>> from_query =
      request.query.GetOne("company");
  if (!from_query.ok()) return from_query.status();
  std::optional<std::string> company = *from_query;
  if (request.method == "POST") {
    Result<std::optional<std::string>> from_form =
        request.form.GetOne("company");
    if (!from_form.ok()) return from_form.status();
    if (company.has_value() && from_form->has_value()) {
      return Status::Error(
          "company is given in both the query string and the form body: "
          "send it once, in either place");
    }
    if (!company.has_value()) company = *from_form;
  }

  if (!company || company->empty()) {
    return Status::Error("missing company parameter: pass ?company=ID");
  }
  Status valid = ValidateCompanyId(*company, "company");
  if (!valid.ok()) {
    return Status::Error(
        "invalid company parameter: " + valid.message() +
        ". Send the SmartRecruiters company id, 1 to " +
        std::to_string(kMaxCompanyIdBytes) +
        " characters from A-Z, a-z, 0-9, '.', '_' and '-'");
  }
  return *company;
}

// Returns the message of a 409: the state and, where one is known, what
// brings the connection back.
std::string NotConnectedMessage(ConnectionState state) {
  std::string message =
      "no token is handed out in state " + std::string(StateName(state));
  if (state == ConnectionState::kNeedsReintegration ||
      state == ConnectionState::kDisconnected) {
    message +=
        ": the customer must reintegrate SmartRecruiters from Company "
        "Settings";
  }
  return message;
}

HttpResponse HandOutResponse(const TokenHandOut& out) {
  switch (out.status) {
    case HandOutStatus::kOk: {
      nlohmann::json body = {{"company_id", out.company_id},
                             {"access_token", out.access_token.Reveal()},
                             {"token_type", "bearer"},
                             {"expires_at", out.expires_at}};
      return JsonResponse(200, body.dump());
    }
    case HandOutStatus::kUnknownCompany:
      return JsonResponse(
          404, JsonError("unknown_company",
                         "no connection for company " + Quote(out.company_id) +
                             ": the company was never connected with "
                             "srconnect, or it was removed. Connect it from "
                             "Company Settings"));
    case HandOutStatus::kNotConnected: {
      const std::string state(StateName(out.state));
      nlohmann::json body = {
          {"error", "not_connected"},
          {"company_id", out.company_id},
          {"state", state},
          {"reason", out.reason},
          {"message", NotConnectedMessage(out.state)}};
      return JsonResponse(409, body.dump());
    }
    case HandOutStatus::kUnavailable: {
      nlohmann::json body = {{"error", "unavailable"},
                             {"company_id", out.company_id},
                             {"state", StateName(out.state)},
                             {"reason", out.reason},
                             {"retry_after", out.retry_after_s}};
      HttpResponse response = JsonResponse(503, body.dump());
      response.AddHeader("Retry-After", std::to_string(out.retry_after_s));
      return response;
    }
    case HandOutStatus::kInternalError:
      break;
  }
  return JsonResponse(500, JsonError("internal_error", out.reason));
}

void LogHandOut(const TokenHandOut& out) {
  const std::string company = "company " + Quote(out.company_id);
  switch (out.status) {
    case HandOutStatus::kOk:
      LogInfo("handed out token " + out.access_token.Fingerprint() + " for " +
              company + ", expires in " +
              std::to_string(out.expires_at - NowUnix()) + " s");
      return;
    case HandOutStatus::kUnknownCompany:
      LogNotice("token request for unknown " + company);
      return;
    case HandOutStatus::kNotConnected:
      LogNotice("token request for " + company + " rejected: state " +
                std::string(StateName(out.state)));
      return;
    case HandOutStatus::kUnavailable:
      LogWarning("no valid token for " + company + ", retry after " +
                 std::to_string(out.retry_after_s) + " s: " + out.reason);
      return;
    case HandOutStatus::kInternalError:
      LogError("token request for " + company + " failed: " + out.reason);
      return;
  }
}

}  // namespace

TokenHandOut HandOutToken(Store& store, const SmartRecruitersClient& client,
                          std::string_view company_id, std::string_view owner,
                          const RenewOptions& options) {
  TokenHandOut out;
  out.company_id = std::string(company_id);

  Result<std::optional<Connection>> row =
      store.FindConnectionByCompany(company_id);
  if (!row.ok()) {
    out.reason = "reading the connection failed: " + row.error();
    return out;
  }
  if (!row->has_value()) {
    out.status = HandOutStatus::kUnknownCompany;
    return out;
  }
  const Connection connection = **row;
  out.state = connection.state;
  if (!IsConnectedState(connection.state) || !connection.has_credentials) {
    return NotConnected(std::move(out), connection);
  }

  const int64_t now = NowUnix();
  if (connection.token_expires_at >= now + options.margin_s &&
      FillToken(store, connection, now, out)) {
    return out;
  }
  if (connection.next_attempt_at > now) {
    // A failed renewal scheduled the next attempt; retrying on every
    // request would defeat the backoff.
    if (FillToken(store, connection, now, out)) return out;
    return Unavailable(std::move(out), connection, now);
  }

  RenewOptions renew_options = options;
  renew_options.force = false;
  RenewResult renewal =
      RenewConnection(store, client, connection.id, owner, now, renew_options);
  return AfterRenewal(store, client, owner, renew_options, connection,
                      std::move(renewal), std::move(out));
}

HttpResponse HandleRefreshRequest(const HttpRequest& request, Store& store,
                                  const SmartRecruitersClient& client,
                                  const RefreshConfig& config) {
  if (!request.FromLoopback()) {
    LogNotice("token request from " + Quote(request.remote_addr) +
              " rejected: the refresh endpoint serves loopback only");
    return JsonResponse(403, JsonError("forbidden",
                                       "the refresh endpoint serves "
                                       "loopback clients only"));
  }
  if (request.method != "GET" && request.method != "POST") {
    LogNotice("token request with method " + Quote(request.method) +
              " rejected: use GET or POST");
    HttpResponse response =
        JsonResponse(405, JsonError("method_not_allowed", "use GET or POST"));
    response.AddHeader("Allow", "GET, POST");
    return response;
  }
  Result<std::string> company = CompanyParameter(request);
  if (!company.ok()) {
    LogNotice("token request rejected: " + company.error());
    return JsonResponse(400, JsonError("invalid_request", company.error()));
  }

  // One owner per thread, because AcquireLease lets an owner take its own
  // lease again, and two threads must not renew the same company at once.
  const std::string owner =
      LeaseOwnerId("handout-" + std::to_string(::gettid()));
  const TokenHandOut out = HandOutToken(store, client, *company, owner,
                                        RenewOptionsFromConfig(config));
  LogHandOut(out);
  return HandOutResponse(out);
}

Result<RequestHandler> MakeRefreshHandler(const App& app) {
  // The handler is a std::function, which must be copyable, so it shares
  // the state that it alone uses.
  struct ThreadState {
    ThreadState(std::unique_ptr<Store> opened,
                const SmartRecruitersConfig& config)
        : store(std::move(opened)), client(config) {}
    std::unique_ptr<Store> store;
    SmartRecruitersClient client;
  };

  Result<std::unique_ptr<Store>> store = app.OpenStore();
  if (!store.ok()) {
    return Status::Error("opening the store failed: " + store.error());
  }
  auto state = std::make_shared<ThreadState>(std::move(*store),
                                             app.config.smartrecruiters);
  const RefreshConfig& config = app.config.refresh;
  return RequestHandler([state, &config](const HttpRequest& request) {
    return HandleRefreshRequest(request, *state->store, state->client, config);
  });
}

}  // namespace srconnect
